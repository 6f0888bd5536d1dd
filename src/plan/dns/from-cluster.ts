/**
 * The DNS planner's inputs from the lab's cluster: Services with the endpoints their EndpointSlices
 * hold (readiness as the slices say, so records follow probes and scaling), and the running pods.
 */
import type { ServiceEndpoints } from '../../cluster/endpoints.js';
import type { ClusterState } from '../../cluster/types.js';
import type { DnsPod, DnsService } from './types.js';

export function dnsServices(c: ClusterState, slices: ServiceEndpoints[]): DnsService[] {
  const sliceOf = new Map(slices.map((e) => [`${e.namespace}/${e.name}`, e]));
  return c.services.map((s) => ({
    namespace: s.namespace,
    name: s.name,
    clusterIP: s.clusterIP,
    ...(s.externalName !== undefined ? { externalName: s.externalName } : {}),
    ports: s.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port })),
    publishNotReadyAddresses: s.publishNotReadyAddresses,
    // Terminating endpoints are not ready (podToEndpoint); one entry per address.
    endpoints: (sliceOf.get(`${s.namespace}/${s.name}`)?.endpoints ?? []).map((e) => ({ ip: e.ip, ...(e.hostname ? { hostname: e.hostname } : {}), ready: e.ready && !e.terminating })),
  }));
}

export function dnsPods(c: ClusterState): DnsPod[] {
  return c.pods.filter((p) => p.ip && !p.terminating).map((p) => ({ namespace: p.namespace, ip: p.ip }));
}
