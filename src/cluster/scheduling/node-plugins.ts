/**
 * kube-scheduler's node-level plugins, pure: NodeUnschedulable, TaintToleration and NodeAffinity
 * (nodeSelector + required node affinity, with its PreFilter narrowing on matchFields metadata.name),
 * their reasons as the plugins word them, and the raw scores of TaintToleration and NodeAffinity.
 */
import { termMatches, tolerates, untoleratedTaint, type NodeSelectorTerm, type Toleration } from '../selectors.js';
import type { SchedulingNode } from '../controllers/types.js';
import type { StoredPod } from '../store.js';

export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
export const REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
/** Nodes a PreFilter (NodeAffinity's matchFields on metadata.name) left out. */
export const REASON_PREFILTER_NODE_AFFINITY = "node(s) didn't satisfy plugin(s) [NodeAffinity]";

const tolerationsOf = (p: StoredPod) => (p.spec?.tolerations ?? []) as Toleration[];
const requiredTermsOf = (p: StoredPod) => (p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? undefined) as NodeSelectorTerm[] | undefined;

/** NodeUnschedulable: a cordoned node takes only pods that tolerate node.kubernetes.io/unschedulable:NoSchedule. */
export function unschedulableFilter(pod: StoredPod, node: SchedulingNode): string | undefined {
  if (!node.unschedulable) return undefined;
  const taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };
  return tolerationsOf(pod).some((t) => tolerates(t, taint)) ? undefined : REASON_UNSCHEDULABLE;
}

/** TaintToleration: the first NoSchedule or NoExecute taint the pod does not tolerate. */
export function taintFilter(pod: StoredPod, node: SchedulingNode): string | undefined {
  const taint = untoleratedTaint(node.taints, tolerationsOf(pod), ['NoSchedule', 'NoExecute']);
  return taint ? `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}` : undefined;
}

/** NodeAffinity's Filter: spec.nodeSelector and the required node selector terms (ORed). */
export function nodeAffinityFilter(pod: StoredPod, node: SchedulingNode): string | undefined {
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) if (node.labels[k] !== v) return REASON_NODE_AFFINITY;
  const terms = requiredTermsOf(pod);
  if (terms !== undefined && !terms.some((t) => termMatches(t, node))) return REASON_NODE_AFFINITY;
  return undefined;
}

/**
 * NodeAffinity's PreFilter: when every required term names nodes with `metadata.name In`, only those
 * nodes are considered (how a DaemonSet pod is pinned to its node). undefined: all nodes.
 */
export function preFilterNodeNames(pod: StoredPod): Set<string> | undefined {
  const terms = requiredTermsOf(pod);
  if (!terms?.length) return undefined;
  const names = new Set<string>();
  for (const t of terms) {
    let termNames: Set<string> | undefined;
    for (const r of t.matchFields ?? []) {
      if (r.key !== 'metadata.name' || r.operator !== 'In') continue;
      const s = new Set(r.values ?? []);
      termNames = termNames ? new Set([...termNames].filter((n) => s.has(n))) : s;
    }
    if (!termNames) return undefined; // a term without a name restriction: every node may match
    for (const n of termNames) names.add(n);
  }
  return names;
}

/** TaintToleration's raw score: PreferNoSchedule taints not tolerated (lower is better). */
export function intolerablePreferNoSchedule(pod: StoredPod, node: SchedulingNode): number {
  const tolerations = tolerationsOf(pod).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
  return node.taints.filter((taint) => taint.effect === 'PreferNoSchedule' && !tolerations.some((t) => tolerates(t, taint))).length;
}

/** NodeAffinity's raw score: the weights of the preferred terms the node matches. */
export function preferredNodeAffinity(pod: StoredPod, node: SchedulingNode): number {
  const terms = pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  return terms.reduce((sum, t) => sum + (termMatches(t.preference as NodeSelectorTerm, node) ? t.weight : 0), 0);
}

export const MAX_NODE_SCORE = 100;

/** The framework's DefaultNormalizeScore: scale to 0..100 by the highest score; `reverse` for lower-is-better. */
export function defaultNormalize(scores: number[], reverse: boolean): number[] {
  const max = Math.max(0, ...scores);
  if (max === 0) return scores.map(() => (reverse ? MAX_NODE_SCORE : 0));
  return scores.map((s) => {
    const n = Math.floor((MAX_NODE_SCORE * s) / max);
    return reverse ? MAX_NODE_SCORE - n : n;
  });
}

/** InterPodAffinity's normalization: min-max to 0..100 (negative raw scores allowed). */
export function minMaxNormalize(scores: number[]): number[] {
  const max = Math.max(...scores);
  const min = Math.min(...scores);
  return scores.map((s) => (max - min > 0 ? Math.floor((MAX_NODE_SCORE * (s - min)) / (max - min)) : 0));
}
