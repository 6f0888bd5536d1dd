/**
 * The node daemons a lab runs besides pods — BIRD (calico-node's runit keeps it up), the userspace
 * IPIP datapath, kube-proxy's health-check servers — read back without spawning anything: each
 * recorded pid must still be that program. A dead one is restarted by the next reconcile (bird/sync,
 * kube-proxy/sync start what is not alive), which reports it as repaired.
 */
import { isAliveSync } from '../../host/netns.js';
import { SERVER_COMM } from '../../host/sandbox.js';
import type { LabRecord } from '../state.js';

export interface DeadDaemon {
  node: string;
  /** e.g. "BIRD on node n2" */
  what: string;
  pid: number;
}

export function deadDaemons(record: LabRecord): DeadDaemon[] {
  const out: DeadDaemon[] = [];
  for (const [node, b] of Object.entries(record.bird ?? {})) if (!isAliveSync(b.pid, 'bird')) out.push({ node, what: `BIRD on node ${node}`, pid: b.pid });
  for (const [node, t] of Object.entries(record.tunnels ?? {}))
    if (t.datapath === 'userspace' && t.pid && !isAliveSync(t.pid, 'kemu-ipip')) out.push({ node, what: `the IPIP datapath of node ${node}`, pid: t.pid });
  for (const [node, p] of Object.entries(record.proxy ?? {}))
    if (p.health && !isAliveSync(p.health.pid, SERVER_COMM)) out.push({ node, what: `kube-proxy's health-check server on node ${node}`, pid: p.health.pid });
  return out;
}

/** The first dead node daemon, as a reason for the supervisor's log, or undefined. */
export function deadDaemon(record: LabRecord): string | undefined {
  const [d] = deadDaemons(record);
  return d && `${d.what} (pid ${d.pid}) died`;
}

/** After the reconcile: the ones that run again, as `up` reports them. */
export const restartedDaemons = (dead: DeadDaemon[], record: LabRecord): string[] => {
  const now = new Set(deadDaemons(record).map((d) => d.what));
  return dead.filter((d) => !now.has(d.what) && record.cluster.nodes.some((n) => n.name === d.node)).map((d) => `${d.what} restarted (pid ${d.pid} had died)`);
};
