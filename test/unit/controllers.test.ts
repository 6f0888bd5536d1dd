import { describe, expect, it } from 'vitest';
import { runControllers } from '../../src/cluster/controllers/index.js';
import { REVISION_ANNOTATION, rollingLimits, rolloutComplete, rolloutProgress, templateHash } from '../../src/cluster/controllers/deployment.js';
import { deletionOrder } from '../../src/cluster/controllers/replicaset.js';
import type { ControllerContext } from '../../src/cluster/controllers/types.js';
import {
  emptyStore,
  isTerminating,
  listObjects,
  markDeleted,
  newMeta,
  objectKey,
  ownedBy,
  putObject,
  removeObject,
  type StoredDeployment,
  type StoredPod,
  type StoredReplicaSet,
} from '../../src/cluster/store.js';

type Spec = NonNullable<StoredDeployment['spec']>;

/** A store, a seeded suffix counter, a clock and the set of ready pods: what the lab gives the controllers. */
function lab() {
  let counter = 0;
  let seconds = 0;
  const ready = new Set<string>();
  const suffix = () => {
    let n = counter++;
    let s = '';
    for (let i = 0; i < 5; i++, n = Math.floor(n / 26)) s = String.fromCharCode(97 + (n % 26)) + s;
    return s;
  };
  const ctx: ControllerContext = { now: '', suffix, isReady: (k) => ready.has(k) };
  const tick = () => (ctx.now = new Date(Date.UTC(2025, 0, 1, 0, 0, seconds++)).toISOString());
  tick();
  const store = emptyStore();
  return { store, ctx, ready, tick, run: () => (tick(), runControllers(store, ctx)) };
}
type Lab = ReturnType<typeof lab>;

function createDeployment(l: Lab, name: string, replicas: number, extra: Partial<Spec> = {}): void {
  const d: StoredDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { ...newMeta({ name, namespace: 'default' }, l.ctx.now, true), generation: 1 },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, annotations: { note: 'x' } }, spec: { containers: [{ name: 'app', image: 'app:v1' }] } },
      ...extra,
    },
  };
  putObject(l.store, 'Deployment', d);
}

/** What `kubectl apply` of a changed spec does: new spec, generation up. */
function updateDeployment(l: Lab, name: string, change: (spec: Spec) => void): void {
  const d = structuredClone(l.store.objects.Deployment[`default/${name}`]!);
  change(d.spec!);
  d.metadata.generation = (d.metadata.generation ?? 1) + 1;
  putObject(l.store, 'Deployment', d);
}
const setImage = (image: string) => (spec: Spec) => (spec.template.spec!.containers[0]!.image = image);

const deploymentOf = (l: Lab, name: string) => l.store.objects.Deployment[`default/${name}`]!;
const replicaSetsOf = (l: Lab, name: string) => ownedBy(l.store, 'ReplicaSet', deploymentOf(l, name));
const rsByHash = (l: Lab, name: string) => l.store.objects.ReplicaSet[`default/${name}-${templateHash(deploymentOf(l, name))}`]!;
const podsOf = (l: Lab, rs: StoredReplicaSet) => ownedBy(l.store, 'Pod', rs);
const live = (pods: StoredPod[]) => pods.filter((p) => !isTerminating(p));
const key = (p: StoredPod) => objectKey('Pod', p.metadata);
const readyLive = (l: Lab) => live(listObjects(l.store, 'Pod')).filter((p) => l.ready.has(key(p))).length;

/** What the lab does between two passes: new pods come up ready, terminated ones are removed. */
function settle(l: Lab): void {
  for (const p of listObjects(l.store, 'Pod')) {
    if (isTerminating(p)) removeObject(l.store, 'Pod', key(p));
    else l.ready.add(key(p));
  }
}

function bind(l: Lab, pod: StoredPod, phase: string): void {
  putObject(l.store, 'Pod', { ...pod, spec: { ...pod.spec!, nodeName: 'n1' }, status: { ...pod.status, phase } });
}

