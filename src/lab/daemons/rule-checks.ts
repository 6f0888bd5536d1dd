/**
 * When the supervisor reads a node's rules back (kube-proxy's canaries, Felix's chains). With
 * nftables change events (kemu-pidwatch -r) a node is checked only after its rules changed, and every
 * node once per sweep as a safety net; idle, nothing runs (each check is several iptables processes per
 * node). Without events, every node on the check's own period. A check waits while a kemu command holds
 * the lab lock: its rules are half-written then, and the command reads them back itself.
 */
import { NETNS_DIR } from '../../host/netns.js';
import { nodeNetns } from '../../topology/names.js';
import type { LabRecord } from '../state.js';

export const RULE_SWEEP_MS = 30_000;

/** What the supervisor knows at a tick: the nodes' namespaces whose rules changed (undefined: no events), and whether a command holds the lab lock. */
export interface RuleTicks {
  changed: Set<string> | undefined;
  locked: boolean;
}

/** The lab node whose network namespace is bound at `file`. */
export function nodeOfNetnsFile(record: LabRecord, file: string): string | undefined {
  return record.cluster.nodes.find((n) => `${NETNS_DIR}/${nodeNetns(record.lab, n.name)}` === file)?.name;
}

export class RuleCheckSchedule {
  private lastAll = -Infinity;
  private lastPoll = -Infinity;
  private pending = new Set<string>();

  constructor(private readonly pollMs: number) {}

  /**
   * The nodes to check now: every node (`all`), some, or none. `changed`: the node namespaces whose
   * rules changed since the last tick, undefined when there are no events.
   */
  due(now: number, changed: Set<string> | undefined, locked: boolean, nodeOfNetns: (file: string) => string | undefined): { all: boolean; nodes: Set<string> } {
    for (const file of changed ?? []) {
      const node = nodeOfNetns(file);
      if (node) this.pending.add(node);
    }
    const none = { all: false, nodes: new Set<string>() };
    if (locked) return none;
    const sweep = changed === undefined ? this.pollMs : RULE_SWEEP_MS;
    if (now - (changed === undefined ? this.lastPoll : this.lastAll) >= sweep) {
      this.lastAll = this.lastPoll = now;
      this.pending.clear();
      return { all: true, nodes: new Set() };
    }
    if (changed === undefined || this.pending.size === 0) return none;
    const nodes = this.pending;
    this.pending = new Set();
    return { all: false, nodes };
  }
}
