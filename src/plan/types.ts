/** The kernel plan: what each namespace must contain, as `ip -batch` lines, sysctls and processes. Pure data. */

export interface MachinePlan {
  role: 'node' | 'host';
  name: string;
  netns: string;
  /** Lines for the fabric namespace that attach this machine's eth0 to the underlay bridge. */
  fabricLines: string[];
  /** Lines in the machine's own namespace (loopback, eth0 addresses, default route). */
  lines: string[];
  sysctls: Record<string, string>;
  /** Changes when anything above changes: the machine is then rebuilt. */
  hash: string;
}

export interface ContainerPlan {
  name: string;
  tcpPorts: number[];
  udpPorts: number[];
  /** The real program it runs instead of the default server (lab/programs.ts starts it). */
  program?: string;
  /** More arguments of the default server: the paths its probes ask for, when it exits. */
  args: string[];
  /** Changes when the container must restart with other arguments. */
  hash: string;
}

export interface PodPlan {
  /** `<namespace>/<name>` */
  key: string;
  namespace: string;
  name: string;
  netns: string;
  /** UTS hostname (the pod name, cut to 63 characters as the kubelet does). */
  hostname: string;
  node: string;
  nodeNetns: string;
  ip: string;
  /**
   * spec.hostNetwork: the holder joins the node's network namespace (`netns` is bound to it too) with its
   * own UTS and IPC namespaces; no veth, no route. Its processes share the node's namespace with others:
   * they are stopped by their pids and marks, never by emptying the namespace.
   */
  hostNetwork?: true;
  caliName: string;
  /** Lines in the node namespace, once the pod made the pair: host end up, host route, neighbour. */
  nodeLines: string[];
  /** Lines run inside the pod by its holder: the veth pair (host end into the node), eth0's /32, the 169.254.1.1 routes. */
  podLines: string[];
  /** net.* sysctls written in the pod's netns before its containers start (securityContext.sysctls). */
  sysctls?: Record<string, string>;
  /**
   * Files bound over /etc/<name> in the pod's own mount namespace (the kubelet's resolv.conf and hosts),
   * when the lab runs cluster DNS; without them the pod shares the host's mount namespace.
   */
  etc?: Record<string, string>;
  containers: ContainerPlan[];
  /** Deleted: kept until it has left every node's endpoints, then removed. */
  terminating: boolean;
  /** The sandbox's hash (namespace, wiring, address): when it changes the pod is rebuilt. */
  hash: string;
}

export interface RoutePlan {
  /** Destination CIDR, as `ip route` prints it (a /32 without the suffix). */
  dst: string;
  type: 'unicast' | 'blackhole';
  via?: string;
  dev?: string;
  /** Equal-cost next hops, instead of `via` and `dev`. */
  nexthops?: Array<{ via: string; dev: string }>;
}

export interface NodeRoutesPlan {
  node: string;
  netns: string;
  /** Routes kemu owns in this node (protocol `static`), all of them: anything else with that protocol is stale. */
  routes: RoutePlan[];
}

export interface LabPlan {
  lab: string;
  fabric: { netns: string; lines: string[]; sysctls: Record<string, string>; hash: string };
  machines: MachinePlan[];
  pods: PodPlan[];
  routes: NodeRoutesPlan[];
}
