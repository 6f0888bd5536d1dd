/** Checks that need the whole topology: address plan, name collisions, derived-name limits, workload references. */
import type { InputProblem } from './errors.js';
import type { RawTopology } from './schema.js';
import type { Topology } from './types.js';
import type { Manifest } from './manifests.js';
import { MAX_SOCKET_PATH, UNDERLAY_BRIDGE, birdSocketPath } from './names.js';
import { canonicalCidr, cidrContains, cidrText, cidrsOverlap, ipToInt, parseCidr, splitAddress, type Cidr } from '../util/ipv4.js';

/** Interface names the fabric namespace cannot give a machine's port: its loopback, the names /proc/sys/net keeps for itself,
 * and the fallback devices a kernel with tunnel modules loaded puts in every new namespace. */
const FABRIC_RESERVED = new Set(['lo', 'all', 'default', 'tunl0', 'sit0', 'gre0', 'gretap0', 'erspan0', 'ip6tnl0', 'ip6gre0']);
import { podIpAnnotation } from './annotations.js';
import { METALLB_KINDS, type MetallbKind } from './metallb.js';

const isMetallbManifest = (m: Manifest): m is Extract<Manifest, { kind: MetallbKind }> => (METALLB_KINDS as readonly string[]).includes(m.kind);
import { parseRange, rangesOverlap, type IpRange } from '../util/ip-ranges.js';
import { parseCpu, parseMemory } from '../util/quantity.js';

