/** Checks of Service and Endpoints manifests that need nothing but the manifest itself. */
import type { V1Endpoints, V1Service } from '@kubernetes/client-node';
import type { InputProblem } from './errors.js';
import { checkLabels, dns1123Label, dns1123Subdomain, ianaSvcName, qualifiedName, specialIP } from './apimachinery.js';

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const TRAFFIC_DISTRIBUTIONS = ['PreferClose', 'PreferSameZone', 'PreferSameNode'];
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
  // ValidateService: ports are required except for a headless Service (clusterIP: None).
  const headless = spec.clusterIP === 'None';
  const externalName = type === 'ExternalName';
  if (!spec.ports?.length && !headless && !externalName) add('spec.ports', 'a Service needs at least one port');
  if (externalName) {
    // ValidateService: a DNS-1123 subdomain (a trailing dot allowed); no ClusterIP.
    const target = typeof spec.externalName === 'string' ? spec.externalName.replace(/\.$/, '') : '';
    if (!target) add('spec.externalName', 'Required value: an ExternalName Service names the DNS name it aliases');
    else {
      const bad = dns1123Subdomain(target);
      if (bad) add('spec.externalName', bad);
    }
    if (spec.clusterIP !== undefined && spec.clusterIP !== '') add('spec.clusterIP', 'may not be set for ExternalName services');
  }
  if (headless && type !== 'ClusterIP') add('spec.clusterIP', `may not be set to 'None' for ${type} services; use type ClusterIP for a headless Service`);
  const names = new Set<string>();
  const portProtocols = new Set<string>();
  // ValidateService: a selector's keys and values are label keys and values.
  checkLabels(spec.selector, "spec.selector", add);
  (spec.ports ?? []).forEach((p, i) => {
    const at = `spec.ports[${i}]`;
    if (!isPort(p.port)) add(`${at}.port`, `${p.port === undefined ? 'is required' : `${String(p.port)} must be a port number from 1 to 65535`}`);
    if (p.protocol !== undefined && !PROTOCOLS.includes(p.protocol)) add(`${at}.protocol`, `Unsupported value: "${p.protocol}": supported values: "SCTP", "TCP", "UDP"`);
    // validateServicePort: names required when > 1 port, DNS-1123 labels, unique.
    if (spec.ports!.length > 1 && !p.name) add(`${at}.name`, 'Required value: is required when a Service has several ports');
    else if (p.name) {
      const bad = dns1123Label(p.name);
      if (bad) add(`${at}.name`, bad);
    }
    if (p.name && names.has(p.name)) add(`${at}.name`, `Duplicate value: "${p.name}"`);
    names.add(p.name ?? '');
    // ValidateService: port + protocol unique (protocol defaults to TCP).
    const pp = `${String(p.port)}/${p.protocol ?? 'TCP'}`;
    if (isPort(p.port) && portProtocols.has(pp)) add(`${at}`, `Duplicate value: {port: ${p.port}, protocol: "${p.protocol ?? 'TCP'}"}`);
    portProtocols.add(pp);
    // validateServicePort: targetPort is a port number or an IANA_SVC_NAME.
    const tp = p.targetPort as unknown;
    if (tp !== undefined && typeof tp === 'string') {
      const bad = ianaSvcName(tp);
      if (bad) add(`${at}.targetPort`, bad);
    } else if (tp !== undefined && !isPort(tp)) add(`${at}.targetPort`, `${JSON.stringify(tp)} must be a port number or a container port name`);
    if (p.nodePort !== undefined && (type === 'ClusterIP' || externalName)) add(`${at}.nodePort`, 'is only allowed for type NodePort or LoadBalancer');
  });
  checkFamilies(spec, type, add);
  if (spec.clusterIP !== undefined && spec.clusterIP !== '' && !headless && !externalName && !IPV4.test(spec.clusterIP))
    add('spec.clusterIP', `'${spec.clusterIP}' must be an IPv4 address, or None for a headless Service`);
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
  if (spec.externalTrafficPolicy === 'Local' && (type === 'ClusterIP' || externalName)) add('spec.externalTrafficPolicy', 'applies only to NodePort and LoadBalancer services');
  if (spec.trafficDistribution !== undefined && !TRAFFIC_DISTRIBUTIONS.includes(spec.trafficDistribution))
    add('spec.trafficDistribution', `Unsupported value: "${spec.trafficDistribution}": supported values: ${TRAFFIC_DISTRIBUTIONS.map((t) => `"${t}"`).join(', ')}`);
  if (spec.publishNotReadyAddresses !== undefined && typeof spec.publishNotReadyAddresses !== 'boolean') add('spec.publishNotReadyAddresses', 'must be true or false');
  (spec.externalIPs ?? []).forEach((ip, i) => IPV4.test(ip) || add(`spec.externalIPs[${i}]`, `'${ip}' must be an IPv4 address`));
  if (spec.loadBalancerIP !== undefined && !IPV4.test(spec.loadBalancerIP)) add('spec.loadBalancerIP', `'${spec.loadBalancerIP}' must be an IPv4 address`);
  // ValidateService trims each range before parsing it (strings.TrimSpace); kemu keeps the trimmed value.
  if (Array.isArray(spec.loadBalancerSourceRanges)) spec.loadBalancerSourceRanges = spec.loadBalancerSourceRanges.map((r) => (typeof r === 'string' ? r.trim() : r));
  (spec.loadBalancerSourceRanges ?? []).forEach((r, i) => /^[\d.]+\/\d+$/.test(r) || add(`spec.loadBalancerSourceRanges[${i}]`, `'${r}' must be an IPv4 CIDR`));
}

