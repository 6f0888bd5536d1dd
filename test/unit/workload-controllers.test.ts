/**
 * The StatefulSet, DaemonSet, Job and ReplicationController controllers over a store, with a seeded
 * suffix and a clock, the way the lab drives them: controllers, scheduler, then the "kubelet" below
 * (pods bound get Running and ready, terminating ones go, job containers end as told).
 */
import { describe, expect, it } from 'vitest';
import { runControllers, controllerWakeAt } from '../../src/cluster/controllers/index.js';
import type { ControllerContext, SchedulingNode } from '../../src/cluster/controllers/types.js';
import { schedule } from '../../src/cluster/scheduler.js';
import { deleteObject, isTerminating, listObjects, newMeta, objectKey, ownedBy, putObject, removeObject, type StoredKind, type StoredPod } from '../../src/cluster/store.js';
import { applyDefaults, applyGenerated } from '../../src/cluster/defaults.js';
import { emptyStore } from '../../src/cluster/store.js';

function node(name: string, o: { labels?: Record<string, string>; taints?: SchedulingNode['taints']; unschedulable?: boolean } = {}): SchedulingNode {
  return { name, labels: { 'kubernetes.io/hostname': name, ...o.labels }, taints: o.taints ?? [], unschedulable: o.unschedulable ?? false, allocatable: { cpuMilli: 4000, memoryBytes: 8 * 2 ** 30, pods: 110 } };
}

function lab(nodes: SchedulingNode[] = [node('n1'), node('n2'), node('n3')]) {
  let counter = 0;
  let seconds = 0;
  const ready = new Set<string>();
  const suffix = () => `s${String(counter++).padStart(4, '0')}`;
  const ctx: ControllerContext = { now: '', suffix, isReady: (k) => ready.has(k), nodes };
  const tick = (s = 1) => (ctx.now = new Date(Date.UTC(2025, 0, 1, 0, 0, (seconds += s))).toISOString());
  tick();
  const store = emptyStore();
  const l = {
    store,
    ctx,
    ready,
    nodes,
    /** One control-plane round: controllers, then the scheduler. */
    run: (s = 1) => {
      tick(s);
      runControllers(store, ctx);
      schedule(store, ctx.nodes!, ctx);
    },
    /** The kubelet: bound pods run (ready unless `notReady` says otherwise), terminating pods are removed. */
    kubelet: (notReady: (p: StoredPod) => boolean = () => false) => {
      for (const p of listObjects(store, 'Pod')) {
        const key = objectKey('Pod', p.metadata);
        if (isTerminating(p)) {
          removeObject(store, 'Pod', key);
          ready.delete(key);
        } else if (p.spec?.nodeName && !p.status?.phase?.match(/Succeeded|Failed/)) {
          if (p.status?.phase !== 'Running') putObject(store, 'Pod', { ...p, status: { ...p.status, phase: 'Running' } });
          if (notReady(p)) ready.delete(key);
          else ready.add(key);
        }
      }
    },
    /** A pod's container ended: phase Succeeded or Failed (restartPolicy Never). */
    finish: (p: StoredPod, code: number) => {
      const finishedAt = ctx.now;
      putObject(store, 'Pod', {
        ...p,
        status: { phase: code === 0 ? 'Succeeded' : 'Failed', containerStatuses: [{ name: 'c', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: code, finishedAt } } }] },
      });
      ready.delete(objectKey('Pod', p.metadata));
    },
    apply: (kind: StoredKind, name: string, spec: Record<string, unknown>) => {
      const body: any = { apiVersion: kind === 'Job' ? 'batch/v1' : kind === 'ReplicationController' ? 'v1' : 'apps/v1', kind, spec: structuredClone(spec) };
      applyDefaults(kind, body);
      const existing = store.objects[kind][`default/${name}`];
      // As `kubectl apply`: a new spec, the generation up, the status kept.
      const obj = existing
        ? { ...body, metadata: { ...existing.metadata, generation: (existing.metadata.generation ?? 1) + 1 }, ...((existing as { status?: unknown }).status ? { status: (existing as { status?: unknown }).status } : {}) }
        : { ...body, metadata: { ...newMeta({ name, namespace: 'default' }, ctx.now, true), generation: 1 } };
      applyGenerated(kind, obj);
      putObject(store, kind, obj as never);
    },
  };
  return l;
}
type Lab = ReturnType<typeof lab>;

