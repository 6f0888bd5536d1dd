/**
 * Endpoints as kube-proxy consumes them (read from the store's EndpointSlices by
 * endpoint-slices/views.ts), and the selector and target-port rules the controllers share.
 */
import type { PodState, ServiceState } from './types.js';

export interface EndpointView {
  ip: string;
  nodeName?: string;
  /** `namespace/name` of the pod behind the address, when there is one. */
  pod?: string;
  /** endpoints[].hostname (a pod whose subdomain names the Service): its DNS name under the Service. */
  hostname?: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  zone?: string;
  /** hints.forZones / hints.forNodes names. */
  zoneHints?: string[];
  nodeHints?: string[];
  /** portKey(service port name, protocol) → the port this endpoint serves it on */
  ports: Record<string, number>;
}

export interface ServiceEndpoints {
  namespace: string;
  name: string;
  endpoints: EndpointView[];
}

/** kube-proxy matches slice ports to service ports by name and protocol. */
export const portKey = (name: string, protocol: string) => `${name}/${protocol}`;

/** The service's selector picks the pod (same namespace, every label matches). */
export const selects = (s: ServiceState, p: PodState) => p.namespace === s.namespace && Object.entries(s.selector ?? {}).every(([k, v]) => p.labels[k] === v);

/** The target port a pod serves `port` on: a number as is; a name through the pod's declared container ports. */
export function resolveTargetPort(pod: PodState, port: ServiceState['ports'][number]): number | undefined {
  if (typeof port.targetPort === 'number') return port.targetPort;
  for (const c of pod.containers) for (const d of c.declaredPorts) if (d.name === port.targetPort && d.protocol === port.protocol) return d.containerPort;
  return undefined;
}
