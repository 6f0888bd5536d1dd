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

const underlay = z.strictObject({
  subnet: cidr.default('192.168.50.0/24'),
  /** The fabric's own address on the bridge; nodes and hosts route through it by default. */
  gateway: ipv4.optional(),
  mtu: z.number().int().min(576).max(9000).default(1500),
});

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
  ipipMode: z.enum(['Always'], { message: "must be 'Always' (CrossSubnet is not supported yet)" }).optional(),
  /** As kube-apiserver's --service-node-port-range. */
  nodePortRange: z
    .string()
    .regex(/^\d{1,5}-\d{1,5}$/, 'must be a port range such as 30000-32767')
    .default('30000-32767'),
  /** MetalLB-style address pool for LoadBalancer services; the fabric routes it to the nodes. */
  loadBalancerPool: cidr.optional(),
});

const machine = z.strictObject({
  name: dnsLabel.max(15, 'must be at most 15 characters: its port on the underlay bridge is named after it'),
  /** Pinned underlay address; allocated from the subnet when absent. */
  address: ipv4.optional(),
  extraAddresses: z.array(ipOrCidr).default([]),
});

const node = machine.extend({
  labels: z.record(z.string(), z.string()).default({}),
});

/** A workload: a path to a Kubernetes YAML file (relative to the topology file) or an inline manifest. */
const workload = z.union(
  [
    z.string().min(1),
    z.looseObject({ apiVersion: z.string(), kind: z.string() }),
  ],
  { message: 'must be a path to a Kubernetes YAML file or an inline manifest with apiVersion and kind' },
);

export const topologySchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { message: `must be ${API_VERSION}` }),
  kind: z.literal('Topology', { message: 'must be Topology' }),
  metadata: z.strictObject({ name: dnsLabel }),
  spec: z.strictObject({
    network: network.prefault({}),
    nodes: z.array(node).min(1, 'the lab needs at least one node'),
    externalHosts: z.array(machine).default([]),
    workloads: z.array(workload).default([]),
  }),
});

export type RawTopology = z.infer<typeof topologySchema>;
export type RawNode = RawTopology['spec']['nodes'][number];
export type RawMachine = RawTopology['spec']['externalHosts'][number];