const template = (labels: Record<string, string>, spec: Record<string, unknown> = {}) => ({ metadata: { labels }, spec: { containers: [{ name: 'c', image: 'x' }], ...spec } });
const podsOf = (l: Lab, kind: StoredKind, name: string) => ownedBy(l.store, 'Pod', l.store.objects[kind][`default/${name}`]!).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
const names = (pods: StoredPod[]) => pods.map((p) => p.metadata.name);
const live = (pods: StoredPod[]) => pods.filter((p) => !isTerminating(p));

describe('StatefulSet controller', () => {
  const sts = (l: Lab, spec: Record<string, unknown> = {}) => l.apply('StatefulSet', 'web', { serviceName: 'nginx', replicas: 3, selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }), ...spec });

  it('OrderedReady: web-0, then web-1 only once web-0 is Running and Ready, with the identity labels, hostname and subdomain', () => {
    const l = lab();
    sts(l);
    l.run();
    expect(names(podsOf(l, 'StatefulSet', 'web'))).toEqual(['web-0']);
    l.run();
    expect(names(podsOf(l, 'StatefulSet', 'web'))).toEqual(['web-0']); // not ready yet: no web-1
    l.kubelet();
    l.run();
    expect(names(podsOf(l, 'StatefulSet', 'web'))).toEqual(['web-0', 'web-1']);
    l.kubelet((p) => p.metadata.name === 'web-1');
    l.run();
    expect(names(podsOf(l, 'StatefulSet', 'web'))).toEqual(['web-0', 'web-1']); // web-1 not ready: web-2 waits
    l.kubelet();
    l.run();
    const pods = podsOf(l, 'StatefulSet', 'web');
    expect(names(pods)).toEqual(['web-0', 'web-1', 'web-2']);
    const set = l.store.objects.StatefulSet['default/web']!;
    const rev = set.status!.updateRevision!;
    expect(rev).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(pods[1]!.metadata.labels).toEqual({ app: 'web', 'statefulset.kubernetes.io/pod-name': 'web-1', 'apps.kubernetes.io/pod-index': '1', 'controller-revision-hash': rev });
    expect(pods[1]!.spec).toMatchObject({ hostname: 'web-1', subdomain: 'nginx' });
    expect(pods[1]!.metadata.generateName).toBeUndefined();
    l.kubelet();
    l.run();
    expect(l.store.objects.StatefulSet['default/web']!.status).toEqual({
      observedGeneration: 1, replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, availableReplicas: 3, currentRevision: rev, updateRevision: rev, collisionCount: 0,
    });
    expect(listObjects(l.store, 'ControllerRevision').map((r) => [r.metadata.name, r.revision])).toEqual([[rev, 1]]);
  });

  it('Parallel creates all pods at once; scaling down removes the highest ordinals first, one at a time under OrderedReady', () => {
    const p = lab();
    sts(p, { podManagementPolicy: 'Parallel', replicas: 4 });
    p.run();
    expect(names(podsOf(p, 'StatefulSet', 'web'))).toEqual(['web-0', 'web-1', 'web-2', 'web-3']);

    const l = lab();
    sts(l, { replicas: 4 });
    for (let i = 0; i < 5; i++) (l.run(), l.kubelet());
    expect(names(podsOf(l, 'StatefulSet', 'web'))).toEqual(['web-0', 'web-1', 'web-2', 'web-3']);
    sts(l, { replicas: 1 });
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      l.run();
      order.push(...podsOf(l, 'StatefulSet', 'web').filter(isTerminating).map((x) => x.metadata.name));
      expect(podsOf(l, 'StatefulSet', 'web').filter(isTerminating).length).toBeLessThanOrEqual(1);
      l.kubelet();
    }
    expect(order).toEqual(['web-3', 'web-2', 'web-1']);
    expect(names(podsOf(l, 'StatefulSet', 'web'))).toEqual(['web-0']);
  });

  it('RollingUpdate replaces pods from the highest ordinal down to the partition; the current revision stays until all are updated', () => {
    const l = lab();
    sts(l);
    for (let i = 0; i < 5; i++) (l.run(), l.kubelet());
    const old = l.store.objects.StatefulSet['default/web']!.status!.currentRevision!;
    sts(l, { template: template({ app: 'web' }, { containers: [{ name: 'c', image: 'v2' }] }), updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } });
    const replaced: string[] = [];
    for (let i = 0; i < 8; i++) {
      l.run();
      replaced.push(...podsOf(l, 'StatefulSet', 'web').filter(isTerminating).map((x) => x.metadata.name));
      l.kubelet();
    }
    expect(replaced).toEqual(['web-2', 'web-1']);
    const pods = podsOf(l, 'StatefulSet', 'web');
    const status = l.store.objects.StatefulSet['default/web']!.status!;
    expect(pods.map((p) => p.metadata.labels!['controller-revision-hash'])).toEqual([old, status.updateRevision, status.updateRevision]);
    expect(pods.map((p) => p.spec!.containers[0]!.image)).toEqual(['x', 'v2', 'v2']);
    expect(status).toMatchObject({ currentRevision: old, currentReplicas: 1, updatedReplicas: 2 });
    // Partition 0: web-0 goes too, and the update revision becomes the current one.
    sts(l, { template: template({ app: 'web' }, { containers: [{ name: 'c', image: 'v2' }] }), updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } });
    for (let i = 0; i < 4; i++) (l.run(), l.kubelet());
    expect(l.store.objects.StatefulSet['default/web']!.status).toMatchObject({ currentRevision: status.updateRevision, currentReplicas: 3, updatedReplicas: 3 });
    // A pod below a partition that is recreated keeps the current revision's template.
    expect(listObjects(l.store, 'ControllerRevision').map((r) => r.revision).sort()).toEqual([1, 2]);
  });

  it('OnDelete leaves running pods alone; a deleted pod comes back at the new revision', () => {
    const l = lab();
    sts(l, { updateStrategy: { type: 'OnDelete' } });
    for (let i = 0; i < 5; i++) (l.run(), l.kubelet());
    sts(l, { updateStrategy: { type: 'OnDelete' }, template: template({ app: 'web' }, { containers: [{ name: 'c', image: 'v2' }] }) });
    for (let i = 0; i < 3; i++) (l.run(), l.kubelet());
    expect(podsOf(l, 'StatefulSet', 'web').map((p) => p.spec!.containers[0]!.image)).toEqual(['x', 'x', 'x']);
    deleteObject(l.store, 'Pod', 'default/web-1', l.ctx.now);
    for (let i = 0; i < 3; i++) (l.kubelet(), l.run());
    expect(podsOf(l, 'StatefulSet', 'web').map((p) => p.spec!.containers[0]!.image)).toEqual(['x', 'v2', 'x']);
  });
});