describe('Deployment and ReplicaSet controllers', () => {
  it('create one ReplicaSet named by the template hash and its pods, and settle', () => {
    const l = lab();
    createDeployment(l, 'web', 3);
    l.run();
    const d = deploymentOf(l, 'web');
    const hash = templateHash(d);
    const sets = replicaSetsOf(l, 'web');
    expect(sets.map((rs) => rs.metadata.name)).toEqual([`web-${hash}`]);
    const rs = sets[0]!;
    expect(rs.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(rs.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs.metadata.annotations).toMatchObject({ [REVISION_ANNOTATION]: '1', 'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4' });
    expect(rs.spec).toMatchObject({ replicas: 3, selector: { matchLabels: { app: 'web', 'pod-template-hash': hash } } });
    expect(rs.spec!.template!.metadata!.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(d.metadata.annotations?.[REVISION_ANNOTATION]).toBe('1');

    const pods = podsOf(l, rs).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    expect(pods.map((p) => p.metadata.name)).toEqual([`web-${hash}-aaaaa`, `web-${hash}-aaaab`, `web-${hash}-aaaac`]);
    for (const p of pods) {
      expect(p.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
      expect(p.metadata.annotations).toEqual({ note: 'x' });
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }]);
      expect(p.spec).toEqual({ containers: [{ name: 'app', image: 'app:v1' }] });
      expect(p.status).toEqual({ phase: 'Pending' });
    }
    expect(rs.status).toEqual({ replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 0, availableReplicas: 0, observedGeneration: 1 });

    const version = l.store.resourceVersion;
    l.run();
    expect(l.store.resourceVersion).toBe(version);
  });

  it('skip a suffix whose pod name is taken', () => {
    const l = lab();
    createDeployment(l, 'web', 1);
    const hash = templateHash(deploymentOf(l, 'web'));
    putObject(l.store, 'Pod', { metadata: newMeta({ name: `web-${hash}-aaaaa` }, l.ctx.now, true) });
    l.run();
    expect(podsOf(l, rsByHash(l, 'web')).map((p) => p.metadata.name)).toEqual([`web-${hash}-aaaab`]);
  });

  it('scale up and down, deleting unbound, then pending, not ready and restarting pods first', () => {
    const l = lab();
    createDeployment(l, 'web', 3);
    l.run();
    updateDeployment(l, 'web', (s) => (s.replicas = 5));
    l.run();
    const rs = () => rsByHash(l, 'web');
    expect(replicaSetsOf(l, 'web')).toHaveLength(1);
    expect(live(podsOf(l, rs()))).toHaveLength(5);

    // aaaaa stays unbound; aaaab is bound but pending; aaaac runs, not ready; aaaad runs, ready, restarted; aaaae runs, ready.
    const [a, b, c, dd, e] = podsOf(l, rs()).sort((x, y) => x.metadata.name.localeCompare(y.metadata.name));
    bind(l, b!, 'Pending');
    for (const p of [c!, dd!, e!]) bind(l, p, 'Running');
    const restarted = l.store.objects.Pod[key(dd!)]!;
    putObject(l.store, 'Pod', { ...restarted, status: { ...restarted.status, containerStatuses: [{ name: 'app', image: 'app:v1', imageID: '', ready: true, restartCount: 2 }] } });
    for (const p of [dd!, e!]) l.ready.add(key(p));

    updateDeployment(l, 'web', (s) => (s.replicas = 4));
    l.run();
    expect(podsOf(l, rs()).filter(isTerminating).map((p) => p.metadata.name)).toEqual([a!.metadata.name]);
    updateDeployment(l, 'web', (s) => (s.replicas = 1));
    l.run();
    expect(live(podsOf(l, rs())).map((p) => p.metadata.name)).toEqual([e!.metadata.name]);
    expect(rs().spec!.replicas).toBe(1);
    expect(rs().status).toMatchObject({ replicas: 1, readyReplicas: 1, availableReplicas: 1 });
    expect(deploymentOf(l, 'web').status).toMatchObject({ replicas: 1, updatedReplicas: 1, availableReplicas: 1, unavailableReplicas: 0 });
  });

  it('delete the newest of otherwise equal pods first', () => {
    const l = lab();
    const pod = (name: string, at: string): StoredPod => ({ metadata: newMeta({ name }, at, true) });
    const pods = [pod('old', '2025-01-01T00:00:00Z'), pod('new', '2025-01-01T00:01:00Z'), pod('b', '2025-01-01T00:00:30Z'), pod('a', '2025-01-01T00:00:30Z')];
    expect(pods.sort(deletionOrder(l.ctx)).map((p) => p.metadata.name)).toEqual(['new', 'a', 'b', 'old']);
  });

  it('replace terminating pods and not count them', () => {
    const l = lab();
    createDeployment(l, 'web', 3);
    l.run();
    settle(l);
    l.run();
    const victim = podsOf(l, rsByHash(l, 'web'))[0]!;
    markDeleted(l.store, victim, l.ctx.now);
    l.run();
    const pods = podsOf(l, rsByHash(l, 'web'));
    expect(pods).toHaveLength(4);
    expect(live(pods)).toHaveLength(3);
    expect(rsByHash(l, 'web').status).toMatchObject({ replicas: 3, readyReplicas: 2 });
    expect(deploymentOf(l, 'web').status).toMatchObject({ replicas: 3, readyReplicas: 2, availableReplicas: 2, unavailableReplicas: 1 });
  });

  it('resolve maxSurge and maxUnavailable as Kubernetes does', () => {
    const l = lab();
    const limits = (replicas: number, rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string }, type?: string) => {
      createDeployment(l, 'x', replicas, { strategy: { type, rollingUpdate } });
      return rollingLimits(deploymentOf(l, 'x'));
    };
    expect(limits(3)).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(limits(10)).toEqual({ maxSurge: 3, maxUnavailable: 2 });
    expect(limits(3, { maxSurge: '50%', maxUnavailable: '50%' })).toEqual({ maxSurge: 2, maxUnavailable: 1 });
    expect(limits(3, { maxSurge: 0, maxUnavailable: '0%' })).toEqual({ maxSurge: 0, maxUnavailable: 1 });
    expect(limits(2, { maxSurge: 1, maxUnavailable: 5 })).toEqual({ maxSurge: 1, maxUnavailable: 2 });
    expect(limits(3, undefined, 'Recreate')).toEqual({ maxSurge: 0, maxUnavailable: 0 });
  });

  it('roll a new template out one pod at a time, never below the available minimum', () => {
    const l = lab();
    createDeployment(l, 'web', 3);
    l.run();
    settle(l);
    l.run();
    const oldRS = rsByHash(l, 'web');
    const versionBefore = l.store.resourceVersion;
    l.run();
    expect(l.store.resourceVersion).toBe(versionBefore);

    updateDeployment(l, 'web', setImage('app:v2'));
    const trace: Array<[number, number, number]> = [];
    const reasons: string[] = [];
    const record = () => {
      reasons.push(deploymentOf(l, 'web').status!.conditions!.find((c) => c.type === 'Progressing')!.reason!);
      const newPods = podsOf(l, rsByHash(l, 'web'));
      const oldPods = podsOf(l, l.store.objects.ReplicaSet[objectKey('ReplicaSet', oldRS.metadata)]!);
      trace.push([live(newPods).length, live(oldPods).length, oldPods.filter(isTerminating).length]);
      expect(readyLive(l)).toBeGreaterThanOrEqual(3 - 0);
      expect(live(listObjects(l.store, 'Pod')).length).toBeLessThanOrEqual(3 + 1);
    };
    l.run();
    record();
    expect(rolloutProgress(l.store, deploymentOf(l, 'web'), l.ctx.isReady)).toBe('0 of 3 updated replicas available, 3 old replicas left');
    expect(rolloutComplete(l.store, deploymentOf(l, 'web'), l.ctx.isReady)).toBe(false);
    // Nothing moves until the new pod is ready.
    const stalled = l.store.resourceVersion;
    l.run();
    expect(l.store.resourceVersion).toBe(stalled);

    for (let step = 0; step < 10 && l.store.objects.ReplicaSet[objectKey('ReplicaSet', oldRS.metadata)]!.spec!.replicas !== 0; step++) {
      settle(l);
      l.run();
      record();
    }
    expect(trace).toEqual([
      [1, 3, 0],
      [2, 2, 1],
      [3, 1, 1],
      [3, 0, 1],
    ]);
    expect(reasons).toEqual(['ReplicaSetUpdated', 'ReplicaSetUpdated', 'ReplicaSetUpdated', 'NewReplicaSetAvailable']);
    // The API counts terminating pods nowhere, so the Deployment looks done; the lab still waits for the last old pod.
    expect(rolloutProgress(l.store, deploymentOf(l, 'web'), l.ctx.isReady)).toBe('3 of 3 updated replicas available, 1 old replica left');
    expect(rolloutComplete(l.store, deploymentOf(l, 'web'), l.ctx.isReady)).toBe(false);
    const d = deploymentOf(l, 'web');
    expect(d.status).toMatchObject({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    expect(d.status!.conditions!.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsByHash(l, 'web').metadata.name}" has successfully progressed.` });

    settle(l);
    l.run();
    expect(rolloutComplete(l.store, deploymentOf(l, 'web'), l.ctx.isReady)).toBe(true);
    expect(rolloutProgress(l.store, deploymentOf(l, 'web'), l.ctx.isReady)).toBe('3 of 3 updated replicas available');
    expect(rsByHash(l, 'web').metadata.annotations?.[REVISION_ANNOTATION]).toBe('2');
    expect(deploymentOf(l, 'web').metadata.annotations?.[REVISION_ANNOTATION]).toBe('2');
    expect(replicaSetsOf(l, 'web')).toHaveLength(2); // the old one is kept as history
  });

  it('with maxSurge 0 and maxUnavailable 1, remove an old pod before adding a new one', () => {
    const l = lab();
    createDeployment(l, 'web', 3, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } });
    l.run();
    settle(l);
    l.run();
    updateDeployment(l, 'web', setImage('app:v2'));
    for (let step = 0; step < 10 && !rolloutComplete(l.store, deploymentOf(l, 'web'), l.ctx.isReady); step++) {
      l.run();
      expect(readyLive(l)).toBeGreaterThanOrEqual(2);
      expect(live(listObjects(l.store, 'Pod')).length).toBeLessThanOrEqual(3);
      if (step === 0) {
        expect(live(podsOf(l, rsByHash(l, 'web')))).toHaveLength(1);
        expect(listObjects(l.store, 'Pod').filter(isTerminating)).toHaveLength(1);
      }
      settle(l);
    }
    expect(rolloutComplete(l.store, deploymentOf(l, 'web'), l.ctx.isReady)).toBe(true);
  });

  it('with Recreate, start the new pods only once the old ones are gone', () => {
    const l = lab();
    createDeployment(l, 'web', 2, { strategy: { type: 'Recreate' } });
    l.run();
    settle(l);
    l.run();
    const oldRS = rsByHash(l, 'web');
    updateDeployment(l, 'web', setImage('app:v2'));
    l.run();
    expect(l.store.objects.ReplicaSet[objectKey('ReplicaSet', oldRS.metadata)]!.spec!.replicas).toBe(0);
    expect(podsOf(l, oldRS).every(isTerminating)).toBe(true);
    expect(replicaSetsOf(l, 'web')).toHaveLength(1); // the new ReplicaSet waits
    expect(deploymentOf(l, 'web').status!.conditions!.find((c) => c.type === 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
    l.run();
    expect(replicaSetsOf(l, 'web')).toHaveLength(1);

    settle(l); // the old pods are gone
    l.run();
    expect(live(podsOf(l, rsByHash(l, 'web')))).toHaveLength(2);
    expect(rolloutComplete(l.store, deploymentOf(l, 'web'), l.ctx.isReady)).toBe(false);
    settle(l);
    l.run();
    expect(rolloutComplete(l.store, deploymentOf(l, 'web'), l.ctx.isReady)).toBe(true);
  });

  it('keep revisionHistoryLimit old ReplicaSets and renumber one rolled back to', () => {
    const l = lab();
    createDeployment(l, 'web', 1, { revisionHistoryLimit: 1 });
    const rollTo = (image: string) => {
      updateDeployment(l, 'web', setImage(image));
      for (let i = 0; i < 10 && !rolloutComplete(l.store, deploymentOf(l, 'web'), l.ctx.isReady); i++) {
        l.run();
        settle(l);
      }
      l.run();
    };
    l.run();
    settle(l);
    l.run();
    rollTo('app:v2');
    rollTo('app:v3');
    rollTo('app:v4');
    const revisions = () => Object.fromEntries(replicaSetsOf(l, 'web').map((rs) => [rs.spec!.template!.spec!.containers[0]!.image, rs.metadata.annotations?.[REVISION_ANNOTATION]]));
    expect(revisions()).toEqual({ 'app:v3': '3', 'app:v4': '4' });

    rollTo('app:v3');
    expect(revisions()).toEqual({ 'app:v3': '5', 'app:v4': '4' });
    expect(rsByHash(l, 'web').metadata.annotations?.['deployment.kubernetes.io/revision-history']).toBe('3');
    expect(deploymentOf(l, 'web').metadata.annotations?.[REVISION_ANNOTATION]).toBe('5');
  });

  it('report status and conditions, keeping condition times while nothing changes', () => {
    const l = lab();
    createDeployment(l, 'web', 2);
    l.run();
    const first = deploymentOf(l, 'web').status!;
    const created = l.ctx.now;
    expect(first).toMatchObject({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 0, availableReplicas: 0, unavailableReplicas: 2 });
    expect(first.conditions).toEqual([
      { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.', lastUpdateTime: created, lastTransitionTime: created },
      { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsByHash(l, 'web').metadata.name}" is progressing.`, lastUpdateTime: created, lastTransitionTime: created },
    ]);

    settle(l);
    l.run();
    const done = l.ctx.now;
    const status = deploymentOf(l, 'web').status!;
    expect(status).toMatchObject({ replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, unavailableReplicas: 0 });
    expect(status.conditions).toEqual([
      { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: done, lastTransitionTime: done },
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsByHash(l, 'web').metadata.name}" has successfully progressed.`, lastUpdateTime: done, lastTransitionTime: created },
    ]);

    const version = l.store.resourceVersion;
    l.run();
    expect(l.store.resourceVersion).toBe(version);
    expect(deploymentOf(l, 'web').status).toEqual(status);
  });
});

