/**
 * Endpoint selection as kube-proxy's CategorizeEndpoints does it (pkg/proxy/topology.go): the Cluster
 * set is the ready endpoints (narrowed by topology hints when every ready endpoint has one and one is
 * for this node or zone; PreferSameTrafficDistribution on, as in v1.34), else the serving+terminating
 * ones; the Local set is the local ready endpoints, else the local serving+terminating ones, chosen
 * independently of the Cluster set.
 */
import { joinHostPort } from './chain-names.js';
import { normalizeIPv4 } from './addresses.js';
import type { ProxyEndpoint, ProxyServicePort } from './types.js';

export interface EndpointSets {
  /** Endpoints for Cluster traffic policy (empty when the service does not use them). */
  cluster: ProxyEndpoint[];
  /** Endpoints for Local traffic policy (empty when the service does not use them). */
  local: ProxyEndpoint[];
  /** Union of the two: the endpoints that get a KUBE-SEP chain. */
  reachable: ProxyEndpoint[];
  /** Whether any endpoint anywhere is usable (ready, or serving and terminating). */
  hasAny: boolean;
}

export const endpointString = (ep: { ip: string; port: number }): string => joinHostPort(ep.ip, ep.port);

/**
 * IPv4 endpoints, one per "ip:port" (a ready copy wins over an unready one), sorted by that string
 * the way kube-proxy's EndpointSlice cache orders them.
 */
export function normalizeEndpoints(endpoints: readonly ProxyEndpoint[]): ProxyEndpoint[] {
  const byKey = new Map<string, ProxyEndpoint>();
  for (const raw of endpoints) {
    const ip = normalizeIPv4(raw.ip);
    if (ip === null) continue;
    const ep = { ...raw, ip };
    const key = endpointString(ep);
    const seen = byKey.get(key);
    if (seen === undefined || (!seen.ready && ep.ready)) byKey.set(key, ep);
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, ep]) => ep);
}

/** nodePort, LB IPs or externalIPs: the service takes traffic from outside the cluster network. */
export function externallyAccessible(sp: ProxyServicePort, externalIPs: string[], lbIPs: string[]): boolean {
  return (sp.nodePort ?? 0) !== 0 || externalIPs.length > 0 || lbIPs.length > 0;
}

const usable = (ep: ProxyEndpoint): boolean => ep.ready || (ep.serving && ep.terminating);

/** `endpoints` must already be normalized (sorted, deduplicated). */
export function categorizeEndpoints(
  endpoints: readonly ProxyEndpoint[],
  opts: { nodeName: string; zone?: string; internalLocal: boolean; externalLocal: boolean; externallyAccessible: boolean },
): EndpointSets {
  const usesCluster = !opts.internalLocal || opts.externallyAccessible;
  const usesLocal = opts.internalLocal || (opts.externalLocal && opts.externallyAccessible);
  let cluster: ProxyEndpoint[] = [];
  if (usesCluster) {
    const mode = topologyMode(endpoints, opts.nodeName, opts.zone ?? '');
    cluster = endpoints.filter((ep) => ep.ready && (mode === '' || (mode === 'node' ? ep.nodeHints!.includes(opts.nodeName) : ep.zoneHints!.includes(opts.zone!))));
    if (cluster.length === 0) cluster = endpoints.filter((ep) => ep.serving && ep.terminating);
  }
  const hasAny = cluster.length > 0 || (usesLocal && endpoints.some(usable));
  if (!usesLocal) return { cluster, local: [], reachable: cluster, hasAny };

  const isLocal = (ep: ProxyEndpoint): boolean => ep.nodeName === opts.nodeName;
  let local = endpoints.filter((ep) => isLocal(ep) && ep.ready);
  if (local.length === 0) local = endpoints.filter((ep) => isLocal(ep) && ep.serving && ep.terminating);
  if (!usesCluster) return { cluster, local, reachable: local, hasAny };

  // Both sets in use: their union, kept in endpoint order (kube-proxy merges via a map).
  const inUnion = new Set([...cluster, ...local].map(endpointString));
  return { cluster, local, reachable: endpoints.filter((ep) => inUnion.has(endpointString(ep))), hasAny };
}

/** topologyModeFromHints: same-node hints, else same-zone hints, else none ('' ignores topology). */
function topologyMode(endpoints: readonly ProxyEndpoint[], nodeName: string, zone: string): '' | 'node' | 'zone' {
  const ready = endpoints.filter((ep) => ep.ready);
  if (ready.length && ready.every((ep) => ep.nodeHints?.length) && ready.some((ep) => ep.nodeHints!.includes(nodeName))) return 'node';
  if (ready.length && ready.every((ep) => ep.zoneHints?.length) && zone !== '' && ready.some((ep) => ep.zoneHints!.includes(zone))) return 'zone';
  return '';
}
