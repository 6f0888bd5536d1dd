/** Read a topology file and everything it refers to, and check it all before anything is created. */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode, stringify, type Document } from 'yaml';
import { InputError, formatPath, type InputProblem } from './errors.js';
import { parseManifests, type Manifest } from './manifests.js';
import { topologySchema, type RawTopology } from './schema.js';
import type { KubeProxyConfig, RackSpec, Topology } from './types.js';
import { loadKubeProxyConfigs } from './kube-proxy/load.js';
import { UNDERLAY_BRIDGE } from './names.js';
import { checkTopology } from './validate.js';
import { ingressControllerManifests, resolveIngress } from './ingress-controller.js';
import { apiServerServiceManifest, clusterDnsManifests, resolveDns } from './cluster-dns.js';
import { intToIp, parseCidr, splitAddress } from '../util/ipv4.js';
import { parseCpu, parseMemory } from '../util/quantity.js';

/** With `skipUnsupported`, fields and kinds kemu does not emulate are dropped, each named in `skipped`. */
export interface LoadOptions {
  skipUnsupported?: boolean;
  skipped?: string[];
}

export async function loadTopology(path: string, opts: LoadOptions = {}): Promise<Topology> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(path, [{ path: '', message: `cannot read the topology file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return parseTopology(text, file, opts);
}

/** Parse and check topology text; `file` is used for messages and to resolve manifest paths. */
export async function parseTopology(text: string, file: string, opts: LoadOptions = {}): Promise<Topology> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length) {
    // The first errors locate the mistake; the rest are usually its echoes.
    throw new InputError(file, doc.errors.slice(0, 3).map((e) => ({ path: '', where: at(file, lines, e.pos[0]), message: `malformed YAML: ${e.message.split('\n')[0]}` })));
  }
  const parsed = topologySchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    throw new InputError(
      file,
      parsed.error.issues.map((issue) => {
        const path = [...issue.path];
        if (issue.code === 'unrecognized_keys') path.push(issue.keys[0]!);
        const message = issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}` : issue.message;
        return { path: formatPath(path), where: locate(doc, lines, file, path), message };
      }),
    );
  }
  const raw = parsed.data;
  const problems: InputProblem[] = [];
  const manifests = await loadWorkloads(raw, dirname(file), problems, opts);
  const kubeProxy = await loadKubeProxyConfigs(raw.spec.kubeProxy, raw.spec.nodes, dirname(file), problems);
  const topology = resolveTopology(raw, file, manifests, kubeProxy);
  const ingress = resolveIngress(raw, topology.network, problems);
  if (ingress) Object.assign(topology, { ingress, manifests: [...topology.manifests, ...ingressControllerManifests(ingress)] });
  // The node's resolver as the kubelet's --resolv-conf reads it; only read, never changed.
  const hostResolv = raw.spec.dns?.enabled !== false && !raw.spec.dns?.upstream ? await readFile(HOST_RESOLV_CONF, 'utf8').catch(() => '') : '';
  const dns = resolveDns(raw, topology.network, hostResolv, problems);
  if (dns) Object.assign(topology, { dns, manifests: [...topology.manifests, ...clusterDnsManifests(dns, topology.network)] });
  const declaresApiServer = topology.manifests.some((m) => m.kind === 'Service' && m.object.metadata?.name === 'kubernetes' && (m.object.metadata?.namespace ?? 'default') === 'default');
  if (!declaresApiServer) Object.assign(topology, { manifests: [...topology.manifests, apiServerServiceManifest(topology.network)] });
  problems.push(...checkTopology(topology, raw));
  if (problems.length) {
    for (const p of problems) p.where ??= locate(doc, lines, file, pathParts(p.path));
    throw new InputError(file, problems);
  }
  return topology;
}


