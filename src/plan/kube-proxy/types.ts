/**
 * Inputs and outputs of the kube-proxy (iptables mode) rule planner.
 * IPv4 only, like a single-family kube-proxy; addresses of the other family are ignored.
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** A local-traffic detector's matches (pkg/proxy/util/localdetector.go IfLocal / IfNotLocal). */
export interface LocalDetector {
  ifLocal: string[];
  ifNotLocal: string[];
}

export interface ProxyEndpoint {
  /** Pod IP. */
  ip: string;
  /** Resolved target port (the EndpointSlice port; DNAT goes here). */
  port: number;
  /** Node the endpoint's pod runs on; compared with ProxyNode.name to decide "local". */
  nodeName: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** hints.forZones / hints.forNodes of its EndpointSlice endpoint. */
  zoneHints?: string[];
  nodeHints?: string[];
}

export interface ProxyServicePort {
  namespace: string;
  name: string;
  /** '' for an unnamed single port. */
  portName: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  /** Written only when set and non-zero. */
  nodePort?: number;
  externalIPs: string[];
  /** status.loadBalancer.ingress[].ip, VIP-mode entries only. */
  loadBalancerIPs: string[];
  loadBalancerSourceRanges: string[];
  externalTrafficPolicy: 'Cluster' | 'Local';
  internalTrafficPolicy: 'Cluster' | 'Local';
  /** Set when sessionAffinity is ClientIP (the API default is 10800). */
  sessionAffinityTimeoutSeconds?: number;
  /**
   * kube-proxy keeps this only for type LoadBalancer with eTP=Local (NeedsHealthCheck); pass it only
   * then. The planner also ignores it when externalTrafficPolicy is Cluster.
   */
  healthCheckNodePort?: number;
  endpoints: ProxyEndpoint[];
}

export interface ProxyNode {
  /** This node's name (decides which endpoints are local). */
  name: string;
  /** Its topology.kubernetes.io/zone label, for topology hints. */
  zone?: string;
  /** This node's addresses; the first IPv4 one plays kube-proxy's `nodeIP` (LB source-range check). */
  nodeIPs: string[];
  /** Pod CIDR for the local-traffic detector (`! -s`/`-s`); '' means no detector (rules omitted). */
  clusterCIDR: string;
  /** Any detector (by CIDR, bridge, interface prefix); null = none. When set (or null) it wins over clusterCIDR. */
  localDetector?: LocalDetector | null;
  /** --nodeport-addresses CIDRs; IPv4 ones count, none = every local address (addrtype LOCAL). */
  nodePortAddresses?: string[];
  /** Addresses on the node's interfaces (lo included), which nodePortAddresses selects from. */
  interfaceAddresses?: string[];
  /** Default 14, giving mark 0x4000. */
  masqueradeBit?: number;
  /** --masquerade-all: the ClusterIP masquerade rule loses its source condition. Default false. */
  masqueradeAll?: boolean;
  /** --iptables-localhost-nodeports. Default true (KUBE-FIREWALL martian rule, 127/8 NodePorts). */
  localhostNodePorts?: boolean;
  /** iptables ≥ 1.6.2 supports MASQUERADE --random-fully. Default true. */
  randomFully?: boolean;
  /** Whether the nfacct counters exist (adds `-m nfacct` rules, as upstream's tests do). Default false. */
  nfacct?: boolean;
  /** net.netfilter.nf_conntrack_tcp_be_liberal != 0 suppresses the INVALID drop. Default false. */
  conntrackTcpLiberal?: boolean;
}

export interface RenderOptions {
  /**
   * Partial sync: service-port keys ("ns/name:portName") or service names ("ns/name") whose
   * per-service chains must be rewritten. Absent means a full sync.
   */
  changed?: Set<string>;
  /** Chains that exist now (from `iptables-save`), for stale-chain deletion. */
  previousChains?: { nat: string[]; filter: string[] };
  /** Render as if the whole node had this many endpoints (when `services` is only a subset). */
  totalEndpoints?: number;
}

export interface ProxyRestore {
  /** Text for `iptables-restore --noflush`: *filter … COMMIT then *nat … COMMIT. */
  payload: string;
  /** Every KUBE-* nat chain this sync wants to exist (top-level and active per-service chains). */
  natChains: string[];
  /** The filter chains this sync declares. */
  filterChains: string[];
  /** Service-port keys whose per-service chains were written (not discarded) in this payload. */
  writtenServices: string[];
  /** Counts: `-A` lines per table, nat `:CHAIN` lines, and per-service nat rules left out by partial sync. */
  lineCounts: { filterRules: number; natRules: number; natChainsWritten: number; skippedRules: number };
}

/** kube-proxy's ServicePortName.String(): "ns/name:portName", or "ns/name" for an unnamed port. */
export function servicePortKey(sp: { namespace: string; name: string; portName: string }): string {
  const base = `${sp.namespace}/${sp.name}`;
  return sp.portName === '' ? base : `${base}:${sp.portName}`;
}
