/**
 * The emulated Deployment controller: one ReplicaSet per pod template (named by its
 * pod-template-hash), scaled by the RollingUpdate or Recreate strategy with the numbers the
 * Kubernetes controller uses, old ReplicaSets pruned beyond revisionHistoryLimit, and the status and
 * conditions that `kubectl rollout status` reads. Also the rollout checks the lab waits on.
 */
import type { ControllerContext } from './types.js';
import { livePods, podKey } from './replicaset.js';
import { podTemplateHash } from '../pods.js';
import { stableJson } from '../../util/stable-json.js';
import {
  isTerminating,
  listObjects,
  newMeta,
  objectKey,
  ownedBy,
  ownerRef,
  putObject,
  removeObject,
  type Store,
  type StoredDeployment,
  type StoredReplicaSet,
} from '../store.js';

export const HASH_LABEL = 'pod-template-hash';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
const DESIRED_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
const MAX_ANNOTATION = 'deployment.kubernetes.io/max-replicas';

type DeploymentStatus = NonNullable<StoredDeployment['status']>;
type Condition = NonNullable<DeploymentStatus['conditions']>[number];
type IsReady = (podKey: string) => boolean;

const replicasOf = (o: { spec?: { replicas?: number } }) => o.spec?.replicas ?? 1;
const revisionOf = (rs: StoredReplicaSet) => Number(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? 0) || 0;
const createdAt = (rs: StoredReplicaSet) => Date.parse(rs.metadata.creationTimestamp) || 0;
const byName = (a: StoredReplicaSet, b: StoredReplicaSet) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);
const oldestFirst = (a: StoredReplicaSet, b: StoredReplicaSet) => createdAt(a) - createdAt(b) || byName(a, b);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export function templateHash(d: StoredDeployment): string {
  return podTemplateHash(d.spec?.template ?? {});
}

/** A Deployment's ReplicaSets: the one running its current template (if created yet) and the others. */
export function replicaSetsOf(store: Store, d: StoredDeployment): { newRS?: StoredReplicaSet; old: StoredReplicaSet[] } {
  const hash = templateHash(d);
  const owned = ownedBy(store, 'ReplicaSet', d).filter((rs) => !isTerminating(rs));
  const newRS = owned.find((rs) => rs.metadata.labels?.[HASH_LABEL] === hash);
  return { newRS, old: owned.filter((rs) => rs !== newRS).sort(oldestFirst) };
}

