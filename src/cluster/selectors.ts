/**
 * The matching rules of the API's selectors, pure: label selectors (matchLabels + matchExpressions),
 * node selector terms (labels with Gt/Lt, and matchFields on metadata.name) and taint tolerations,
 * as apimachinery's labels package and component-helpers' scheduling helpers define them.
 */

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

/** A label selector against labels: every matchLabels pair and every expression (an empty selector matches all). */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    const ok =
      e.operator === 'In' ? has && values.includes(labels[e.key]!)
      : e.operator === 'NotIn' ? !has || !values.includes(labels[e.key]!)
      : e.operator === 'Exists' ? has
      : e.operator === 'DoesNotExist' ? !has
      : false;
    if (!ok) return false;
  }
  return true;
}

const INTEGER = /^-?\d+$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * One node selector requirement against a label (or field) map; Gt and Lt compare integers. A
 * requirement the scheduler cannot parse (an In/NotIn value that is no label value) matches nothing.
 */
function requirementMatches(r: NodeSelectorRequirement, values: Record<string, string>): boolean {
  const has = Object.hasOwn(values, r.key);
  const v = values[r.key];
  const want = r.values ?? [];
  if ((r.operator === 'In' || r.operator === 'NotIn') && want.some((x) => x.length > 63 || !LABEL_VALUE.test(x))) return false;
  switch (r.operator) {
    case 'In':
      return has && want.includes(v!);
    case 'NotIn':
      return !has || !want.includes(v!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || want.length !== 1 || !INTEGER.test(v!) || !INTEGER.test(want[0]!)) return false;
      return r.operator === 'Gt' ? Number(v) > Number(want[0]) : Number(v) < Number(want[0]);
    }
    default:
      return false;
  }
}

/** A node selector term: its requirements ANDed; a term without any requirement matches no node. */
export function termMatches(term: NodeSelectorTerm, node: { name: string; labels: Record<string, string> }): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const nodeFields = { 'metadata.name': node.name };
  return exprs.every((r) => requirementMatches(r, node.labels)) && fields.every((r) => requirementMatches(r, nodeFields));
}

/** Whether one toleration tolerates one taint (empty effect: any effect; empty key with Exists: any key). */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  const op = t.operator ?? 'Equal';
  if (op === 'Exists') return true;
  return op === 'Equal' && (t.value ?? '') === (taint.value ?? '');
}

/** The first taint with one of `effects` that no toleration tolerates. */
export function untoleratedTaint(taints: Taint[], tolerations: Toleration[], effects: string[]): Taint | undefined {
  return taints.find((taint) => effects.includes(taint.effect) && !tolerations.some((t) => tolerates(t, taint)));
}
