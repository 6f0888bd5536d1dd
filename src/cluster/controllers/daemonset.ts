/**
 * The emulated DaemonSet controller (kubernetes pkg/controller/daemon): one pod on every node that
 * should run it — the template's nodeName, nodeSelector and required node affinity match, and its
 * tolerations (plus the ones the controller adds to every daemon pod) cover the node's NoSchedule and
 * NoExecute taints. Each pod is pinned to its node with node affinity on metadata.name and placed by
 * the scheduler, as since Kubernetes 1.12. RollingUpdate replaces pods within maxUnavailable (or, with
 * maxSurge, starts the new pod before the old one goes); OnDelete replaces only deleted pods.
 */
import type { ControllerContext, SchedulingNode } from './types.js';
import { createPodFromTemplate } from './pod-template.js';
import { currentRevision, REVISION_LABEL, truncateHistory } from './revisions.js';
import { nodeAffinityFilter } from '../scheduling/node-plugins.js';
import { untoleratedTaint, type Toleration } from '../selectors.js';
import { stableJson } from '../../util/stable-json.js';
import { isFinished, isTerminating, listObjects, markDeleted, objectKey, ownedBy, putObject, type Store, type StoredDaemonSet, type StoredPod } from '../store.js';

export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';

/** The tolerations the controller adds to every daemon pod (util.AddOrUpdateDaemonPodTolerations). */
export function daemonTolerations(hostNetwork: boolean): Toleration[] {
  const t = (key: string, effect: string): Toleration => ({ key: `node.kubernetes.io/${key}`, operator: 'Exists', effect });
  return [
    t('not-ready', 'NoExecute'),
    t('unreachable', 'NoExecute'),
    t('disk-pressure', 'NoSchedule'),
    t('memory-pressure', 'NoSchedule'),
    t('pid-pressure', 'NoSchedule'),
    t('unschedulable', 'NoSchedule'),
    ...(hostNetwork ? [t('network-unavailable', 'NoSchedule')] : []),
  ];
}

function withDaemonTolerations(own: Toleration[], hostNetwork: boolean): Toleration[] {
  const same = (a: Toleration, b: Toleration) => a.key === b.key && a.effect === b.effect;
  return [...own, ...daemonTolerations(hostNetwork).filter((d) => !own.some((o) => same(o, d)))];
}

/** Whether `node` should run the DaemonSet's pod, and whether a pod already there may keep running. */
export function nodeShouldRunDaemonPod(ds: StoredDaemonSet, node: SchedulingNode): { shouldRun: boolean; shouldContinue: boolean } {
  const spec = ds.spec?.template?.spec;
  if (spec?.nodeName && spec.nodeName !== node.name) return { shouldRun: false, shouldContinue: false };
  const probe = { spec: { ...spec, tolerations: withDaemonTolerations((spec?.tolerations ?? []) as Toleration[], spec?.hostNetwork === true) } } as StoredPod;
  if (nodeAffinityFilter(probe, node)) return { shouldRun: false, shouldContinue: false };
  const tolerations = probe.spec!.tolerations as Toleration[];
  if (untoleratedTaint(node.taints, tolerations, ['NoSchedule', 'NoExecute'])) return { shouldRun: false, shouldContinue: !untoleratedTaint(node.taints, tolerations, ['NoExecute']) };
  return { shouldRun: true, shouldContinue: true };
}

/** The node a daemon pod is for: its binding, or the node its affinity pins it to. */
export function targetNode(pod: StoredPod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  return terms.flatMap((t) => t.matchFields ?? []).find((f) => f.key === 'metadata.name' && f.operator === 'In')?.values?.[0];
}

const created = (p: StoredPod) => Date.parse(p.metadata.creationTimestamp) || 0;
const oldestFirst = (a: StoredPod, b: StoredPod) => created(a) - created(b) || (a.metadata.name < b.metadata.name ? -1 : 1);

