/** routing: ipip — each node's tunl0: its address (from IPAM) and MTU (underlay − 20, as Calico). */
import type { ClusterState } from '../cluster/types.js';
import { nodeNetns } from '../topology/names.js';
import { planHash } from './hash.js';

export interface TunnelPlan {
  node: string;
  netns: string;
  /** the node's underlay address: outer source of its IPIP packets */
  local: string;
  address: string;
  mtu: number;
  hash: string;
}

export function planTunnels(c: ClusterState): TunnelPlan[] {
  if (c.network.routing !== 'ipip') return [];
  return c.nodes.map((n) => {
    const t = { node: n.name, netns: nodeNetns(c.lab, n.name), local: n.ip, address: n.tunnelIP!, mtu: c.network.underlay.mtu - 20 };
    return { ...t, hash: planHash(t) };
  });
}

/**
 * Which IPIP datapath a node gets: the kernel's `ipip` tunl0 when `ip link add tunl0 type ipip`
 * succeeds (or tunl0 exists already, as the module makes it in every namespace), else kemu's
 * userspace one (native/kemu-ipip: TUN + raw IPPROTO_IPIP socket).
 */
export function ipipDatapath(probe: { ok: boolean; stderr: string }): 'kernel' | 'userspace' {
  return probe.ok || /File exists/.test(probe.stderr) ? 'kernel' : 'userspace';
}
