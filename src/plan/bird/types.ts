/**
 * Input of the BIRD 2.0.12 configuration planner: the facts Calico's confd reads from its datastore to
 * render bird.cfg + bird_aggr.cfg + bird_ipam.cfg for one node (see calico-bird.md §3).
 */
export type IpipMode = 'Never' | 'Always' | 'CrossSubnet';

export interface BirdPool {
  cidr: string;
  ipipMode: IpipMode;
  /** Masquerading is Felix's business (iptables); it does not change the BIRD config. */
  natOutgoing: boolean;
  /**
   * Calico's `disabled` only stops new allocations: blocks already carved from the pool stay routed and
   * advertised, so it does not change the BIRD config either.
   */
  disabled?: boolean;
  /** Calico's `disableBGPExport`: routes into the pool are never advertised to any peer. */
  disableBGPExport?: boolean;
}

export interface BirdPeer {
  /** Node name of the peer; only used in a comment. */
  name: string;
  ip: string;
  as: number;
  /** This peer is a route reflector client of ours (only meaningful when we are a reflector). */
  rrClient?: boolean;
  /** This peer is a route reflector (a client's view of its reflectors): named `Node_…`, not `Mesh_…`. */
  routeReflector?: boolean;
  /** Peer on the same underlay subnet (matters for CrossSubnet; see BirdNodeInput.nodeSubnet). */
  sameSubnet: boolean;
}

export interface BirdNodeInput {
  nodeName: string;
  /** Router id: the node IP, as Calico defaults it. */
  routerId: string;
  /** AS number; Calico's default is 64512. */
  as: number;
  nodeIp: string;
  /**
   * The node's subnet on the underlay (Calico's `network_v4`, e.g. "192.168.50.0/24"; host bits are
   * cleared). CrossSubnet pools tunnel only routes whose BGP next hop lies outside it. Without it the
   * planner falls back to the IPs of the peers flagged `sameSubnet`, which is exact in a full mesh and on
   * reflectors, but on a route reflector client tunnels routes reflected from same-subnet nodes too.
   */
  nodeSubnet?: string;
  /** This node's IPAM blocks (CIDR); each non-/32 block becomes a blackhole static route. */
  blocks: string[];
  pools: BirdPool[];
  /** Full mesh: every other node. Route reflectors: clients list only reflectors, reflectors list all. */
  peers: BirdPeer[];
  isRouteReflector: boolean;
  /** Route reflector cluster id (Calico: the reflector's routeReflectorClusterID); defaults to routerId. */
  clusterId?: string;
  /** IPIP device, normally 'tunl0'. */
  tunnelDevice: string;
  /** MTU of the tunnel routes: underlay MTU - 20. */
  tunnelMtu: number;
  /** Control socket path; BIRD takes it on the command line (`-s`), so it only appears in a comment. */
  controlSocket: string;
  /** Optional log file: renders `log "<file>" all;`. Without it BIRD logs to its default (syslog/stderr). */
  logFile?: string;
  /**
   * BGPConfiguration serviceClusterIPs (Calico's /staticroutes and /rejectcidrs): each a blackhole static
   * route that is advertised to every peer and kept out of the kernel, learned or not (kube-proxy
   * handles the addresses on every node).
   */
  serviceCIDRs?: string[];
}

/** Calico's IPv4NormalRoutePriority: the kernel metric of BGP-learned routes. */
export const NORMAL_ROUTE_PRIORITY = 1024;
/** BIRD's largest filter integer; Calico maps metric <-> local pref through it. */
export const BIRD_INT_MAX = 2147483647;

/** Names of the fixed protocols, for `birdc show protocols` / `birdc reload out kernel1`. */
export const BIRD_PROTOCOLS = {
  kernel: 'kernel1',
  device: 'device1',
  direct: 'direct1',
  static: 'static1',
} as const;
