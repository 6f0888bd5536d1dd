/**
 * One node's KubeProxyConfiguration → what its kube-proxy does with it, as NewProxier and
 * platformSetup (cmd/kube-proxy/app/server_linux.go) derive it: the local-traffic detector
 * (getLocalDetectors), `primary` node-port addresses, route_localnet, the conntrack sysctls
 * (pkg/proxy/conntrack/sysctls.go). Pure.
 */
import type { ClusterState, NodeState } from '../../cluster/types.js';
import type { KubeProxyConfig } from '../../topology/types.js';
import type { LocalDetector, ProxyNode } from './types.js';
import { allowsLoopback } from './addresses.js';

/** pkg/proxy/util/localdetector.go: `-s CIDR`, `-i bridge`, `-i prefix+`, or nothing (no-op detector). */
export function localDetector(mode: KubeProxyConfig['detectLocalMode'], value: string): LocalDetector | undefined {
  if (value === '') return undefined;
  const match = mode === 'ClusterCIDR' || mode === 'NodeCIDR' ? ['-s', value] : ['-i', mode === 'InterfaceNamePrefix' ? `${value}+` : value];
  return { ifLocal: match, ifNotLocal: ['!', ...match] };
}

function detectorOf(c: ClusterState, n: NodeState, kp: KubeProxyConfig): LocalDetector | undefined {
  switch (kp.detectLocalMode) {
    case 'ClusterCIDR':
      // Not given: the pod CIDR, as kubeadm and kemu clusters pass it.
      return localDetector('ClusterCIDR', kp.clusterCIDR ?? c.network.podCIDR);
    case 'NodeCIDR':
      // The Node's spec.podCIDR (kemu: its first IPAM block); none yet: no detector, as upstream logs.
      return localDetector('NodeCIDR', n.blocks[0] ?? '');
    case 'BridgeInterface':
      return localDetector('BridgeInterface', kp.detectLocal.bridgeInterface);
    case 'InterfaceNamePrefix':
      return localDetector('InterfaceNamePrefix', kp.detectLocal.interfaceNamePrefix);
  }
}

/** nf_conntrack_max kube-proxy asks for (getConntrackMax), or 0 when it leaves the limit alone. */
export function conntrackMax(kp: KubeProxyConfig, cpus: number): number {
  const ct = kp.conntrack;
  if (ct.maxPerCore <= 0) return 0;
  const scaled = ct.maxPerCore * cpus;
  if (scaled > 1_048_576) return 1_048_576;
  return scaled > ct.min ? scaled : ct.min;
}

/** The per-namespace sysctls kube-proxy writes on this node (nf_conntrack_max is host-wide: see conntrackMax). */
export function proxySysctls(kp: KubeProxyConfig, localhostNodePorts: boolean): Record<string, string> {
  const ct = kp.conntrack;
  const out: Record<string, string> = {};
  if (localhostNodePorts) out['net.ipv4.conf.all.route_localnet'] = '1';
  if (ct.tcpEstablishedTimeout > 0) out['net.netfilter.nf_conntrack_tcp_timeout_established'] = String(ct.tcpEstablishedTimeout);
  if (ct.tcpCloseWaitTimeout > 0) out['net.netfilter.nf_conntrack_tcp_timeout_close_wait'] = String(ct.tcpCloseWaitTimeout);
  if (ct.tcpBeLiberal) out['net.netfilter.nf_conntrack_tcp_be_liberal'] = '1';
  if (ct.udpTimeout > 0) out['net.netfilter.nf_conntrack_udp_timeout'] = String(ct.udpTimeout);
  if (ct.udpStreamTimeout > 0) out['net.netfilter.nf_conntrack_udp_timeout_stream'] = String(ct.udpStreamTimeout);
  return out;
}

export interface NodeProxySettings {
  node: Omit<ProxyNode, 'nfacct'>;
  sysctls: Record<string, string>;
}

/** The ProxyNode a node's kube-proxy renders with, and the sysctls it sets. */
export function nodeProxySettings(c: ClusterState, n: NodeState): NodeProxySettings {
  const kp = n.kubeProxy;
  const primary = kp.bindAddress || n.ip;
  const extra = n.extraAddresses.map((a) => a.split('/')[0]!);
  const nodeIPs = [primary, ...[n.ip, ...extra].filter((ip) => ip !== primary)];
  const nodePortAddresses = kp.nodePortAddresses[0] === 'primary' ? [`${primary}/32`] : kp.nodePortAddresses;
  const localhostNodePorts = kp.localhostNodePorts && allowsLoopback(nodePortAddresses);
  const detector = detectorOf(c, n, kp);
  return {
    node: {
      name: kp.hostnameOverride || n.name,
      ...(n.labels['topology.kubernetes.io/zone'] ? { zone: n.labels['topology.kubernetes.io/zone'] } : {}),
      nodeIPs,
      clusterCIDR: '',
      ...(detector ? { localDetector: detector } : { localDetector: null }),
      masqueradeAll: kp.masqueradeAll,
      masqueradeBit: kp.masqueradeBit,
      localhostNodePorts,
      conntrackTcpLiberal: kp.conntrack.tcpBeLiberal,
      nodePortAddresses,
      // What net.InterfaceAddrs() returns in the node: lo, eth0's addresses, tunl0's.
      interfaceAddresses: ['127.0.0.1', n.ip, ...extra, ...(n.tunnelIP ? [n.tunnelIP] : [])],
    },
    sysctls: proxySysctls(kp, localhostNodePorts),
  };
}
