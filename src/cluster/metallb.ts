/**
 * MetalLB's configuration as its controller and speakers see it: address pools, the L2 and BGP
 * advertisements that announce them, and the BGP peers — from IPAddressPool/L2Advertisement/
 * BGPAdvertisement/BGPPeer objects, the legacy `metallb-system/config` ConfigMap, and the topology's
 * `spec.network.loadBalancerPool` shorthand (one pool `lab-pool`, announced over BGP to the fabric
 * router by every node, which is what the fabric's LB routes have always stood for). Pure.
 */
import type { InputProblem } from '../topology/errors.js';
import { legacyConfig, LEGACY_CONFIGMAPS, METALLB_NAMESPACE, type BgpAdSpec, type L2AdSpec, type LabelSelectorJson, type PeerSpec, type PoolSpec } from '../topology/metallb.js';
import type { NetworkSpec } from '../topology/types.js';
import { parseRange, rangesOverlap, type IpRange } from '../util/ip-ranges.js';
import { cidrContains, ipToInt, parseCidr } from '../util/ipv4.js';
import { selectorMatches } from './selectors.js';
import { listObjects, type Store, type StoredMetallb } from './store.js';

export const SHORTHAND_POOL = 'lab-pool';
/** The fabric router's peer made for the shorthand pool. */
export const SHORTHAND_PEER = 'lab-fabric';

export interface LbPool {
  name: string;
  ranges: IpRange[];
  autoAssign: boolean;
  avoidBuggyIPs: boolean;
  labels: Record<string, string>;
  origin: string;
}

export interface LbAdvertisement {
  name: string;
  mode: 'layer2' | 'bgp';
  /** Pools named in ipAddressPools; with pool selectors, the pools they match too; neither: every pool. */
  ipAddressPools: string[];
  ipAddressPoolSelectors: LabelSelectorJson[];
  nodeSelectors: LabelSelectorJson[];
  /** bgp only */
  aggregationLength?: number;
  localPref?: number;
  communities?: string[];
  peers?: string[];
}

export interface LbPeer {
  name: string;
  myASN: number;
  peerASN: number;
  peerAddress: string;
  holdTime?: string;
  keepaliveTime?: string;
  nodeSelectors: LabelSelectorJson[];
}

export interface MetallbState {
  pools: LbPool[];
  advertisements: LbAdvertisement[];
  peers: LbPeer[];
}

export const emptyMetallb = (): MetallbState => ({ pools: [], advertisements: [], peers: [] });

type OriginOf = (kind: string, key: string) => string;

