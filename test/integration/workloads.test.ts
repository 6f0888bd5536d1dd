/**
 * Workload kinds and scheduling in a running lab, with real pods and traffic: a StatefulSet coming
 * up in order and scaling down in reverse, its pods' hostnames their names; DaemonSets on every
 * matching node (not a tainted one unless tolerated; a node added by `up` gets its pod); Jobs that
 * complete and one that fails at its backoffLimit; a ReplicaSet and a ReplicationController applied
 * directly; required anti-affinity spreading replicas and leaving one Pending with the message.
 */
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTHING_LEFT, exec, getJson as getLabJson, kemu, mustApplyDocs, leftovers, mustUp, rootNetwork, until, writeTopology } from '../helpers/kemu.js';

const LAB = 'kt-wl-kinds';
const topology = (nodes: unknown[]) => ({
  apiVersion: 'kemu.dev/v1alpha1',
  kind: 'Topology',
  metadata: { name: LAB },
  spec: {
    network: { underlay: { subnet: '192.168.81.0/24' } },
    nodes,
    workloads: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client' }, spec: { nodeName: 'n1', containers: [{ name: 'shell', image: 'busybox' }] } }],
  },
});
const NODES = [{ name: 'n1' }, { name: 'n2' }, { name: 'n3', taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }];
const file = writeTopology(LAB, topology(NODES));

const apply = (docs: unknown[], ...extra: string[]) => mustApplyDocs(LAB, docs, ...extra);
const getJson = (...args: string[]) => getLabJson(LAB, ...args);
const podsLike = async (prefix: string) => (await getJson('pods')).items.filter((p: any) => p.metadata.name.startsWith(prefix));
const tmpl = (labels: Record<string, string>, spec: Record<string, unknown> = {}) => ({ metadata: { labels }, spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80 }] }], ...spec } });
const podNetns = async () => (await readdir('/run/netns')).filter((n) => n.startsWith(`kemu-${LAB}.pod.`)).map((n) => n.slice(`kemu-${LAB}.pod.default.`.length));

let rootBefore: Awaited<ReturnType<typeof rootNetwork>>;
beforeAll(async () => {
  rootBefore = await rootNetwork();
  await mustUp(file);
});
afterAll(async () => {
  await kemu('down', '-q', LAB);
});

