/**
 * Services as the API server and MetalLB would settle them: ClusterIPs from the service CIDR, node ports
 * from the lab's range, health-check ports, LoadBalancer ingress IPs from the lab's pool. Given values
 * are checked; allocated ones are the lowest free and stay with the service across runs.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { InputProblem } from '../topology/errors.js';
import type { Manifest } from '../topology/manifests.js';
import type { NetworkSpec } from '../topology/types.js';
import { cidrContains, intToIp, ipToInt, parseCidr } from '../util/ipv4.js';
import { lbAllocator, shorthandMetallb } from './lb-allocation.js';
import type { MetallbState } from './metallb.js';
import type { PodState, ServiceState } from './types.js';
import { selects } from './endpoints.js';


/** Offsets in the service CIDR of the cluster's own Services; a Service that pins one keeps it. */
export const RESERVED_SERVICE_IPS: ReadonlyArray<[number, string]> = [
  [1, 'default/kubernetes'],
  [10, 'kube-system/kube-dns'],
];

/**
 * `metallb` is the lab's MetalLB configuration (default: the topology's loadBalancerPool shorthand);
 * `reserved` the underlay addresses machines hold, which an L2 pool in the underlay must not hand out.
 */
export function buildServices(net: NetworkSpec, manifests: Manifest[], pods: PodState[], previous: ServiceState[], problems: InputProblem[], metallb?: MetallbState, reserved: Set<string> = new Set()): ServiceState[] {
  const svcs = manifests.filter((m): m is Extract<Manifest, { kind: 'Service' }> => m.kind === 'Service');
  const key = (ns: string, name: string) => `${ns}/${name}`;
  const prev = new Map(previous.map((s) => [key(s.namespace, s.name), s]));
  const serviceCidr = parseCidr(net.serviceCIDR);
  const usedIps = new Map<string, string>();
  const usedNodePorts = new Map<string, string>();
  const seen = new Set<string>();

  const out = svcs.map(({ object: svc, origin }) => {
    const spec = svc.spec!;
    const ns = svc.metadata!.namespace ?? 'default';
    const name = svc.metadata!.name!;
    if (seen.has(key(ns, name))) problems.push({ path: `${origin}.metadata.name`, message: `duplicate Service '${key(ns, name)}'` });
    seen.add(key(ns, name));
    const type = (spec.type ?? 'ClusterIP') as ServiceState['type'];
    const external = type === 'NodePort' || type === 'LoadBalancer';
    const alias = type === 'ExternalName' ? { externalName: (spec.externalName ?? '').replace(/\.$/, '') } : {};
    const etp = (spec.externalTrafficPolicy ?? 'Cluster') as 'Cluster' | 'Local';
    return {
      svc,
      origin,
      state: {
        namespace: ns,
        name,
        type,
        clusterIP: spec.clusterIP ?? '',
        ...alias,
        ports: (spec.ports ?? []).map((p) => ({
          name: p.name ?? '',
          protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' | 'SCTP',
          port: p.port,
          targetPort: (p.targetPort as number | string | undefined) ?? p.port,
          ...(external && p.nodePort ? { nodePort: p.nodePort } : {}),
        })),
        // The EndpointSlice controller skips ExternalName Services, selector or not.
        ...(spec.selector && Object.keys(spec.selector).length && type !== 'ExternalName' ? { selector: spec.selector } : {}),
        ...(spec.sessionAffinity === 'ClientIP' ? { sessionAffinityTimeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800 } : {}),
        externalTrafficPolicy: external ? etp : 'Cluster',
        internalTrafficPolicy: (spec.internalTrafficPolicy ?? 'Cluster') as 'Cluster' | 'Local',
        externalIPs: spec.externalIPs ?? [],
        loadBalancerIPs: [],
        loadBalancerSourceRanges: type === 'LoadBalancer' ? (spec.loadBalancerSourceRanges ?? []) : [],
        ...(type === 'LoadBalancer' && etp === 'Local' && spec.healthCheckNodePort ? { healthCheckNodePort: spec.healthCheckNodePort } : {}),
        publishNotReadyAddresses: spec.publishNotReadyAddresses === true,
        ...(spec.trafficDistribution ? { trafficDistribution: spec.trafficDistribution } : {}),
        labels: svc.metadata!.labels ?? {},
        annotations: svc.metadata!.annotations ?? {},
        origin,
      } as ServiceState,
    };
  });

  // Given values first, so nothing allocated can take them.
  for (const { state: s, origin } of out) {
    if (s.clusterIP && s.clusterIP !== 'None') {
      if (!cidrContains(serviceCidr, ipToInt(s.clusterIP))) problems.push({ path: `${origin}.spec.clusterIP`, message: `${s.clusterIP} is outside the service CIDR ${net.serviceCIDR}` });
      else claim(usedIps, s.clusterIP, `${s.namespace}/${s.name}`, `${origin}.spec.clusterIP`, 'clusterIP', problems);
    }
    s.ports.forEach((p, i) => {
      if (p.nodePort === undefined) return;
      if (p.nodePort < net.nodePortRange.min || p.nodePort > net.nodePortRange.max)
        problems.push({ path: `${origin}.spec.ports[${i}].nodePort`, message: `${p.nodePort} is outside the node-port range ${net.nodePortRange.min}-${net.nodePortRange.max} (spec.network.nodePortRange)` });
      else claim(usedNodePorts, `${p.protocol}/${p.nodePort}`, `${s.namespace}/${s.name}`, `${origin}.spec.ports[${i}].nodePort`, 'nodePort', problems);
    });
    if (s.healthCheckNodePort !== undefined) claim(usedNodePorts, `TCP/${s.healthCheckNodePort}`, `${s.namespace}/${s.name}`, `${origin}.spec.healthCheckNodePort`, 'healthCheckNodePort', problems);
  }
  const lb = lbAllocator(metallb ?? shorthandMetallb(net), reserved);
  // A class no controller here handles stays <pending>, as MetalLB leaves a Service of another class.
  for (const { state: s, svc, origin } of out) if (s.type === 'LoadBalancer') {
    if (svc.spec?.loadBalancerClass) s.loadBalancerIPs = [];
    else lb.claimRequested(s, svc, origin, problems);
  }
  if (problems.length) return out.map((o) => o.state);

  // Then what each service had before, then the lowest free, past the addresses the cluster's own
  // Services hold (default/kubernetes at the first, kube-system/kube-dns at the tenth, as kubeadm).
  for (const [offset, owner] of RESERVED_SERVICE_IPS) {
    const ip = intToIp(serviceCidr.base + offset);
    if (!usedIps.has(ip)) usedIps.set(ip, owner);
  }
  for (const { state: s, svc, origin } of out) {
    const before = prev.get(`${s.namespace}/${s.name}`);
    if (!s.clusterIP && s.type !== 'ExternalName') s.clusterIP = keepOrTake(usedIps, before?.clusterIP, (ip) => cidrContains(serviceCidr, ipToInt(ip)), () => firstFree(serviceCidr.base + 1, serviceCidr.base + serviceCidr.size - 2, (n) => intToIp(n), usedIps), `${s.namespace}/${s.name}`) ?? fail(problems, `${origin}.spec.clusterIP`, `the service CIDR ${net.serviceCIDR} is full`);
    const portOk = (p: number) => p >= net.nodePortRange.min && p <= net.nodePortRange.max;
    const freePort = (proto: string) => firstFree(net.nodePortRange.min, net.nodePortRange.max, (n) => `${proto}/${n}`, usedNodePorts);
    // allocateLoadBalancerNodePorts: false: a LoadBalancer Service gets only the node ports it names.
    if ((s.type === 'NodePort' || s.type === 'LoadBalancer') && !(s.type === 'LoadBalancer' && svc.spec?.allocateLoadBalancerNodePorts === false))
      s.ports.forEach((p, i) => {
        if (p.nodePort !== undefined) return;
        const had = before?.ports.find((b) => b.name === p.name && b.protocol === p.protocol)?.nodePort;
        const got = keepOrTake(usedNodePorts, had !== undefined ? `${p.protocol}/${had}` : undefined, (k) => portOk(Number(k.split('/')[1])), () => freePort(p.protocol), `${s.namespace}/${s.name}`);
        if (got) p.nodePort = Number(got.split('/')[1]);
        else fail(problems, `${origin}.spec.ports[${i}].nodePort`, `no free node port left in ${net.nodePortRange.min}-${net.nodePortRange.max}`);
      });
    if (s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local' && s.healthCheckNodePort === undefined) {
      const got = keepOrTake(usedNodePorts, before?.healthCheckNodePort !== undefined ? `TCP/${before.healthCheckNodePort}` : undefined, (k) => portOk(Number(k.split('/')[1])), () => freePort('TCP'), `${s.namespace}/${s.name}`);
      if (got) s.healthCheckNodePort = Number(got.split('/')[1]);
    }
    if (s.type === 'LoadBalancer' && s.loadBalancerIPs.length === 0 && !svc.spec?.loadBalancerClass) lb.allocate(s, before);
  }
  checkTargetPorts(out.map((o) => o.state), pods, problems);
  return out.map((o) => o.state);
}

