/**
 * Which nodes announce each LoadBalancer IP, as MetalLB's speakers decide. Pure.
 *
 * Layer 2 (speaker/layer2_controller.go): no serving endpoint → nobody; candidates are the live nodes
 * an L2Advertisement of the IP's pool selects (eTP Local: only those with a ready local endpoint);
 * they are sorted by the bytes of sha256(nodeName + "#" + IP) and the first announces.
 * BGP (speaker/bgp_controller.go): every live node a BGPAdvertisement selects and some BGPPeer
 * selects announces, if the service has a ready endpoint anywhere (eTP Cluster) or on that node (eTP Local).
 */
import { createHash } from 'node:crypto';
import type { ServiceEndpoints } from '../cluster/endpoints.js';
import { adSelectsNode, advertisementsOf, peerSelectsNode, type LbAdvertisement, type LbPeer } from '../cluster/metallb.js';
import { nodeLabels } from '../cluster/nodes.js';
import type { ClusterState, NodeState, ServiceState } from '../cluster/types.js';

export interface L2Announcement {
  ip: string;
  service: string;
  node: string;
}

export interface BgpAnnouncement {
  ip: string;
  service: string;
  /** aggregationLength-wide prefix (the IP's /32 by default) */
  prefix: string;
  nodes: string[];
  /** the peers (BGPPeer names) each node sends it to */
  peers: string[];
  localPref?: number;
  communities: string[];
}

export interface LbAnnouncements {
  l2: L2Announcement[];
  bgp: BgpAnnouncement[];
}

/** MetalLB's layer-2 ordering key: sha256 of `node#ip`; the smallest wins. */
export const l2Key = (node: string, ip: string) => createHash('sha256').update(`${node}#${ip}`).digest('hex');

export function electL2(nodes: string[], ip: string): string | undefined {
  return [...nodes].sort((a, b) => (l2Key(a, ip) < l2Key(b, ip) ? -1 : l2Key(a, ip) > l2Key(b, ip) ? 1 : 0))[0];
}

/** `down`: nodes stopped with `kemu node stop` (no speaker, no memberlist membership). */
export function planLbAnnouncements(c: ClusterState, slices: ServiceEndpoints[], down: Set<string> = new Set()): LbAnnouncements {
  const out: LbAnnouncements = { l2: [], bgp: [] };
  const m = c.metallb;
  if (!m) return out;
  const sliceOf = new Map(slices.map((e) => [`${e.namespace}/${e.name}`, e]));
  const live = c.nodes.filter((n) => !down.has(n.name));
  const labelled = (n: NodeState) => ({ labels: nodeLabels(n.name, n.labels) });
  for (const s of c.services) {
    if (s.type !== 'LoadBalancer' || !s.loadBalancerPool || s.loadBalancerIPs.length === 0) continue;
    const pool = m.pools.find((p) => p.name === s.loadBalancerPool);
    if (!pool) continue;
    const key = `${s.namespace}/${s.name}`;
    const ready = (sliceOf.get(key)?.endpoints ?? []).filter((e) => e.ready);
    if (ready.length === 0) continue;
    const local = new Set(ready.map((e) => e.nodeName).filter((n): n is string => !!n));
    const eligible = (n: NodeState) => s.externalTrafficPolicy === 'Cluster' || local.has(n.name);
    const ads = advertisementsOf(m, pool);
    const l2Ads = ads.filter((a) => a.mode === 'layer2');
    if (l2Ads.length) {
      const candidates = live.filter((n) => eligible(n) && l2Ads.some((a) => adSelectsNode(a, labelled(n)))).map((n) => n.name);
      // MetalLB elects by the service's first IP and announces all of them from that node.
      const node = electL2(candidates, s.loadBalancerIPs[0]!);
      if (node) for (const ip of s.loadBalancerIPs) out.l2.push({ ip, service: key, node });
    }
    for (const ad of ads.filter((a) => a.mode === 'bgp')) {
      const peers = adPeers(ad, m.peers);
      const nodes = live.filter((n) => eligible(n) && adSelectsNode(ad, labelled(n)) && peers.some((p) => peerSelectsNode(p, labelled(n)))).map((n) => n.name);
      if (nodes.length === 0) continue;
      for (const ip of s.loadBalancerIPs)
        out.bgp.push({ ip, service: key, prefix: aggregate(ip, ad.aggregationLength ?? 32), nodes, peers: peers.map((p) => p.name), ...(ad.localPref !== undefined ? { localPref: ad.localPref } : {}), communities: ad.communities ?? [] });
    }
  }
  return out;
}

const adPeers = (ad: LbAdvertisement, peers: LbPeer[]) => (ad.peers?.length ? peers.filter((p) => ad.peers!.includes(p.name)) : peers);

function aggregate(ip: string, len: number): string {
  const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const base = len === 0 ? 0 : Math.floor(n / 2 ** (32 - len)) * 2 ** (32 - len);
  return `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join('.')}/${len}`;
}

/** The services whose IP a node announces (for `describe svc`). */
export const announcersOf = (a: LbAnnouncements, s: ServiceState) => {
  const key = `${s.namespace}/${s.name}`;
  return { l2: a.l2.filter((x) => x.service === key), bgp: a.bgp.filter((x) => x.service === key) };
};
