/**
 * The emulated StatefulSet controller (kubernetes pkg/controller/statefulset): pods `<set>-<ordinal>`
 * with a stable identity (hostname = pod name, subdomain = spec.serviceName, the pod-name and
 * pod-index labels, controller-revision-hash), created in ordinal order and removed in reverse —
 * with OrderedReady one at a time, each waiting for its predecessors to be Running and Ready; with
 * Parallel all at once — and rolling updates from the highest ordinal down to the partition, one pod
 * at a time (OnDelete: only pods the user deletes are replaced). volumeClaimTemplates change no
 * packets: they are kept in the object and ignored.
 */
import type { ControllerContext } from './types.js';
import { createPodFromTemplate, type PodTemplate } from './pod-template.js';
import { currentRevision, REVISION_LABEL, revisionsOf, templateOfRevision, truncateHistory } from './revisions.js';
import { stableJson } from '../../util/stable-json.js';
import { isFinished, isTerminating, listObjects, markDeleted, objectKey, ownedBy, putObject, type Store, type StoredPod, type StoredStatefulSet } from '../store.js';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
/** The label a StatefulSet's ControllerRevisions carry (controller history's hash label). */
const HISTORY_HASH_LABEL = 'controller.kubernetes.io/hash';

type Status = NonNullable<StoredStatefulSet['status']>;

/** The ordinal in a pod's name `<set>-<n>`, or -1. */
export function ordinalOf(set: StoredStatefulSet, pod: StoredPod): number {
  const prefix = `${set.metadata.name}-`;
  const rest = pod.metadata.name.startsWith(prefix) ? pod.metadata.name.slice(prefix.length) : '';
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : -1;
}

const revisionOfPod = (p: StoredPod) => p.metadata.labels?.[REVISION_LABEL];

export function syncStatefulSets(store: Store, ctx: ControllerContext): void {
  for (const set of listObjects(store, 'StatefulSet')) if (!isTerminating(set)) syncStatefulSet(store, ctx, set);
}

