/** The topology file's schema (kemu.dev/v1alpha1, kind Topology), as the user writes it. */
import { z } from 'zod';

export const API_VERSION = 'kemu.dev/v1alpha1';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const dnsLabel = z
  .string()
  .max(63, 'must be at most 63 characters (a DNS-1123 label)')
  .regex(DNS_LABEL, "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit");

const ipv4 = z.ipv4({ message: 'must be an IPv4 address such as 192.168.50.11' });
const cidr = z.cidrv4({ message: 'must be an IPv4 CIDR such as 10.244.0.0/16' });
/** An extra address: a bare IP (takes the subnet's prefix length) or IP/prefix. */
const ipOrCidr = z.union([ipv4, cidr], { message: 'must be an IPv4 address or address/prefix' });

/** A rack: one underlay subnet on its own bridge; the fabric routes between racks. */
const rack = z.strictObject({
  name: dnsLabel.max(15, 'must be at most 15 characters: the rack\'s bridge in the fabric is named after it'),
  subnet: cidr,
  /** The fabric's address on this rack's bridge; machines in the rack route through it. */
  gateway: ipv4.optional(),
});

const underlay = z.strictObject({
  /** One subnet for every machine (when `racks` is not given). */
  subnet: cidr.optional(),
  /** The fabric's own address on the bridge; nodes and hosts route through it by default. */
  gateway: ipv4.optional(),
  /** Several subnets joined by the fabric, which routes between them (instead of `subnet`). */
  racks: z.array(rack).min(1, 'list at least one rack, or leave racks out and give subnet').optional(),
  mtu: z.number().int().min(576).max(9000).default(1500),
});

/** Calico's AS number when none is configured. */
export const DEFAULT_AS = 64512;
const AS_MESSAGE = 'must be a BGP AS number from 1 to 4294967295';
const asNumber = z.number({ message: AS_MESSAGE }).int(AS_MESSAGE).min(1, AS_MESSAGE).max(4294967295, AS_MESSAGE);

const network = z.strictObject({
  podCIDR: cidr.default('10.244.0.0/16'),
  blockSize: z.number().int().min(20, 'must be between 20 and 32 (Calico blockSize)').max(32, 'must be between 20 and 32 (Calico blockSize)').default(26),
  serviceCIDR: cidr.default('10.96.0.0/12'),
  underlay: underlay.prefault({}),
  routing: z
    .enum(['static', 'bgp', 'ipip'], { message: "must be 'static' (routes written by kemu), 'bgp' (BIRD, Calico ipipMode Never) or 'ipip' (BIRD over IPIP)" })
    .default('static'),
  /** Calico's natOutgoing for the pod pool: masquerade pod traffic leaving the pool. */
  natOutgoing: z.boolean().default(true),
  /** Nodes that are BGP route reflectors; the others peer only with them. Empty: full mesh. */
  routeReflectors: z.array(z.string()).default([]),
  /** Calico's ipipMode, with routing: ipip. */
  ipipMode: z.enum(['Always', 'CrossSubnet'], { message: "must be 'Always' (every packet between nodes is IP-in-IP) or 'CrossSubnet' (only towards nodes on another rack's subnet)" }).optional(),
  /** The cluster's BGP AS (Calico's default 64512); a node may override it. */
  asNumber: asNumber.default(DEFAULT_AS),
  /** As kube-apiserver's --service-node-port-range. */
  nodePortRange: z
    .string()
    .regex(/^\d{1,5}-\d{1,5}$/, 'must be a port range such as 30000-32767')
    .default('30000-32767'),
  /** MetalLB-style address pool for LoadBalancer services (a CIDR, or a list of CIDRs and first-last ranges); the fabric routes it to the nodes. */
  loadBalancerPool: z.union([z.string(), z.array(z.string()).min(1, 'must list at least one CIDR or range')]).optional(),
  /** Calico's BGPConfiguration serviceClusterIPs with the service CIDR: outside hosts reach ClusterIPs. */
  advertiseServiceCIDR: z.boolean().default(false),
});

/** A KubeProxyConfiguration inline, or the path of a file holding one; checked in topology/kube-proxy. */
const kubeProxy = z.union([z.string().min(1), z.looseObject({})], { message: 'must be a KubeProxyConfiguration object or the path of a file holding one' }).optional();

const machine = z.strictObject({
  name: dnsLabel.max(15, 'must be at most 15 characters: its port on the underlay bridge is named after it'),
  /** Pinned underlay address; allocated from the subnet when absent. */
  address: ipv4.optional(),
  extraAddresses: z.array(ipOrCidr).default([]),
  /** The rack (underlay subnet) the machine sits in; the first rack by default. */
  rack: z.string().optional(),
});