/** Everything the lab's MetalLB reads, checked against the lab's address plan. */
export function buildMetallb(net: NetworkSpec, store: Store, originOf: OriginOf, problems: InputProblem[]): MetallbState {
  const out = emptyMetallb();
  const add = (path: string, message: string) => problems.push({ path, message });
  const gateways = net.underlay.racks.map((r) => r.gateway);
  if (net.loadBalancerPool) {
    const ranges = net.loadBalancerPool.map(parseRange).filter((r): r is IpRange => typeof r !== 'string');
    out.pools.push({ name: SHORTHAND_POOL, ranges, autoAssign: true, avoidBuggyIPs: false, labels: {}, origin: 'spec.network.loadBalancerPool' });
    out.advertisements.push({ name: SHORTHAND_POOL, mode: 'bgp', ipAddressPools: [SHORTHAND_POOL], ipAddressPoolSelectors: [], nodeSelectors: [] });
    out.peers.push({ name: SHORTHAND_PEER, myASN: net.asNumber, peerASN: net.asNumber, peerAddress: gateways[0]!, nodeSelectors: [] });
  }
  const objects = (kind: 'IPAddressPool' | 'L2Advertisement' | 'BGPAdvertisement' | 'BGPPeer' | 'ConfigMap') =>
    listObjects(store, kind)
      .filter((o) => o.metadata.namespace === METALLB_NAMESPACE)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      .map((o) => ({ o, origin: originOf(kind, `${o.metadata.namespace}/${o.metadata.name}`) }));
  const pool = (name: string, spec: PoolSpec, labels: Record<string, string>, origin: string, at: string) => {
    const ranges = spec.addresses.map(parseRange).filter((r): r is IpRange => typeof r !== 'string');
    out.pools.push({ name, ranges, autoAssign: spec.autoAssign ?? true, avoidBuggyIPs: spec.avoidBuggyIPs ?? false, labels, origin: `${origin}.${at}` });
  };
  for (const { o, origin } of objects('IPAddressPool')) pool(o.metadata.name, o.spec as unknown as PoolSpec, o.metadata.labels ?? {}, origin, 'spec.addresses');
  for (const { o } of objects('L2Advertisement')) out.advertisements.push(l2(o));
  for (const { o } of objects('BGPAdvertisement')) out.advertisements.push(bgp(o.metadata.name, (o.spec ?? {}) as BgpAdSpec));
  for (const { o } of objects('BGPPeer')) out.peers.push(peer(o.metadata.name, o.spec as unknown as PeerSpec));
  const legacyPeers: Array<{ addr: string; path: string }> = [];
  for (const { o, origin } of objects('ConfigMap')) {
    if (!LEGACY_CONFIGMAPS.includes(o.metadata.name) || typeof o.data?.config !== 'string') continue;
    const legacy = legacyConfig(o.data.config, (path, message) => add(`${origin}.data.config: ${path}`, message));
    legacy.pools.forEach((p, i) => {
      pool(p.name, p.spec, {}, origin, `data.config: address-pools[${i}].addresses`);
      if (p.protocol === 'layer2') out.advertisements.push({ name: `${o.metadata.name}/${p.name}`, mode: 'layer2', ipAddressPools: [p.name], ipAddressPoolSelectors: [], nodeSelectors: [] });
      // A legacy bgp pool without bgp-advertisements is announced with the defaults (/32, no localpref, no communities).
      else for (const [j, ad] of (p.bgpAdvertisements.length ? p.bgpAdvertisements : [{}]).entries()) out.advertisements.push(bgp(`${o.metadata.name}/${p.name}/${j}`, { ...ad, ipAddressPools: [p.name] }));
    });
    legacy.peers.forEach((p, i) => {
      out.peers.push(peer(p.name, p.spec));
      legacyPeers.push({ addr: p.spec.peerAddress, path: `${origin}.data.config: peers[${i}].peer-address` });
    });
  }
  checkPools(net, out, problems);
  const peerOrigins = [
    ...objects('BGPPeer').map(({ o, origin }) => ({ addr: (o.spec as unknown as PeerSpec).peerAddress, path: `${origin}.spec.peerAddress`, kind: `${origin}.kind` })),
    ...legacyPeers.map((p) => ({ addr: p.addr, path: p.path, kind: p.path })),
  ];
  for (const p of peerOrigins) {
    if (net.routing !== 'static') add(p.kind, `MetalLB's BGP speaker beside Calico's BIRD (routing: ${net.routing}) is not emulated: both would listen on port 179 in the node; use routing: static with BGP peers, or the loadBalancerPool shorthand`);
    else if (!gateways.includes(p.addr)) add(p.path, `${p.addr} is not the fabric router: kemu's router answers BGP at the rack gateway${gateways.length > 1 ? 's' : ''} ${gateways.join(', ')}`);
  }
  return out;
}

function l2(o: StoredMetallb): LbAdvertisement {
  const s = (o.spec ?? {}) as L2AdSpec;
  return { name: o.metadata.name, mode: 'layer2', ipAddressPools: s.ipAddressPools ?? [], ipAddressPoolSelectors: s.ipAddressPoolSelectors ?? [], nodeSelectors: s.nodeSelectors ?? [] };
}

