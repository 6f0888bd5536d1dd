import { describe, expect, it } from 'vitest';
import type { SchedulingNode } from '../../src/cluster/controllers/types.js';
import { podRequests, schedule } from '../../src/cluster/scheduler.js';
import { emptyStore, getObject, listObjects, newMeta, putObject, type Store, type StoredPod } from '../../src/cluster/store.js';

const NOW = '2024-05-01T12:00:00Z';
const ctx = { now: NOW };

interface PodOpts {
  cpu?: string;
  memory?: string;
  nodeName?: string;
  owner?: string;
  nodeSelector?: Record<string, string>;
  created?: string;
  terminating?: boolean;
}

function addPod(store: Store, name: string, o: PodOpts = {}): StoredPod {
  const requests = { ...(o.cpu ? { cpu: o.cpu } : {}), ...(o.memory ? { memory: o.memory } : {}) };
  const meta = newMeta(
    {
      name,
      namespace: 'default',
      ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.owner, uid: `uid-${o.owner}`, controller: true }] } : {}),
    },
    o.created ?? NOW,
    true,
  );
  if (o.terminating) meta.deletionTimestamp = NOW;
  return putObject(store, 'Pod', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta,
    spec: {
      containers: [{ name: 'c', image: 'x', resources: { requests } }],
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
    },
  });
}

function node(name: string, o: Partial<SchedulingNode['allocatable']> & { labels?: Record<string, string>; unschedulable?: boolean } = {}): SchedulingNode {
  return {
    name,
    labels: { 'kubernetes.io/hostname': name, ...o.labels },
    unschedulable: o.unschedulable ?? false,
    taints: [],
    allocatable: { cpuMilli: o.cpuMilli ?? 2000, memoryBytes: o.memoryBytes ?? 4 * 2 ** 30, pods: o.pods ?? 110 },
  };
}

const three = () => [node('n1'), node('n2'), node('n3')];
const pod = (store: Store, name: string) => getObject(store, 'Pod', `default/${name}`)!;
const nodeOf = (store: Store, name: string) => pod(store, name).spec?.nodeName;
const scheduled = (store: Store, name: string) => pod(store, name).status?.conditions?.find((c) => c.type === 'PodScheduled');

