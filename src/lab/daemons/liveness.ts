/**
 * The node daemons a lab runs besides pods — BIRD (calico-node's runit keeps it up), the userspace
 * IPIP datapath, kube-proxy's health-check servers — read back without spawning anything: each
 * recorded pid must still be that program. A dead one is restarted by the next reconcile (bird/sync,
 * kube-proxy/sync start what is not alive).
 */
import { isAliveSync } from '../../host/netns.js';
import { SERVER_COMM } from '../../host/sandbox.js';
import type { LabRecord } from '../state.js';

/** The first dead node daemon, as a reason for the supervisor's log, or undefined. */
export function deadDaemon(record: LabRecord): string | undefined {
  for (const [node, b] of Object.entries(record.bird ?? {})) if (!isAliveSync(b.pid, 'bird')) return `BIRD on node ${node} (pid ${b.pid}) died`;
  for (const [node, t] of Object.entries(record.tunnels ?? {}))
    if (t.datapath === 'userspace' && t.pid && !isAliveSync(t.pid, 'kemu-ipip')) return `the IPIP datapath of node ${node} (pid ${t.pid}) died`;
  for (const [node, p] of Object.entries(record.proxy ?? {}))
    if (p.health && !isAliveSync(p.health.pid, SERVER_COMM)) return `kube-proxy's health-check server on node ${node} (pid ${p.health.pid}) died`;
  return undefined;
}
