/** The lab's spec + the store (+ what the lab had before) → desired cluster state. Pure. */
import type { V1Service } from '@kubernetes/client-node';
import { InputError, type InputProblem } from '../topology/errors.js';
import { podIpAnnotation } from '../topology/annotations.js';
import type { Manifest } from '../topology/manifests.js';
import type { LabSpec } from '../topology/types.js';
import { MAX_NETNS_NAME, podNetns } from '../topology/names.js';
import { parseCidr } from '../util/ipv4.js';
import { allocate } from './ipam.js';
import { addServicePorts, podIntents, type PodIntent } from './pods.js';
import { selects } from './endpoints.js';
import { controllerOf, getObject, listObjects, objectKey, STORED_KINDS, type Store, type StoredKind, type StoredPod } from './store.js';
import type { ClusterState, ManualEndpoints, PodState } from './types.js';
import { assignUnderlay } from './underlay.js';
import { hostPortConflicts } from './host-port-conflicts.js';
import { buildServices } from './services.js';
import { buildMetallb } from './metallb.js';
import { defaultKubeProxyConfig } from '../topology/kube-proxy/validate.js';
import { toNetworkPolicyState } from '../topology/network-policy.js';

/** `Kind/key` → where the object was written in the user's files (for messages); others are named by kind and key. */
export type Origins = Map<string, string>;

export function buildCluster(t: LabSpec, store: Store, previous?: ClusterState, origins: Origins = new Map()): ClusterState {
  const originOf = (kind: string, key: string) => origins.get(`${kind}/${key}`) ?? `${kind} ${key}`;
  // A controller's pod answers for the manifest that asked for it (a Deployment's, through its ReplicaSet).
  const podOrigin = (p: StoredPod) => {
    const key = objectKey('Pod', p.metadata);
    let top: { kind: string; name: string } | undefined;
    for (let o = controllerOf(p.metadata); o; ) {
      top = o;
      const obj = STORED_KINDS.includes(o.kind as StoredKind) ? getObject(store, o.kind as StoredKind, `${p.metadata.namespace}/${o.name}`) : undefined;
      o = obj && controllerOf(obj.metadata);
    }
    return origins.get(`Pod/${key}`) ?? (top ? originOf(top.kind, `${p.metadata.namespace}/${top.name}`) : `Pod ${key}`);
  };
  const intents = podIntents(store, podOrigin);
  const key = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

  const problems: InputProblem[] = [];
  for (const p of intents) {
    const netns = podNetns(t.name, p.namespace, p.name);
    if (netns.length > MAX_NETNS_NAME)
      problems.push({
        path: `${p.origin}.metadata.name`,
        message: `pod ${key(p)}: its network namespace name kemu-${t.name}.pod.… would be ${netns.length} characters, over the ${MAX_NETNS_NAME} a name in /run/netns can have; shorten the lab name (metadata.name, ${t.name.length} characters) or the pod name by ${netns.length - MAX_NETNS_NAME}`,
      });
  }
  const pool = parseCidr(t.network.podCIDR);
  // hostNetwork pods take no pod address (the kubelet calls no CNI for them).
  const addressed = intents.filter((p) => !p.hostNetwork);
  if (addressed.length > pool.size)
    problems.push({
      path: 'spec.network.podCIDR',
      message: `${t.network.podCIDR} holds ${pool.size} addresses but the pods need ${addressed.length}; use a /${32 - Math.ceil(Math.log2(addressed.length))} or larger`,
    });
  const previousKeys = new Set((previous?.pods ?? []).map((p) => key(p)));
  const created = (p: StoredPod) => Date.parse(p.metadata.creationTimestamp) || 0;
  const bound = listObjects(store, 'Pod')
    .filter((p) => p.spec?.nodeName)
    .sort((a, b) => created(a) - created(b));
  problems.push(...hostPortConflicts([...bound.filter((p) => previousKeys.has(objectKey('Pod', p.metadata))), ...bound.filter((p) => !previousKeys.has(objectKey('Pod', p.metadata)))], podOrigin));
  if (problems.length) throw new InputError(t.file, problems);

  const underlay = assignUnderlay(
    t.network,
    [...t.nodes.map((n, i) => ({ ...n, path: `spec.nodes[${i}]` })), ...t.externalHosts.map((h, i) => ({ ...h, path: `spec.externalHosts[${i}]` }))],
    new Map([...(previous?.nodes ?? []), ...(previous?.externalHosts ?? [])].map((m) => [m.name, m.ip])),
    t.file,
  );
  const previousPods = new Map((previous?.pods ?? []).map((p) => [key(p), p]));
  const tunnelKey = (node: string) => `tunnel:${node}`;
  const previousTunnels = new Map((previous?.nodes ?? []).map((n) => [n.name, n.tunnelIP]));
  const tunnels = t.network.routing === 'ipip' ? t.nodes.map((n) => ({ key: tunnelKey(n.name), node: n.name, pinned: false, want: previousTunnels.get(n.name) })) : [];
  // Pods that ran before keep their address first (a terminating one holds it until it is gone).
  const byAge = [...addressed].sort((a, b) => Number(!previousPods.has(key(a))) - Number(!previousPods.has(key(b))));
  const ipam = allocate(
    t.network.podCIDR,
    t.network.blockSize,
    [
      ...tunnels,
      ...byAge.map((p) => {
        const pinned = podIpAnnotation(p.annotations).ip;
        const prev = previousPods.get(key(p));
        return { key: key(p), node: p.nodeName, pinned: pinned !== undefined, want: pinned ?? (prev?.nodeName === p.nodeName ? prev.ip : undefined) };
      }),
    ],
    new Map((previous?.nodes ?? []).map((n) => [n.name, n.blocks])),
  );
  if (ipam.failures.length) {
    throw new InputError(
      t.file,
      ipam.failures.map((f) => {
        const origin = intents.find((p) => key(p) === f.key)?.origin ?? 'spec.network.podCIDR';
        return { path: `${origin}.metadata.annotations`, message: `pod ${f.key}: ${f.reason}` };
      }),
    );
  }
  const pods: PodState[] = intents.map((p) => podState(p, p.hostNetwork ? underlay.get(p.nodeName)! : ipam.addresses.get(key(p))!, underlay.get(p.nodeName)!));
  const serviceProblems: InputProblem[] = [];
  const serviceManifests: Manifest[] = listObjects(store, 'Service').map((s) => ({ kind: 'Service', object: s as unknown as V1Service, origin: originOf('Service', objectKey('Service', s.metadata)) }));
  const metallb = buildMetallb(t.network, store, originOf, serviceProblems);
  if (serviceProblems.length) throw new InputError(t.file, serviceProblems);
  const reserved = new Set([...underlay.values(), ...t.network.underlay.racks.map((r) => r.gateway)]);
  const services = buildServices(t.network, serviceManifests, pods, previous?.services ?? [], serviceProblems, metallb, reserved);
  if (serviceProblems.length) throw new InputError(t.file, serviceProblems);
  // hostNetwork pods share their node's namespace: a service port one of them already listens on is not added to another.
  const nodePorts = new Map<string, Set<string>>();
  const portsOf = (p: PodState) => p.containers.flatMap((c) => [...c.tcpPorts.map((n) => `TCP/${n}`), ...c.udpPorts.map((n) => `UDP/${n}`)]);
  for (const p of pods) if (p.hostNetwork) for (const k of portsOf(p)) (nodePorts.get(p.nodeName) ?? nodePorts.set(p.nodeName, new Set()).get(p.nodeName)!).add(k);
  for (const p of pods) {
    const targets = services.filter((s) => s.selector && selects(s, p)).flatMap((s) => s.ports.flatMap((port) => (typeof port.targetPort === 'number' && port.protocol !== 'SCTP' ? [{ port: port.targetPort, protocol: port.protocol }] : [])));
    const own = p.hostNetwork ? new Set(portsOf(p)) : undefined;
    const taken = p.hostNetwork ? nodePorts.get(p.nodeName)! : undefined;
    p.containers = addServicePorts(p.containers, taken ? targets.filter((t) => own!.has(`${t.protocol}/${t.port}`) || !taken.has(`${t.protocol}/${t.port}`)) : targets);
    if (taken) for (const k of portsOf(p)) taken.add(k);
  }
  return {
    lab: t.name,
    network: { ...t.network, serviceClusterIPs: t.network.serviceClusterIPs ?? [] },
    nodes: t.nodes.map((n) => ({
      name: n.name,
      ip: underlay.get(n.name)!,
      rack: n.rack,
      asNumber: n.asNumber ?? t.network.asNumber,
      labels: n.labels,
      extraAddresses: n.extraAddresses,
      blocks: ipam.blocks.get(n.name) ?? [],
      ...(ipam.addresses.has(tunnelKey(n.name)) ? { tunnelIP: ipam.addresses.get(tunnelKey(n.name))! } : {}),
      capacity: n.capacity,
      unschedulable: n.unschedulable,
      ...(n.taints?.length ? { taints: n.taints } : {}),
      // A record written before kubeProxy existed: kube-proxy's defaults, as it ran then.
      kubeProxy: n.kubeProxy ?? defaultKubeProxyConfig(),
    })),
    externalHosts: t.externalHosts.map((h) => ({ name: h.name, ip: underlay.get(h.name)!, rack: h.rack, extraAddresses: h.extraAddresses })),
    pods,
    services,
    manualEndpoints: manualEndpoints(store),
    metallb,
    ...(t.dns ? { dns: t.dns } : {}),
    networkPolicies: listObjects(store, 'NetworkPolicy').map((np) => toNetworkPolicyState(np)),
    namespaceLabels: Object.fromEntries(listObjects(store, 'Namespace').map((ns) => [ns.metadata.name, { ...(ns.metadata.labels ?? {}) }])),
  };
}

