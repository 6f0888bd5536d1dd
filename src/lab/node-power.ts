/**
 * `kemu node stop|start NAME`: a node fails as a powered-off machine would, and comes back. Stop takes
 * its underlay link down, freezes (SIGSTOP) its BIRD and its pods' processes, and records the node as
 * stopped: it shows NotReady, its pods' endpoints are no longer ready, and MetalLB's speakers drop it
 * at once (an L2 address moves to the next node by the hash, with gratuitous ARP; BGP routes through it
 * go). Start brings the link up and puts back the routes the kernel dropped with it. A real cluster notices later (node-monitor-grace-period, memberlist); the lab acts at once, so
 * what the test measures is the data plane's move. Start undoes each step.
 */
import { execa } from 'execa';
import { nodeNetns } from '../topology/names.js';
import { withLabLock } from './lock.js';
import { ipBatch } from '../host/run.js';
import { syncRoutes } from '../host/routes.js';
import { rackOf } from '../plan/machines.js';
import { planRoutes } from '../plan/routes.js';
import { readRecord, writeRecord, type LabRecord } from './state.js';
import { syncServices } from './kube-proxy/sync.js';

export interface NodePowerResult {
  lab: string;
  node: string;
  action: 'stopped' | 'started' | 'unchanged';
  /** L2 addresses that moved, as `ip → node` */
  moved: Record<string, string>;
  ms: number;
}

export const readyOutsideStopped = (record: LabRecord) => {
  const stopped = new Set(record.stoppedNodes ?? []);
  return new Set(record.cluster.pods.filter((p) => !stopped.has(p.nodeName) && record.pods[`${p.namespace}/${p.name}`]?.ready === true).map((p) => `${p.namespace}/${p.name}`));
};

function nodePids(record: LabRecord, node: string): number[] {
  const pods = record.cluster.pods.filter((p) => p.nodeName === node).map((p) => record.pods[`${p.namespace}/${p.name}`]).filter((r) => r !== undefined);
  return [...(record.bird?.[node] ? [record.bird[node].pid] : []), ...(record.metallbBgp?.[node] ? [record.metallbBgp[node].pid] : []), ...pods.flatMap((r) => [r.holderPid, ...Object.values(r.containers).map((c) => c.pid)])].filter((p) => p > 0);
}

function signal(pids: number[], sig: 'SIGSTOP' | 'SIGCONT'): void {
  for (const pid of pids)
    try {
      process.kill(pid, sig);
    } catch {
      // gone already: nothing to freeze or thaw
    }
}

export async function setNodePower(lab: string, node: string, on: boolean): Promise<NodePowerResult> {
  return withLabLock(lab, async () => {
    const started = Date.now();
    const record = await readRecord(lab);
    if (!record) throw new Error(`no lab named '${lab}'; start it with kemu up FILE`);
    if (!record.cluster.nodes.some((n) => n.name === node)) throw new Error(`'${node}' is not a node of lab ${lab}; nodes: ${record.cluster.nodes.map((n) => n.name).join(', ')}`);
    const stopped = new Set(record.stoppedNodes ?? []);
    if (stopped.has(node) === !on) return { lab, node, action: 'unchanged', moved: {}, ms: 0 };
    const before = Object.fromEntries(Object.entries(record.metallbL2 ?? {}).map(([ip, a]) => [ip, a.node]));
    const netns = nodeNetns(lab, node);
    if (on) {
      await execa('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
      // The kernel dropped every route through eth0 when it went down: the default route and kemu's (static routing).
      const n = record.cluster.nodes.find((x) => x.name === node)!;
      await ipBatch(netns, [`route replace default via ${rackOf(record.cluster, n).gateway} dev eth0`]);
      await syncRoutes(netns, planRoutes(record.cluster).find((r) => r.node === node)?.routes ?? []);
      signal(nodePids(record, node), 'SIGCONT');
      stopped.delete(node);
    } else {
      stopped.add(node);
      await execa('ip', ['-n', netns, 'link', 'set', 'eth0', 'down']);
      signal(nodePids(record, node), 'SIGSTOP');
    }
    record.stoppedNodes = [...stopped].sort();
    await syncServices(record.cluster, record, readyOutsideStopped(record));
    await writeRecord(record);
    const moved = Object.fromEntries(Object.entries(record.metallbL2 ?? {}).filter(([ip, a]) => before[ip] !== a.node).map(([ip, a]) => [ip, a.node]));
    return { lab, node, action: on ? 'started' : 'stopped', moved, ms: Date.now() - started };
  });
}
