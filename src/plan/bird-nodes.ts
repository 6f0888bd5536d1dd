/** `routing: bgp|ipip`: one BIRD per node, full iBGP mesh, Calico's config (plan/bird); IPIP per ipipMode. */
import type { ClusterState } from '../cluster/types.js';
import { birdSocketPath, labRunDir, nodeNetns } from '../topology/names.js';
import { DEFAULT_AS } from './bird/types.js';
import { renderBirdConfig } from './bird/render.js';
import { planHash } from './hash.js';

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
  return c.nodes.map((n) => {
    const socket = birdSocketPath(c.lab, n.name);
    const config = renderBirdConfig({
      nodeName: n.name,
      routerId: n.ip,
      as: DEFAULT_AS,
      nodeIp: n.ip,
      nodeSubnet: c.network.underlay.subnet,
      blocks: n.blocks,
      pools: [{ cidr: c.network.podCIDR, ipipMode: c.network.routing === 'ipip' ? (c.network.ipipMode ?? 'Always') : 'Never', natOutgoing: false }],
      peers: c.nodes.filter((p) => p.name !== n.name).map((p) => ({ name: p.name, ip: p.ip, as: DEFAULT_AS, sameSubnet: true })),
      isRouteReflector: false,
      tunnelDevice: 'tunl0',
      tunnelMtu: c.network.underlay.mtu - 20,
      controlSocket: socket,
    });
    const dir = `${labRunDir(c.lab)}/bird`;
    return { node: n.name, netns: nodeNetns(c.lab, n.name), config, configFile: `${dir}/${n.name}.conf`, socket, pidFile: `${dir}/${n.name}.pid`, peers: c.nodes.length - 1, hash: planHash(config) };
  });
}
