/**
 * MetalLB's own configuration objects, checked as its webhooks and config parser check them:
 * `metallb.io/v1beta1` IPAddressPool, L2Advertisement, BGPAdvertisement, `metallb.io/v1beta2` BGPPeer,
 * and the legacy (≤ v0.12) ConfigMap `metallb-system/config`. MetalLB reads them from its own
 * namespace only. Fields that change which node or packet carries an address and that kemu does not
 * emulate are refused by name.
 */
import { parse } from 'yaml';
import type { InputProblem } from './errors.js';
import { checkLabelSelector } from './apimachinery.js';
import { parseRange } from '../util/ip-ranges.js';

export const METALLB_KINDS = ['IPAddressPool', 'L2Advertisement', 'BGPAdvertisement', 'BGPPeer', 'ConfigMap'] as const;
export type MetallbKind = (typeof METALLB_KINDS)[number];
export const METALLB_API_VERSIONS: Record<MetallbKind, string[]> = {
  IPAddressPool: ['metallb.io/v1beta1'],
  L2Advertisement: ['metallb.io/v1beta1'],
  BGPAdvertisement: ['metallb.io/v1beta1'],
  // v1beta1 peers are converted to v1beta2 by MetalLB's conversion webhook; the fields kemu reads are the same.
  BGPPeer: ['metallb.io/v1beta2', 'metallb.io/v1beta1'],
  ConfigMap: ['v1'],
};
export const METALLB_NAMESPACE = 'metallb-system';
/** The legacy ConfigMap's names: `config` (manifest installs) and `metallb` (Helm installs). */
export const LEGACY_CONFIGMAPS = ['config', 'metallb'];

export interface LabelSelectorJson {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}
export interface PoolSpec {
  addresses: string[];
  autoAssign?: boolean;
  avoidBuggyIPs?: boolean;
}
export interface L2AdSpec {
  ipAddressPools?: string[];
  ipAddressPoolSelectors?: LabelSelectorJson[];
  nodeSelectors?: LabelSelectorJson[];
  interfaces?: string[];
}
export interface BgpAdSpec {
  aggregationLength?: number;
  localPref?: number;
  communities?: string[];
  ipAddressPools?: string[];
  ipAddressPoolSelectors?: LabelSelectorJson[];
  nodeSelectors?: LabelSelectorJson[];
  peers?: string[];
}
export interface PeerSpec {
  myASN: number;
  peerASN: number;
  peerAddress: string;
  peerPort?: number;
  holdTime?: string;
  keepaliveTime?: string;
  nodeSelectors?: LabelSelectorJson[];
}

type Add = (path: string, message: string) => void;
type Doc = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; labels?: Record<string, string> }; spec?: Record<string, unknown>; data?: Record<string, unknown> };

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const COMMUNITY = /^\d{1,5}:\d{1,5}$/;
const LARGE_COMMUNITY = /^large:\d{1,10}:\d{1,10}:\d{1,10}$/;
const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

/** Fields MetalLB has that kemu does not emulate, per kind, with what to do instead. */
const REFUSED: Record<Exclude<MetallbKind, 'ConfigMap'>, Record<string, string>> = {
  IPAddressPool: { serviceAllocation: 'pool priority and namespace/service scoping are not emulated; pin a pool with the metallb.io/address-pool annotation instead' },
  L2Advertisement: {
    serviceSelectors: 'per-service advertisement selection is not emulated; use a pool of its own for those services',
    preferredNodeSelectors: 'preferred announcing nodes are not emulated (the node is chosen by MetalLB\'s hash alone)',
  },
  BGPAdvertisement: {
    serviceSelectors: 'per-service advertisement selection is not emulated; use a pool of its own for those services',
    aggregationLengthV6: 'IPv6 is not emulated',
  },
  BGPPeer: Object.fromEntries(
    ['sourceAddress', 'routerID', 'password', 'passwordSecret', 'bfdProfile', 'ebgpMultiHop', 'enableGracefulRestart', 'vrf', 'interface', 'dynamicASN', 'localASN', 'disableMP', 'dualStackAddressFamily', 'connectTime'].map((f) => [f, 'is not emulated: the session runs from the node\'s underlay address to the fabric router']),
  ),
};

