/**
 * The emulated ReplicaSet controller: keeps the live (non-terminating) pods of each ReplicaSet at
 * spec.replicas, creating pods from its template or starting the graceful deletion of the ones
 * Kubernetes would give up first, and reports the counts in the ReplicaSet's status.
 */
import type { ControllerContext } from './types.js';
import { stableJson } from '../../util/stable-json.js';
import {
  isTerminating,
  listObjects,
  markDeleted,
  newMeta,
  objectKey,
  ownedBy,
  ownerRef,
  putObject,
  type Store,
  type StoredPod,
  type StoredReplicaSet,
} from '../store.js';

export const podKey = (pod: StoredPod) => objectKey('Pod', pod.metadata);

/** The pods a ReplicaSet counts: its own, not terminating. */
export function livePods(store: Store, rs: StoredReplicaSet): StoredPod[] {
  return ownedBy(store, 'Pod', rs).filter((p) => !isTerminating(p));
}

export function syncReplicaSets(store: Store, ctx: ControllerContext): void {
  for (const rs of listObjects(store, 'ReplicaSet')) if (!isTerminating(rs)) syncReplicaSet(store, ctx, rs);
}

function syncReplicaSet(store: Store, ctx: ControllerContext, rs: StoredReplicaSet): void {
  const want = rs.spec?.replicas ?? 1;
  const pods = livePods(store, rs);
  if (pods.length < want) {
    for (let i = pods.length; i < want; i++) createPod(store, ctx, rs);
  } else if (pods.length > want) {
    for (const pod of [...pods].sort(deletionOrder(ctx)).slice(0, pods.length - want)) markDeleted(store, pod, ctx.now);
  }

  const after = livePods(store, rs);
  const ready = after.filter((p) => ctx.isReady(podKey(p))).length;
  const status = {
    replicas: after.length,
    fullyLabeledReplicas: after.length,
    readyReplicas: ready,
    // minReadySeconds is not emulated: a ready pod is available at once
    availableReplicas: ready,
    observedGeneration: rs.metadata.generation,
  };
  if (stableJson(status) !== stableJson(rs.status ?? {})) putObject(store, 'ReplicaSet', { ...rs, status });
}

function createPod(store: Store, ctx: ControllerContext, rs: StoredReplicaSet): void {
  const namespace = rs.metadata.namespace ?? 'default';
  const template = rs.spec?.template;
  let name = '';
  for (let tries = 0; ; tries++) {
    if (tries === 100) throw new Error(`no free pod name for ReplicaSet ${namespace}/${rs.metadata.name}`);
    name = `${rs.metadata.name}-${ctx.suffix()}`;
    if (!store.objects.Pod[`${namespace}/${name}`]) break;
  }
  const meta = {
    name,
    generateName: `${rs.metadata.name}-`,
    namespace,
    ...(template?.metadata?.labels ? { labels: { ...template.metadata.labels } } : {}),
    ...(template?.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
    ownerReferences: [ownerRef('ReplicaSet', rs)],
  };
  const pod: StoredPod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: newMeta(meta, ctx.now, true),
    spec: structuredClone(template?.spec ?? { containers: [] }),
    status: { phase: 'Pending' },
  };
  putObject(store, 'Pod', pod);
}

// Pending (or no phase yet) < Unknown < Running, as the ReplicaSet controller ranks phases.
const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
const phaseRank = (p: StoredPod) => PHASE_RANK[p.status?.phase ?? 'Pending'] ?? 0;
const restarts = (p: StoredPod) => (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
const created = (p: StoredPod) => Date.parse(p.metadata.creationTimestamp) || 0;

/** Sort order putting the pods to delete first. */
export function deletionOrder(ctx: ControllerContext): (a: StoredPod, b: StoredPod) => number {
  const ready = (p: StoredPod) => ctx.isReady(podKey(p));
  return (a, b) =>
    Number(Boolean(a.spec?.nodeName)) - Number(Boolean(b.spec?.nodeName)) ||
    phaseRank(a) - phaseRank(b) ||
    Number(ready(a)) - Number(ready(b)) ||
    restarts(b) - restarts(a) ||
    created(b) - created(a) ||
    (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);
}