/** An int-or-percent of `total`, rounded up as the DaemonSet controller rounds both maxSurge and maxUnavailable. */
function scaled(v: number | string | undefined, total: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  return m ? Math.ceil((Number(m[1]) * total) / 100) : Number(v) || 0;
}

export function syncDaemonSets(store: Store, ctx: ControllerContext): void {
  for (const ds of listObjects(store, 'DaemonSet')) if (!isTerminating(ds)) syncDaemonSet(store, ctx, ds);
}

function syncDaemonSet(store: Store, ctx: ControllerContext, ds: StoredDaemonSet): void {
  const nodes = ctx.nodes ?? [];
  const rev = currentRevision(store, ctx, 'DaemonSet', ds, REVISION_LABEL);
  const hash = rev.metadata.labels![REVISION_LABEL]!;
  const available = (p: StoredPod) => p.status?.phase === 'Running' && ctx.isReady(objectKey('Pod', p.metadata));
  const isNew = (p: StoredPod) => p.metadata.labels?.[REVISION_LABEL] === hash;
  const rolling = ds.spec?.updateStrategy?.type !== 'OnDelete';
  const ru = ds.spec?.updateStrategy?.rollingUpdate;
  const desired = nodes.filter((n) => nodeShouldRunDaemonPod(ds, n).shouldRun).length;
  const maxSurge = rolling ? scaled(ru?.maxSurge, desired, 0) : 0;
  const maxUnavailable = rolling ? scaled(ru?.maxUnavailable, desired, 1) || (maxSurge === 0 ? 1 : 0) : 0;

  const onNode = new Map<string, StoredPod[]>();
  for (const p of ownedBy(store, 'Pod', ds)) {
    if (isTerminating(p)) continue;
    const n = targetNode(p);
    if (n) onNode.set(n, [...(onNode.get(n) ?? []), p]);
  }
  const create = (node: string) =>
    createPodFromTemplate(store, ctx, 'DaemonSet', ds, ds.spec?.template, {
      labels: { [REVISION_LABEL]: hash, [TEMPLATE_GENERATION_LABEL]: String(ds.metadata.generation ?? 1) },
      spec: (spec) => {
        spec.tolerations = withDaemonTolerations((spec.tolerations ?? []) as Toleration[], spec.hostNetwork === true) as typeof spec.tolerations;
        const required = { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }] };
        spec.affinity = { ...spec.affinity, nodeAffinity: { ...spec.affinity?.nodeAffinity, requiredDuringSchedulingIgnoredDuringExecution: required } };
      },
    });

  // The manage loop: a pod where one should run, none where none may, failed pods replaced, extras removed.
  const known = new Set(nodes.map((n) => n.name));
  for (const [n, pods] of onNode) if (!known.has(n)) for (const p of pods) markDeleted(store, p, ctx.now);
  for (const node of nodes) {
    const { shouldRun, shouldContinue } = nodeShouldRunDaemonPod(ds, node);
    const pods = (onNode.get(node.name) ?? []).sort(oldestFirst);
    if (!shouldContinue) {
      for (const p of pods) markDeleted(store, p, ctx.now);
      continue;
    }
    const failed = pods.filter(isFinished);
    for (const p of failed) markDeleted(store, p, ctx.now);
    const running = pods.filter((p) => !isFinished(p));
    if (running.length === 0 && failed.length === 0 && shouldRun) create(node.name);
    // One pod per node (while surging: one old and one new).
    const keep = maxSurge > 0 ? [running.find((p) => !isNew(p)), running.find(isNew)] : [running[0]];
    for (const p of running) if (!keep.includes(p)) markDeleted(store, p, ctx.now);
  }

  if (rolling) rollingUpdate(store, ctx, ds, nodes, isNew, available, maxSurge, maxUnavailable, create);
  writeStatus(store, ctx, ds, nodes, isNew, available);
  truncateHistory(store, ds, new Set([rev.metadata.name, ...ownedBy(store, 'Pod', ds).map((p) => `${ds.metadata.name}-${p.metadata.labels?.[REVISION_LABEL]}`)]));
}