export function checkTopology(t: Topology, raw: RawTopology): InputProblem[] {
  const problems: InputProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const net = t.network;

  const racks = net.underlay.racks;
  const rawUnderlay = raw.spec.network.underlay;
  const rackPath = (i: number) => (rawUnderlay.racks ? `spec.network.underlay.racks[${i}]` : 'spec.network.underlay');
  if (rawUnderlay.racks && (rawUnderlay.subnet || rawUnderlay.gateway))
    add(`spec.network.underlay.${rawUnderlay.subnet ? 'subnet' : 'gateway'}`, 'give either subnet (and gateway) for one underlay, or racks with a subnet each, not both');
  const cidrs: Array<[string, string]> = [
    ['spec.network.podCIDR', net.podCIDR],
    ['spec.network.serviceCIDR', net.serviceCIDR],
    ...racks.map((r, i) => [`${rackPath(i)}.subnet`, r.subnet] as [string, string]),
  ];
  for (const [path, text] of cidrs) {
    const canonical = canonicalCidr(text);
    if (canonical !== text) add(path, `${text} has host bits set; did you mean ${canonical}?`);
  }
  for (let i = 0; i < cidrs.length; i++)
    for (let j = i + 1; j < cidrs.length; j++) {
      const [pa, a] = cidrs[i]!;
      const [pb, b] = cidrs[j]!;
      if (cidrsOverlap(parseCidr(a), parseCidr(b))) add(pb, `${b} overlaps ${pa} ${a}; the pod, service, underlay and load-balancer ranges must be disjoint`);
    }
  checkLoadBalancerPool(net.loadBalancerPool ?? [], Array.isArray(raw.spec.network.loadBalancerPool), cidrs, add);
  const nodeNames = new Set(t.nodes.map((n) => n.name));
  net.routeReflectors.forEach((rr, i) => {
    if (!nodeNames.has(rr)) add(`spec.network.routeReflectors[${i}]`, `'${rr}' is not a node of this lab; nodes: ${[...nodeNames].join(', ')}`);
  });
  if (net.routeReflectors.length && net.routing === 'static') add('spec.network.routeReflectors', "route reflectors need BGP: set spec.network.routing to 'bgp' or 'ipip'");
  if (raw.spec.network.ipipMode && net.routing !== 'ipip') add('spec.network.ipipMode', `only applies with routing: ipip (routing is '${net.routing}')`);
  const nodeRacks = new Set(t.nodes.map((n) => n.rack));
  if (nodeRacks.size > 1 && net.routing !== 'ipip')
    add('spec.network.routing', `nodes sit on ${nodeRacks.size} racks (${[...nodeRacks].join(', ')}), which needs routing: ipip (ipipMode Always or CrossSubnet): with '${net.routing}' a pod route points at a node behind the fabric's router, which has no routes to pods`);
  const { min, max } = net.nodePortRange;
  if (!(min >= 1 && max <= 65535 && min <= max)) add('spec.network.nodePortRange', `${min}-${max} must be a range of ports within 1-65535, low end first`);
  const pool = parseCidr(net.podCIDR);
  if (net.blockSize < pool.prefix) add('spec.network.blockSize', `/${net.blockSize} blocks do not fit in the pod CIDR ${net.podCIDR}; use a block size of at least ${pool.prefix}`);

  const used = new Map<string, string>();
  const rackNames = new Map<string, string>();
  racks.forEach((r, i) => {
    const subnet = parseCidr(r.subnet);
    if (subnet.prefix > 29) add(`${rackPath(i)}.subnet`, `${r.subnet} is too small; use a /29 or larger`);
    checkUnderlayAddress(subnet, r.gateway, `${rackPath(i)}.gateway`, add);
    used.set(r.gateway, `the gateway of ${rackPath(i)}`);
    const seen = rackNames.get(r.name);
    if (seen) add(`${rackPath(i)}.name`, `duplicate rack name '${r.name}' (also ${seen})`);
    rackNames.set(r.name, `${rackPath(i)}.name`);
  });
  const machines = [
    ...raw.spec.nodes.map((m, i) => ({ m, path: `spec.nodes[${i}]` })),
    ...raw.spec.externalHosts.map((m, i) => ({ m, path: `spec.externalHosts[${i}]` })),
  ];
  const names = new Map<string, string>();
  for (const { m, path } of machines) {
    const seen = names.get(m.name);
    if (seen) add(`${path}.name`, `duplicate name '${m.name}' (also ${seen}); node and external host names share the underlay`);
    names.set(m.name, `${path}.name`);
    if (racks.some((r) => r.bridge === m.name))
      add(`${path}.name`, `'${m.name}' is also the name of a bridge in the fabric (${rawUnderlay.racks ? 'a rack' : 'the underlay'}); a machine's port there is named after the machine, so choose another name`);
    if (FABRIC_RESERVED.has(m.name))
      add(`${path}.name`, `'${m.name}' is a name the kernel keeps for itself in the fabric namespace (reserved: ${[...FABRIC_RESERVED].join(', ')}); a machine's port there is named after the machine, so choose another name`);
    (m.extraAddresses ?? []).forEach((a, j) => {
      const { ip, prefix } = splitAddress(a, 32);
      const extra = parseCidr(canonicalCidr(`${ip}/${prefix}`));
      for (const [rangePath, text] of [['spec.network.podCIDR', net.podCIDR], ['spec.network.serviceCIDR', net.serviceCIDR]] as const)
        if (cidrsOverlap(extra, parseCidr(text))) add(`${path}.extraAddresses[${j}]`, `${a} lies in ${rangePath} ${text}, where kemu hands out addresses; use an address outside the pod and service ranges`);
    });
    const rack = m.rack === undefined ? racks[0]! : racks.find((r) => r.name === m.rack);
    if (!rack) {
      add(`${path}.rack`, rawUnderlay.racks ? `'${m.rack}' is not a rack of this lab; racks: ${racks.map((r) => r.name).join(', ')}` : `'${m.rack}' names a rack, but spec.network.underlay has no racks; define them there or leave rack out`);
      continue;
    }
    if (m.address) {
      checkUnderlayAddress(parseCidr(rack.subnet), m.address, `${path}.address`, add, rack.name === UNDERLAY_BRIDGE ? undefined : rack.name);
      const owner = used.get(m.address);
      if (owner) add(`${path}.address`, `${m.address} is already used by ${owner}`);
      used.set(m.address, `${path}`);
    }
  }

  raw.spec.nodes.forEach((n, i) => {
    if (parseCpu(n.capacity.cpu) === undefined) add(`spec.nodes[${i}].capacity.cpu`, `'${n.capacity.cpu}' is not a CPU quantity; use e.g. 2 or "1500m"`);
    if (parseMemory(n.capacity.memory) === undefined) add(`spec.nodes[${i}].capacity.memory`, `'${n.capacity.memory}' is not a memory quantity; use e.g. "8Gi" or "512Mi"`);
  });
  for (const node of t.nodes) {
    const sock = birdSocketPath(t.name, node.name);
    if (sock.length > MAX_SOCKET_PATH)
      add('metadata.name', `lab name '${t.name}' is too long: node ${node.name}'s control socket ${sock} would be ${sock.length} bytes, over the ${MAX_SOCKET_PATH}-byte limit of a Unix socket path; shorten the lab or node name by ${sock.length - MAX_SOCKET_PATH}`);
  }

  problems.push(...checkWorkloads(t, t.manifests));
  return problems;
}

