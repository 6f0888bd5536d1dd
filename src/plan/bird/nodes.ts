/** `routing: bgp|ipip`: one BIRD per node, full mesh or route reflectors, Calico's config (plan/bird); IPIP per ipipMode. */
import type { ClusterState, NodeState } from '../../cluster/types.js';
import { birdSocketPath, labPaths, nodeNetns } from '../../topology/names.js';
import type { BirdPeer } from './types.js';
import { rackOf } from '../machines.js';
import { renderBirdConfig } from './render.js';
import { planHash } from '../hash.js';

export interface BirdNodePlan {
  node: string;
  netns: string;
  config: string;
  configFile: string;
  socket: string;
  pidFile: string;
  /** BGP protocols that must reach Established */
  peers: number;
  hash: string;
}

export function planBird(c: ClusterState): BirdNodePlan[] {
  if (c.network.routing === 'static') return [];
  // One cluster id for all reflectors (Calico's routeReflectorClusterID), so they do not loop routes.
  const firstRR = c.nodes.find((n) => c.network.routeReflectors.includes(n.name));
  const clusterId = firstRR?.ip;
  return c.nodes.map((n) => {
    const socket = birdSocketPath(c.lab, n.name);
    const config = renderBirdConfig({
      nodeName: n.name,
      routerId: n.ip,
      as: n.asNumber,
      nodeIp: n.ip,
      nodeSubnet: rackOf(c, n).subnet,
      blocks: n.blocks,
      pools: [{ cidr: c.network.podCIDR, ipipMode: c.network.routing === 'ipip' ? (c.network.ipipMode ?? 'Always') : 'Never', natOutgoing: false }],
      peers: peersOf(c, n.name),
      isRouteReflector: c.network.routeReflectors.includes(n.name),
      ...(clusterId ? { clusterId } : {}),
      tunnelDevice: 'tunl0',
      tunnelMtu: c.network.underlay.mtu - 20,
      controlSocket: socket,
      ...(c.network.serviceClusterIPs?.length ? { serviceCIDRs: c.network.serviceClusterIPs } : {}),
    });
    const dir = labPaths(c.lab).birdDir;
    return { node: n.name, netns: nodeNetns(c.lab, n.name), config, configFile: `${dir}/${n.name}.conf`, socket, pidFile: `${dir}/${n.name}.pid`, peers: peersOf(c, n.name).length, hash: planHash(config) };
  });
}

/**
 * Full mesh: every other node. With route reflectors (as Calico's BGPPeer objects set them up): a
 * reflector peers with every other node — clients marked `rr client`, other reflectors as plain iBGP —
 * and a client peers only with the reflectors.
 */
function peersOf(c: ClusterState, node: string): BirdPeer[] {
  const rrs = new Set(c.network.routeReflectors);
  const me = c.nodes.find((p) => p.name === node)!;
  const others = c.nodes.filter((p) => p.name !== node);
  const peer = (p: NodeState, extra: Partial<BirdPeer> = {}): BirdPeer => ({ name: p.name, ip: p.ip, as: p.asNumber, sameSubnet: p.rack === me.rack, ...extra });
  if (rrs.size === 0) return others.map((p) => peer(p));
  if (rrs.has(node)) return others.map((p) => peer(p, rrs.has(p.name) ? { routeReflector: true } : { rrClient: true }));
  return others.filter((p) => rrs.has(p.name)).map((p) => peer(p, { routeReflector: true }));
}
