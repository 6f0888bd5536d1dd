/**
 * The records of the cluster domain as the Kubernetes DNS specification lays them out:
 *   ClusterIP Service      <svc>.<ns>.svc.<zone>  A <clusterIP>, SRV per named port, PTR
 *   headless Service       <svc>.<ns>.svc.<zone>  A per ready endpoint; <hostname>.<svc>... A,
 *                          SRV per named port and endpoint, PTR for endpoints with a hostname
 *   ExternalName Service   <svc>.<ns>.svc.<zone>  CNAME <externalName>
 *   pods                   a-b-c-d.<ns>.pod.<zone> A a.b.c.d
 *   schema version         dns-version.<zone>     TXT "1.1.0"
 * Names are absolute, lower case, without the trailing dot.
 */
import type { DnsEndpoint, DnsPod, DnsRecord, DnsService } from './types.js';

export const SCHEMA_VERSION = '1.1.0';
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** The reverse-lookup name of an IPv4 address. */
export function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

/** The label the spec leaves to the system for an endpoint without a hostname (CoreDNS: the dashed address). */
export function endpointLabel(ep: DnsEndpoint): string {
  return ep.hostname ?? ep.ip.replace(/\./g, '-');
}

function isHeadless(s: DnsService): boolean {
  return s.clusterIP === undefined || s.clusterIP === '' || s.clusterIP === 'None';
}

function srvName(port: { name: string; protocol: string }, base: string): string {
  return `_${port.name}._${port.protocol.toLowerCase()}.${base}`;
}

/** The published endpoints of a headless Service, one per address, ordered by address. */
function published(s: DnsService): DnsEndpoint[] {
  const byIp = new Map<string, DnsEndpoint>();
  for (const ep of s.endpoints) if ((ep.ready || s.publishNotReadyAddresses) && !byIp.has(ep.ip)) byIp.set(ep.ip, ep);
  return [...byIp.values()].sort((a, b) => ipKey(a.ip) - ipKey(b.ip));
}

function ipKey(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function serviceRecords(s: DnsService, zone: string): DnsRecord[] {
  const base = `${s.name}.${s.namespace}.svc.${zone}`.toLowerCase();
  if (s.externalName !== undefined) return [{ name: base, type: 'CNAME', target: s.externalName.toLowerCase().replace(/\.$/, '') }];
  const named = s.ports.filter((p) => p.name !== '');
  if (!isHeadless(s)) {
    const ip = s.clusterIP as string;
    return [
      { name: base, type: 'A', ip },
      ...named.map((p): DnsRecord => ({ name: srvName(p, base), type: 'SRV', priority: 0, weight: 100, port: p.port, target: base })),
      { name: reverseName(ip), type: 'PTR', target: base },
    ];
  }
  const eps = published(s);
  const out: DnsRecord[] = [];
  for (const ep of eps) out.push({ name: base, type: 'A', ip: ep.ip });
  for (const ep of eps) out.push({ name: `${endpointLabel(ep)}.${base}`, type: 'A', ip: ep.ip });
  const weight = eps.length ? Math.floor(100 / eps.length) : 100;
  for (const p of named) for (const ep of eps) out.push({ name: srvName(p, base), type: 'SRV', priority: 0, weight, port: p.port, target: `${endpointLabel(ep)}.${base}` });
  for (const ep of eps) if (ep.hostname) out.push({ name: reverseName(ep.ip), type: 'PTR', target: `${ep.hostname}.${base}` });
  return out;
}

export function podRecords(p: DnsPod, zone: string): DnsRecord[] {
  return [{ name: `${p.ip.replace(/\./g, '-')}.${p.namespace}.pod.${zone}`.toLowerCase(), type: 'A', ip: p.ip }];
}

/** Every record of the cluster domain, in a stable order. */
export function clusterRecords(input: { zone?: string; services: DnsService[]; pods: DnsPod[] }): DnsRecord[] {
  const zone = (input.zone ?? DEFAULT_CLUSTER_DOMAIN).toLowerCase().replace(/\.$/, '');
  const services = [...input.services].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  return [
    { name: `dns-version.${zone}`, type: 'TXT', text: SCHEMA_VERSION },
    ...services.flatMap((s) => serviceRecords(s, zone)),
    ...input.pods.flatMap((p) => podRecords(p, zone)),
  ];
}
