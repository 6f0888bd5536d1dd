/**
 * Felix's part of a reconcile (Calico v3.32 layout, src/plan/policy): for every node, the ipsets
 * first (filled as a temporary twin and swapped in, one `ipset restore`), then the filter chains
 * that changed with the hooks in the built-in chains (one `iptables-restore --noflush`), then the
 * sets no longer used destroyed (once no rule refers to them). What was written is recorded as a
 * hash per chain and per set, so a pod coming or going rewrites only the sets it is a member of and
 * the dispatch and endpoint chains of its own node; the policy chains stay as they are.
 *
 * The tables are read back (iptables-save) only when the record cannot be trusted: a node without a
 * record, `up` (verify), a node the drift check found wrong, or after kube-proxy's full sync inserted
 * its own jumps at the top of FORWARD (cali-FORWARD must stay first, as Felix keeps it).
 */
import type { ClusterState } from '../../cluster/types.js';
import { planHash } from '../../plan/hash.js';
import { hookLines, staleChains } from '../../plan/policy/hooks.js';
import { ruleHashes } from '../../plan/policy/names.js';
import { planNodePolicies, type NodePolicyPlan } from '../../plan/policy/nodes.js';
import { filterRestore, ipsetRestore, type PolicyPlan } from '../../plan/policy/render.js';
import { nodeNetns } from '../../topology/names.js';
import { listIpsets, restoreIpsets } from '../../host/ipset.js';
import { restoreTables, saveTables, type SavedTables } from '../../host/iptables.js';
import { mapLimit } from '../../host/run.js';
import type { LabRecord } from '../state.js';

/** What a node's filter table and ipsets hold of Felix's, as last written. */
export interface NodePolicyRecord {
  /** chain → hash of its rules */
  chains: Record<string, string>;
  /** ipset → hash of its type and members */
  ipsets: Record<string, string>;
}

export interface PolicySyncOptions {
  /** Nodes made in this run: empty tables, nothing to read back. */
  fresh?: Set<string>;
  /** Read every node's tables back (`up`). */
  verify?: boolean;
}

export interface PolicySyncResult {
  /** `node: N chains, M ipsets` for each node written */
  written: string[];
  /** what was found not as written and put back */
  repaired: string[];
}

const EMPTY: SavedTables = { chains: { nat: [], filter: [] }, builtinRules: { nat: [], filter: [] }, ruleCounts: {}, filterRules: {} };

/** The cali:<hash> comment of each rule, as Felix reads its chains back (a rule without one: ''). */
const savedHashes = (rules: string[] = []) => rules.map((r) => /--comment "?cali:([\w-]+)"?/.exec(r)?.[1] ?? '');
const holdsRules = (saved: SavedTables, chain: string, rules: string[]) => savedHashes(saved.filterRules?.[chain]).join(' ') === ruleHashes(chain, rules).join(' ');
const isFelixSet = (name: string) => name.startsWith('cali40') || name.startsWith('cali4t');

export async function syncPolicies(c: ClusterState, record: LabRecord, opts: PolicySyncOptions = {}): Promise<PolicySyncResult> {
  record.policy ??= {};
  const policy = record.policy;
  for (const n of Object.keys(policy)) if (!c.nodes.some((x) => x.name === n)) delete policy[n];
  const out: PolicySyncResult = { written: [], repaired: [] };
  await mapLimit(planNodePolicies(c), 8, async (np) => {
    const r = await syncNode(np, policy[np.node], opts.fresh?.has(np.node) === true, opts.verify === true);
    if (!r) return;
    policy[np.node] = r.record;
    if (r.written) out.written.push(`${np.node}: ${r.written}`);
    if (r.repaired) out.repaired.push(`policy rules of node ${np.node} (${r.repaired})`);
  });
  out.written.sort();
  out.repaired.sort();
  return out;
}

interface NodeResult {
  record: NodePolicyRecord;
  written?: string;
  repaired?: string;
}

