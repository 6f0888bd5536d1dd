/**
 * ingress-nginx's upstreams (controller.go createUpstreams, util.go upstreamName): one per
 * (namespace, service, port) a served Ingress names, holding the ready endpoints' pod IP:targetPort —
 * not the ClusterIP, so kube-proxy is not on the path — or, with `service-upstream: "true"`, the
 * ClusterIP:port alone. A missing Service, an unknown port or no ready endpoint leave it empty (503).
 */
import type { V1IngressBackend } from '@kubernetes/client-node';
import { portKey, type ServiceEndpoints } from '../../cluster/endpoints.js';
import type { Json } from '../../cluster/store.js';
import type { ServiceState } from '../../cluster/types.js';
import type { Upstream } from './types.js';

export type ServiceBackend = NonNullable<Json<V1IngressBackend>['service']>;

/** `<namespace>-<service>-<port number or name>`. */
export const upstreamName = (namespace: string, svc: ServiceBackend) => `${namespace}-${svc.name}-${svc.port?.number ?? svc.port?.name ?? ''}`;

export function buildUpstream(namespace: string, svc: ServiceBackend, serviceUpstream: boolean, services: Map<string, ServiceState>, slices: Map<string, ServiceEndpoints>): Upstream {
  const name = upstreamName(namespace, svc);
  const s = services.get(`${namespace}/${svc.name}`);
  const port = s?.ports.find((p) => p.protocol === 'TCP' && (svc.port?.number !== undefined ? p.port === svc.port.number : p.name === svc.port?.name));
  if (!s || !port) return { name, servers: [] };
  // A headless Service has no address to proxy to: its endpoints are used, as without the annotation.
  if (serviceUpstream && s.clusterIP !== 'None') return { name, servers: [`${s.clusterIP}:${port.port}`] };
  const endpoints = slices.get(`${namespace}/${svc.name}`)?.endpoints ?? [];
  const key = portKey(port.name, port.protocol);
  const servers = endpoints.filter((e) => e.ready && e.ports[key] !== undefined).map((e) => `${e.ip}:${e.ports[key]}`);
  return { name, servers: [...new Set(servers)].sort() };
}
