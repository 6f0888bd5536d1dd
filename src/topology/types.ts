/** The validated topology: what the user asked for, with defaults filled in and manifests typed. */
import type { Manifest } from './manifests.js';

export type RoutingMode = 'static' | 'bgp' | 'ipip';

/** One underlay subnet with its bridge in the fabric (a rack); the fabric routes between racks. */
export interface RackSpec {
  name: string;
  subnet: string;
  gateway: string;
  /** The bridge in the fabric namespace: the rack's name, or `underlay` for the single default subnet. */
  bridge: string;
}

export interface NetworkSpec {
  podCIDR: string;
  blockSize: number;
  serviceCIDR: string;
  /** At least one rack; a topology with `underlay.subnet` has exactly one, named `underlay`. */
  underlay: { racks: RackSpec[]; mtu: number };
  routing: RoutingMode;
  /** Calico natOutgoing: pod traffic to addresses outside the pool leaves with the node's address. */
  natOutgoing: boolean;
  /** BGP route reflectors (node names); none means a full node-to-node mesh. */
  routeReflectors: string[];
  /** With routing ipip: when to encapsulate (Calico ipipMode). */
  ipipMode?: 'Always' | 'CrossSubnet';
  /** The cluster's BGP AS number. */
  asNumber: number;
  nodePortRange: { min: number; max: number };
  /** MetalLB-style `addresses`: CIDRs and first-last ranges (trimmed), in the order given. */
  loadBalancerPool?: string[];
  /** Calico BGPConfiguration serviceClusterIPs: CIDRs the nodes advertise (the fabric routes them to every node). */
  serviceClusterIPs: string[];
}

export interface MachineSpec {
  name: string;
  /** Pinned underlay address, if the user gave one. */
  address?: string;
  /** Extra addresses as ip/prefix. */
  extraAddresses: string[];
  /** Name of the rack it sits in. */
  rack: string;
}

export interface NodeSpec extends MachineSpec {
  labels: Record<string, string>;
  /** Allocatable resources (parsed quantities) and pod count. */
  capacity: { cpuMilli: number; memoryBytes: number; pods: number };
  unschedulable: boolean;
  /** Node.spec.taints, as the topology gives them. */
  taints: Array<{ key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }>;
  /** Per-node BGP AS, when it differs from the cluster's. */
  asNumber?: number;
  /** This node's kube-proxy configuration: the cluster's `spec.kubeProxy` with the node's own merged over it. */
  kubeProxy: KubeProxyConfig;
}

export type DetectLocalMode = 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix';

/** A KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1), validated, with kube-proxy's defaults filled in. */
export interface KubeProxyConfig {
  /** hostnameOverride: the node name kube-proxy believes it runs on ('' = the node's own). */
  hostnameOverride: string;
  /** bindAddress when it names an IPv4 address: kube-proxy's primary node IP ('' = the node's underlay address). */
  bindAddress: string;
  /** The IPv4 cluster CIDR of clusterCIDR; undefined = not given (kemu then uses the pod CIDR), '' = none. */
  clusterCIDR: string | undefined;
  detectLocalMode: DetectLocalMode;
  detectLocal: { bridgeInterface: string; interfaceNamePrefix: string };
  masqueradeAll: boolean;
  masqueradeBit: number;
  localhostNodePorts: boolean;
  syncPeriodMs: number;
  minSyncPeriodMs: number;
  /** CIDRs, or ['primary']; [] = every address. */
  nodePortAddresses: string[];
  conntrack: {
    maxPerCore: number;
    min: number;
    /** Seconds; 0 = leave the kernel's value. */
    tcpEstablishedTimeout: number;
    tcpCloseWaitTimeout: number;
    tcpBeLiberal: boolean;
    udpTimeout: number;
    udpStreamTimeout: number;
  };
}

/** The lab's ingress-nginx controller, resolved (spec.ingress). */
export interface IngressSpec {
  service: 'LoadBalancer' | 'NodePort';
  replicas: number;
  externalTrafficPolicy: 'Cluster' | 'Local';
  defaultClass: boolean;
  nodePorts: { http?: number; https?: number };
}

/** The lab's cluster DNS (spec.dns), resolved: present only when it runs. */
export interface DnsSpec {
  /** kube-system/kube-dns's ClusterIP (the 10th address of the service CIDR) and the kubelet's clusterDNS. */
  clusterIP: string;
  clusterDomain: string;
  /** The resolvers for names outside the cluster (and the node's resolv.conf for dnsPolicy Default). */
  upstreams: string[];
  /** Where the upstreams came from: the topology, or the host's /etc/resolv.conf (read at load). */
  upstreamFrom: 'topology' | 'host';
  replicas: number;
}

/** The lab itself, without its workloads: what `apply` needs once the lab is up. */
export type LabSpec = Omit<Topology, 'manifests'>;

export interface Topology {
  name: string;
  /** Absolute path of the topology file. */
  file: string;
  network: NetworkSpec;
  nodes: NodeSpec[];
  externalHosts: MachineSpec[];
  /** Present when spec.ingress.enabled. */
  ingress?: IngressSpec;
  /** Present when cluster DNS runs (spec.dns.enabled). */
  dns?: DnsSpec;
  manifests: Manifest[];
}
