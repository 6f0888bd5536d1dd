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
