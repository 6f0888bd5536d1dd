/** Checks of Service and Endpoints manifests that need nothing but the manifest itself. */
import type { V1Endpoints, V1Service } from '@kubernetes/client-node';
import type { InputProblem } from './errors.js';

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const TRAFFIC_DISTRIBUTIONS = ['PreferClose', 'PreferSameZone', 'PreferSameNode'];
const IANA_SVC_NAME = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const isPort = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;

export function checkService(svc: V1Service, where: string, problems: InputProblem[]): void {
  const add = (path: string, message: string) => problems.push({ path: `${where}.${path}`, message });
  const spec = svc.spec;
  if (!spec) {
    add('spec', 'is required');
    return;
  }
  const type = spec.type ?? 'ClusterIP';
  if (!(SERVICE_TYPES as readonly string[]).includes(type)) add('spec.type', `unknown service type '${type}'; use ${SERVICE_TYPES.join(', ')}`);
  if (!spec.ports?.length) add('spec.ports', 'a Service needs at least one port');
  const names = new Set<string>();
  (spec.ports ?? []).forEach((p, i) => {
    const at = `spec.ports[${i}]`;
    if (!isPort(p.port)) add(`${at}.port`, `${p.port === undefined ? 'is required' : `${String(p.port)} must be a port number from 1 to 65535`}`);
    if (p.protocol !== undefined && !PROTOCOLS.includes(p.protocol)) add(`${at}.protocol`, `Unsupported value: "${p.protocol}": supported values: "SCTP", "TCP", "UDP"`);
    if ((spec.ports!.length > 1 && !p.name) || (p.name !== undefined && !DNS_LABEL.test(p.name)))
      add(`${at}.name`, spec.ports!.length > 1 && !p.name ? 'is required when a Service has several ports' : `'${p.name}' must be a DNS-1123 label`);
    if (p.name && names.has(p.name)) add(`${at}.name`, `duplicate port name '${p.name}'`);
    names.add(p.name ?? '');
    const tp = p.targetPort as unknown;
    if (tp !== undefined && !(typeof tp === 'string' ? IANA_SVC_NAME.test(tp) : isPort(tp)))
      add(`${at}.targetPort`, `${JSON.stringify(tp)} must be a port number or a container port name`);
    if (p.nodePort !== undefined && type === 'ClusterIP') add(`${at}.nodePort`, 'is only allowed for type NodePort or LoadBalancer');
  });
  if (spec.clusterIP !== undefined && spec.clusterIP !== '' && !IPV4.test(spec.clusterIP))
    add('spec.clusterIP', `'${spec.clusterIP}' must be an IPv4 address (headless services are not supported)`);
  if (spec.sessionAffinity !== undefined && spec.sessionAffinity !== 'None' && spec.sessionAffinity !== 'ClientIP')
    add('spec.sessionAffinity', `'${spec.sessionAffinity}' must be None or ClientIP`);
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 1 || timeout > 86400))
    add('spec.sessionAffinityConfig.clientIP.timeoutSeconds', `${timeout} must be from 1 to 86400`);
  for (const [field, value] of [
    ['externalTrafficPolicy', spec.externalTrafficPolicy],
    ['internalTrafficPolicy', spec.internalTrafficPolicy],
  ] as const)
    if (value !== undefined && value !== 'Cluster' && value !== 'Local') add(`spec.${field}`, `'${value}' must be Cluster or Local`);
  if (spec.externalTrafficPolicy === 'Local' && type === 'ClusterIP') add('spec.externalTrafficPolicy', 'applies only to NodePort and LoadBalancer services');
  if (spec.trafficDistribution !== undefined && !TRAFFIC_DISTRIBUTIONS.includes(spec.trafficDistribution))
    add('spec.trafficDistribution', `Unsupported value: "${spec.trafficDistribution}": supported values: ${TRAFFIC_DISTRIBUTIONS.map((t) => `"${t}"`).join(', ')}`);
  if (spec.publishNotReadyAddresses !== undefined && typeof spec.publishNotReadyAddresses !== 'boolean') add('spec.publishNotReadyAddresses', 'must be true or false');
  (spec.externalIPs ?? []).forEach((ip, i) => IPV4.test(ip) || add(`spec.externalIPs[${i}]`, `'${ip}' must be an IPv4 address`));
  if (spec.loadBalancerIP !== undefined && !IPV4.test(spec.loadBalancerIP)) add('spec.loadBalancerIP', `'${spec.loadBalancerIP}' must be an IPv4 address`);
  (spec.loadBalancerSourceRanges ?? []).forEach((r, i) => /^[\d.]+\/\d+$/.test(r) || add(`spec.loadBalancerSourceRanges[${i}]`, `'${r}' must be an IPv4 CIDR`));
}

export function checkEndpoints(ep: V1Endpoints, where: string, problems: InputProblem[]): void {
  (ep.subsets ?? []).forEach((s, i) => {
    (s.addresses ?? []).forEach((a, j) => IPV4.test(a.ip) || problems.push({ path: `${where}.subsets[${i}].addresses[${j}].ip`, message: `'${a.ip}' must be an IPv4 address` }));
    (s.ports ?? []).forEach((p, j) => isPort(p.port) || problems.push({ path: `${where}.subsets[${i}].ports[${j}].port`, message: `${String(p.port)} must be a port number from 1 to 65535` }));
  });
}