export function checkEndpoints(ep: V1Endpoints, where: string, problems: InputProblem[]): void {
  (ep.subsets ?? []).forEach((s, i) => {
    for (const field of ['addresses', 'notReadyAddresses'] as const)
      (s[field] ?? []).forEach((a, j) => {
        const path = `${where}.subsets[${i}].${field}[${j}].ip`;
        if (!IPV4.test(a.ip)) return problems.push({ path, message: `'${a.ip}' must be an IPv4 address` });
        // ValidateEndpoints → ValidateNonSpecialIP: no loopback, link-local or unspecified addresses.
        const special = specialIP(a.ip);
        if (special) problems.push({ path, message: `Invalid value: "${a.ip}": ${special}` });
      });
    (s.ports ?? []).forEach((p, j) => isPort(p.port) || problems.push({ path: `${where}.subsets[${i}].ports[${j}].port`, message: `${String(p.port)} must be a port number from 1 to 65535` }));
  });
}

/**
 * clusterIPs, the IP families and the load-balancer fields, as the API server of a single-stack IPv4
 * cluster takes them (ValidateService, validateServiceFields; the IPv6 family and RequireDualStack are
 * refused by name in unsupported.ts). clusterIPs[0] becomes clusterIP when that is not given, as the
 * API server's defaulting does.
 */
function checkFamilies(spec: NonNullable<V1Service['spec']>, type: string, add: (path: string, message: string) => void): void {
  const policy = spec.ipFamilyPolicy as string | undefined;
  if (policy !== undefined && !['SingleStack', 'PreferDualStack', 'RequireDualStack'].includes(policy))
    add('spec.ipFamilyPolicy', `Unsupported value: "${policy}": supported values: "PreferDualStack", "RequireDualStack", "SingleStack"`);
  const families = spec.ipFamilies as unknown;
  if (families !== undefined && !Array.isArray(families)) add('spec.ipFamilies', 'must be a list such as [IPv4]');
  else if (Array.isArray(families)) {
    const seen = new Set<unknown>();
    families.forEach((f, i) => {
      if (f !== 'IPv4' && f !== 'IPv6') add(`spec.ipFamilies[${i}]`, `Unsupported value: ${JSON.stringify(f)}: supported values: "IPv4", "IPv6"`);
      else if (seen.has(f)) add(`spec.ipFamilies[${i}]`, `Duplicate value: "${f}"`);
      seen.add(f);
    });
    if (families.length > 2) add('spec.ipFamilies', 'may specify no more than one IP for each IP family');
  }
  const ips = spec.clusterIPs as unknown;
  if (ips !== undefined && !Array.isArray(ips)) add('spec.clusterIPs', 'must be a list of addresses');
  else if (Array.isArray(ips) && ips.length) {
    if (ips.length > 1) add('spec.clusterIPs', `${ips.length} addresses need a dual-stack cluster; the lab is single-stack IPv4: give one address`);
    else if (spec.clusterIP !== undefined && spec.clusterIP !== '' && spec.clusterIP !== ips[0]) add('spec.clusterIPs[0]', `Invalid value: ${JSON.stringify(ips[0])}: must match \`clusterIP\` (${spec.clusterIP})`);
    else if (typeof ips[0] !== 'string' || (!IPV4.test(ips[0]) && ips[0] !== 'None')) add('spec.clusterIPs[0]', `'${String(ips[0])}' must be an IPv4 address`);
    else spec.clusterIP = ips[0];
  }
  const lbOnly = 'Forbidden: may only be used when `type` is \'LoadBalancer\'';
  if (spec.loadBalancerClass !== undefined && spec.loadBalancerClass !== null) {
    if (type !== 'LoadBalancer') add('spec.loadBalancerClass', lbOnly);
    else {
      const bad = typeof spec.loadBalancerClass === 'string' ? qualifiedName(spec.loadBalancerClass) : 'must be a string';
      if (bad) add('spec.loadBalancerClass', bad);
    }
  }
  const alloc = spec.allocateLoadBalancerNodePorts as unknown;
  if (alloc !== undefined && alloc !== null) {
    if (typeof alloc !== 'boolean') add('spec.allocateLoadBalancerNodePorts', 'must be true or false');
    else if (type !== 'LoadBalancer') add('spec.allocateLoadBalancerNodePorts', lbOnly);
  }
}