export function checkMetallbKind(kind: MetallbKind, doc: Doc, where: string, problems: InputProblem[]): Doc | undefined {
  const before = problems.length;
  const add: Add = (path, message) => problems.push({ path: `${where}.${path}`, message });
  if (!METALLB_API_VERSIONS[kind].includes(doc.apiVersion ?? '')) {
    add('apiVersion', `apiVersion '${doc.apiVersion ?? ''}' is not known for ${kind}; use ${METALLB_API_VERSIONS[kind].join(' or ')}`);
    return undefined;
  }
  const ns = doc.metadata?.namespace;
  if (kind === 'ConfigMap') {
    const text = doc.data?.config;
    if (typeof text !== 'string') add('data.config', "is required: MetalLB's legacy configuration is the YAML text under data.config");
    else legacyConfig(text, (path, message) => add(`data.config: ${path}`, message));
    return problems.length === before ? doc : undefined;
  }
  if (ns !== METALLB_NAMESPACE) add('metadata.namespace', `MetalLB reads its objects from namespace ${METALLB_NAMESPACE} only; set metadata.namespace: ${METALLB_NAMESPACE}`);
  const spec = (doc.spec ?? {}) as Record<string, unknown>;
  for (const [field, why] of Object.entries(REFUSED[kind])) if (spec[field] !== undefined) add(`spec.${field}`, why);
  if (kind === 'IPAddressPool') checkPool(spec, add);
  if (kind === 'L2Advertisement') checkL2(spec, add);
  if (kind === 'BGPAdvertisement') checkBgpAd(spec, add);
  if (kind === 'BGPPeer') checkPeer(spec, add);
  return problems.length === before ? doc : undefined;
}

function stringList(v: unknown, path: string, add: Add): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    add(path, 'must be a list of strings');
    return [];
  }
  return v as string[];
}

function selectors(v: unknown, path: string, add: Add): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) return add(path, 'must be a list of label selectors');
  v.forEach((s, i) => checkLabelSelector(s, `${path}[${i}]`, add));
}

function bool(v: unknown, path: string, add: Add): void {
  if (v !== undefined && typeof v !== 'boolean') add(path, 'must be true or false');
}

function int(v: unknown, path: string, add: Add, min: number, max: number): void {
  if (v !== undefined && (!Number.isInteger(v) || (v as number) < min || (v as number) > max)) add(path, `${String(v)} must be a whole number from ${min} to ${max}`);
}

function checkAddresses(v: unknown, path: string, add: Add): void {
  const entries = stringList(v, path, add);
  if (v !== undefined && Array.isArray(v) && entries.length === 0 && v.length === 0) add(path, 'must list at least one CIDR or range');
  entries.forEach((e, i) => {
    if (e.includes(':')) return add(`${path}[${i}]`, `'${e}' is IPv6, which kemu does not emulate`);
    const r = parseRange(e);
    if (typeof r === 'string') add(`${path}[${i}]`, r);
  });
}

function checkPool(spec: Record<string, unknown>, add: Add): void {
  if (spec.addresses === undefined) add('spec.addresses', 'is required: list the pool\'s CIDRs (192.168.10.0/24) or ranges (192.168.9.1-192.168.9.5)');
  else checkAddresses(spec.addresses, 'spec.addresses', add);
  bool(spec.autoAssign, 'spec.autoAssign', add);
  bool(spec.avoidBuggyIPs, 'spec.avoidBuggyIPs', add);
}

function checkL2(spec: Record<string, unknown>, add: Add): void {
  stringList(spec.ipAddressPools, 'spec.ipAddressPools', add);
  selectors(spec.ipAddressPoolSelectors, 'spec.ipAddressPoolSelectors', add);
  selectors(spec.nodeSelectors, 'spec.nodeSelectors', add);
  const ifaces = stringList(spec.interfaces, 'spec.interfaces', add);
  if (ifaces.length && !ifaces.includes('eth0')) add('spec.interfaces', `a kemu node reaches the underlay through eth0 only; list eth0 (or leave interfaces out), not ${ifaces.join(', ')}`);
}

function checkBgpAd(spec: Record<string, unknown>, add: Add): void {
  int(spec.aggregationLength, 'spec.aggregationLength', add, 0, 32);
  int(spec.localPref, 'spec.localPref', add, 0, 4294967295);
  stringList(spec.communities, 'spec.communities', add).forEach((c, i) => {
    if (!COMMUNITY.test(c) && !LARGE_COMMUNITY.test(c)) add(`spec.communities[${i}]`, `'${c}' must be a community 'AS:value' (65535:65282) or 'large:a:b:c'; Community objects by name are not emulated`);
  });
  stringList(spec.ipAddressPools, 'spec.ipAddressPools', add);
  selectors(spec.ipAddressPoolSelectors, 'spec.ipAddressPoolSelectors', add);
  selectors(spec.nodeSelectors, 'spec.nodeSelectors', add);
  stringList(spec.peers, 'spec.peers', add);
}

function checkPeer(spec: Record<string, unknown>, add: Add): void {
  for (const f of ['myASN', 'peerASN'] as const) {
    if (spec[f] === undefined) add(`spec.${f}`, 'is required');
    else int(spec[f], `spec.${f}`, add, 1, 4294967295);
  }
  if (spec.peerAddress === undefined) add('spec.peerAddress', "is required: the router's address (in kemu, the fabric gateway of the node's rack)");
  else if (typeof spec.peerAddress !== 'string' || !IPV4.test(spec.peerAddress)) add('spec.peerAddress', `'${String(spec.peerAddress)}' must be an IPv4 address`);
  int(spec.peerPort, 'spec.peerPort', add, 1, 65535);
  if (spec.peerPort !== undefined && spec.peerPort !== 179) add('spec.peerPort', 'the fabric router listens on 179 only; leave peerPort out');
  for (const f of ['holdTime', 'keepaliveTime'] as const) if (spec[f] !== undefined && (typeof spec[f] !== 'string' || !DURATION.test(spec[f] as string))) add(`spec.${f}`, `'${String(spec[f])}' must be a duration such as 90s`);
  selectors(spec.nodeSelectors, 'spec.nodeSelectors', add);
}