/** An int-or-percent of `total`; percents round up for surge and down for unavailability. */
function scaledValue(v: number | string | undefined, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  const percent = /^(\d+)%$/.exec(v ?? '25%');
  if (!percent) return Number.isInteger(Number(v)) ? Number(v) : 0;
  const exact = (Number(percent[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** maxSurge and maxUnavailable in pods (both 0 for Recreate); maxUnavailable is at most `replicas`. */
export function rollingLimits(d: StoredDeployment): { maxSurge: number; maxUnavailable: number } {
  if (d.spec?.strategy?.type === 'Recreate') return { maxSurge: 0, maxUnavailable: 0 };
  const replicas = replicasOf(d);
  const rolling = d.spec?.strategy?.rollingUpdate;
  const maxSurge = scaledValue(rolling?.maxSurge, replicas, true);
  let maxUnavailable = scaledValue(rolling?.maxUnavailable, replicas, false);
  // Both zero would never make progress; Kubernetes then allows one unavailable pod.
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

/** A ReplicaSet during one sync: the replicas it is to get, and its pods as they are. */
interface Row {
  rs: StoredReplicaSet;
  target: number;
  /** ready, non-terminating pods */
  available: number;
  /** every pod, terminating ones included */
  pods: number;
}

export function syncDeployments(store: Store, ctx: ControllerContext): void {
  for (const d of listObjects(store, 'Deployment')) if (!isTerminating(d)) syncDeployment(store, ctx, d);
}

function syncDeployment(store: Store, ctx: ControllerContext, d: StoredDeployment): void {
  const replicas = replicasOf(d);
  const { maxSurge, maxUnavailable } = rollingLimits(d);
  const minAvailable = replicas - maxUnavailable;
  const row = (rs: StoredReplicaSet): Row => ({
    rs,
    target: replicasOf(rs),
    available: livePods(store, rs).filter((p) => ctx.isReady(podKey(p))).length,
    pods: ownedBy(store, 'Pod', rs).length,
  });
  const found = replicaSetsOf(store, d);
  const olds = found.old.map(row);
  const before = new Map([...olds, ...(found.newRS ? [row(found.newRS)] : [])].map((r) => [r.rs.metadata.uid, r.target]));
  const nextRevision = Math.max(0, ...olds.map((r) => revisionOf(r.rs))) + 1;
  let current = found.newRS ? row(found.newRS) : undefined;
  let created = false;
  const ensureNew = (): Row => {
    if (!current) {
      current = { rs: newReplicaSet(d, nextRevision, ctx.now), target: 0, available: 0, pods: 0 };
      created = true;
    }
    return current;
  };

  if (d.spec?.strategy?.type === 'Recreate') {
    let scaledDown = false;
    for (const r of olds.filter((r) => r.target !== 0)) {
      r.target = 0;
      scaledDown = true;
    }
    // The new pods start only once every old one is gone, so the ReplicaSet is not even created before.
    if (!scaledDown && olds.every((r) => r.pods === 0)) ensureNew().target = replicas;
  } else {
    const next = ensureNew();
    if (olds.every((r) => r.target === 0)) next.target = replicas;
    else rollingStep(next, olds, replicas, maxSurge, minAvailable, created);
  }

  const annotations = { [DESIRED_ANNOTATION]: String(replicas), [MAX_ANNOTATION]: String(replicas + maxSurge) };
  for (const r of current ? [current, ...olds] : olds) {
    if (created && r === current) {
      putObject(store, 'ReplicaSet', updatedReplicaSet(r, annotations, undefined, false));
      continue;
    }
    const scaled = r.target !== before.get(r.rs.metadata.uid);
    const revision = r === current && revisionOf(r.rs) < nextRevision ? nextRevision : undefined;
    if (scaled || revision !== undefined) putObject(store, 'ReplicaSet', updatedReplicaSet(r, scaled ? annotations : {}, revision, scaled));
  }

  pruneHistory(store, d);
  writeStatus(store, ctx, d, created);
}

/** One step of a rolling update, in the order of the Kubernetes controller: the new ReplicaSet up, then old ones down. */
function rollingStep(next: Row, olds: Row[], replicas: number, maxSurge: number, minAvailable: number, created: boolean): void {
  const before = next.target;
  const total = next.target + sum(olds.map((r) => r.target));
  next.target = Math.min(replicas, next.target + Math.max(0, replicas + maxSurge - total));
  // Having scaled the new ReplicaSet, Kubernetes ends the sync and scales old ones down on the next.
  if (next.target !== before && !created) return;

  const allPods = next.target + sum(olds.map((r) => r.target));
  const newUnavailable = next.target - next.available;
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return;

  // Unavailable old pods go first: removing them costs no availability.
  let cleaned = 0;
  for (const r of olds) {
    if (cleaned >= maxScaledDown) break;
    const unhealthy = r.target - r.available;
    if (r.target === 0 || unhealthy <= 0) continue;
    const by = Math.min(maxScaledDown - cleaned, unhealthy);
    r.target -= by;
    cleaned += by;
  }

  const available = next.available + sum(olds.map((r) => r.available));
  let surplus = available - minAvailable;
  for (const r of olds) {
    if (surplus <= 0) break;
    if (r.target === 0) continue;
    const by = Math.min(r.target, surplus);
    r.target -= by;
    surplus -= by;
  }
}

function newReplicaSet(d: StoredDeployment, revision: number, now: string): StoredReplicaSet {
  const hash = templateHash(d);
  const template = structuredClone(d.spec?.template ?? {});
  const labels = { ...(template.metadata?.labels ?? {}), [HASH_LABEL]: hash };
  template.metadata = { ...template.metadata, labels };
  const selector = d.spec?.selector ?? {};
  const meta = {
    name: `${d.metadata.name}-${hash}`,
    namespace: d.metadata.namespace ?? 'default',
    labels,
    annotations: { [REVISION_ANNOTATION]: String(revision) },
    ownerReferences: [ownerRef('Deployment', d)],
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { ...newMeta(meta, now, true), generation: 1 },
    spec: {
      replicas: 0,
      ...(d.spec?.minReadySeconds !== undefined ? { minReadySeconds: d.spec.minReadySeconds } : {}),
      selector: { ...selector, matchLabels: { ...(selector.matchLabels ?? {}), [HASH_LABEL]: hash } },
      template,
    },
  };
}

function updatedReplicaSet(r: Row, annotations: Record<string, string>, revision: number | undefined, specChanged: boolean): StoredReplicaSet {
  const meta = { ...r.rs.metadata, annotations: { ...(r.rs.metadata.annotations ?? {}), ...annotations } };
  if (revision !== undefined) {
    // Rolling back to an older template: the ReplicaSet takes the newest revision and remembers its earlier ones.
    const old = r.rs.metadata.annotations?.[REVISION_ANNOTATION];
    if (old) {
      const history = r.rs.metadata.annotations?.[REVISION_HISTORY_ANNOTATION];
      meta.annotations[REVISION_HISTORY_ANNOTATION] = history ? `${history},${old}` : old;
    }
    meta.annotations[REVISION_ANNOTATION] = String(revision);
  }
  if (specChanged) meta.generation = (r.rs.metadata.generation ?? 1) + 1;
  return { ...r.rs, metadata: meta, spec: { ...r.rs.spec!, replicas: r.target } };
}

/** Beyond revisionHistoryLimit old ReplicaSets, the lowest revisions go once they are scaled to 0 with no pods left. */
function pruneHistory(store: Store, d: StoredDeployment): void {
  const { old } = replicaSetsOf(store, d);
  const excess = old.length - (d.spec?.revisionHistoryLimit ?? 10);
  if (excess <= 0) return;
  const byRevision = [...old].sort((a, b) => revisionOf(a) - revisionOf(b) || oldestFirst(a, b));
  for (const rs of byRevision.slice(0, excess)) {
    if (replicasOf(rs) === 0 && ownedBy(store, 'Pod', rs).length === 0) removeObject(store, 'ReplicaSet', objectKey('ReplicaSet', rs.metadata));
  }
}

/** The condition to store: the previous one when status and reason are the same (unless `refresh`), its transition time kept when only the reason changed. */
function condition(prev: Condition | undefined, next: Pick<Condition, 'type' | 'status' | 'reason' | 'message'>, now: string, refresh = false): Condition {
  if (prev && prev.status === next.status && prev.reason === next.reason && !refresh) return prev;
  return { ...next, lastUpdateTime: now, lastTransitionTime: prev && prev.status === next.status ? (prev.lastTransitionTime ?? now) : now };
}

function writeStatus(store: Store, ctx: ControllerContext, d: StoredDeployment, createdNew: boolean): void {
  const replicas = replicasOf(d);
  const { maxUnavailable } = rollingLimits(d);
  const { newRS, old } = replicaSetsOf(store, d);
  const all = newRS ? [newRS, ...old] : old;
  const live = (rs: StoredReplicaSet) => livePods(store, rs);
  const availableOf = (rs: StoredReplicaSet) => live(rs).filter((p) => ctx.isReady(podKey(p))).length;
  const total = sum(all.map((rs) => live(rs).length));
  const updated = newRS ? live(newRS).length : 0;
  const available = sum(all.map(availableOf));
  const prev = d.status ?? {};
  const prevCondition = (type: string) => prev.conditions?.find((c) => c.type === type);

  const availableCondition = condition(
    prevCondition('Available'),
    available >= replicas - maxUnavailable
      ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
      : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
    ctx.now,
  );

  const complete = newRS !== undefined && updated === replicas && total === replicas && available === replicas;
  const progressed =
    createdNew ||
    updated > (prev.updatedReplicas ?? 0) ||
    total - updated < (prev.replicas ?? 0) - (prev.updatedReplicas ?? 0) ||
    available > (prev.readyReplicas ?? 0) ||
    available > (prev.availableReplicas ?? 0);
  const prevProgressing = prevCondition('Progressing');
  let progressing: Condition | undefined = prevProgressing;
  if (complete) {
    progressing = condition(prevProgressing, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${newRS.metadata.name}" has successfully progressed.` }, ctx.now);
  } else if (progressed || !prevProgressing) {
    // Progress refreshes lastUpdateTime; a stalled rollout keeps its condition as it was.
    const message = newRS ? `ReplicaSet "${newRS.metadata.name}" is progressing.` : `Deployment "${d.metadata.name}" is progressing.`;
    progressing = condition(prevProgressing, { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message }, ctx.now, true);
  }

  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation,
    replicas: total,
    updatedReplicas: updated,
    readyReplicas: available,
    availableReplicas: available,
    unavailableReplicas: Math.max(0, sum(all.map(replicasOf)) - available),
    conditions: [availableCondition, ...(progressing ? [progressing] : [])],
  };
  // The Deployment shows the revision of its current ReplicaSet, as `kubectl rollout history` reads it.
  const revision = newRS?.metadata.annotations?.[REVISION_ANNOTATION];
  const annotations = revision ? { ...(d.metadata.annotations ?? {}), [REVISION_ANNOTATION]: revision } : d.metadata.annotations;
  if (stableJson(status) === stableJson(d.status ?? {}) && stableJson(annotations ?? {}) === stableJson(d.metadata.annotations ?? {})) return;
  putObject(store, 'Deployment', { ...d, metadata: { ...d.metadata, ...(annotations ? { annotations } : {}) }, status });
}

/** Whether the rollout is over: the new ReplicaSet's pods all available, and no old pod left, terminating ones included. */
export function rolloutComplete(store: Store, d: StoredDeployment, isReady: IsReady): boolean {
  const replicas = replicasOf(d);
  const { newRS, old } = replicaSetsOf(store, d);
  if (!newRS || replicasOf(newRS) !== replicas) return false;
  const pods = livePods(store, newRS);
  return pods.length === replicas && pods.every((p) => isReady(podKey(p))) && old.every((rs) => replicasOf(rs) === 0 && ownedBy(store, 'Pod', rs).length === 0);
}

/** Where a rollout stands, e.g. `2 of 3 updated replicas available, 1 old replica left`. */
export function rolloutProgress(store: Store, d: StoredDeployment, isReady: IsReady): string {
  const { newRS, old } = replicaSetsOf(store, d);
  const available = newRS ? livePods(store, newRS).filter((p) => isReady(podKey(p))).length : 0;
  const left = sum(old.map((rs) => ownedBy(store, 'Pod', rs).length));
  return `${available} of ${replicasOf(d)} updated replicas available${left ? `, ${left} old replica${left === 1 ? '' : 's'} left` : ''}`;
}