function rollingUpdate(
  store: Store,
  ctx: ControllerContext,
  ds: StoredDaemonSet,
  nodes: SchedulingNode[],
  isNew: (p: StoredPod) => boolean,
  available: (p: StoredPod) => boolean,
  maxSurge: number,
  maxUnavailable: number,
  create: (node: string) => StoredPod,
): void {
  const podsOn = (node: string) => ownedBy(store, 'Pod', ds).filter((p) => !isTerminating(p) && !isFinished(p) && targetNode(p) === node);
  const rows = nodes.map((n) => ({ node: n, pods: podsOn(n.name) })).filter((r) => r.pods.length > 0);
  if (maxSurge === 0) {
    let unavailable = 0;
    const replace: StoredPod[] = [];
    const candidates: StoredPod[] = [];
    for (const { pods } of rows) {
      const newPod = pods.find(isNew);
      const oldPod = pods.find((p) => !isNew(p));
      if (pods.length > 2 || (newPod && oldPod) || (!newPod && !oldPod)) unavailable++;
      else if (newPod) {
        if (!available(newPod)) unavailable++;
      } else if (!available(oldPod!)) {
        replace.push(oldPod!);
        unavailable++;
      } else if (unavailable < maxUnavailable) candidates.push(oldPod!);
    }
    const room = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
    for (const p of [...replace, ...candidates.slice(0, room)]) markDeleted(store, p, ctx.now);
    return;
  }
  let surge = 0;
  const allowed: string[] = [];
  const candidates: string[] = [];
  for (const { node, pods } of rows) {
    const newPod = pods.find(isNew);
    const oldPod = pods.find((p) => !isNew(p));
    if (!oldPod) continue;
    if (!newPod) {
      if (!available(oldPod)) allowed.push(node.name);
      else if (surge < maxSurge) candidates.push(node.name);
    } else if (!available(newPod)) surge++;
    else markDeleted(store, oldPod, ctx.now);
  }
  const room = Math.min(Math.max(0, maxSurge - surge), candidates.length);
  for (const n of [...allowed, ...candidates.slice(0, room)]) create(n);
}

function writeStatus(store: Store, ctx: ControllerContext, ds: StoredDaemonSet, nodes: SchedulingNode[], isNew: (p: StoredPod) => boolean, available: (p: StoredPod) => boolean): void {
  const status = { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0, updatedNumberScheduled: 0, numberAvailable: 0, numberUnavailable: 0, observedGeneration: ds.metadata.generation };
  const pods = ownedBy(store, 'Pod', ds).filter((p) => !isTerminating(p) && !isFinished(p));
  for (const node of nodes) {
    const here = pods.filter((p) => targetNode(p) === node.name);
    if (nodeShouldRunDaemonPod(ds, node).shouldRun) {
      status.desiredNumberScheduled++;
      if (here.length === 0) continue;
      status.currentNumberScheduled++;
      const pod = [...here].sort(oldestFirst)[0]!;
      if (ctx.isReady(objectKey('Pod', pod.metadata))) status.numberReady++;
      if (available(pod)) status.numberAvailable++;
      if (here.some(isNew)) status.updatedNumberScheduled++;
    } else if (here.length) status.numberMisscheduled++;
  }
  status.numberUnavailable = status.desiredNumberScheduled - status.numberAvailable;
  if (stableJson(status) !== stableJson(ds.status ?? {})) putObject(store, 'DaemonSet', { ...ds, status });
}

/** Whether a DaemonSet's rollout is over, as `kubectl rollout status` sees it. */
export function daemonSetRolledOut(ds: StoredDaemonSet): boolean {
  const s = ds.status;
  if (!s || (s.observedGeneration ?? 0) < (ds.metadata.generation ?? 1)) return false;
  return s.updatedNumberScheduled === s.desiredNumberScheduled && s.numberAvailable === s.desiredNumberScheduled;
}
