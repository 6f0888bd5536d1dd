/**
 * Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), pure: which policies select a pod per
 * direction (isolation), and whether one connection is allowed. This is the truth the Felix-shaped
 * rendering in src/plan/policy must agree with; tests use it as their reachability oracle.
 */
import { selectorMatches, type LabelSelector } from './selectors.js';
import { cidrContains, ipToInt, parseCidr } from '../util/ipv4.js';

export type PolicyProtocol = 'TCP' | 'UDP' | 'SCTP';
export type PolicyType = 'Ingress' | 'Egress';

export interface PolicyPort {
  protocol: PolicyProtocol;
  /** Absent: every port of the protocol. A string is a named port (containerPorts[].name). */
  port?: number | string;
  endPort?: number;
}

export interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except: string[] };
}

export interface PolicyRule {
  /** Empty: every port and protocol. */
  ports: PolicyPort[];
  /** Empty: every peer (inside or outside the cluster). */
  peers: PolicyPeer[];
}

export interface NetworkPolicyState {
  namespace: string;
  name: string;
  podSelector: LabelSelector;
  /** As written; effectivePolicyTypes applies the API's defaulting. */
  policyTypes?: PolicyType[];
  ingress: PolicyRule[];
  egress: PolicyRule[];
}

/** What the policy engine needs to know of a pod. */
export interface PolicyPod {
  namespace: string;
  name: string;
  ip: string;
  labels: Record<string, string>;
  ports: Array<{ name?: string; containerPort: number; protocol: PolicyProtocol }>;
}

/** Namespace name → labels, with the automatic kubernetes.io/metadata.name label added here. */
export type NamespaceLabels = Record<string, Record<string, string>>;

export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export function namespaceLabels(ns: NamespaceLabels, name: string): Record<string, string> {
  return { ...(ns[name] ?? {}), [NAMESPACE_NAME_LABEL]: name };
}

/** The API's defaulting (networking/v1 types.go): Ingress always; Egress only when egress rules exist. */
export function effectivePolicyTypes(p: NetworkPolicyState): PolicyType[] {
  if (p.policyTypes?.length) return p.policyTypes;
  return p.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** Policies of `dir` that select `pod`, sorted by name (Felix's order inside tier default). */
export function policiesFor(policies: NetworkPolicyState[], pod: PolicyPod, dir: PolicyType): NetworkPolicyState[] {
  return policies
    .filter((p) => p.namespace === pod.namespace && effectivePolicyTypes(p).includes(dir) && selectorMatches(p.podSelector, pod.labels))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Per direction: isolated (some policy of that direction selects the pod) and by which policies. */
export function isolation(policies: NetworkPolicyState[], pod: PolicyPod): Record<PolicyType, string[]> {
  return { Ingress: policiesFor(policies, pod, 'Ingress').map((p) => p.name), Egress: policiesFor(policies, pod, 'Egress').map((p) => p.name) };
}

/** Pods a selector peer stands for: podSelector within the policy's namespace, namespaceSelector across namespaces, both = AND. */
export function peerSelects(peer: PolicyPeer, policyNamespace: string, pod: PolicyPod, ns: NamespaceLabels): boolean {
  if (peer.ipBlock) return false;
  const nsOk = peer.namespaceSelector ? selectorMatches(peer.namespaceSelector, namespaceLabels(ns, pod.namespace)) : pod.namespace === policyNamespace;
  const podOk = peer.podSelector ? selectorMatches(peer.podSelector, pod.labels) : true;
  return nsOk && podOk;
}

export function ipBlockContains(block: { cidr: string; except: string[] }, ip: string): boolean {
  const n = ipToInt(ip);
  return cidrContains(parseCidr(block.cidr), n) && !block.except.some((e) => cidrContains(parseCidr(e), n));
}

/** A peer endpoint: a pod, or a bare address (outside the cluster, or a node). */
export type Endpoint = { pod: PolicyPod } | { ip: string };
const ipOf = (e: Endpoint) => ('pod' in e ? e.pod.ip : e.ip);

function peerMatches(peer: PolicyPeer, policyNamespace: string, e: Endpoint, ns: NamespaceLabels): boolean {
  if (peer.ipBlock) return ipBlockContains(peer.ipBlock, ipOf(e));
  return 'pod' in e && peerSelects(peer, policyNamespace, e.pod, ns);
}

/** A port entry against (destination, port, protocol); a named port is looked up on the destination pod, protocol included. */
export function portMatches(p: PolicyPort, dst: Endpoint, port: number, protocol: PolicyProtocol): boolean {
  if (p.protocol !== protocol) return false;
  if (p.port === undefined) return true;
  if (typeof p.port === 'number') return p.endPort !== undefined ? port >= p.port && port <= p.endPort : port === p.port;
  if (!('pod' in dst)) return false;
  return dst.pod.ports.some((cp) => cp.name === p.port && cp.protocol === protocol && cp.containerPort === port);
}

function ruleAllows(r: PolicyRule, policyNamespace: string, peer: Endpoint, dst: Endpoint, port: number, protocol: PolicyProtocol, ns: NamespaceLabels): boolean {
  const peerOk = r.peers.length === 0 || r.peers.some((p) => peerMatches(p, policyNamespace, peer, ns));
  const portOk = r.ports.length === 0 || r.ports.some((p) => portMatches(p, dst, port, protocol));
  return peerOk && portOk;
}

/**
 * Whether a new connection from → to on (port, protocol) is allowed: the source's egress (if the
 * source is a pod) AND the destination's ingress (if it is a pod). Replies are conntrack's business.
 */
export function connectionAllowed(policies: NetworkPolicyState[], ns: NamespaceLabels, from: Endpoint, to: Endpoint, port: number, protocol: PolicyProtocol): boolean {
  if ('pod' in from) {
    const eg = policiesFor(policies, from.pod, 'Egress');
    if (eg.length && !eg.some((p) => p.egress.some((r) => ruleAllows(r, p.namespace, to, to, port, protocol, ns)))) return false;
  }
  if ('pod' in to) {
    const ing = policiesFor(policies, to.pod, 'Ingress');
    if (ing.length && !ing.some((p) => p.ingress.some((r) => ruleAllows(r, p.namespace, from, to, port, protocol, ns)))) return false;
  }
  return true;
}
