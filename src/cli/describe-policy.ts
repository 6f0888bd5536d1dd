/** NetworkPolicy as kubectl prints it: the POD-SELECTOR column of `get`, and `describe`'s Spec block. */
import type { LabelSelector } from '../cluster/selectors.js';
import { effectivePolicyTypes, type NetworkPolicyState, type PolicyPeer, type PolicyRule } from '../cluster/network-policy.js';

/** metav1.FormatLabelSelector: `k=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`; empty is `<none>`. */
export function formatSelector(s: LabelSelector | undefined): string {
  const parts = Object.entries(s?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s?.matchExpressions ?? []) {
    const vals = `(${[...(e.values ?? [])].sort().join(',')})`;
    if (e.operator === 'In') parts.push(`${e.key} in ${vals}`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin ${vals}`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(',') : '<none>';
}

function peerLines(peer: PolicyPeer, indent: string): string[] {
  if (peer.ipBlock) return [`${indent}IPBlock:`, `${indent}  CIDR: ${peer.ipBlock.cidr}`, `${indent}  Except: ${peer.ipBlock.except.join(', ')}`];
  const out: string[] = [];
  if (peer.namespaceSelector) out.push(`${indent}NamespaceSelector: ${formatSelector(peer.namespaceSelector)}`);
  if (peer.podSelector) out.push(`${indent}PodSelector: ${formatSelector(peer.podSelector)}`);
  return out;
}

function ruleLines(rules: PolicyRule[], dir: 'ingress' | 'egress'): string[] {
  const peersWord = dir === 'ingress' ? 'From' : 'To';
  const out: string[] = [];
  rules.forEach((r, i) => {
    if (i > 0) out.push('    ----------');
    if (r.ports.length === 0) out.push('    To Port: <any> (traffic allowed to all ports)');
    for (const p of r.ports) {
      if (p.endPort !== undefined) out.push(`    To Port Range: ${p.port}-${p.endPort}/${p.protocol}`);
      else out.push(`    To Port: ${p.port ?? '<any>'}/${p.protocol}`);
    }
    if (r.peers.length === 0) out.push(`    ${peersWord}: <any> (traffic not restricted by ${dir === 'ingress' ? 'source' : 'destination'})`);
    else {
      out.push(`    ${peersWord}:`);
      r.peers.forEach((peer, j) => {
        if (j > 0) out.push('      ----------');
        out.push(...peerLines(peer, '      '));
      });
    }
  });
  return out;
}

/** The `Spec:` block of `kubectl describe networkpolicy`. */
export function policySpecLines(p: NetworkPolicyState): string[] {
  const types = effectivePolicyTypes(p);
  const sel = formatSelector(p.podSelector);
  const out = ['Spec:', `  PodSelector:     ${sel === '<none>' ? '<none> (Allowing the specific traffic to all pods in this namespace)' : sel}`];
  for (const [dir, type, rules] of [['ingress', 'Ingress', p.ingress], ['egress', 'Egress', p.egress]] as const) {
    if (!types.includes(type)) {
      out.push(`  Not affecting ${dir} traffic`);
      continue;
    }
    out.push(`  Allowing ${dir} traffic:`);
    if (rules.length === 0) out.push(`    <none> (Selected pods are isolated for ${dir} connectivity)`);
    else out.push(...ruleLines(rules, dir));
  }
  out.push(`  Policy Types: ${types.join(', ')}`);
  return out;
}
