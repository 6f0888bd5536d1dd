/**
 * kube-scheduler's InterPodAffinity plugin: required pod affinity and anti-affinity (of the incoming
 * pod, and the existing pods' anti-affinity towards it) as a filter, preferred terms as a score.
 * A term's topology domain is the value of its topologyKey label on a node (kubernetes.io/hostname:
 * one node each); pods in the same domain count.
 */
import { selectorMatches, type LabelSelector } from '../selectors.js';
import type { SchedulingNode } from '../controllers/types.js';
import type { StoredPod } from '../store.js';

export const REASON_AFFINITY = "node(s) didn't match pod affinity rules";
export const REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";
export const REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
/** The weight of an existing pod's required affinity term when scoring (kube-scheduler's hardPodAffinityWeight default). */
const HARD_POD_AFFINITY_WEIGHT = 1;

/** A pod on a node, as the scheduler's cache holds it. */
export interface PlacedPod {
  pod: StoredPod;
  node: SchedulingNode;
}

interface RawTerm {
  labelSelector?: LabelSelector;
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  topologyKey: string;
  matchLabelKeys?: string[];
  mismatchLabelKeys?: string[];
}

/** A term resolved against its owner pod: which namespaces it looks at, and its selector. */
interface Term {
  selector?: LabelSelector;
  /** undefined: every namespace */
  namespaces?: Set<string>;
  namespaceSelector?: LabelSelector;
  topologyKey: string;
  weight: number;
}

/** Namespace name → its labels (kubernetes.io/metadata.name included), for namespaceSelector. */
export type NamespaceLabels = (namespace: string) => Record<string, string>;

function resolve(raw: RawTerm, owner: StoredPod, weight: number): Term {
  const labels = owner.metadata.labels ?? {};
  // matchLabelKeys/mismatchLabelKeys add `key in/notin (owner's value)` to the selector, as the API server merges them.
  const extra = [
    ...(raw.matchLabelKeys ?? []).filter((k) => Object.hasOwn(labels, k)).map((k) => ({ key: k, operator: 'In', values: [labels[k]!] })),
    ...(raw.mismatchLabelKeys ?? []).filter((k) => Object.hasOwn(labels, k)).map((k) => ({ key: k, operator: 'NotIn', values: [labels[k]!] })),
  ];
  const selector = raw.labelSelector ? { ...raw.labelSelector, matchExpressions: [...(raw.labelSelector.matchExpressions ?? []), ...extra] } : undefined;
  const own = owner.metadata.namespace ?? 'default';
  const named = raw.namespaces?.length ? new Set(raw.namespaces) : undefined;
  // Neither namespaces nor a namespaceSelector: the owner's namespace; an empty namespaceSelector: all of them.
  const namespaceSelector = raw.namespaceSelector;
  const allNamespaces = namespaceSelector && !namespaceSelector.matchLabels && !namespaceSelector.matchExpressions?.length;
  return {
    selector,
    namespaces: allNamespaces ? undefined : (named ?? (namespaceSelector ? new Set<string>() : new Set([own]))),
    namespaceSelector: allNamespaces ? undefined : namespaceSelector,
    topologyKey: raw.topologyKey,
    weight,
  };
}

/** Whether `pod` is one of the pods `term` selects (a term with no labelSelector selects none). */
function selects(term: Term, pod: StoredPod, nsLabels: NamespaceLabels): boolean {
  if (!term.selector) return false;
  const ns = pod.metadata.namespace ?? 'default';
  const inNamespace = term.namespaces === undefined || term.namespaces.has(ns) || (term.namespaceSelector !== undefined && selectorMatches(term.namespaceSelector, nsLabels(ns)));
  return inNamespace && selectorMatches(term.selector, pod.metadata.labels ?? {});
}

const sameDomain = (key: string, a: SchedulingNode, b: SchedulingNode) => Object.hasOwn(a.labels, key) && a.labels[key] === b.labels[key];

type Affinity = NonNullable<NonNullable<StoredPod['spec']>['affinity']>;
const affinityOf = (p: StoredPod): Affinity => p.spec?.affinity ?? {};

function requiredTerms(p: StoredPod, which: 'podAffinity' | 'podAntiAffinity'): Term[] {
  return ((affinityOf(p)[which]?.requiredDuringSchedulingIgnoredDuringExecution ?? []) as RawTerm[]).map((t) => resolve(t, p, HARD_POD_AFFINITY_WEIGHT));
}

function preferredTerms(p: StoredPod, which: 'podAffinity' | 'podAntiAffinity'): Term[] {
  return (affinityOf(p)[which]?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w) => resolve(w.podAffinityTerm as RawTerm, p, w.weight));
}

export const hasPodAffinity = (p: StoredPod) => Boolean(affinityOf(p).podAffinity || affinityOf(p).podAntiAffinity);

/** The plugin's Filter for `pod` on `node`: undefined when it passes, else the reason. */
export function interPodFilter(pod: StoredPod, node: SchedulingNode, placed: PlacedPod[], nsLabels: NamespaceLabels): string | undefined {
  const affinity = requiredTerms(pod, 'podAffinity');
  if (affinity.length) {
    if (!affinity.every((t) => Object.hasOwn(node.labels, t.topologyKey))) return REASON_AFFINITY;
    // An existing pod counts for affinity only if it matches every term.
    const matching = placed.filter((e) => affinity.every((t) => selects(t, e.pod, nsLabels)));
    const satisfied = affinity.every((t) => matching.some((e) => sameDomain(t.topologyKey, e.node, node)));
    // The first pod of a group with affinity to itself may go anywhere its terms' topologies exist.
    const firstOfItsKind = matching.length === 0 && affinity.every((t) => selects(t, pod, nsLabels));
    if (!satisfied && !firstOfItsKind) return REASON_AFFINITY;
  }
  for (const t of requiredTerms(pod, 'podAntiAffinity')) {
    if (placed.some((e) => sameDomain(t.topologyKey, e.node, node) && selects(t, e.pod, nsLabels))) return REASON_ANTI_AFFINITY;
  }
  for (const e of placed) {
    if (!hasPodAffinity(e.pod)) continue;
    for (const t of requiredTerms(e.pod, 'podAntiAffinity')) if (sameDomain(t.topologyKey, e.node, node) && selects(t, pod, nsLabels)) return REASON_EXISTING_ANTI_AFFINITY;
  }
  return undefined;
}

/** The plugin's raw Score: preferred terms of the pod towards existing pods, and of existing pods towards it. */
export function interPodScore(pod: StoredPod, node: SchedulingNode, placed: PlacedPod[], nsLabels: NamespaceLabels): number {
  const preferAffinity = preferredTerms(pod, 'podAffinity');
  const preferAnti = preferredTerms(pod, 'podAntiAffinity');
  let score = 0;
  for (const e of placed) {
    for (const t of preferAffinity) if (sameDomain(t.topologyKey, e.node, node) && selects(t, e.pod, nsLabels)) score += t.weight;
    for (const t of preferAnti) if (sameDomain(t.topologyKey, e.node, node) && selects(t, e.pod, nsLabels)) score -= t.weight;
    if (!hasPodAffinity(e.pod)) continue;
    const towards = (terms: Term[], sign: number) => {
      for (const t of terms) if (sameDomain(t.topologyKey, e.node, node) && selects(t, pod, nsLabels)) score += sign * t.weight;
    };
    towards(requiredTerms(e.pod, 'podAffinity'), 1);
    towards(preferredTerms(e.pod, 'podAffinity'), 1);
    towards(preferredTerms(e.pod, 'podAntiAffinity'), -1);
  }
  return score;
}
