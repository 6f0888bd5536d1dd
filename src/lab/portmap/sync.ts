/**
 * The CNI portmap plugin's part of a reconcile: for every node whose pods' host ports changed, read the
 * node's nat table back (which CNI-DN chains exist, which jumps are in place) and write its CNI chains
 * with one `iptables-restore --noflush`. Nodes that never had a host port are left untouched, as the
 * plugin is only called for pods that map one.
 */
import type { ClusterState } from '../../cluster/types.js';
import { planHash } from '../../plan/hash.js';
import { hookedIn, planPortmaps, renderPortmap } from '../../plan/portmap/index.js';
import { deleteConntrack, restoreTables, saveTables } from '../../host/iptables.js';
import { mapLimit } from '../../host/run.js';
import type { LabRecord } from '../state.js';

/** Returns `node: N host ports` for each node written. */
export async function syncPortmaps(c: ClusterState, record: LabRecord): Promise<string[]> {
  record.proxy ??= {};
  const proxy = record.proxy;
  const written: string[] = [];
  await mapLimit(planPortmaps(c), 8, async (plan) => {
    const hash = planHash(plan.pods);
    const before = proxy[plan.node]?.portmap;
    if (before === hash || (before === undefined && plan.pods.length === 0)) return;
    const saved = await saveTables(plan.netns);
    await restoreTables(plan.netns, renderPortmap(plan, { chains: saved.chains.nat, hooked: hookedIn(saved.builtinRules.nat) }));
    // As the plugin after an ADD: UDP flows to a mapped port that conntrack still holds would bypass the new DNAT.
    const udp = [...new Set(plan.pods.flatMap((p) => p.mappings.filter((m) => m.protocol === 'UDP').map((m) => m.hostPort)))];
    await deleteConntrack(plan.netns, udp.map((port) => ['-p', 'udp', '--orig-port-dst', String(port)]));
    (proxy[plan.node] ??= { hashes: {}, chains: { nat: [], filter: [] } }).portmap = hash;
    written.push(`${plan.node}: ${plan.pods.reduce((n, p) => n + p.mappings.length, 0)} host ports`);
  });
  return written.sort();
}