async function syncNode(np: NodePolicyPlan, prev: NodePolicyRecord | undefined, fresh: boolean, verify: boolean): Promise<NodeResult | undefined> {
  const { plan, netns } = np;
  const chains = Object.fromEntries([...plan.chains].map(([name, rules]) => [name, planHash(rules)]));
  const ipsets = Object.fromEntries(plan.ipsets.map((s) => [s.name, planHash([s.type, s.members])]));
  const known = fresh ? undefined : prev;
  const readBack = !fresh && (!prev || verify);
  const saved = fresh ? EMPTY : readBack ? await saveTables(netns) : undefined;
  const existingSets = fresh ? [] : readBack ? (await listIpsets(netns)).filter(isFelixSet) : undefined;

  // Chains: changed since the record, or (read back) missing or not holding the rules written, rule by rule.
  const wrong = saved && known ? [...plan.chains].filter(([name, rules]) => known.chains[name] === chains[name] && !holdsRules(saved, name, rules)).map(([n]) => n) : [];
  const writeChains = [...plan.chains.keys()].filter((name) => known?.chains[name] !== chains[name] || wrong.includes(name));
  const missingSets = existingSets && known ? plan.ipsets.filter((s) => known.ipsets[s.name] === ipsets[s.name] && !existingSets.includes(s.name)).map((s) => s.name) : [];
  const writeSets = plan.ipsets.filter((s) => known?.ipsets[s.name] !== ipsets[s.name] || missingSets.includes(s.name));
  // Sets to destroy: the record's no longer planned, or (read back) every Felix set not planned.
  const removedSets = (existingSets ?? Object.keys(known?.ipsets ?? {})).filter((n) => !(n in ipsets));
  const hooks = saved ? hookLines(saved.builtinRules.filter) : [];
  // Chains to delete: the record's no longer planned, or (read back) every Felix chain not planned.
  const removedChains = saved ? staleChains(saved.chains.filter, new Set(plan.chains.keys())) : Object.keys(known?.chains ?? {}).filter((n) => !plan.chains.has(n));
  const unknownChains = known ? removedChains.filter((n) => !(n in known.chains)) : [];

  if (writeSets.length === 0 && writeChains.length === 0 && hooks.length === 0 && removedChains.length === 0 && removedSets.length === 0) return prev ? undefined : { record: { chains, ipsets } };
  if (writeSets.length) await restoreIpsets(netns, ipsetRestore({ chains: new Map(), ipsets: writeSets }));
  if (writeChains.length || hooks.length || removedChains.length) {
    const subset: PolicyPlan = { chains: new Map(writeChains.map((n) => [n, plan.chains.get(n)!])), ipsets: [] };
    const payload = filterRestore(subset, removedChains);
    await restoreTables(netns, hooks.length ? payload.replace(/COMMIT\n$/, `${hooks.join('\n')}\nCOMMIT\n`) : payload);
  }
  if (removedSets.length) await restoreIpsets(netns, ipsetRestore({ chains: new Map(), ipsets: [] }, removedSets));
  const counted = (n: number, what: string, how: string) => (n ? [`${n} ${what}${n === 1 ? '' : 's'} ${how}`] : []);
  const repairedParts = [...counted(wrong.length, 'chain', 'not as written'), ...counted(missingSets.length, 'ipset', 'missing'), ...counted(unknownChains.length, 'chain', 'not written by this lab removed'), ...(known && hooks.length ? ['hooks out of place'] : [])];
  return {
    record: { chains, ipsets },
    written: `${writeChains.length} chains, ${writeSets.length} ipsets`,
    ...(repairedParts.length ? { repaired: repairedParts.join(', ') } : {}),
  };
}

/**
 * After kube-proxy's full sync of these nodes (it inserts its FORWARD jumps at position 1 when they are
 * missing): cali-FORWARD back first, Felix's tail back last. Only nodes whose hooks are out of place are written.
 */
export async function keepHooksFirst(record: LabRecord, nodes: string[]): Promise<void> {
  await mapLimit(
    nodes.filter((n) => record.policy?.[n]),
    8,
    async (n) => {
      const netns = nodeNetns(record.lab, n);
      const saved = await saveTables(netns);
      const lines = hookLines(saved.builtinRules.filter);
      if (lines.length) await restoreTables(netns, `*filter\n${lines.join('\n')}\nCOMMIT\n`);
    },
  );
}