describe('DaemonSet controller', () => {
  const ds = (l: Lab, spec: Record<string, unknown> = {}) => l.apply('DaemonSet', 'agent', { selector: { matchLabels: { app: 'agent' } }, template: template({ app: 'agent' }), ...spec });
  const byNode = (l: Lab) => Object.fromEntries(live(podsOf(l, 'DaemonSet', 'agent')).map((p) => [p.spec?.nodeName ?? '(pending)', p.spec!.containers[0]!.image]));

  it('one pod per node that should run it: not on a NoSchedule-tainted node unless tolerated, on a cordoned one, as the nodeSelector says', () => {
    const l = lab([node('n1', { labels: { role: 'edge' } }), node('n2'), node('n3', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }), node('n4', { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] })]);
    ds(l);
    l.run();
    expect(Object.keys(byNode(l)).sort()).toEqual(['n1', 'n2', 'n4']);
    const pod = podsOf(l, 'DaemonSet', 'agent')[0]!;
    expect(pod.metadata.generateName).toBe('agent-');
    expect(pod.metadata.labels).toMatchObject({ app: 'agent', 'pod-template-generation': '1', 'controller-revision-hash': expect.any(String) });
    expect(pod.spec!.tolerations).toContainEqual({ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' });
    expect(pod.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0]!.matchFields![0]).toMatchObject({ key: 'metadata.name', operator: 'In' });
    l.kubelet();
    l.run();
    expect(l.store.objects.DaemonSet['default/agent']!.status).toEqual({ currentNumberScheduled: 3, numberMisscheduled: 0, desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 3, numberAvailable: 3, numberUnavailable: 0, observedGeneration: 1 });

    ds(l, { template: template({ app: 'agent' }, { tolerations: [{ key: 'dedicated', operator: 'Exists' }], nodeSelector: { 'kubernetes.io/hostname': 'n3' } }) });
    for (let i = 0; i < 6; i++) (l.run(), l.kubelet());
    expect(Object.keys(byNode(l))).toEqual(['n3']);
  });

  it('a node added later gets its pod; a NoExecute taint removes a running pod', () => {
    const l = lab([node('n1'), node('n2')]);
    ds(l);
    l.run();
    l.kubelet();
    l.ctx.nodes = [...l.ctx.nodes!, node('n3')];
    l.run();
    expect(Object.keys(byNode(l)).sort()).toEqual(['n1', 'n2', 'n3']);
    l.ctx.nodes[0] = node('n1', { taints: [{ key: 'evict', effect: 'NoExecute' }] });
    l.run();
    expect(Object.keys(byNode(l)).sort()).toEqual(['n2', 'n3']);
  });

  it('RollingUpdate replaces at most maxUnavailable pods at a time; with maxSurge the new pod comes before the old one goes', () => {
    const l = lab([node('n1'), node('n2'), node('n3'), node('n4')]);
    ds(l, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } } });
    for (let i = 0; i < 2; i++) (l.run(), l.kubelet());
    ds(l, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } }, template: template({ app: 'agent' }, { containers: [{ name: 'c', image: 'v2' }] }) });
    l.run();
    expect(podsOf(l, 'DaemonSet', 'agent').filter(isTerminating)).toHaveLength(2);
    for (let i = 0; i < 6; i++) (l.kubelet(), l.run());
    expect(Object.values(byNode(l))).toEqual(['v2', 'v2', 'v2', 'v2']);

    const s = lab([node('n1'), node('n2')]);
    const surge = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } };
    ds(s, { updateStrategy: surge });
    for (let i = 0; i < 2; i++) (s.run(), s.kubelet());
    ds(s, { updateStrategy: surge, template: template({ app: 'agent' }, { containers: [{ name: 'c', image: 'v2' }] }) });
    s.run();
    const pods = live(podsOf(s, 'DaemonSet', 'agent'));
    expect(pods).toHaveLength(3); // one node has its old pod and the new one
    expect(pods.filter((p) => p.spec!.containers[0]!.image === 'v2')).toHaveLength(1);
    for (let i = 0; i < 6; i++) (s.kubelet(), s.run());
    expect(Object.values(byNode(s))).toEqual(['v2', 'v2']);
  });
});