function podState(p: PodIntent, ip: string, hostIP: string): PodState {
  return {
    namespace: p.namespace,
    name: p.name,
    labels: p.labels,
    annotations: p.annotations,
    nodeName: p.nodeName,
    ip,
    hostIP,
    ...(p.hostname ? { hostname: p.hostname } : {}),
    ...(p.subdomain ? { subdomain: p.subdomain } : {}),
    ...(p.dns ? { dns: p.dns } : {}),
    ...(p.sysctls ? { sysctls: p.sysctls } : {}),
    ...(p.hostNetwork ? { hostNetwork: true as const } : {}),
    containers: p.containers,
    ...(p.owner ? { owner: p.owner } : {}),
    ...(p.terminating ? { terminating: true as const } : {}),
    restartPolicy: p.restartPolicy,
    origin: p.origin,
  };
}

/** Hand-written Endpoints objects (for selector-less services). */
function manualEndpoints(store: Store): ManualEndpoints[] {
  return listObjects(store, 'Endpoints').map((ep) => ({
    namespace: ep.metadata.namespace ?? 'default',
    name: ep.metadata.name,
    subsets: (ep.subsets ?? []).map((s) => ({
      addresses: (s.addresses ?? []).map((a) => ({ ip: a.ip, ...(a.nodeName ? { nodeName: a.nodeName } : {}) })),
      ports: (s.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' })),
    })),
  }));
}
