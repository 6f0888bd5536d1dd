/**
 * kube-proxy's canary monitor, for every node whose kube-proxy has synced: the supervisor checks it
 * (one shell for the nodes due: after their rules changed, or once a second without change events)
 * and `up` checks it once; a node whose tables were
 * flushed gets a full resync, as forceSyncProxyRules does.
 */
import { CANARY_CHECKS, flushedTables, type CanaryTable } from '../../plan/kube-proxy/canary.js';
import { listChains } from '../../host/iptables.js';
import { nodeNetns } from '../../topology/names.js';
import type { LabRecord } from '../state.js';
import { RuleCheckSchedule, nodeOfNetnsFile, type RuleTicks } from '../daemons/rule-checks.js';

export const CANARY_POLL_MS = 1000;

/** Synced nodes (of `only`, when given) whose tables were flushed, with the tables found so. */
export async function flushedNodes(record: LabRecord, skip: Set<string> = new Set(), only?: Set<string>): Promise<Map<string, CanaryTable[]>> {
  const nodes = Object.entries(record.proxy ?? {})
    .filter(([n, p]) => p.config !== undefined && !skip.has(n) && (!only || only.has(n)))
    .map(([n]) => n);
  const listings = await listChains(nodes.flatMap((n) => CANARY_CHECKS.map((c) => ({ netns: nodeNetns(record.lab, n), table: c.table, chain: c.chain }))));
  const out = new Map<string, CanaryTable[]>();
  nodes.forEach((n, i) => {
    const tables = flushedTables(listings.slice(i * CANARY_CHECKS.length, (i + 1) * CANARY_CHECKS.length));
    if (tables.length) out.set(n, tables);
  });
  return out;
}

/** The next sync of these nodes is a full one: setup, read the tables back, write everything (Calico's natOutgoing too). */
export function forceFullSync(record: LabRecord, nodes: Iterable<string>): void {
  for (const n of nodes) {
    const p = record.proxy?.[n];
    if (!p) continue;
    delete p.config;
    delete p.natOutgoing;
    delete p.ruleCounts;
  }
}

export const flushedText = (node: string, tables: CanaryTable[]) => `kube-proxy rules of node ${node} (${tables.join(', ')} flushed)`;

/** The supervisor's side: check when due (lab/daemons/rule-checks), remember what it found until the reconcile under the lock. */
export class CanaryWatch {
  private schedule = new RuleCheckSchedule(CANARY_POLL_MS);
  private found = new Map<string, CanaryTable[]>();

  async poll(record: LabRecord, now: number, ticks: RuleTicks): Promise<string | undefined> {
    const due = this.schedule.due(now, ticks.changed, ticks.locked, (file) => nodeOfNetnsFile(record, file));
    if (!due.all && due.nodes.size === 0) return undefined;
    this.found = await flushedNodes(record, new Set(), due.all ? undefined : due.nodes);
    const [first] = this.found;
    return first ? `${flushedText(...first)}: full resync` : undefined;
  }

  /** Under the lab lock, on the record just read: mark the flushed nodes for a full sync. */
  apply(record: LabRecord): void {
    forceFullSync(record, this.found.keys());
    this.found.clear();
  }
}
