/**
 * Calico selector strings for Kubernetes policy peers, as Calico's conversion writes them
 * (libcalico-go k8s conversion: matchLabels sorted `k == 'v'`, In/NotIn sets, Exists `has(k)`,
 * DoesNotExist `! has(k)`, namespace labels prefixed `pcns.`). They name the ipsets; membership is
 * computed from src/cluster/network-policy, not by parsing these strings.
 */
import type { LabelSelector } from '../../cluster/selectors.js';
import type { PolicyPeer } from '../../cluster/network-policy.js';

function terms(s: LabelSelector, prefix = ''): string[] {
  const out = Object.keys(s.matchLabels ?? {})
    .sort()
    .map((k) => `${prefix}${k} == '${s.matchLabels![k]}'`);
  for (const e of s.matchExpressions ?? []) {
    const set = `{${(e.values ?? []).map((v) => `'${v}'`).join(', ')}}`;
    if (e.operator === 'In') out.push(`${prefix}${e.key} in ${set}`);
    else if (e.operator === 'NotIn') out.push(`${prefix}${e.key} not in ${set}`);
    else if (e.operator === 'Exists') out.push(`has(${prefix}${e.key})`);
    else if (e.operator === 'DoesNotExist') out.push(`! has(${prefix}${e.key})`);
  }
  return out;
}

const podTerms = (s: LabelSelector) => ["projectcalico.org/orchestrator == 'k8s'", ...terms(s)].join(' && ');

/** The selector of a pod/namespace peer of a policy in `policyNamespace`. */
export function peerSelector(peer: PolicyPeer, policyNamespace: string): string {
  const ns = peer.namespaceSelector ? terms(peer.namespaceSelector, 'pcns.') : [];
  const nsPart = peer.namespaceSelector ? (ns.length ? ns.join(' && ') : 'has(projectcalico.org/namespace)') : `projectcalico.org/namespace == '${policyNamespace}'`;
  return peer.podSelector ? `(${nsPart}) && (${podTerms(peer.podSelector)})` : nsPart;
}

/** The selector of the pods a policy applies to (used for ingress named-port sets). */
export function policySelector(podSelector: LabelSelector, namespace: string): string {
  return `(${podTerms(podSelector)}) && projectcalico.org/namespace == '${namespace}'`;
}

/** All pods (egress named ports without a peer). */
export const ALL_PODS_SELECTOR = 'has(projectcalico.org/namespace)';
