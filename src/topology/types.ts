/** The validated topology: what the user asked for, with defaults filled in and manifests typed. */
import type { Manifest } from './manifests.js';

export type RoutingMode = 'static' | 'bgp' | 'ipip';

export interface NetworkSpec {
  podCIDR: string;
  blockSize: number;
  serviceCIDR: string;
  underlay: { subnet: string; gateway: string; mtu: number };
  routing: RoutingMode;
  /** Calico natOutgoing: pod traffic to addresses outside the pool leaves with the node's address. */
  natOutgoing: boolean;
  /** BGP route reflectors (node names); none means a full node-to-node mesh. */
  routeReflectors: string[];
  /** With routing ipip: when to encapsulate (Calico ipipMode). */
  ipipMode?: 'Always';
  nodePortRange: { min: number; max: number };
  loadBalancerPool?: string;
}

export interface MachineSpec {
  name: string;
  /** Pinned underlay address, if the user gave one. */
  address?: string;
  /** Extra addresses as ip/prefix. */
  extraAddresses: string[];
}

export interface NodeSpec extends MachineSpec {
  labels: Record<string, string>;
}

export interface Topology {
  name: string;
  /** Absolute path of the topology file. */
  file: string;
  network: NetworkSpec;
  nodes: NodeSpec[];
  externalHosts: MachineSpec[];
  manifests: Manifest[];
}