function checkUnderlayAddress(subnet: Cidr, ip: string, path: string, add: (p: string, m: string) => void, rack?: string): void {
  const n = ipToInt(ip);
  if (!cidrContains(subnet, n)) add(path, `${ip} is outside ${rack ? `rack ${rack}'s subnet` : 'the underlay subnet'} ${cidrText(subnet)}`);
  else if (n === subnet.base || n === subnet.base + subnet.size - 1) add(path, `${ip} is the subnet's network or broadcast address`);
}

/** What manifests refer to in the lab (node names, pinned pod addresses), for `up` and for `apply`. */
export function checkWorkloads(t: Pick<Topology, 'nodes' | 'network'>, manifests: Manifest[]): InputProblem[] {
  const problems: InputProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const pool = parseCidr(t.network.podCIDR);
  const nodeNames = new Set(t.nodes.map((n) => n.name));
  for (const m of manifests) {
    if (isMetallbManifest(m)) continue;
    if (m.kind === 'Namespace' || m.kind === 'Service' || m.kind === 'Endpoints' || m.kind === 'EndpointSlice' || m.kind === 'Ingress' || m.kind === 'IngressClass' || m.kind === 'Secret' || m.kind === 'NetworkPolicy') continue;
    const spec = m.kind === 'Pod' ? m.object.spec : m.object.spec?.template?.spec;
    const meta = m.kind === 'Pod' ? m.object.metadata : m.object.spec?.template?.metadata;
    const specPath = m.kind === 'Pod' ? `${m.origin}.spec` : `${m.origin}.spec.template.spec`;
    const metaPath = m.kind === 'Pod' ? `${m.origin}.metadata` : `${m.origin}.spec.template.metadata`;
    if (spec?.nodeName && !nodeNames.has(spec.nodeName)) add(`${specPath}.nodeName`, `'${spec.nodeName}' is not a node of this lab; nodes: ${[...nodeNames].join(', ')}`);
    const ann = podIpAnnotation(meta?.annotations);
    if (ann.error) add(`${metaPath}.annotations`, ann.error);
    else if (ann.ip && !cidrContains(pool, ipToInt(ann.ip)))
      add(`${metaPath}.annotations`, `requested pod IP ${ann.ip} is outside the pod CIDR ${t.network.podCIDR}`);
    else if (ann.ip && m.kind !== 'Pod' && m.kind !== 'Job' && (m.kind === 'DaemonSet' ? t.nodes.length : (m.object.spec?.replicas ?? 1)) > 1)
      add(`${metaPath}.annotations`, `a pinned pod IP cannot be shared by ${m.kind === 'DaemonSet' ? `${t.nodes.length} nodes' daemon pods` : `${m.object.spec?.replicas} replicas`}`);
  }
  return problems;
}

/** Every field of these manifests that asks for SCTP (refused by `up` and `apply` where the kernel has none). */
export function sctpFields(manifests: Manifest[]): string[] {
  const out: string[] = [];
  for (const m of manifests) {
    if (m.kind === 'Service') (m.object.spec?.ports ?? []).forEach((p, i) => p.protocol === 'SCTP' && out.push(`${m.origin}.spec.ports[${i}].protocol`));
    if (m.kind === 'EndpointSlice') (m.object.ports ?? []).forEach((p, i) => p.protocol === 'SCTP' && out.push(`${m.origin}.ports[${i}].protocol`));
    if (m.kind === 'Endpoints') (m.object.subsets ?? []).forEach((s, i) => (s.ports ?? []).forEach((p, j) => p.protocol === 'SCTP' && out.push(`${m.origin}.subsets[${i}].ports[${j}].protocol`)));
    if (m.kind === 'Pod' || m.kind === 'Deployment') {
      const spec = m.kind === 'Pod' ? m.object.spec : m.object.spec?.template?.spec;
      const at = m.kind === 'Pod' ? `${m.origin}.spec` : `${m.origin}.spec.template.spec`;
      (spec?.containers ?? []).forEach((c, i) => (c.ports ?? []).forEach((p, j) => p.protocol === 'SCTP' && out.push(`${at}.containers[${i}].ports[${j}].protocol`)));
    }
  }
  return out;
}

export const SCTP_MISSING = 'SCTP needs the kernel\'s sctp protocol, which this machine lacks (/proc/net/sctp is missing: no pod could open an SCTP socket); kemu refuses SCTP here. Use TCP or UDP, or run kemu on a kernel with the sctp module';

/** The pool's entries (MetalLB's `addresses`): each a CIDR or range, disjoint from each other and from the lab's other ranges. */
function checkLoadBalancerPool(entries: string[], listed: boolean, cidrs: Array<[string, string]>, add: (path: string, message: string) => void): void {
  const others = cidrs.map(([path, text]) => [path, parseRange(text)] as const).filter((o): o is readonly [string, IpRange] => typeof o[1] !== 'string');
  const seen: Array<[string, IpRange]> = [];
  entries.forEach((entry, i) => {
    const path = listed ? `spec.network.loadBalancerPool[${i}]` : 'spec.network.loadBalancerPool';
    const range = parseRange(entry);
    if (typeof range === 'string') return add(path, range);
    for (const [otherPath, other] of [...others, ...seen])
      if (rangesOverlap(range, other)) return add(path, `${range.text} overlaps ${otherPath} ${other.text}; the pod, service, underlay and load-balancer ranges must be disjoint`);
    seen.push([path, range]);
  });
}
