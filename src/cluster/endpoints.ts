/**
 * The endpoints controller: for each Service, the pods its selector picks (or the addresses of its
 * hand-written Endpoints), with readiness and the target port resolved per pod — an EndpointSlice view.
 */
import type { ClusterState, PodState, ServiceState } from './types.js';

export interface EndpointView {
  ip: string;
  nodeName?: string;
  /** `namespace/name` of the pod behind the address, when there is one. */
  pod?: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** service port name → the port this endpoint serves it on */
  ports: Record<string, number>;
}

export interface ServiceEndpoints {
  namespace: string;
  name: string;
  endpoints: EndpointView[];
}

/** The service's selector picks the pod (same namespace, every label matches). */
export const selects = (s: ServiceState, p: PodState) => p.namespace === s.namespace && Object.entries(s.selector ?? {}).every(([k, v]) => p.labels[k] === v);

/** The target port a pod serves `port` on: a number as is; a name through the pod's declared container ports. */
export function resolveTargetPort(pod: PodState, port: ServiceState['ports'][number]): number | undefined {
  if (typeof port.targetPort === 'number') return port.targetPort;
  for (const c of pod.containers) for (const d of c.declaredPorts) if (d.name === port.targetPort && d.protocol === port.protocol) return d.containerPort;
  return undefined;
}

export function computeEndpoints(c: ClusterState, isReady: (podKey: string) => boolean): ServiceEndpoints[] {
  const manualOf = new Map(c.manualEndpoints.map((e) => [`${e.namespace}/${e.name}`, e]));
  const podByIp = new Map(c.pods.map((p) => [p.ip, p]));
  const podsIn = new Map<string, PodState[]>();
  for (const p of c.pods) podsIn.set(p.namespace, [...(podsIn.get(p.namespace) ?? []), p]);
  return c.services.map((s) => {
    if (!s.selector) {
      const manual = manualOf.get(`${s.namespace}/${s.name}`);
      const endpoints = (manual?.subsets ?? []).flatMap((sub) =>
        sub.addresses.map((a) => {
          const pod = podByIp.get(a.ip);
          const ports = Object.fromEntries(sub.ports.map((p) => [p.name, p.port]));
          return { ip: a.ip, nodeName: a.nodeName ?? pod?.nodeName, ...(pod ? { pod: `${pod.namespace}/${pod.name}` } : {}), ready: true, serving: true, terminating: false, ports };
        }),
      );
      return { namespace: s.namespace, name: s.name, endpoints };
    }
    const endpoints = (podsIn.get(s.namespace) ?? [])
      .filter((p) => selects(s, p))
      .map((p) => {
        // A terminating pod is never ready; it stays serving while it passes readiness (kube-proxy's fallback).
        const serving = isReady(`${p.namespace}/${p.name}`);
        const terminating = p.terminating === true;
        const ready = serving && !terminating;
        const ports: Record<string, number> = {};
        for (const port of s.ports) {
          const n = resolveTargetPort(p, port);
          if (n !== undefined) ports[port.name] = n;
        }
        return { ip: p.ip, nodeName: p.nodeName, pod: `${p.namespace}/${p.name}`, ready, serving, terminating, ports };
      });
    return { namespace: s.namespace, name: s.name, endpoints };
  });
}