function bgp(name: string, s: BgpAdSpec): LbAdvertisement {
  return {
    name,
    mode: 'bgp',
    ipAddressPools: s.ipAddressPools ?? [],
    ipAddressPoolSelectors: s.ipAddressPoolSelectors ?? [],
    nodeSelectors: s.nodeSelectors ?? [],
    aggregationLength: s.aggregationLength ?? 32,
    ...(s.localPref !== undefined ? { localPref: s.localPref } : {}),
    communities: s.communities ?? [],
    peers: s.peers ?? [],
  };
}

function peer(name: string, s: PeerSpec): LbPeer {
  return { name, myASN: s.myASN, peerASN: s.peerASN, peerAddress: s.peerAddress, ...(s.holdTime ? { holdTime: s.holdTime } : {}), ...(s.keepaliveTime ? { keepaliveTime: s.keepaliveTime } : {}), nodeSelectors: s.nodeSelectors ?? [] };
}

/** Pools are disjoint from each other and from the pod and service CIDRs; only an L2-only pool may lie in the underlay. */
function checkPools(net: NetworkSpec, m: MetallbState, problems: InputProblem[]): void {
  const names = new Map<string, string>();
  for (const p of m.pools) {
    const seen = names.get(p.name);
    if (seen) problems.push({ path: p.origin, message: `duplicate address pool '${p.name}' (also ${seen})` });
    names.set(p.name, p.origin);
  }
  const cluster = [
    ['spec.network.podCIDR', net.podCIDR],
    ['spec.network.serviceCIDR', net.serviceCIDR],
  ].map(([path, text]) => [path!, parseRange(text!) as IpRange] as const);
  const underlay = net.underlay.racks.map((r) => parseCidr(r.subnet));
  const seen: Array<[string, IpRange]> = [];
  for (const p of m.pools) {
    const modes = new Set(advertisementsOf(m, p).map((a) => a.mode));
    for (const r of p.ranges) {
      const clash = [...cluster, ...seen].find(([, o]) => rangesOverlap(r, o));
      // The shorthand's entries were checked with the topology (by index).
      if (clash && p.name !== SHORTHAND_POOL) problems.push({ path: p.origin, message: `${r.text} overlaps ${clash[0]} ${clash[1].text}; pools must be disjoint from each other and from the pod and service CIDRs` });
      const inUnderlay = underlay.some((u) => cidrContains(u, r.first) || cidrContains(u, r.last) || (r.first < u.base && r.last >= u.base));
      if (inUnderlay && modes.has('bgp') && p.name !== SHORTHAND_POOL)
        problems.push({ path: p.origin, message: `${r.text} lies in the underlay, where hosts reach addresses by ARP, not by routes: announce pool '${p.name}' with an L2Advertisement only, or move it outside the underlay for BGP` });
      seen.push([`pool '${p.name}'`, r]);
    }
  }
}

const poolMatches = (a: LbAdvertisement, p: LbPool) =>
  (a.ipAddressPools.length === 0 && a.ipAddressPoolSelectors.length === 0) || a.ipAddressPools.includes(p.name) || a.ipAddressPoolSelectors.some((s) => selectorMatches(s as never, p.labels));

/** The advertisements that announce a pool (none: MetalLB assigns its addresses but announces nothing). */
export function advertisementsOf(m: MetallbState, pool: LbPool): LbAdvertisement[] {
  return m.advertisements.filter((a) => poolMatches(a, pool));
}

/** An advertisement's nodeSelectors against a node (none: every node). */
export const adSelectsNode = (a: LbAdvertisement, node: { labels: Record<string, string> }) => a.nodeSelectors.length === 0 || a.nodeSelectors.some((s) => selectorMatches(s as never, node.labels));
export const peerSelectsNode = (p: LbPeer, node: { labels: Record<string, string> }) => p.nodeSelectors.length === 0 || p.nodeSelectors.some((s) => selectorMatches(s as never, node.labels));

export const poolContaining = (m: MetallbState, ip: string) => m.pools.find((p) => p.ranges.some((r) => ipToInt(ip) >= r.first && ipToInt(ip) <= r.last));
