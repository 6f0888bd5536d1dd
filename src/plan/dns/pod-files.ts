/**
 * A pod's /etc/resolv.conf and /etc/hosts as the kubelet writes them (pkg/kubelet/network/dns,
 * kubelet_pods managed hosts file). Pure: the lab delivers them via /etc/netns/<pod-netns>/.
 */

export type DnsPolicy = 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';

export interface ResolverConfig {
  nameservers: string[];
  searches: string[];
  /** 'name' or 'name:value', as on an options line. */
  options: string[];
}

export interface PodDnsConfig {
  nameservers?: string[];
  searches?: string[];
  options?: { name: string; value?: string }[];
}

export interface PodDnsInput {
  namespace: string;
  dnsPolicy?: DnsPolicy;
  hostNetwork?: boolean;
  dnsConfig?: PodDnsConfig;
  /** kubelet clusterDNS (the kube-dns ClusterIP). */
  clusterDNS: string[];
  clusterDomain: string;
  /** The node's resolver (kubelet --resolv-conf): for kemu the topology's upstream. */
  host: ResolverConfig;
}

const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;
const MAX_SEARCH_CHARS = 2048;
const MAX_SEARCH_ENTRY = 253;

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}

/** getPodDNSType: ClusterFirst on the host network falls back to the node's resolver. */
function dnsType(p: PodDnsInput): 'cluster' | 'host' | 'none' {
  const policy = p.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'None') return 'none';
  if (policy === 'Default') return 'host';
  if (policy === 'ClusterFirst' && p.hostNetwork) return 'host';
  return p.clusterDNS.length ? 'cluster' : 'host';
}

function mergeOptions(base: string[], extra: PodDnsConfig['options']): string[] {
  const byName = new Map<string, string>();
  for (const o of base) byName.set(o.split(':')[0] ?? o, o);
  for (const o of extra ?? []) byName.set(o.name, o.value === undefined ? o.name : `${o.name}:${o.value}`);
  return [...byName.values()];
}

function fitSearches(searches: string[]): string[] {
  const out: string[] = [];
  let chars = 0;
  for (const s of searches.filter((x) => x.length <= MAX_SEARCH_ENTRY)) {
    if (out.length === MAX_SEARCHES || chars + s.length + (out.length ? 1 : 0) > MAX_SEARCH_CHARS) break;
    chars += s.length + (out.length ? 1 : 0);
    out.push(s);
  }
  return out;
}

export function podResolverConfig(p: PodDnsInput): ResolverConfig {
  const type = dnsType(p);
  const hostSearches = p.host.searches.map((s) => s.replace(/\.$/, '')).filter((s) => s !== '');
  let cfg: ResolverConfig;
  if (type === 'cluster') {
    const z = p.clusterDomain;
    cfg = { nameservers: [...p.clusterDNS], searches: dedupe([`${p.namespace}.svc.${z}`, `svc.${z}`, z, ...hostSearches]), options: ['ndots:5'] };
  } else if (type === 'host') cfg = { nameservers: [...p.host.nameservers], searches: hostSearches, options: [...p.host.options] };
  else cfg = { nameservers: [], searches: [], options: [] };
  const extra = p.dnsConfig ?? {};
  return {
    nameservers: dedupe([...cfg.nameservers, ...(extra.nameservers ?? [])]).slice(0, MAX_NAMESERVERS),
    searches: fitSearches(dedupe([...cfg.searches, ...(extra.searches ?? [])])),
    options: mergeOptions(cfg.options, extra.options),
  };
}

export function resolvConf(cfg: ResolverConfig): string {
  const lines: string[] = [];
  if (cfg.searches.length) lines.push(`search ${cfg.searches.join(' ')}`);
  for (const ns of cfg.nameservers) lines.push(`nameserver ${ns}`);
  if (cfg.options.length) lines.push(`options ${cfg.options.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** Parse the lines of a resolv.conf the kubelet reads (nameserver, search/domain, options). */
export function parseResolvConf(text: string): ResolverConfig {
  const cfg: ResolverConfig = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const [key, ...rest] = raw.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (key === 'nameserver' && rest[0]) cfg.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') cfg.searches = rest;
    else if (key === 'options') cfg.options.push(...rest);
  }
  return cfg;
}

export interface PodHostsInput {
  podName: string;
  namespace: string;
  podIP: string;
  hostname?: string;
  subdomain?: string;
  clusterDomain: string;
  hostAliases?: { ip: string; hostnames?: string[] }[];
}

/** The kubelet's managed hosts file: loopback lines, the pod's own name(s), then hostAliases. */
export function podHostsFile(p: PodHostsInput): string {
  const hostname = (p.hostname ?? p.podName).slice(0, 63);
  const own = p.subdomain ? `${p.podIP}\t${hostname}.${p.subdomain}.${p.namespace}.svc.${p.clusterDomain}\t${hostname}` : `${p.podIP}\t${hostname}`;
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    own,
  ];
  const aliases = (p.hostAliases ?? []).filter((a) => a.hostnames?.length);
  if (aliases.length) lines.push('', '# Entries added by HostAliases.', ...aliases.map((a) => `${a.ip}\t${a.hostnames!.join('\t')}`));
  return lines.join('\n') + '\n';
}
