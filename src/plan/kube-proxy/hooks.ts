/**
 * The jump rules kube-proxy ensures from the built-in chains into its own (iptablesJumpChains and
 * iptablesKubeletJumpChains), only on full syncs and outside iptables-restore: for each one it
 * ensures the destination chain exists, checks the rule (`iptables -C`) and, if missing, inserts it at
 * position 1 (`-I <builtin> 1`). Each insert goes on top, so after a first run the built-in chain lists
 * them in the reverse of the order below. Rule text: extra matches, then the comment, then `-j`.
 */
import { quoted } from './line-buffer.js';

interface JumpChain {
  table: 'filter' | 'nat';
  from: string;
  to: string;
  comment: string;
  extra: string[];
}

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'];

const JUMPS: JumpChain[] = [
  { table: 'filter', from: 'INPUT', to: 'KUBE-EXTERNAL-SERVICES', comment: 'kubernetes externally-visible service portals', extra: NEW },
  { table: 'filter', from: 'FORWARD', to: 'KUBE-EXTERNAL-SERVICES', comment: 'kubernetes externally-visible service portals', extra: NEW },
  { table: 'filter', from: 'INPUT', to: 'KUBE-NODEPORTS', comment: 'kubernetes health check service ports', extra: [] },
  { table: 'filter', from: 'FORWARD', to: 'KUBE-SERVICES', comment: 'kubernetes service portals', extra: NEW },
  { table: 'filter', from: 'OUTPUT', to: 'KUBE-SERVICES', comment: 'kubernetes service portals', extra: NEW },
  { table: 'filter', from: 'FORWARD', to: 'KUBE-FORWARD', comment: 'kubernetes forwarding rules', extra: [] },
  { table: 'filter', from: 'INPUT', to: 'KUBE-PROXY-FIREWALL', comment: 'kubernetes load balancer firewall', extra: NEW },
  { table: 'filter', from: 'OUTPUT', to: 'KUBE-PROXY-FIREWALL', comment: 'kubernetes load balancer firewall', extra: NEW },
  { table: 'filter', from: 'FORWARD', to: 'KUBE-PROXY-FIREWALL', comment: 'kubernetes load balancer firewall', extra: NEW },
  { table: 'nat', from: 'OUTPUT', to: 'KUBE-SERVICES', comment: 'kubernetes service portals', extra: [] },
  { table: 'nat', from: 'PREROUTING', to: 'KUBE-SERVICES', comment: 'kubernetes service portals', extra: [] },
  { table: 'nat', from: 'POSTROUTING', to: 'KUBE-POSTROUTING', comment: 'kubernetes postrouting rules', extra: [] },
  // kubelet's KUBE-FIREWALL, which kube-proxy also ensures (no comment).
  { table: 'filter', from: 'INPUT', to: 'KUBE-FIREWALL', comment: '', extra: [] },
  { table: 'filter', from: 'OUTPUT', to: 'KUBE-FIREWALL', comment: '', extra: [] },
];

/** kube-proxy's canary chain, created (empty) in these tables; if it disappears, rules were flushed. */
export const CANARY_CHAIN = 'KUBE-PROXY-CANARY';
export const CANARY_TABLES = ['mangle', 'nat', 'filter'] as const;

export interface HookRules {
  /** `-A <builtin> … -j KUBE-…` specs, in kube-proxy's ensure order. */
  filter: string[];
  nat: string[];
  /** Destination chains the caller must create first (kube-proxy's EnsureChain). */
  ensureChains: { filter: string[]; nat: string[] };
}

export function renderHookRules(): HookRules {
  const out: HookRules = { filter: [], nat: [], ensureChains: { filter: [], nat: [] } };
  for (const j of JUMPS) {
    const comment = j.comment === '' ? [] : ['-m', 'comment', '--comment', quoted(j.comment)];
    out[j.table].push(['-A', j.from, ...j.extra, ...comment, '-j', j.to].join(' '));
    const chains = out.ensureChains[j.table];
    if (!chains.includes(j.to)) chains.push(j.to);
  }
  return out;
}
