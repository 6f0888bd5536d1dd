/**
 * Rollouts a command waits for, as `kubectl rollout status` judges them: a Deployment's new
 * ReplicaSet fully available with no old pod left, a StatefulSet's or DaemonSet's pods all updated and
 * ready, a ReplicaSet's or ReplicationController's replicas all ready.
 */
import { rolloutComplete, rolloutProgress } from './deployment.js';
import { daemonSetRolledOut } from './daemonset.js';
import { livePods, podKey } from './replicaset.js';
import { statefulSetRolledOut } from './statefulset.js';
import { controllerOf, listObjects, objectKey, type Store, type StoredKind } from '../store.js';

type IsReady = (podKey: string) => boolean;

/** `kind/name: progress` of every unfinished rollout among `only` (keys `Kind/namespace/name`; all when undefined). */
export function unfinishedRollouts(store: Store, isReady: IsReady, only?: Set<string>): string[] {
  const wanted = (kind: StoredKind, meta: { name: string; namespace?: string }) => !only || only.has(`${kind}/${objectKey(kind, meta)}`);
  const out: string[] = [];
  for (const d of listObjects(store, 'Deployment')) if (wanted('Deployment', d.metadata) && !rolloutComplete(store, d, isReady)) out.push(`deployment/${d.metadata.name}: ${rolloutProgress(store, d, isReady)}`);
  for (const s of listObjects(store, 'StatefulSet')) {
    if (!wanted('StatefulSet', s.metadata) || statefulSetRolledOut(s)) continue;
    out.push(`statefulset/${s.metadata.name}: ${s.status?.readyReplicas ?? 0} of ${s.spec?.replicas ?? 1} pods ready, ${s.status?.updatedReplicas ?? 0} updated`);
  }
  for (const d of listObjects(store, 'DaemonSet')) {
    if (!wanted('DaemonSet', d.metadata) || daemonSetRolledOut(d)) continue;
    out.push(`daemonset/${d.metadata.name}: ${d.status?.numberAvailable ?? 0} of ${d.status?.desiredNumberScheduled ?? 0} updated pods available`);
  }
  for (const kind of ['ReplicaSet', 'ReplicationController'] as const) {
    for (const rs of listObjects(store, kind)) {
      // A Deployment's ReplicaSets are its rollout's business.
      if (!wanted(kind, rs.metadata) || controllerOf(rs.metadata)) continue;
      const want = rs.spec?.replicas ?? 1;
      const ready = livePods(store, rs).filter((p) => isReady(podKey(p))).length;
      if (ready < want) out.push(`${kind.toLowerCase()}/${rs.metadata.name}: ${ready} of ${want} replicas ready`);
    }
  }
  return out;
}

/** The objects whose rollouts include `key` (`Kind/namespace/name`): the object and what it owns, transitively. */
export function ownedClosure(store: Store, roots: Set<string>): Set<string> {
  const out = new Set(roots);
  const uids = new Set<string>();
  for (const kind of ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicationController'] as const)
    for (const o of listObjects(store, kind)) if (out.has(`${kind}/${objectKey(kind, o.metadata)}`)) uids.add(o.metadata.uid);
  for (const rs of listObjects(store, 'ReplicaSet')) {
    const owner = controllerOf(rs.metadata);
    if (owner && uids.has(owner.uid)) {
      uids.add(rs.metadata.uid);
      out.add(`ReplicaSet/${objectKey('ReplicaSet', rs.metadata)}`);
    }
  }
  for (const p of listObjects(store, 'Pod')) {
    const owner = controllerOf(p.metadata);
    if (owner && uids.has(owner.uid)) out.add(`Pod/${objectKey('Pod', p.metadata)}`);
  }
  return out;
}
