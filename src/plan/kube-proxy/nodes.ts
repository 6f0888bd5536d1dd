/** Services and their endpoints → kube-proxy's view (service ports) and each node's rule set. */
import { portKey, type ServiceEndpoints } from '../../cluster/endpoints.js';
import type { ClusterState } from '../../cluster/types.js';
import type { KubeProxyConfig } from '../../topology/types.js';
import { nodeNetns } from '../../topology/names.js';
import { createHash } from 'node:crypto';
import type { ProxyNode, ProxyServicePort } from './types.js';
import { servicePortKey } from './types.js';
import { nodeProxySettings } from './node-config.js';

/**
 * kube-proxy watches Services through a label selector: those labelled service-proxy-name belong to
 * another proxy, and those labelled headless have no virtual IP to program (server.go's
 * `!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless`).
 */
export const IGNORED_SERVICE_LABELS = ['service.kubernetes.io/service-proxy-name', 'service.kubernetes.io/headless'];

export function proxyServicePorts(c: ClusterState, slices: ServiceEndpoints[]): ProxyServicePort[] {
  const sliceOf = new Map(slices.map((e) => [`${e.namespace}/${e.name}`, e]));
  return c.services.flatMap((s) => {
    if (IGNORED_SERVICE_LABELS.some((l) => s.labels && l in s.labels)) return [];
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
          .filter((e) => e.ports[portKey(p.name, p.protocol)] !== undefined)
          .map((e) => ({
            ip: e.ip,
            port: e.ports[portKey(p.name, p.protocol)]!,
            nodeName: e.nodeName ?? '',
            ready: e.ready,
            serving: e.serving,
            terminating: e.terminating,
            ...(e.zoneHints ? { zoneHints: e.zoneHints } : {}),
            ...(e.nodeHints ? { nodeHints: e.nodeHints } : {}),
          })),
      }),
    );
  });
}

export interface NodeProxyPlan {
  node: ProxyNode;
  netns: string;
  /** service-port key → hash of what kube-proxy would see for it; equal hashes, equal chains. */
  hashes: Record<string, string>;
  /** Sysctls this node's kube-proxy sets in its namespace (route_localnet, conntrack). */
  sysctls: Record<string, string>;
  /** Hash of the node's kube-proxy configuration as rendered: when it changes, the node gets a full sync. */
  configHash: string;
  config: KubeProxyConfig;
}

export function planNodeProxies(c: ClusterState, ports: ProxyServicePort[]): NodeProxyPlan[] {
  // proxyServicePorts builds every port with its keys in one order, so plain JSON is canonical here (and much cheaper than stableJson).
  const hashes = Object.fromEntries(ports.map((sp) => [servicePortKey(sp), createHash('sha1').update(JSON.stringify(sp)).digest('base64url').slice(0, 16)]));
  return c.nodes.map((n) => {
    const settings = nodeProxySettings(c, n);
    return {
      node: { ...settings.node },
      netns: nodeNetns(c.lab, n.name),
      hashes,
      sysctls: settings.sysctls,
      config: n.kubeProxy,
      configHash: createHash('sha1').update(JSON.stringify(settings)).digest('base64url').slice(0, 16),
    };
  });
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
