/**
 * Inter-node routes. In `static` routing kemu writes what BIRD would learn: the node's own blocks as
 * blackholes, other nodes' blocks via their underlay address, and /32s for addresses borrowed from
 * another node's block. All route programming lives here so other routing modes plug in at one place.
 */
import type { ClusterState } from '../cluster/types.js';
import { nodeNetns } from '../topology/names.js';
import { rackOf } from './machines.js';
import type { ServiceEndpoints } from '../cluster/endpoints.js';
import { cidrContains, ipToInt, parseCidr } from '../util/ipv4.js';
import type { NodeRoutesPlan, RoutePlan } from './types.js';
import { planLbAnnouncements } from './metallb.js';
import { realPeers } from './metallb-bgp.js';

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
    // With BGP, BIRD installs the blackholes and learned routes (proto bird): kemu writes none.
    if (c.network.routing !== 'static') return { node: node.name, netns: nodeNetns(c.lab, node.name), routes };
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
  if (r.type === 'blackhole') return `blackhole ${r.dst} proto static`;
  if (r.nexthops) return `${r.dst} proto static ${r.nexthops.map((n) => `nexthop via ${n.via} dev ${n.dev}`).join(' ')}`;
  return `${r.dst} via ${r.via} dev ${r.dev} proto static`;
}

/**
 * The fabric plays the upstream router of a MetalLB BGP setup: each LoadBalancer IP a BGPAdvertisement
 * announces (plan/metallb.ts) is routed to the nodes that announce it, and each external IP to every
 * node (eTP Cluster) or the nodes with a ready local endpoint (Local), with equal-cost next hops.
 * L2-announced IPs get no route: they are on-link, reached by ARP.
 */
export function planFabricRoutes(c: ClusterState, slices: ServiceEndpoints[], down: Set<string> = new Set()): RoutePlan[] {
  const routes = new Map<string, RoutePlan>();
  const subnets = c.network.underlay.racks.map((r) => parseCidr(r.subnet));
  const onUnderlay = (ip: string) => subnets.some((s) => cidrContains(s, ipToInt(ip)));
  const sliceOf = new Map(slices.map((e) => [`${e.namespace}/${e.name}`, e]));
  const route = (dst: string, hops: Array<{ via: string; dev: string }>): RoutePlan => (hops.length === 1 ? { dst, type: 'unicast', ...hops[0]! } : { dst, type: 'unicast', nexthops: hops });
  const hop = (n: ClusterState['nodes'][number]) => ({ via: n.ip, dev: rackOf(c, n).bridge });
  const allHops = c.nodes.map(hop);
  // Calico serviceClusterIPs: every node advertises the CIDR; a Local-policy service's ClusterIP is
  // advertised as a /32 only by the nodes with a ready endpoint of it (more specific, so it wins).
  const advertised = c.network.serviceClusterIPs ?? [];
  for (const cidr of advertised) if (allHops.length) routes.set(cidr, route(cidr, allHops));
  const bgp = c.metallb ? planLbAnnouncements(c, slices, down).bgp : undefined;
  for (const s of c.services) {
    const slice = sliceOf.get(`${s.namespace}/${s.name}`);
    const local = new Set((slice?.endpoints ?? []).filter((e) => e.ready && e.nodeName).map((e) => e.nodeName!));
    const localHops = c.nodes.filter((n) => local.has(n.name)).map(hop);
    if (s.externalTrafficPolicy === 'Local' && localHops.length && advertised.some((cidr) => cidrContains(parseCidr(cidr), ipToInt(s.clusterIP)))) routes.set(s.clusterIP, route(s.clusterIP, localHops));
    const hops = s.externalTrafficPolicy === 'Cluster' ? allHops : localHops;
    // A record from before MetalLB objects: every LB IP as the shorthand pool's BGP result.
    const lbIPs = bgp ? [] : s.loadBalancerIPs;
    if (hops.length === 0) continue;
    for (const ip of [...lbIPs, ...s.externalIPs]) {
      if (onUnderlay(ip)) continue; // on the underlay itself: nothing to route
      routes.set(ip, route(ip, hops));
    }
  }
  // Prefixes carried over real sessions (BGPPeer objects) are the fabric BIRD's (proto bird), not kemu's.
  const overSessions = new Set(realPeers(c).map((p) => p.name));
  for (const a of bgp ?? []) {
    if (onUnderlay(a.ip) || a.peers.some((p) => overSessions.has(p))) continue;
    const hops = c.nodes.filter((n) => a.nodes.includes(n.name)).map(hop);
    routes.set(a.prefix === `${a.ip}/32` ? a.ip : a.prefix, route(a.prefix === `${a.ip}/32` ? a.ip : a.prefix, hops));
  }
  const base = (dst: string) => ipToInt(dst.split('/')[0]!);
  return [...routes.values()].sort((a, b) => base(a.dst) - base(b.dst) || a.dst.length - b.dst.length);
}
