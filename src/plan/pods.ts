/** Calico-style pod wiring (cni-plugin DoNetworking + Felix's endpoint extras), as plan lines. */
import type { ClusterState, PodState } from '../cluster/types.js';
import { caliName, nodeNetns, podMac, podNetns } from '../topology/names.js';
import { planHash } from './hash.js';
import type { PodPlan } from './types.js';
import type { ContainerState } from '../cluster/types.js';
import { podHostsFile, podResolverConfig, resolvConf } from './dns/pod-files.js';

export const CALICO_GATEWAY = '169.254.1.1';
export const CALICO_HOST_MAC = 'ee:ee:ee:ee:ee:ee';
/** The kubelet cuts a pod's hostname to 63 characters. */
const MAX_HOSTNAME = 63;

export function planPod(c: ClusterState, pod: PodState): PodPlan {
  const netns = podNetns(c.lab, pod.namespace, pod.name);
  const cali = caliName(pod.namespace, pod.name);
  const mac = podMac(pod.namespace, pod.name);
  // Calico sizes pod interfaces for the encapsulation: IPIP takes 20 bytes.
  const mtu = c.network.underlay.mtu - (c.network.routing === 'ipip' ? 20 : 0);
  // The pod side runs inside the new sandbox and creates the pair, placing the host end in the node.
  // A hostNetwork pod's holder joins the node's namespace: nothing to wire on either side.
  const podLines = pod.hostNetwork ? [] : [
    'link set lo up',
    `link add name eth0 address ${mac} mtu ${mtu} type veth peer name ${cali} address ${CALICO_HOST_MAC} mtu ${mtu} netns ${nodeNetns(c.lab, pod.nodeName)}`,
    `addr add ${pod.ip}/32 dev eth0`,
    'link set eth0 up',
    `route add ${CALICO_GATEWAY} dev eth0 scope link`,
    `route add default via ${CALICO_GATEWAY} dev eth0`,
  ];
  const nodeLines = pod.hostNetwork ? [] : [
    // net.ipv4.neigh.<cali>.proxy_delay=0: answer proxy ARP at once (the default waits up to 0.8 s).
    `ntable change name arp_cache dev ${cali} proxy_delay 0`,
    `link set dev ${cali} up`,
    `route add ${pod.ip} dev ${cali} scope link`,
    `neigh replace ${pod.ip} lladdr ${mac} dev ${cali} nud permanent`,
  ];
  const containers = pod.containers.map((ct) => {
    const args = serverArgs(ct);
    // Only containers with extra arguments (or a program) hash them: the others keep the hash they always had.
    const c = { name: ct.name, tcpPorts: ct.tcpPorts, udpPorts: ct.udpPorts, ...(args.length ? { args } : {}), ...(ct.program ? { program: ct.program } : {}) };
    return { ...c, args, hash: planHash(c) };
  });
  // The kubelet gives a hostNetwork pod the node's UTS namespace: its hostname is the node's name.
  const hostname = pod.hostNetwork ? pod.nodeName : (pod.hostname ?? pod.name).slice(0, MAX_HOSTNAME).replace(/[.-]+$/, '');
  // The sandbox's hash leaves the containers out: a container changes by restarting, not by a new sandbox.
  // Sysctls only when asked for: the hash of every other sandbox stays what it was.
  const etc = podEtcFiles(c, pod, hostname);
  const plan = { netns, hostname, node: pod.nodeName, ip: pod.ip, nodeLines, podLines, ...(pod.sysctls ? { sysctls: pod.sysctls } : {}), ...(pod.hostNetwork ? { hostNetwork: true as const } : {}), ...(etc ? { etc } : {}) };
  return {
    containers,
    key: `${pod.namespace}/${pod.name}`,
    namespace: pod.namespace,
    name: pod.name,
    nodeNetns: nodeNetns(c.lab, pod.nodeName),
    caliName: cali,
    ...plan,
    terminating: pod.terminating === true,
    hash: planHash(plan),
  };
}

/**
 * The files the kubelet writes for the pod, when the lab runs cluster DNS: resolv.conf by dnsPolicy
 * (the node's resolver is the topology's upstream), and the managed hosts file — not for a
 * hostNetwork pod, which sees the node's own /etc/hosts.
 */
function podEtcFiles(c: ClusterState, pod: PodState, hostname: string): PodPlan['etc'] {
  if (!c.dns) return undefined;
  const resolv = resolvConf(
    podResolverConfig({
      namespace: pod.namespace,
      ...(pod.dns?.dnsPolicy ? { dnsPolicy: pod.dns.dnsPolicy } : {}),
      ...(pod.hostNetwork ? { hostNetwork: true } : {}),
      ...(pod.dns?.dnsConfig ? { dnsConfig: pod.dns.dnsConfig } : {}),
      clusterDNS: [c.dns.clusterIP],
      clusterDomain: c.dns.clusterDomain,
      host: { nameservers: c.dns.upstreams, searches: [], options: [] },
    }),
  );
  if (pod.hostNetwork) return { 'resolv.conf': resolv };
  const hosts = podHostsFile({ podName: pod.name, namespace: pod.namespace, podIP: pod.ip, hostname, ...(pod.subdomain ? { subdomain: pod.subdomain } : {}), clusterDomain: c.dns.clusterDomain, ...(pod.dns?.hostAliases ? { hostAliases: pod.dns.hostAliases } : {}) });
  return { 'resolv.conf': resolv, hosts };
}

/** The default server's own arguments: 200 on the probes' paths (query strings are not part of the path it matches), its exit. */
function serverArgs(c: ContainerState): string[] {
  const paths = [...new Set((c.probePaths ?? []).map((p) => p.split('?')[0]!))];
  return [
    ...paths.flatMap((p) => ['--probe-path', p]),
    ...(c.exit ? ['--exit-after', `${c.exit.afterMs}ms`, ...(c.exit.code ? ['--exit-code', String(c.exit.code)] : [])] : []),
  ];
}