describe('StatefulSet', () => {
  it('comes up in order (each pod created after its predecessor is Ready), each pod answering with its own name as hostname', async () => {
    await apply([
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'nginx' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web' }, spec: { serviceName: 'nginx', replicas: 3, selector: { matchLabels: { app: 'web' } }, template: tmpl({ app: 'web' }) } },
    ]);
    const pods = (await podsLike('web-')).sort((a: any, b: any) => a.metadata.name.localeCompare(b.metadata.name));
    expect(pods.map((p: any) => p.metadata.name)).toEqual(['web-0', 'web-1', 'web-2']);
    for (let i = 1; i < 3; i++) {
      const readyAt = Date.parse(pods[i - 1].status.conditions.find((c: any) => c.type === 'Ready').lastTransitionTime);
      expect(Date.parse(pods[i].metadata.creationTimestamp)).toBeGreaterThanOrEqual(readyAt);
    }
    for (const p of pods) {
      expect(p.spec).toMatchObject({ hostname: p.metadata.name, subdomain: 'nginx', nodeName: expect.stringMatching(/^n[12]$/) });
      expect(p.metadata.labels['statefulset.kubernetes.io/pod-name']).toBe(p.metadata.name);
      expect((await exec(LAB, p.metadata.name, 'hostname')).trim()).toBe(p.metadata.name);
      expect(await exec(LAB, 'client', 'curl', '-sS', '-m', '2', `http://${p.status.podIP}/hostname`)).toBe(p.metadata.name);
    }
    const sts = await getJson('statefulsets', 'web');
    expect(sts.status).toMatchObject({ replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, currentRevision: sts.status.updateRevision });
    expect((await kemu('get', 'sts', '--lab', LAB)).stdout).toMatch(/default\s+web\s+3\/3/);
  });

  it('scales down in reverse order, one pod at a time', async () => {
    const gone: string[] = [];
    let watching = true;
    const watcher = (async () => {
      let seen = new Set(await podNetns());
      while (watching) {
        const now = new Set(await podNetns());
        for (const n of seen) if (!now.has(n)) gone.push(n);
        seen = now;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const r = await kemu('scale', 'statefulset', 'web', '--replicas', '1', '--lab', LAB);
    watching = false;
    await watcher;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(gone).toEqual(['web-2', 'web-1']);
    expect(r.stderr.match(/1 terminated pod removed/g)).toHaveLength(2);
    expect((await podsLike('web-')).map((p: any) => p.metadata.name)).toEqual(['web-0']);
  });
});

describe('DaemonSet', () => {
  it('lands on every node it should: not on the tainted one, unless tolerated; a node added by up gets its pod', async () => {
    await apply([
      { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: tmpl({ app: 'agent' }) } },
      { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'logger' }, spec: { selector: { matchLabels: { app: 'logger' } }, template: tmpl({ app: 'logger' }, { tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }] }) } },
    ]);
    const nodesOf = async (prefix: string) => (await podsLike(prefix)).map((p: any) => p.spec.nodeName).sort();
    expect(await nodesOf('agent-')).toEqual(['n1', 'n2']);
    expect(await nodesOf('logger-')).toEqual(['n1', 'n2', 'n3']);
    expect((await getJson('daemonsets', 'agent')).status).toMatchObject({ desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 2, updatedNumberScheduled: 2, numberAvailable: 2 });
    expect((await kemu('get', 'ds', '--lab', LAB)).stdout).toMatch(/default\s+agent\s+2\s+2\s+2\s+2\s+2\s+<none>\ndefault\s+logger\s+3\s+3\s+3\s+3\s+3/);

    const up = await kemu('up', '-q', writeTopology(LAB, topology([...NODES, { name: 'n4' }])));
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await nodesOf('agent-')).toEqual(['n1', 'n2', 'n4']);
    const newPod = (await podsLike('agent-')).find((p: any) => p.spec.nodeName === 'n4');
    expect(newPod.status.phase).toBe('Running');
    expect(await exec(LAB, 'client', 'curl', '-sS', '-m', '2', `http://${newPod.status.podIP}/hostname`)).toBe(newPod.metadata.name);
    const node = (await getJson('nodes', 'n3')).metadata;
    expect(node.labels).toMatchObject({ 'kubernetes.io/hostname': 'n3', 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': expect.stringMatching(/^(amd64|arm64)$/) });
    expect((await getJson('nodes', 'n3')).spec.taints).toEqual([{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
  });
});

describe('Job', () => {
  it('runs its pods to completion (Succeeded, Complete, COMPLETIONS 2/2, sandboxes gone); a failing one stops at its backoffLimit (Failed)', async () => {
    await apply([
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'pi' }, spec: { completions: 2, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl' }] } } } },
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'broken' },
        spec: { backoffLimit: 1, template: { metadata: { annotations: { 'kemu.dev/exit-code': '1' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'x', image: 'busybox' }] } } },
      },
    ]);
    const condition = async (name: string) => ((await getJson('jobs', name)).status.conditions ?? []).filter((c: any) => c.status === 'True').map((c: any) => c.type);
    await until('job pi to complete', 30_000, async () => (await condition('pi')).includes('Complete'));
    const pi = await getJson('jobs', 'pi');
    expect(pi.status).toMatchObject({ succeeded: 2, failed: 0, active: 0, completionTime: expect.any(String) });
    expect(await condition('pi')).toEqual(['SuccessCriteriaMet', 'Complete']);
    const piPods = await podsLike('pi-');
    expect(piPods.map((p: any) => p.status.phase)).toEqual(['Succeeded', 'Succeeded']);
    expect(piPods[0].status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    const netns = await podNetns();
    for (const p of piPods) expect(netns).not.toContain(p.metadata.name);
    expect((await kemu('get', 'jobs', '--lab', LAB)).stdout).toMatch(/default\s+pi\s+Complete\s+2\/2\s+\d+s/);
    expect((await kemu('get', 'pods', '--lab', LAB)).stdout).toMatch(new RegExp(`${piPods[0].metadata.name}\\s+0/1\\s+Completed`));

    await until('job broken to fail', 30_000, async () => (await condition('broken')).includes('Failed'));
    const broken = await getJson('jobs', 'broken');
    expect(broken.status).toMatchObject({ failed: 2, succeeded: 0, active: 0 });
    expect(broken.status.conditions.find((c: any) => c.type === 'Failed')).toMatchObject({ reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    const failed = await podsLike('broken-');
    expect(failed.map((p: any) => [p.status.phase, p.status.containerStatuses[0].state.terminated.exitCode])).toEqual([
      ['Failed', 1],
      ['Failed', 1],
    ]);
  });
});

describe('ReplicaSet and ReplicationController applied directly', () => {
  it('keep their replica counts: a deleted pod is replaced', async () => {
    await apply([
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'frontend' }, spec: { replicas: 2, selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend'] }] }, template: tmpl({ tier: 'frontend' }) } },
      { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'legacy' }, spec: { replicas: 2, template: tmpl({ app: 'legacy' }) } },
    ]);
    for (const [prefix, kind] of [['frontend-', 'rs'], ['legacy-', 'rc']] as const) {
      const before = await podsLike(prefix);
      expect(before).toHaveLength(2);
      expect((await kemu('delete', 'pod', before[0].metadata.name, '--lab', LAB, '-q')).exitCode).toBe(0);
      const after = (await podsLike(prefix)).filter((p: any) => !p.metadata.deletionTimestamp);
      expect(after).toHaveLength(2);
      expect(after.map((p: any) => p.metadata.name)).not.toContain(before[0].metadata.name);
      for (const p of after) expect(await exec(LAB, 'client', 'curl', '-sS', '-m', '2', `http://${p.status.podIP}/hostname`)).toBe(p.metadata.name);
      expect((await getJson(kind, prefix.slice(0, -1))).status).toMatchObject({ replicas: 2, readyReplicas: 2 });
    }
    expect((await kemu('scale', 'rc', 'legacy', '--replicas', '1', '--lab', LAB, '-q')).exitCode).toBe(0);
    expect(await podsLike('legacy-')).toHaveLength(1);
  });
});

describe('pod anti-affinity', () => {
  it('spreads 3 replicas over 3 nodes by hostname and leaves a 4th Pending with the scheduler\'s message', async () => {
    const affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'spread' } }, topologyKey: 'kubernetes.io/hostname' }] } };
    const deploy = (replicas: number) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'spread' },
      spec: { replicas, selector: { matchLabels: { app: 'spread' } }, template: tmpl({ app: 'spread' }, { affinity }) },
    });
    await apply([deploy(3)]);
    const placed = await podsLike('spread-');
    expect(placed.map((p: any) => p.spec.nodeName).sort()).toEqual(['n1', 'n2', 'n4']);
    // A 4th: n3's taint and the others' anti-affinity leave it nowhere; apply returns without waiting for it.
    const started = Date.now();
    const r = await apply([deploy(4)]);
    expect(Date.now() - started).toBeLessThan(20_000);
    const message = "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 3 node(s) didn't match pod anti-affinity rules.";
    expect(r.stdout).toContain(message);
    const pending = (await podsLike('spread-')).filter((p: any) => !p.spec.nodeName);
    expect(pending).toHaveLength(1);
    expect(pending[0].status.conditions).toContainEqual(expect.objectContaining({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }));
  });
});

describe('teardown', () => {
  it('down leaves nothing and the root namespace as it was', async () => {
    expect((await kemu('down', LAB)).exitCode).toBe(0);
    expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
    expect(await rootNetwork()).toEqual(rootBefore);
  });
});
