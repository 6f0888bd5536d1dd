/**
 * Inter-node routes. In `static` routing kemu writes what BIRD would learn: the node's own blocks as
 * blackholes, other nodes' blocks via their underlay address, and /32s for addresses borrowed from
 * another node's block. All route programming lives here so other routing modes plug in at one place.
 */
import type { ClusterState } from '../cluster/types.js';
import { nodeNetns } from '../topology/names.js';
import { cidrContains, ipToInt, parseCidr } from '../util/ipv4.js';
import type { NodeRoutesPlan, RoutePlan } from './types.js';

export function planRoutes(c: ClusterState): NodeRoutesPlan[] {
  const blockOwner = c.nodes
    .flatMap((n) => n.blocks.map((b) => ({ node: n, block: parseCidr(b), text: b })))
    .sort((x, y) => x.block.base - y.block.base);
  // Pods whose address lies in another node's block: their node must announce a /32.
  const borrowed = c.pods.filter((p) => {
    const owner = blockOwner.find((b) => cidrContains(b.block, ipToInt(p.ip)));
    return owner && owner.node.name !== p.nodeName;
  });
  return c.nodes.map((node) => {
    const routes: RoutePlan[] = [];
    for (const b of blockOwner) {
      if (b.node.name === node.name) routes.push({ dst: b.text, type: 'blackhole' });
      else routes.push({ dst: b.text, type: 'unicast', via: b.node.ip, dev: 'eth0' });
    }
    for (const p of borrowed) {
      if (p.nodeName === node.name) continue;
      const owner = c.nodes.find((n) => n.name === p.nodeName)!;
      routes.push({ dst: p.ip, type: 'unicast', via: owner.ip, dev: 'eth0' });
    }
    return { node: node.name, netns: nodeNetns(c.lab, node.name), routes };
  });
}

/** The `ip route` argument text of a route kemu owns. */
export function routeSpec(r: RoutePlan): string {
  return r.type === 'blackhole' ? `blackhole ${r.dst} proto static` : `${r.dst} via ${r.via} dev ${r.dev} proto static`;
}
