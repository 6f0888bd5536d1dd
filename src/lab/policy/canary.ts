/**
 * The drift check of Felix's rules, as Felix's periodic refresh finds them: the supervisor lists each
 * synced node's FORWARD and cali-FORWARD (one shell for the nodes due: after their rules changed, or
 * every 3 s without change events; Felix itself refreshes every 90 s by default, and each check costs
 * two iptables runs per node); a node whose cali-FORWARD
 * is gone or empty, or whose FORWARD no longer starts with the jump to it (an `iptables -F`), loses
 * its record, so the next sync reads the tables back and writes them whole.
 */
import { listChains } from '../../host/iptables.js';
import { nodeNetns } from '../../topology/names.js';
import type { LabRecord } from '../state.js';
import { RuleCheckSchedule, nodeOfNetnsFile, type RuleTicks } from '../daemons/rule-checks.js';

export const POLICY_POLL_MS = 3000;

/** Nodes (of `only`, when given) whose Felix rules are not in place. */
export async function driftedNodes(record: LabRecord, only?: Set<string>): Promise<string[]> {
  const nodes = Object.keys(record.policy ?? {}).filter((n) => !only || only.has(n));
  const listings = await listChains(nodes.flatMap((n) => ['FORWARD', 'cali-FORWARD'].map((chain) => ({ netns: nodeNetns(record.lab, n), table: 'filter', chain }))));
  return nodes.filter((_, i) => {
    const [fwd, cali] = [listings[2 * i]!, listings[2 * i + 1]!];
    const first = fwd.text.split('\n').find((l) => l.startsWith('-A FORWARD '));
    return !cali.ok || !cali.text.includes('-A cali-FORWARD ') || !first?.endsWith('-j cali-FORWARD');
  });
}

export class PolicyWatch {
  private schedule = new RuleCheckSchedule(POLICY_POLL_MS);
  private found: string[] = [];

  async poll(record: LabRecord, now: number, ticks: RuleTicks): Promise<string | undefined> {
    const due = this.schedule.due(now, ticks.changed, ticks.locked, (file) => nodeOfNetnsFile(record, file));
    if (!due.all && due.nodes.size === 0) return undefined;
    this.found = await driftedNodes(record, due.all ? undefined : due.nodes);
    return this.found.length ? `policy rules of node ${this.found.join(', ')} not in place: rewritten` : undefined;
  }

  /** Under the lab lock, on the record just read: the nodes found drifted are read back and rewritten. */
  apply(record: LabRecord): void {
    for (const n of this.found) delete record.policy?.[n];
    this.found = [];
  }
}
