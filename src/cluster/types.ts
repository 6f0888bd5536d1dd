/** The desired cluster state: the emulated control plane's answer to the topology. */
import type { DnsSpec } from '../topology/types.js';
import type { KubeProxyConfig, NetworkSpec } from '../topology/types.js';
import type { MetallbState } from './metallb.js';
import type { NamespaceLabels, NetworkPolicyState } from './network-policy.js';

/**
 * What a probe checks, ports resolved. exec and grpc probes run nothing (they count as passing: the
 * default server stands in for the image); an HTTPS httpGet is checked as a TCP connect (no TLS).
 */
export type ProbeHandler =
  | { kind: 'httpGet'; port: number; path: string; scheme?: 'HTTPS' }
  | { kind: 'tcpSocket'; port: number }
  | { kind: 'exec'; command: string[] }
  | { kind: 'grpc'; port: number };

/** A probe with the kubelet's timing fields, defaulted as the API server does. */
export type ProbeSpec = ProbeHandler & {
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
};

export interface ContainerState {
  name: string;
  image: string;
  /** Ports the default server listens on. */
  tcpPorts: number[];
  udpPorts: number[];
  /** Declared ports, as the manifest gave them (for `get pods -o json`). */
  declaredPorts: Array<{ name?: string; containerPort: number; protocol: 'TCP' | 'UDP' | 'SCTP'; hostPort?: number; hostIP?: string }>;
  /** A real program that runs instead of the default server, chosen by the image (cluster/programs.ts). */
  program?: string;
  /** The readiness probe; without one a container is ready while it runs (once started). */
  readinessProbe?: ProbeSpec;
  /** The liveness probe: failureThreshold failures in a row restart the container. */
  livenessProbe?: ProbeSpec;
  /** The startup probe: until it passes, the others wait and the container is not ready. */
  startupProbe?: ProbeSpec;
  /** HTTP paths the container's probes ask for: the default server answers 200 on them (see native/README.md). */
  probePaths: string[];
  /** The default server exits after this long with this code (a Job's container, or `kemu.dev/exit-after`). */
  exit?: { afterMs: number; code: number };
}

export interface PodState {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  nodeName: string;
  ip: string;
  hostIP: string;
  /** UTS hostname: spec.hostname, else the pod name (a StatefulSet pod's is its name). */
  hostname?: string;
  /** spec.subdomain: with a hostname, the pod is `<hostname>.<subdomain>.<ns>.svc.<zone>` (a StatefulSet's serviceName). */
  subdomain?: string;
  /** What the kubelet writes in the pod's resolv.conf and hosts (dnsPolicy, dnsConfig, hostAliases), when given. */
  dns?: PodDnsFields;
  /** The net.* sysctls written in the sandbox's netns (securityContext.sysctls, the kubelet's safe set). */
  sysctls?: Record<string, string>;
  /** spec.hostNetwork: containers in the node's network namespace, `ip` is the node's address, no IPAM, no veth. */
  hostNetwork?: true;
  containers: ContainerState[];
  /** The pod's controller (ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController). */
  owner?: { kind: string; name: string };
  /** Deleted, still holding its sandbox and address: out of the endpoints until it is gone. */
  terminating?: true;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  /** Where the pod came from in the user's files (for messages). */
  origin: string;
}

export interface PodDnsFields {
  dnsPolicy?: 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';
  dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: { name: string; value?: string }[] };
  hostAliases?: { ip: string; hostnames?: string[] }[];
}

export interface NodeState {
  name: string;
  ip: string;
  /** The rack (underlay subnet) it sits in. */
  rack: string;
  /** Its BGP AS number. */
  asNumber: number;
  labels: Record<string, string>;
  /** Extra underlay addresses as ip/prefix. */
  extraAddresses: string[];
  /** IPAM blocks with affinity to this node, in allocation order. */
  blocks: string[];
  /** tunl0's address (routing: ipip): allocated from the node's block before any pod, as calico-node does. */
  tunnelIP?: string;
  capacity: { cpuMilli: number; memoryBytes: number; pods: number };
  unschedulable: boolean;
  /** Node.spec.taints from the topology. */
  taints?: Array<{ key: string; value?: string; effect: string }>;
  /** Its kube-proxy's configuration. */
  kubeProxy: KubeProxyConfig;
}

export interface HostState {
  name: string;
  ip: string;
  rack: string;
  extraAddresses: string[];
}

export interface ClusterState {
  lab: string;
  network: NetworkSpec;
  nodes: NodeState[];
  externalHosts: HostState[];
  pods: PodState[];
  services: ServiceState[];
  manualEndpoints: ManualEndpoints[];
  /** MetalLB's pools, advertisements and peers (absent in records written before MetalLB objects). */
  metallb?: MetallbState;
  /** The lab's cluster DNS (spec.dns), when it runs: the kubelet's clusterDNS and clusterDomain, the node resolver. */
  dns?: DnsSpec;
  /** networking.k8s.io/v1 NetworkPolicies (absent in records written before kemu enforced them). */
  networkPolicies?: NetworkPolicyState[];
  /** Namespace → its labels, for namespaceSelector peers. */
  namespaceLabels?: NamespaceLabels;
}

export interface ServicePortState {
  /** '' for an unnamed single port. */
  name: string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  port: number;
  targetPort: number | string;
  nodePort?: number;
}

export interface ServiceState {
  namespace: string;
  name: string;
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** spec.externalName of an ExternalName Service: a DNS CNAME only (no address, no rules). */
  externalName?: string;
  /** 'None' for a headless Service: no kube-proxy rules (service-plan skips it), DNS records only. */
  clusterIP: string;
  ports: ServicePortState[];
  /** Absent for a selector-less service (its Endpoints come from a manifest). */
  selector?: Record<string, string>;
  sessionAffinityTimeoutSeconds?: number;
  externalTrafficPolicy: 'Cluster' | 'Local';
  internalTrafficPolicy: 'Cluster' | 'Local';
  externalIPs: string[];
  loadBalancerIPs: string[];
  /** The MetalLB pool the ingress IPs came from (its ip-allocated-from-pool annotation). */
  loadBalancerPool?: string;
  loadBalancerSourceRanges: string[];
  healthCheckNodePort?: number;
  /** Endpoints are ready whatever their pods' readiness (the EndpointSlice controller). */
  publishNotReadyAddresses: boolean;
  /** spec.trafficDistribution (PreferClose, PreferSameZone, PreferSameNode). */
  trafficDistribution?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  origin: string;
}

/** A hand-written Endpoints object (selector-less services). */
export interface ManualEndpoints {
  namespace: string;
  name: string;
  subsets: Array<{ addresses: Array<{ ip: string; nodeName?: string }>; ports: Array<{ name: string; port: number; protocol: 'TCP' | 'UDP' }> }>;
}
