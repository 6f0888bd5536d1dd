/**
 * kube-proxy's canary (utiliptables.Monitor): an empty KUBE-PROXY-CANARY chain in mangle, nat and
 * filter; when one disappears, something flushed the tables and kube-proxy does a full resync. Upstream
 * polls every syncPeriod and only sees a chain deleted (`-F` then `-X`, a firewall reload); kemu polls
 * every second and also sees `iptables -t nat -F` alone, which empties chains without deleting them:
 * nat and filter are checked through the jump kube-proxy keeps in their built-in OUTPUT chain, mangle
 * (where kube-proxy owns nothing else) through its canary. One listing of one chain per table: cheap.
 */
import { CANARY_CHAIN, CANARY_TABLES } from './hooks.js';

export type CanaryTable = (typeof CANARY_TABLES)[number];

export interface CanaryCheck {
  table: CanaryTable;
  /** the chain listed with `iptables -t <table> -S <chain>` */
  chain: string;
  /** what the listing must contain; undefined: the chain only has to exist */
  rule?: RegExp;
}

export const CANARY_CHECKS: CanaryCheck[] = [
  { table: 'mangle', chain: CANARY_CHAIN },
  { table: 'nat', chain: 'OUTPUT', rule: /^-A OUTPUT .*-j KUBE-SERVICES$/m },
  { table: 'filter', chain: 'OUTPUT', rule: /^-A OUTPUT .*-j KUBE-SERVICES$/m },
];

/** One check's result: the listing's exit status and text. */
export interface CanaryListing {
  ok: boolean;
  text: string;
}

/** The tables whose check failed (flushed, or the canary deleted), in CANARY_CHECKS order. */
export function flushedTables(listings: CanaryListing[]): CanaryTable[] {
  return CANARY_CHECKS.filter((c, i) => {
    const l = listings[i];
    return !l || !l.ok || (c.rule !== undefined && !c.rule.test(l.text));
  }).map((c) => c.table);
}

/** Declare the canary chain in each table of a full-sync payload (sections added for tables it lacks). */
export function withCanaryChains(payload: string): string {
  const declare = `:${CANARY_CHAIN} - [0:0]\n`;
  let out = payload;
  for (const table of CANARY_TABLES) {
    const head = out.indexOf(`*${table}\n`);
    if (head < 0) out = `*${table}\n${declare}COMMIT\n${out}`;
    else out = `${out.slice(0, head + table.length + 2)}${declare}${out.slice(head + table.length + 2)}`;
  }
  return out;
}

const BUILTIN_CHAINS = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

/** `table/chain` → how many rules it has: from a restore payload (declared user chains; `-X` ones are gone) or from iptables-save. */
export type RuleCounts = Record<string, number>;

/**
 * What a `--noflush` restore leaves in the chains it declares (each declared chain is flushed first):
 * `counts` updated with them; a deleted chain is dropped. Built-in chains are not counted.
 */
export function countRulesWritten(payload: string, counts: RuleCounts = {}): RuleCounts {
  return addRulesWritten(payload, { ...counts });
}

/** countRulesWritten into `counts` itself (one node's thousands of chains are not copied for a change of a few). */
export function addRulesWritten(payload: string, counts: RuleCounts): RuleCounts {
  const out = counts;
  let table = '';
  for (const line of payload.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const declared = /^:(\S+) /.exec(line)?.[1];
    const appended = /^-A (\S+) /.exec(line)?.[1];
    const deleted = /^-X (\S+)/.exec(line)?.[1];
    if (declared && !BUILTIN_CHAINS.has(declared)) out[`${table}/${declared}`] = 0;
    else if (appended && out[`${table}/${appended}`] !== undefined && !BUILTIN_CHAINS.has(appended)) out[`${table}/${appended}`]!++;
    else if (deleted) delete out[`${table}/${deleted}`];
  }
  return out;
}

/** Chains whose rule count in the kernel (`saved`, from iptables-save) differs from what was written. */
export function changedChains(written: RuleCounts, saved: RuleCounts): string[] {
  return Object.keys(written)
    .filter((k) => saved[k] !== written[k])
    .sort();
}