/** A resource quantity as Kubernetes writes it: a number or a string such as "500m" or "4Gi". */
const quantity = z.union([z.number().nonnegative(), z.string().min(1)], { message: 'must be a quantity such as 2, "500m" or "4Gi"' });

/** A qualified name (a label key): an optional DNS-subdomain prefix and '/', then a name of ≤ 63 characters. */
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/** A node taint, as Node.spec.taints has it. */
const taint = z.strictObject({
  key: z.string().regex(QUALIFIED_NAME, "must be a label key such as 'dedicated' or 'example.com/gpu'"),
  value: z.string().regex(LABEL_VALUE, 'must be a label value: at most 63 letters, digits, \'-\', \'_\' or \'.\', starting and ending with a letter or digit').optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'], { message: "must be 'NoSchedule', 'PreferNoSchedule' or 'NoExecute'" }),
});

const node = machine.extend({
  labels: z.record(z.string(), z.string()).default({}),
  /** The node's allocatable resources, as the scheduler sees them. */
  capacity: z
    .strictObject({
      cpu: quantity.default('4'),
      memory: quantity.default('8Gi'),
      pods: z.number().int().min(1).max(10000).default(110),
    })
    .prefault({}),
  /** A cordoned node: the scheduler places no new pods there. */
  unschedulable: z.boolean().default(false),
  /** Node.spec.taints: pods without a matching toleration stay off the node (NoSchedule, NoExecute) or avoid it (PreferNoSchedule). */
  taints: z.array(taint).default([]),
  /** Calico's per-node spec.bgp.asNumber; peers in another AS are eBGP. */
  asNumber: asNumber.optional(),
  /** This node's kube-proxy configuration, merged over spec.kubeProxy. */
  kubeProxy,
});

/** A workload: a path to a Kubernetes YAML file (relative to the topology file) or an inline manifest. */
const workload = z.union(
  [
    z.string().min(1),
    z.looseObject({ apiVersion: z.string(), kind: z.string() }),
  ],
  { message: 'must be a path to a Kubernetes YAML file or an inline manifest with apiVersion and kind' },
);

/** An ingress-nginx controller for the lab (topology/ingress-controller.ts). */
const ingress = z.strictObject({
  enabled: z.boolean().default(false),
  /** How it is exposed: LoadBalancer (cloud manifest; default when spec.network.loadBalancerPool is set) or NodePort (bare metal). */
  service: z.enum(['LoadBalancer', 'NodePort'], { message: "must be 'LoadBalancer' or 'NodePort'" }).optional(),
  replicas: z.number().int().min(0).max(50).default(1),
  /** The controller Service's policy: Local keeps the client's address (the cloud manifest's choice), Cluster spreads. */
  externalTrafficPolicy: z.enum(['Cluster', 'Local'], { message: "must be 'Cluster' or 'Local'" }).optional(),
  /** Mark the `nginx` IngressClass as the cluster's default (ingressclass.kubernetes.io/is-default-class). */
  defaultClass: z.boolean().default(false),
  /** Pin the NodePorts of the controller Service. */
  nodePorts: z.strictObject({ http: z.number().int().optional(), https: z.number().int().optional() }).optional(),
});

/** The lab's cluster DNS (topology/cluster-dns.ts): a coredns pod behind kube-system/kube-dns. */
const dns = z.strictObject({
  enabled: z.boolean().optional(),
  /** Where names outside the cluster domain go (CoreDNS `forward .`); default: the host's /etc/resolv.conf nameservers. */
  upstream: z.array(ipv4).max(3, 'at most 3 upstream resolvers (as resolv.conf holds)').optional(),
  replicas: z.number().int().min(1).max(10).default(1),
  /** The kubelet's clusterDomain. */
  clusterDomain: z
    .string()
    .max(253)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, "must be a DNS-1123 subdomain such as 'cluster.local'")
    .default('cluster.local'),
});

export const topologySchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { message: `must be ${API_VERSION}` }),
  kind: z.literal('Topology', { message: 'must be Topology' }),
  metadata: z.strictObject({ name: dnsLabel }),
  spec: z.strictObject({
    network: network.prefault({}),
    nodes: z.array(node).min(1, 'the lab needs at least one node'),
    externalHosts: z.array(machine).default([]),
    workloads: z.array(workload).default([]),
    ingress: ingress.optional(),
    dns: dns.optional(),
    kubeProxy,
  }),
});

export type RawTopology = z.infer<typeof topologySchema>;
export type RawNode = RawTopology['spec']['nodes'][number];
export type RawMachine = RawTopology['spec']['externalHosts'][number];
