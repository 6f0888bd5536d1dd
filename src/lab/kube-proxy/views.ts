/** kubectl-shaped Services, Endpoints and EndpointSlices of a lab. */
import { portKey, type ServiceEndpoints } from '../../cluster/endpoints.js';
import { serviceEndpoints } from '../../cluster/endpoint-slices/views.js';
import type { ServiceState } from '../../cluster/types.js';
import type { LabRecord } from '../state.js';

/** The endpoints as the lab last programmed them: the store's EndpointSlices. */
export function currentEndpoints(r: LabRecord): ServiceEndpoints[] {
  return serviceEndpoints(r.cluster, r.store);
}

export function serviceObject(s: ServiceState): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, namespace: s.namespace, labels: s.labels },
    spec: {
      type: s.type,
      clusterIP: s.clusterIP,
      clusterIPs: s.clusterIP ? [s.clusterIP] : [],
      ipFamilies: ['IPv4'],
      ports: s.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: p.protocol, port: p.port, targetPort: p.targetPort, ...(p.nodePort ? { nodePort: p.nodePort } : {}) })),
      ...(s.selector ? { selector: s.selector } : {}),
      sessionAffinity: s.sessionAffinityTimeoutSeconds ? 'ClientIP' : 'None',
      ...(s.sessionAffinityTimeoutSeconds ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: s.sessionAffinityTimeoutSeconds } } } : {}),
      ...(s.type === 'NodePort' || s.type === 'LoadBalancer' ? { externalTrafficPolicy: s.externalTrafficPolicy } : {}),
      ...(s.externalName !== undefined ? { externalName: s.externalName } : {}),
      internalTrafficPolicy: s.internalTrafficPolicy,
      ...(s.externalIPs.length ? { externalIPs: s.externalIPs } : {}),
      ...(s.healthCheckNodePort ? { healthCheckNodePort: s.healthCheckNodePort } : {}),
      ...(s.loadBalancerSourceRanges.length ? { loadBalancerSourceRanges: s.loadBalancerSourceRanges } : {}),
    },
    status: { loadBalancer: s.type === 'LoadBalancer' ? { ingress: s.loadBalancerIPs.map((ip) => ({ ip, ipMode: 'VIP' })) } : {} },
  };
}

const targetRef = (pod: string | undefined) => {
  if (!pod) return {};
  const [namespace, name] = pod.split('/');
  return { targetRef: { kind: 'Pod', namespace, name } };
};

export function endpointsObject(s: ServiceState, e: ServiceEndpoints): Record<string, unknown> {
  // Addresses that serve the same ports form one subset, as the endpoints controller groups them.
  const subsets = new Map<string, { addresses: unknown[]; notReadyAddresses: unknown[]; ports: unknown[] }>();
  for (const ep of e.endpoints) {
    const ports = s.ports.filter((p) => ep.ports[portKey(p.name, p.protocol)] !== undefined).map((p) => ({ ...(p.name ? { name: p.name } : {}), port: ep.ports[portKey(p.name, p.protocol)]!, protocol: p.protocol }));
    if (ports.length === 0) continue;
    const key = JSON.stringify(ports);
    const subset = subsets.get(key) ?? { addresses: [], notReadyAddresses: [], ports };
    const address = { ip: ep.ip, ...(ep.nodeName ? { nodeName: ep.nodeName } : {}), ...targetRef(ep.pod) };
    (ep.ready ? subset.addresses : subset.notReadyAddresses).push(address);
    subsets.set(key, subset);
  }
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: s.name, namespace: s.namespace, labels: s.labels },
    subsets: [...subsets.values()].map((x) => ({
      ...(x.addresses.length ? { addresses: x.addresses } : {}),
      ...(x.notReadyAddresses.length ? { notReadyAddresses: x.notReadyAddresses } : {}),
      ports: x.ports,
    })),
  };
}

/** kubectl's PORT(S) column: 80/TCP, 80:30080/TCP. */
export const portsColumn = (s: ServiceState) => s.ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol}`).join(',');

export function externalColumn(s: ServiceState): string | undefined {
  const ips = [...s.loadBalancerIPs, ...s.externalIPs];
  if (ips.length) return ips.join(',');
  if (s.externalName !== undefined) return s.externalName;
  return s.type === 'LoadBalancer' ? '<pending>' : undefined;
}
