/**
 * The emulated ReplicaSet controller (which also runs ReplicationControllers, as Kubernetes's does):
 * keeps the live (non-terminating, not finished) pods of each at spec.replicas, creating pods from its
 * template or starting the graceful deletion of the ones Kubernetes would give up first, and reports
 * the counts in its status.
 */
import type { ControllerContext } from './types.js';
import { createPodFromTemplate } from './pod-template.js';
import { stableJson } from '../../util/stable-json.js';
import {
  isFinished,
  isTerminating,
  listObjects,
  markDeleted,
  objectKey,
  ownedBy,
  putObject,
  type Store,
  type StoredMeta,
  type StoredPod,
  type StoredReplicaSet,
  type StoredReplicationController,
} from '../store.js';

export const podKey = (pod: StoredPod) => objectKey('Pod', pod.metadata);

/** The pods a controller counts: its own, not terminating, not finished. */
export function livePods(store: Store, owner: { metadata: StoredMeta }): StoredPod[] {
  return ownedBy(store, 'Pod', owner).filter((p) => !isTerminating(p) && !isFinished(p));
}

export function syncReplicaSets(store: Store, ctx: ControllerContext): void {
  for (const rs of listObjects(store, 'ReplicaSet')) if (!isTerminating(rs)) syncReplicaSet(store, ctx, 'ReplicaSet', rs);
  for (const rc of listObjects(store, 'ReplicationController')) if (!isTerminating(rc)) syncReplicaSet(store, ctx, 'ReplicationController', rc);
}

function syncReplicaSet(store: Store, ctx: ControllerContext, kind: 'ReplicaSet' | 'ReplicationController', rs: StoredReplicaSet | StoredReplicationController): void {
  const want = rs.spec?.replicas ?? 1;
  const pods = livePods(store, rs);
  if (pods.length < want) {
    for (let i = pods.length; i < want; i++) createPodFromTemplate(store, ctx, kind, rs, rs.spec?.template);
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
  if (stableJson(status) !== stableJson(rs.status ?? {})) putObject(store, kind, { ...rs, status } as never);
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
