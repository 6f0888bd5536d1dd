/** Services and their endpoints → kube-proxy's view (service ports) and each node's rule set. */
import type { ServiceEndpoints } from '../../cluster/endpoints.js';
import type { ClusterState } from '../../cluster/types.js';
import { nodeNetns } from '../../topology/names.js';
import { createHash } from 'node:crypto';
import type { ProxyNode, ProxyServicePort } from './types.js';
import { servicePortKey } from './types.js';

export function proxyServicePorts(c: ClusterState, slices: ServiceEndpoints[]): ProxyServicePort[] {
  const sliceOf = new Map(slices.map((e) => [`${e.namespace}/${e.name}`, e]));
  return c.services.flatMap((s) => {
    const slice = sliceOf.get(`${s.namespace}/${s.name}`);
    return s.ports.map(
      (p): ProxyServicePort => ({
        namespace: s.namespace,
        name: s.name,
        portName: p.name,
        protocol: p.protocol,
        clusterIP: s.clusterIP,
        port: p.port,
        ...(p.nodePort ? { nodePort: p.nodePort } : {}),
        externalIPs: s.externalIPs,
        loadBalancerIPs: s.loadBalancerIPs,
        loadBalancerSourceRanges: s.loadBalancerSourceRanges,
        externalTrafficPolicy: s.externalTrafficPolicy,
        internalTrafficPolicy: s.internalTrafficPolicy,
        ...(s.sessionAffinityTimeoutSeconds ? { sessionAffinityTimeoutSeconds: s.sessionAffinityTimeoutSeconds } : {}),
        ...(s.healthCheckNodePort ? { healthCheckNodePort: s.healthCheckNodePort } : {}),
        endpoints: (slice?.endpoints ?? [])
          .filter((e) => e.ports[p.name] !== undefined)
          .map((e) => ({ ip: e.ip, port: e.ports[p.name]!, nodeName: e.nodeName ?? '', ready: e.ready, serving: e.serving, terminating: e.terminating })),
      }),
    );
  });
}

export interface NodeProxyPlan {
  node: ProxyNode;
  netns: string;
  /** service-port key → hash of what kube-proxy would see for it; equal hashes, equal chains. */
  hashes: Record<string, string>;
}

export function planNodeProxies(c: ClusterState, ports: ProxyServicePort[]): NodeProxyPlan[] {
  // proxyServicePorts builds every port with its keys in one order, so plain JSON is canonical here (and much cheaper than stableJson).
  const hashes = Object.fromEntries(ports.map((sp) => [servicePortKey(sp), createHash('sha1').update(JSON.stringify(sp)).digest('base64url').slice(0, 16)]));
  return c.nodes.map((n) => ({
    node: { name: n.name, nodeIPs: [n.ip, ...n.extraAddresses.map((a) => a.split('/')[0]!)], clusterCIDR: c.network.podCIDR },
    netns: nodeNetns(c.lab, n.name),
    hashes,
  }));
}

/** kube-proxy's health check answer for one eTP=Local LoadBalancer service on one node. */
export interface HealthCheck {
  port: number;
  status: 200 | 503;
  body: string;
}

export function planHealthChecks(c: ClusterState, ports: ProxyServicePort[], node: string): HealthCheck[] {
  return c.services
    .filter((s) => s.healthCheckNodePort)
    .map((s) => {
      const local = new Set(
        ports
          .filter((p) => p.namespace === s.namespace && p.name === s.name)
          .flatMap((p) => p.endpoints.filter((e) => e.nodeName === node && e.ready).map((e) => e.ip)),
      ).size;
      const body = JSON.stringify({ service: { namespace: s.namespace, name: s.name }, localEndpoints: local, serviceProxyHealthy: true });
      return { port: s.healthCheckNodePort!, status: local > 0 ? 200 : 503, body };
    });
}