function syncStatefulSet(store: Store, ctx: ControllerContext, set: StoredStatefulSet): void {
  const update = currentRevision(store, ctx, 'StatefulSet', set, HISTORY_HASH_LABEL);
  const current = revisionsOf(store, set).find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
  const runningAndReady = (p: StoredPod) => p.status?.phase === 'Running' && ctx.isReady(objectKey('Pod', p.metadata));
  const healthy = (p: StoredPod) => runningAndReady(p) && !isTerminating(p);
  const start = set.spec?.ordinals?.start ?? 0;
  const replicaCount = set.spec?.replicas ?? 1;
  const monotonic = set.spec?.podManagementPolicy !== 'Parallel';
  const pods = ownedBy(store, 'Pod', set);
  const replicas: Array<StoredPod | undefined> = Array.from({ length: replicaCount });
  const condemned: StoredPod[] = [];
  for (const p of pods) {
    const ord = ordinalOf(set, p);
    if (ord < 0) continue;
    if (ord >= start && ord < start + replicaCount) replicas[ord - start] = p;
    else condemned.push(p);
  }
  condemned.sort((a, b) => ordinalOf(set, a) - ordinalOf(set, b));
  const firstUnhealthy = [...replicas, ...condemned].filter((p): p is StoredPod => p !== undefined && !healthy(p)).sort((a, b) => ordinalOf(set, a) - ordinalOf(set, b))[0];

  // A new pod at index i: the current revision below the partition (or, without a rollingUpdate, below the current replicas), the update revision above.
  const partition = set.spec?.updateStrategy?.rollingUpdate?.partition;
  const atCurrent = (i: number) =>
    set.spec?.updateStrategy?.type !== 'OnDelete' && (partition === undefined ? i < (set.status?.currentReplicas ?? 0) : i < partition) && current !== update;
  const create = (i: number) => {
    const rev = atCurrent(i) ? current : update;
    const template: PodTemplate = rev === update ? (set.spec?.template ?? {}) : templateOfRevision(rev);
    const name = `${set.metadata.name}-${start + i}`;
    return createPodFromTemplate(store, ctx, 'StatefulSet', set, template, {
      name,
      labels: { [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(start + i), [REVISION_LABEL]: rev.metadata.name },
      spec: (spec) => {
        spec.hostname = name;
        if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
      },
    });
  };

  const act = (): void => {
    for (let i = 0; i < replicaCount; i++) {
      let pod = replicas[i];
      // A failed (or finished) pod is deleted and made again, once its object is gone.
      if (pod && isFinished(pod) && !isTerminating(pod)) markDeleted(store, pod, ctx.now);
      pod = pod && store.objects.Pod[objectKey('Pod', pod.metadata)];
      if (!pod) {
        replicas[i] = create(i);
        if (monotonic) return;
        continue;
      }
      if (isTerminating(pod) && monotonic) return;
      if (!runningAndReady(pod) && monotonic) return;
    }
    for (let t = condemned.length - 1; t >= 0; t--) {
      const pod = condemned[t]!;
      if (isTerminating(pod)) {
        if (monotonic) return;
        continue;
      }
      if (!runningAndReady(pod) && monotonic && pod !== firstUnhealthy) return;
      markDeleted(store, pod, ctx.now);
      if (monotonic) return;
    }
    if (set.spec?.updateStrategy?.type === 'OnDelete') return;
    for (let t = replicaCount - 1; t >= (partition ?? 0); t--) {
      const pod = replicas[t]!;
      if (revisionOfPod(pod) !== update.metadata.name && !isTerminating(pod)) {
        markDeleted(store, pod, ctx.now);
        return;
      }
      if (!healthy(pod)) return;
    }
  };
  act();
  writeStatus(store, ctx, set, current.metadata.name, update.metadata.name);
  const after = ownedBy(store, 'Pod', set);
  truncateHistory(store, set, new Set([current.metadata.name, update.metadata.name, ...after.flatMap((p) => revisionOfPod(p) ?? [])]));
}

function writeStatus(store: Store, ctx: ControllerContext, set: StoredStatefulSet, currentName: string, updateName: string): void {
  const pods = ownedBy(store, 'Pod', set).filter((p) => ordinalOf(set, p) >= 0);
  const live = pods.filter((p) => !isTerminating(p));
  const ready = pods.filter((p) => p.status?.phase === 'Running' && ctx.isReady(objectKey('Pod', p.metadata))).length;
  const status: Status = {
    observedGeneration: set.metadata.generation,
    replicas: pods.length,
    readyReplicas: ready,
    currentReplicas: live.filter((p) => revisionOfPod(p) === currentName).length,
    updatedReplicas: live.filter((p) => revisionOfPod(p) === updateName).length,
    // minReadySeconds is not emulated: a ready pod is available at once.
    availableReplicas: ready,
    currentRevision: currentName,
    updateRevision: updateName,
    collisionCount: 0,
  };
  // A finished rolling update: the update revision becomes the current one.
  if (set.spec?.updateStrategy?.type !== 'OnDelete' && status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = updateName;
  }
  if (stableJson(status) !== stableJson(set.status ?? {})) putObject(store, 'StatefulSet', { ...set, status });
}

/** Whether a StatefulSet's rollout is over, as `kubectl rollout status` sees it. */
export function statefulSetRolledOut(set: StoredStatefulSet): boolean {
  const s: Partial<Status> = set.status ?? {};
  const replicas = set.spec?.replicas ?? 1;
  if ((s.observedGeneration ?? 0) < (set.metadata.generation ?? 1)) return false;
  if ((s.readyReplicas ?? 0) < replicas || (s.replicas ?? 0) !== replicas) return false;
  const partition = set.spec?.updateStrategy?.rollingUpdate?.partition;
  if (set.spec?.updateStrategy?.type === 'OnDelete') return true;
  if (partition) return (s.updatedReplicas ?? 0) >= replicas - partition;
  return s.updateRevision === s.currentRevision;
}
