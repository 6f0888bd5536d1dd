/** What `kemu describe svc` shows of MetalLB: the pool, who announces the address, and MetalLB's events. */
import type { ServiceEndpoints } from '../../cluster/endpoints.js';
import type { ServiceState } from '../../cluster/types.js';
import { announcersOf, planLbAnnouncements } from '../../plan/metallb.js';
import type { LabRecord } from '../state.js';

export function metallbServiceLines(record: LabRecord, s: ServiceState, slices: ServiceEndpoints[]): Array<[string, string | undefined]> {
  if (s.type !== 'LoadBalancer' || !record.cluster.metallb) return [];
  const a = announcersOf(planLbAnnouncements(record.cluster, slices, new Set(record.stoppedNodes ?? [])), s);
  const l2 = a.l2.map((x) => `${x.ip} layer2 from ${x.node}${record.metallbL2?.[x.ip]?.node === x.node ? ` since ${record.metallbL2[x.ip]!.since}` : ''}`);
  const bgp = a.bgp.map((x) => `${x.prefix} bgp from ${x.nodes.join(', ')} to ${x.peers.join(', ')}${x.localPref !== undefined ? ` localPref ${x.localPref}` : ''}${x.communities.length ? ` communities ${x.communities.join(' ')}` : ''}`);
  const events = [
    ...(s.loadBalancerIPs.length ? [`Normal  IPAllocated  metallb-controller  Assigned IP ["${s.loadBalancerIPs.join('","')}"]`] : s.loadBalancerPool === undefined && record.cluster.metallb.pools.length ? ['Warning  AllocationFailed  metallb-controller  no available IPs'] : []),
    ...a.l2.map((x) => `Normal  nodeAssigned  metallb-speaker  announcing from node "${x.node}" with protocol "layer2"`),
    ...(a.bgp.length ? [`Normal  nodeAssigned  metallb-speaker  announcing from nodes ${a.bgp[0]!.nodes.map((n) => `"${n}"`).join(', ')} with protocol "bgp"`] : []),
  ];
  return [
    ['Address Pool', s.loadBalancerPool],
    ['Announced', [...l2, ...bgp].join('; ') || (s.loadBalancerIPs.length ? 'nowhere (no advertisement for the pool, or no ready endpoint)' : undefined)],
    ['Events', events.join('\n    ') || undefined],
  ];
}