describe('scheduler', () => {
  it('binds to the least loaded node and marks the pod scheduled', () => {
    const store = emptyStore();
    addPod(store, 'big', { cpu: '1', memory: '1Gi', nodeName: 'n1' });
    addPod(store, 'small', { cpu: '100m', memory: '128Mi', nodeName: 'n2' });
    addPod(store, 'new', { cpu: '100m', memory: '128Mi' });
    const r = schedule(store, three(), ctx);
    expect(r).toEqual({ bound: [{ pod: 'default/new', node: 'n3' }], unschedulable: [] });
    expect(pod(store, 'new').status).toEqual({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: NOW }] });
    expect(pod(store, 'new').spec?.containers).toHaveLength(1);
  });

  it('spreads the replicas of one owner, 2/2/1 over three nodes', () => {
    const store = emptyStore();
    for (let i = 0; i < 5; i++) addPod(store, `web-${i}`, { owner: 'web', cpu: '100m' });
    expect(schedule(store, three(), ctx).bound).toHaveLength(5);
    const perNode = new Map<string, number>();
    for (const p of listObjects(store, 'Pod')) perNode.set(p.spec!.nodeName!, (perNode.get(p.spec!.nodeName!) ?? 0) + 1);
    expect([...perNode.values()].sort()).toEqual([1, 2, 2]);
  });

  it('puts spread before free resources', () => {
    const store = emptyStore();
    addPod(store, 'hog', { cpu: '1500m', memory: '3Gi', nodeName: 'n1' });
    for (let i = 0; i < 3; i++) addPod(store, `web-${i}`, { owner: 'web', cpu: '100m' });
    schedule(store, three(), ctx);
    expect(['web-0', 'web-1', 'web-2'].map((n) => nodeOf(store, n)).sort()).toEqual(['n1', 'n2', 'n3']);
  });

  it('counts pods bound earlier in the same call, in creation order', () => {
    const store = emptyStore();
    addPod(store, 'b', { cpu: '1500m', created: '2024-05-01T11:00:01Z' });
    addPod(store, 'a', { cpu: '1500m', created: '2024-05-01T11:00:02Z' });
    addPod(store, 'c', { cpu: '1500m', created: '2024-05-01T11:00:02Z' });
    const r = schedule(store, [node('n1'), node('n2')], ctx);
    expect(r.bound).toEqual([
      { pod: 'default/b', node: 'n1' },
      { pod: 'default/a', node: 'n2' },
    ]);
    expect(r.unschedulable).toEqual([{ pod: 'default/c', message: '0/2 nodes are available: 2 Insufficient cpu.' }]);
  });

  it('respects nodeSelector', () => {
    const store = emptyStore();
    addPod(store, 'p', { nodeSelector: { disk: 'ssd' } });
    schedule(store, [node('n1'), node('n2'), node('n3', { labels: { disk: 'ssd' } })], ctx);
    expect(nodeOf(store, 'p')).toBe('n3');
  });

  it('leaves a pod that fits nowhere unbound, with the Kubernetes message', () => {
    const store = emptyStore();
    addPod(store, 'huge', { memory: '16Gi' });
    const r = schedule(store, three(), ctx);
    const message = '0/3 nodes are available: 3 Insufficient memory.';
    expect(r).toEqual({ bound: [], unschedulable: [{ pod: 'default/huge', message }] });
    expect(nodeOf(store, 'huge')).toBeUndefined();
    expect(pod(store, 'huge').status).toEqual({
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: NOW }],
    });
  });

  it('counts each reason per node, sorted as Kubernetes sorts them', () => {
    const store = emptyStore();
    addPod(store, 'p', { cpu: '1500m', memory: '3Gi' });
    const nodes = [
      node('n1', { unschedulable: true }),
      node('n2', { cpuMilli: 1000 }),
      node('n3', { cpuMilli: 1000, memoryBytes: 2 ** 30 }),
      node('n4', { pods: 0 }),
      node('n5', { labels: { 'kubernetes.io/hostname': 'elsewhere' } }),
    ];
    const r = schedule(store, nodes.slice(0, 4), ctx);
    expect(r.unschedulable[0]!.message).toBe('0/4 nodes are available: 1 Insufficient memory, 1 Too many pods, 1 node(s) were unschedulable, 2 Insufficient cpu.');
    const s = emptyStore();
    addPod(s, 'q', { nodeSelector: { zone: 'a' } });
    expect(schedule(s, nodes, ctx).unschedulable[0]!.message).toBe(
      "0/5 nodes are available: 1 node(s) were unschedulable, 4 node(s) didn't match Pod's node affinity/selector.",
    );
  });

  it('reports a cordoned node as unschedulable only, whatever else it lacks', () => {
    const store = emptyStore();
    addPod(store, 'p', { memory: '16Gi' });
    const r = schedule(store, [node('n1', { unschedulable: true }), node('n2')], ctx);
    expect(r.unschedulable[0]!.message).toBe('0/2 nodes are available: 1 Insufficient memory, 1 node(s) were unschedulable.');
  });

  it('skips an unschedulable node', () => {
    const store = emptyStore();
    addPod(store, 'busy', { cpu: '1', nodeName: 'n2' });
    addPod(store, 'p', { cpu: '100m' });
    schedule(store, [node('n1', { unschedulable: true }), node('n2')], ctx);
    expect(nodeOf(store, 'p')).toBe('n2');
  });

  it('counts terminating pods for resources but not for spread', () => {
    const store = emptyStore();
    addPod(store, 'old', { cpu: '1800m', nodeName: 'n1', terminating: true });
    addPod(store, 'p', { cpu: '500m' });
    expect(schedule(store, [node('n1')], ctx).unschedulable).toEqual([{ pod: 'default/p', message: '0/1 nodes are available: 1 Insufficient cpu.' }]);

    const s = emptyStore();
    addPod(s, 'web-old', { owner: 'web', nodeName: 'n1', terminating: true });
    addPod(s, 'web-keep', { owner: 'web', nodeName: 'n2' });
    addPod(s, 'web-new', { owner: 'web' });
    schedule(s, [node('n1'), node('n2')], ctx);
    expect(nodeOf(s, 'web-new')).toBe('n1');
  });

  it('does not rewrite a pod already reported unschedulable', () => {
    const store = emptyStore();
    addPod(store, 'huge', { memory: '16Gi' });
    schedule(store, three(), ctx);
    const rv = store.resourceVersion;
    const again = schedule(store, three(), { now: '2024-05-01T12:05:00Z' });
    expect(again.unschedulable).toHaveLength(1);
    expect(store.resourceVersion).toBe(rv);
    expect(scheduled(store, 'huge')?.lastTransitionTime).toBe(NOW);

    // A different reason rewrites the message but keeps the transition time: the status is still False.
    schedule(store, [node('n1', { unschedulable: true })], { now: '2024-05-01T12:10:00Z' });
    expect(store.resourceVersion).toBe(rv + 1);
    expect(scheduled(store, 'huge')).toMatchObject({ message: '0/1 nodes are available: 1 node(s) were unschedulable.', lastTransitionTime: NOW });
  });

  it('leaves pods that already have a node alone', () => {
    const store = emptyStore();
    addPod(store, 'a', { nodeName: 'n1' });
    addPod(store, 'b', { nodeName: 'gone', memory: '64Gi' });
    const before = structuredClone(store);
    expect(schedule(store, three(), ctx)).toEqual({ bound: [], unschedulable: [] });
    expect(store).toEqual(before);
  });

  it('takes limits as requests and sums containers', () => {
    const store = emptyStore();
    const p = addPod(store, 'p');
    p.spec!.containers = [
      { name: 'a', resources: { requests: { cpu: '100m' }, limits: { cpu: '1', memory: '256Mi' } } },
      { name: 'b', resources: { requests: { memory: '1Gi', cpu: 'bogus' } } },
      { name: 'c' },
    ];
    expect(podRequests(p)).toEqual({ cpuMilli: 100, memoryBytes: 256 * 2 ** 20 + 2 ** 30 });
  });
});
