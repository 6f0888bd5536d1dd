/**
 * What each service port contributes to the top-level chains (KUBE-SERVICES, KUBE-NODEPORTS, the
 * filter chains): every such rule carries a comment that starts with the service-port key. Hashing
 * those rules per service lets a sync tell whether a change reaches the top-level chains at all.
 */
import { createHash } from 'node:crypto';
import { isServiceChainName } from './chain-names.js';

const chainOf = (line: string) => /^(?::|-A )(\S+)/.exec(line)?.[1];
const commentKey = (line: string) => /--comment "?([^"\s]+)/.exec(line)?.[1];

/** service-port key → hash of its rules in top-level chains, for the keys in `keys`. */
export function entryHashes(payload: string, keys: Iterable<string>): Record<string, string> {
  const wanted = new Set(keys);
  const rules = new Map<string, string[]>();
  let table = '';
  for (const l of payload.split('\n')) {
    if (l.startsWith('*')) table = l.slice(1);
    if (!l.startsWith('-A ')) continue;
    const chain = chainOf(l)!;
    const key = commentKey(l);
    if (isServiceChainName(chain) || key === undefined || !wanted.has(key)) continue;
    rules.set(key, [...(rules.get(key) ?? []), `${table} ${l}`]);
  }
  const out: Record<string, string> = {};
  for (const key of wanted) out[key] = createHash('sha256').update((rules.get(key) ?? []).join('\n')).digest('hex').slice(0, 16);
  return out;
}

/** The payload without any top-level chain: only per-service chains and `-X` lines remain (tables left empty are dropped). */
export function serviceChainsOnly(payload: string): string {
  return payload
    .split('\n')
    .filter((l) => {
      const chain = chainOf(l);
      return chain === undefined || isServiceChainName(chain);
    })
    .join('\n')
    .replace(/^\*\w+\nCOMMIT\n/gm, '');
}