function claim(used: Map<string, string>, value: string, owner: string, path: string, what: string, problems: InputProblem[]): void {
  const other = used.get(value);
  if (other && other !== owner) problems.push({ path, message: `${what} ${value.replace(/^(TCP|UDP)\//, '')} is already taken by ${other}` });
  used.set(value, owner);
}

function keepOrTake(used: Map<string, string>, had: string | undefined, valid: (v: string) => boolean, next: () => string | undefined, owner: string): string | undefined {
  const value = had !== undefined && valid(had) && !used.has(had) ? had : next();
  if (value !== undefined) used.set(value, owner);
  return value;
}

function firstFree(from: number, to: number, show: (n: number) => string, used: Map<string, string>): string | undefined {
  for (let n = from; n <= to; n++) if (!used.has(show(n))) return show(n);
  return undefined;
}

function fail(problems: InputProblem[], path: string, message: string): string {
  problems.push({ path, message });
  return '';
}

/** A named targetPort must be declared by at least one of the pods the service selects. */
function checkTargetPorts(services: ServiceState[], pods: PodState[], problems: InputProblem[]): void {
  for (const s of services) {
    if (!s.selector) continue;
    const selected = pods.filter((p) => selects(s, p));
    if (selected.length === 0) continue;
    s.ports.forEach((port, i) => {
      if (typeof port.targetPort !== 'string') return;
      const declared = selected.some((p) => p.containers.some((c) => c.declaredPorts.some((d) => d.name === port.targetPort && d.protocol === port.protocol)));
      if (!declared)
        problems.push({ path: `${s.origin}.spec.ports[${i}].targetPort`, message: `no container of the ${selected.length} selected pod(s) declares a ${port.protocol} port named '${port.targetPort}'` });
    });
  }
}
