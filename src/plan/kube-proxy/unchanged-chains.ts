/**
 * Leave out of a restore payload the top-level chains whose rules are the same as last time.
 *
 * kube-proxy's partial sync rewrites KUBE-SERVICES, KUBE-NODEPORTS and the filter chains every time;
 * with the nft backend, rewriting a 1,000-rule KUBE-SERVICES costs tens of milliseconds. Since
 * `iptables-restore --noflush` leaves chains that are not mentioned alone, a chain identical to the
 * one already in the kernel can be skipped (as Felix diffs what it programs): the tables end up the
 * same, the payload is smaller. Service chains, `-X` and `-I` lines always stay.
 */
import { createHash } from 'node:crypto';
import { isServiceChainName } from './chain-names.js';

/** table/chain → hash of that chain's rules */
export type ChainHashes = Record<string, string>;

export function dropUnchangedChains(payload: string, previous: ChainHashes | undefined): { payload: string; hashes: ChainHashes; skipped: number } {
  const lines = payload.split('\n');
  // Pass 1: the rules of every chain, per table.
  const rules = new Map<string, string[]>();
  let table = '';
  for (const l of lines) {
    if (l.startsWith('*')) table = l.slice(1);
    const chain = /^-A (\S+) /.exec(l)?.[1];
    if (chain) rules.set(`${table}/${chain}`, [...(rules.get(`${table}/${chain}`) ?? []), l]);
  }
  // Pass 2: hash the declared top-level chains; drop the ones the kernel already has.
  const hashes: ChainHashes = {};
  const drop = new Set<string>();
  for (const l of lines) {
    if (l.startsWith('*')) table = l.slice(1);
    const chain = /^:(\S+) /.exec(l)?.[1];
    if (!chain || isServiceChainName(chain)) continue;
    const key = `${table}/${chain}`;
    hashes[key] = createHash('sha256').update((rules.get(key) ?? []).join('\n')).digest('hex').slice(0, 16);
    if (previous?.[key] === hashes[key]) drop.add(key);
  }
  let skipped = 0;
  const kept = lines.filter((l) => {
    if (l.startsWith('*')) table = l.slice(1);
    const chain = /^:(\S+) /.exec(l)?.[1] ?? /^-A (\S+) /.exec(l)?.[1];
    if (!chain || !drop.has(`${table}/${chain}`)) return true;
    skipped++;
    return false;
  });
  return { payload: kept.join('\n'), hashes, skipped };
}
