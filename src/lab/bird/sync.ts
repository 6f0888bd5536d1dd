/**
 * `routing: bgp`: keep one BIRD per node running with the planned config (restart it when the config
 * changed or it died), then wait until every BGP session is Established, as Calico's BIRD would.
 */
import type { ClusterState } from '../../cluster/types.js';
import { planBird } from '../../plan/bird/nodes.js';
import { bgpSessions, reexportKernelRoutes, startBird } from '../../host/bird.js';
import { startTunnel } from '../../host/tunnel.js';
import { planTunnels } from '../../plan/tunnels.js';
import { isAlive, killMarked, killRecorded } from '../../host/netns.js';
import { mapLimit } from '../../host/run.js';
import type { LabRecord } from '../state.js';

const ESTABLISHED_WITHIN_MS = 15_000;

/** A node daemon a killed run started but never recorded still holds its ports: find it by its marks. */
async function killUnrecorded(lab: string, container: string, nodes: string[]): Promise<void> {
  if (nodes.length === 0) return;
  const pods = new Set(nodes.map((n) => `node/${n}`));
  await killMarked((m) => m.KEMU_LAB === lab && m.KEMU_CONTAINER === container && pods.has(m.KEMU_POD ?? ''));
}

/** tunl0 on every node first: BIRD refuses routes through an interface that does not exist yet. */
async function syncTunnels(c: ClusterState, record: LabRecord): Promise<Array<{ node: string; datapath: string }>> {
  const plans = planTunnels(c);
  record.tunnels ??= {};
  const wanted = new Set(plans.map((p) => p.node));
  const stale = Object.entries(record.tunnels).filter(([node]) => !wanted.has(node));
  await killRecorded(stale.flatMap(([, t]) => (t.pid ? [t.pid] : [])), { KEMU_LAB: c.lab });
  for (const [node] of stale) delete record.tunnels[node];
  const restart = [];
  for (const p of plans) {
    const cur = record.tunnels[p.node];
    if (!cur || cur.hash !== p.hash || (cur.datapath === 'userspace' && !(cur.pid && (await isAlive(cur.pid, 'kemu-ipip'))))) restart.push(p);
  }
  await killRecorded(restart.flatMap((p) => (record.tunnels![p.node]?.pid ? [record.tunnels![p.node]!.pid!] : [])), { KEMU_LAB: c.lab });
  await killUnrecorded(c.lab, 'ipip', restart.map((p) => p.node));
  await mapLimit(restart, 8, async (p) => {
    record.tunnels![p.node] = { ...(await startTunnel(c.lab, p)), hash: p.hash };
  });
  return restart.map((p) => ({ node: p.node, datapath: record.tunnels![p.node]!.datapath }));
}

export async function syncBird(c: ClusterState, record: LabRecord): Promise<{ restarted: string[]; tunnels: string[]; establishedMs: number }> {
  const restartedTunnels = await syncTunnels(c, record);
  const tunnels = restartedTunnels.map((t) => `${t.node} (${t.datapath})`);
  const plans = planBird(c);
  record.bird ??= {};
  const wanted = new Set(plans.map((p) => p.node));
  // Daemons of nodes that no longer run BIRD (mode changed, node removed).
  const stale = Object.entries(record.bird).filter(([node]) => !wanted.has(node));
  await killRecorded(stale.map(([, b]) => b.pid), { KEMU_LAB: c.lab });
  for (const [node] of stale) delete record.bird[node];

  const restart: typeof plans = [];
  for (const p of plans) {
    const cur = record.bird[p.node];
    if (!cur || cur.hash !== p.hash || !(await isAlive(cur.pid, 'bird'))) restart.push(p);
  }
  await killRecorded(restart.flatMap((p) => (record.bird![p.node] ? [record.bird![p.node]!.pid] : [])), { KEMU_LAB: c.lab });
  await killUnrecorded(c.lab, 'bird', restart.map((p) => p.node));
  // A new tunl0 under a BIRD that keeps running: the kernel dropped the routes through the old one, and
  // BIRD would only notice at its next kernel scan (2 s); re-exporting puts them back at once.
  const kept = new Set(plans.filter((p) => !restart.includes(p)).map((p) => p.node));
  await Promise.all(plans.filter((p) => kept.has(p.node) && restartedTunnels.some((t) => t.node === p.node)).map((p) => reexportKernelRoutes(p.socket).catch(() => undefined)));
  await mapLimit(restart, 8, async (p) => {
    // A BIRD that ran before (died, or its config changed) restarts in graceful-restart recovery.
    record.bird![p.node] = { pid: await startBird(c.lab, p, p.node, { recover: record.bird![p.node] !== undefined }), hash: p.hash };
  });

  const started = performance.now();
  const deadline = started + ESTABLISHED_WITHIN_MS;
  for (;;) {
    // A BIRD that is still starting has no socket yet: count it as not Established.
    const states = await Promise.all(plans.map((p) => bgpSessions(p.socket).catch(() => [])));
    const down = plans.filter((p, i) => states[i]!.length < p.peers || states[i]!.some((x) => x.state !== 'Established'));
    if (down.length === 0) break;
    if (performance.now() > deadline) throw new Error(`BGP sessions not Established after ${ESTABLISHED_WITHIN_MS / 1000} s on ${down.map((p) => p.node).join(', ')}; see kemu exec node/NAME -- birdc -s <socket> show protocols all`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { restarted: restart.map((p) => p.node), tunnels, establishedMs: Math.round(performance.now() - started) };
}