describe('Job controller', () => {
  const job = (l: Lab, spec: Record<string, unknown> = {}) => l.apply('Job', 'pi', { template: template({}, { restartPolicy: 'Never' }), ...spec });
  const jobOf = (l: Lab) => l.store.objects.Job['default/pi']!;
  const types = (l: Lab) => (jobOf(l).status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => `${c.type}:${c.reason}`);

  it('completions 3, parallelism 2: two pods at a time until three succeeded; then SuccessCriteriaMet and Complete', () => {
    const l = lab();
    job(l, { completions: 3, parallelism: 2 });
    const j = jobOf(l);
    expect(j.spec!.selector).toEqual({ matchLabels: { 'batch.kubernetes.io/controller-uid': j.metadata.uid } });
    l.run();
    let pods = podsOf(l, 'Job', 'pi');
    expect(pods).toHaveLength(2);
    expect(pods[0]!.metadata.labels).toEqual({ 'batch.kubernetes.io/controller-uid': j.metadata.uid, 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': j.metadata.uid, 'job-name': 'pi' });
    l.kubelet();
    for (const p of pods) l.finish(p, 0);
    l.run();
    pods = podsOf(l, 'Job', 'pi');
    expect(pods.filter((p) => !p.status?.phase?.match(/Succeeded/))).toHaveLength(1); // 3 - 2 = 1 more, not 2
    l.kubelet();
    l.finish(pods.find((p) => p.status?.phase !== 'Succeeded')!, 0);
    l.run();
    expect(types(l)).toEqual(['SuccessCriteriaMet:CompletionsReached', 'Complete:CompletionsReached']);
    expect(jobOf(l).status).toMatchObject({ active: 0, succeeded: 3, failed: 0, completionTime: l.ctx.now, startTime: expect.any(String) });
    expect(jobOf(l).status!.conditions![1]!.message).toBe('Reached expected number of succeeded pods');
  });

  it('backoffLimit 1, restartPolicy Never: a failed pod is replaced after the back-off; the second failure fails the Job', () => {
    const l = lab();
    job(l, { backoffLimit: 1 });
    l.run();
    l.kubelet();
    l.finish(podsOf(l, 'Job', 'pi')[0]!, 1);
    l.run(0);
    expect(podsOf(l, 'Job', 'pi')).toHaveLength(1); // backing off
    expect(controllerWakeAt(l.store)).toBe(Date.parse(l.ctx.now) + 1000);
    l.run(1);
    expect(podsOf(l, 'Job', 'pi')).toHaveLength(2);
    expect(controllerWakeAt(l.store)).toBe(Infinity); // the replacement runs: no timer left (the supervisor would spin otherwise)
    l.kubelet();
    l.finish(podsOf(l, 'Job', 'pi').find((p) => p.status?.phase === 'Running')!, 1);
    l.run();
    expect(types(l)).toEqual(['FailureTarget:BackoffLimitExceeded', 'Failed:BackoffLimitExceeded']);
    expect(jobOf(l).status).toMatchObject({ active: 0, succeeded: 0, failed: 2 });
    l.run(30);
    expect(podsOf(l, 'Job', 'pi')).toHaveLength(2); // no more pods
  });

  it('OnFailure counts container restarts against backoffLimit; activeDeadlineSeconds fails a Job still running', () => {
    const l = lab();
    job(l, { backoffLimit: 2, template: template({}, { restartPolicy: 'OnFailure' }) });
    l.run();
    l.kubelet();
    const p = podsOf(l, 'Job', 'pi')[0]!;
    putObject(l.store, 'Pod', { ...p, status: { ...p.status, containerStatuses: [{ name: 'c', image: 'x', imageID: '', ready: true, restartCount: 2 }] } });
    l.run();
    expect(types(l)).toContain('FailureTarget:BackoffLimitExceeded');
    expect(isTerminating(podsOf(l, 'Job', 'pi')[0]!)).toBe(true);

    const d = lab();
    job(d, { activeDeadlineSeconds: 5 });
    d.run();
    d.kubelet();
    d.run(6);
    expect(types(d)).toEqual(['FailureTarget:DeadlineExceeded']);
    d.kubelet();
    d.run();
    expect(types(d)).toEqual(['FailureTarget:DeadlineExceeded', 'Failed:DeadlineExceeded']);
    expect(jobOf(d).status!.conditions![1]!.message).toBe('Job was active longer than specified deadline');
  });

  it('without completions (a work queue), the Job completes once a pod succeeded and the others ended on their own', () => {
    const l = lab();
    job(l, { parallelism: 2 });
    expect(jobOf(l).spec!.completions).toBeUndefined();
    l.run();
    l.kubelet();
    const [a, b] = podsOf(l, 'Job', 'pi');
    l.finish(a!, 0);
    l.run();
    expect(types(l)).toEqual([]); // the other pod still works, and no new one is started
    expect(podsOf(l, 'Job', 'pi')).toHaveLength(2);
    expect(isTerminating(podsOf(l, 'Job', 'pi')[1]!)).toBe(false);
    l.finish(podsOf(l, 'Job', 'pi').find((p) => p.metadata.name === b!.metadata.name)!, 0);
    l.run();
    expect(types(l)).toEqual(['SuccessCriteriaMet:CompletionsReached', 'Complete:CompletionsReached']);
    expect(jobOf(l).status).toMatchObject({ active: 0, succeeded: 2 });
  });
});

describe('ReplicationController and a bare ReplicaSet', () => {
  it('keep their replica counts: pods replaced when deleted, scaled down newest-first', () => {
    const l = lab();
    l.apply('ReplicationController', 'nginx', { replicas: 3, template: template({ app: 'nginx' }) });
    expect(l.store.objects.ReplicationController['default/nginx']!.spec!.selector).toEqual({ app: 'nginx' });
    l.apply('ReplicaSet', 'frontend', { replicas: 2, selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend'] }] }, template: template({ tier: 'frontend' }) });
    l.run();
    l.kubelet();
    expect(podsOf(l, 'ReplicationController', 'nginx')).toHaveLength(3);
    expect(podsOf(l, 'ReplicaSet', 'frontend')).toHaveLength(2);
    expect(podsOf(l, 'ReplicationController', 'nginx')[0]!.metadata.ownerReferences![0]).toMatchObject({ apiVersion: 'v1', kind: 'ReplicationController', name: 'nginx' });
    deleteObject(l.store, 'Pod', objectKey('Pod', podsOf(l, 'ReplicationController', 'nginx')[0]!.metadata), l.ctx.now);
    l.kubelet();
    l.run();
    expect(live(podsOf(l, 'ReplicationController', 'nginx'))).toHaveLength(3);
    expect(l.store.objects.ReplicationController['default/nginx']!.status).toMatchObject({ replicas: 3 });
    // Deleting the RC takes its pods.
    deleteObject(l.store, 'ReplicationController', 'default/nginx', l.ctx.now);
    expect(listObjects(l.store, 'Pod').filter((p) => p.metadata.ownerReferences?.[0]?.kind === 'ReplicationController').every(isTerminating)).toBe(true);
  });
});