async function loadWorkloads(raw: RawTopology, dir: string, problems: InputProblem[], opts: LoadOptions): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const [i, item] of raw.spec.workloads.entries()) {
    const path = `spec.workloads[${i}]`;
    if (typeof item === 'string') {
      let text: string;
      try {
        text = await readFile(resolve(dir, item), 'utf8');
      } catch (err) {
        problems.push({ path, message: `manifest file '${item}' cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); paths are relative to the topology file` });
        continue;
      }
      out.push(...(await parseManifests(text, `${path} (${item})`, problems, { ...opts, file: resolve(dir, item) })));
    } else {
      out.push(...(await parseManifests(stringify(item), path, problems, opts)));
    }
  }
  return out;
}

const HOST_RESOLV_CONF = '/etc/resolv.conf';

export const DEFAULT_UNDERLAY = '192.168.50.0/24';

/** The racks a topology describes: its `racks`, or one rack named `underlay` from `subnet`. */
export function racksOf(u: RawTopology['spec']['network']['underlay']): RackSpec[] {
  const gw = (subnet: string, given?: string) => given ?? intToIp(parseCidr(subnet).base + 1);
  if (u.racks) return u.racks.map((r) => ({ name: r.name, subnet: r.subnet, gateway: gw(r.subnet, r.gateway), bridge: r.name }));
  const subnet = u.subnet ?? DEFAULT_UNDERLAY;
  return [{ name: UNDERLAY_BRIDGE, subnet, gateway: gw(subnet, u.gateway), bridge: UNDERLAY_BRIDGE }];
}

function resolveTopology(raw: RawTopology, file: string, manifests: Manifest[], kubeProxy: KubeProxyConfig[]): Topology {
  const net = raw.spec.network;
  const racks = racksOf(net.underlay);
  const rackOf = (m: { rack?: string }) => racks.find((r) => r.name === m.rack) ?? racks[0]!;
  const extra = (m: { rack?: string; extraAddresses: string[] }) => m.extraAddresses.map((a) => {
    const { ip, prefix } = splitAddress(a, parseCidr(rackOf(m).subnet).prefix);
    return `${ip}/${prefix}`;
  });
  return {
    name: raw.metadata.name,
    file,
    network: {
      podCIDR: net.podCIDR,
      blockSize: net.blockSize,
      serviceCIDR: net.serviceCIDR,
      underlay: { racks, mtu: net.underlay.mtu },
      routing: net.routing,
      asNumber: net.asNumber,
      routeReflectors: net.routeReflectors,
      natOutgoing: net.natOutgoing,
      ...(net.routing === 'ipip' ? { ipipMode: net.ipipMode ?? 'Always' } : {}),
      nodePortRange: { min: Number(net.nodePortRange.split('-')[0]), max: Number(net.nodePortRange.split('-')[1]) },
      ...(net.loadBalancerPool ? { loadBalancerPool: [net.loadBalancerPool].flat().map((e) => e.trim()) } : {}),
      serviceClusterIPs: net.advertiseServiceCIDR ? [net.serviceCIDR] : [],
    },
    nodes: raw.spec.nodes.map((n, i) => ({
      name: n.name,
      address: n.address,
      extraAddresses: extra(n),
      rack: rackOf(n).name,
      labels: n.labels,
      capacity: { cpuMilli: parseCpu(n.capacity.cpu) ?? 0, memoryBytes: parseMemory(n.capacity.memory) ?? 0, pods: n.capacity.pods },
      unschedulable: n.unschedulable,
      taints: n.taints,
      ...(n.asNumber !== undefined ? { asNumber: n.asNumber } : {}),
      kubeProxy: kubeProxy[i]!,
    })),
    externalHosts: raw.spec.externalHosts.map((h) => ({ name: h.name, address: h.address, extraAddresses: extra(h), rack: rackOf(h).name })),
    manifests,
  };
}

/** `spec.nodes[2].name` → ['spec','nodes',2,'name'] (only for locating problems in the YAML). */
function pathParts(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) parts.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return parts;
}

/** file:line:col of the deepest existing node on `path`. */
function locate(doc: Document, lines: LineCounter, file: string, path: readonly PropertyKey[]): string | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as (string | number)[], true);
    if (isNode(node) && node.range) return at(file, lines, node.range[0]);
  }
  return undefined;
}

function at(file: string, lines: LineCounter, offset: number): string {
  const { line, col } = lines.linePos(offset);
  return `${file}:${line}:${col}`;
}
