/**
 * The restore lines that keep Felix's hooks in the built-in filter chains, computed from what
 * iptables-save shows (kube-proxy inserts its own FORWARD jumps at position 1 when they are
 * missing, which can push cali-FORWARD down): `-j cali-FORWARD` first in FORWARD, `-j cali-OUTPUT`
 * first in OUTPUT, the accept-mark ACCEPT and set-mark rules last in FORWARD. Only lines for what
 * is wrong; an unchanged node gets none. Chains no longer planned are a separate question
 * (staleChains): removing a deleted pod's chains is an ordinary change, not a repair.
 */
import { FORWARD_APPEND } from './render.js';


function firstHook(builtin: string[], chain: string, target: string): string[] {
  const rules = builtin.filter((l) => l.startsWith(`-A ${chain} `));
  const ours = rules.filter((l) => l.endsWith(` -j ${target}`));
  if (ours.length === 1 && rules[0] === ours[0]) return [];
  return [...ours.map((l) => l.replace(/^-A /, '-D ')), `-I ${chain} 1 -j ${target}`];
}

function appendedTail(builtin: string[]): string[] {
  const rules = builtin.filter((l) => l.startsWith('-A FORWARD '));
  const isAccept = (l: string) => l.includes('-m mark --mark 0x10000/0x10000') && l.endsWith('-j ACCEPT');
  const isSet = (l: string) => l.endsWith('-j MARK --set-xmark 0x10000/0x10000') && !l.includes('-m mark');
  const tail = rules.slice(-2);
  const present = rules.filter((l) => isAccept(l) || isSet(l));
  if (present.length === 2 && tail.length === 2 && isAccept(tail[0]!) && isSet(tail[1]!)) return [];
  return [...present.map((l) => l.replace(/^-A /, '-D ')), ...FORWARD_APPEND.map((r) => `-A FORWARD ${r}`)];
}

/** Lines to put before COMMIT of the policy restore. `builtin`: iptables-save's `-A` lines of the built-in chains. */
export function hookLines(builtin: string[]): string[] {
  return [...firstHook(builtin, 'FORWARD', 'cali-FORWARD'), ...firstHook(builtin, 'OUTPUT', 'cali-OUTPUT'), ...appendedTail(builtin)];
}

/** Felix's chains that iptables-save lists (`existing`) and the plan no longer declares. */
export function staleChains(existing: string[], planned: Set<string>): string[] {
  return existing.filter((c) => c.startsWith('cali-') && !planned.has(c));
}