/** What the legacy ConfigMap's text says, as the modern objects it stands for. */
export interface LegacyConfig {
  pools: Array<{ name: string; spec: PoolSpec; protocol: 'layer2' | 'bgp'; bgpAdvertisements: BgpAdSpec[] }>;
  peers: Array<{ name: string; spec: PeerSpec }>;
}

/** Parse `data.config` of the legacy ConfigMap (MetalLB ≤ v0.12's format); problems go to `add` with YAML paths. */
export function legacyConfig(text: string, add: Add): LegacyConfig {
  const out: LegacyConfig = { pools: [], peers: [] };
  let body: Record<string, any>;
  try {
    body = (parse(text) ?? {}) as Record<string, any>;
  } catch (err) {
    add('', `not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    return out;
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    add('', 'must be a YAML mapping with address-pools (and peers for BGP)');
    return out;
  }
  const known = ['address-pools', 'peers', 'bgp-communities'];
  for (const k of Object.keys(body)) if (!known.includes(k)) add(k, `is not emulated; kemu reads ${known.join(', ')}`);
  const communities = (body['bgp-communities'] ?? {}) as Record<string, string>;
  const pools = body['address-pools'] ?? [];
  if (!Array.isArray(pools)) add('address-pools', 'must be a list of pools');
  else
    pools.forEach((p: Record<string, any>, i: number) => {
      const at = `address-pools[${i}]`;
      if (!p || typeof p.name !== 'string' || !p.name) add(`${at}.name`, 'is required');
      if (p?.protocol !== 'layer2' && p?.protocol !== 'bgp') add(`${at}.protocol`, `'${String(p?.protocol ?? '')}' must be layer2 or bgp`);
      if (p?.addresses === undefined) add(`${at}.addresses`, 'is required');
      else checkAddresses(p.addresses, `${at}.addresses`, add);
      bool(p?.['auto-assign'], `${at}.auto-assign`, add);
      bool(p?.['avoid-buggy-ips'], `${at}.avoid-buggy-ips`, add);
      const ads = (p?.['bgp-advertisements'] ?? []) as Array<Record<string, any>>;
      if (ads.length && p?.protocol !== 'bgp') add(`${at}.bgp-advertisements`, 'only applies to protocol: bgp');
      const bgpAdvertisements = ads.map((a, j) => {
        const spec: BgpAdSpec = {
          ...(a['aggregation-length'] !== undefined ? { aggregationLength: a['aggregation-length'] } : {}),
          ...(a.localpref !== undefined ? { localPref: a.localpref } : {}),
          ...(a.communities ? { communities: (a.communities as string[]).map((c) => communities[c] ?? c) } : {}),
        };
        checkBgpAd(spec as Record<string, unknown>, (path, message) => add(`${at}.bgp-advertisements[${j}].${path.replace(/^spec\./, '')}`, message));
        return spec;
      });
      out.pools.push({
        name: String(p?.name ?? ''),
        protocol: p?.protocol,
        spec: { addresses: Array.isArray(p?.addresses) ? p.addresses : [], ...(p?.['auto-assign'] !== undefined ? { autoAssign: p['auto-assign'] } : {}), ...(p?.['avoid-buggy-ips'] !== undefined ? { avoidBuggyIPs: p['avoid-buggy-ips'] } : {}) },
        bgpAdvertisements,
      });
    });
  const peers = body.peers ?? [];
  if (!Array.isArray(peers)) add('peers', 'must be a list of peers');
  else
    peers.forEach((p: Record<string, any>, i: number) => {
      const spec: PeerSpec = { myASN: p?.['my-asn'], peerASN: p?.['peer-asn'], peerAddress: p?.['peer-address'], ...(p?.['peer-port'] !== undefined ? { peerPort: p['peer-port'] } : {}), ...(p?.['hold-time'] !== undefined ? { holdTime: p['hold-time'] } : {}) };
      const names: Record<string, string> = { myASN: 'my-asn', peerASN: 'peer-asn', peerAddress: 'peer-address', peerPort: 'peer-port', holdTime: 'hold-time' };
      checkPeer(spec as unknown as Record<string, unknown>, (path, message) => {
        const f = path.replace(/^spec\./, '');
        add(`peers[${i}].${names[f] ?? f}`, message);
      });
      if (p?.['node-selectors'] !== undefined) add(`peers[${i}].node-selectors`, 'is not emulated in the legacy format; use BGPPeer objects with nodeSelectors');
      out.peers.push({ name: `config-peer-${i}`, spec });
    });
  return out;
}
