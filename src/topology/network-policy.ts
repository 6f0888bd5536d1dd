/**
 * networking.k8s.io/v1 NetworkPolicy: the API server's checks (networking validation
 * ValidateNetworkPolicySpec / ValidateNetworkPolicyPort / ValidateIPBlock) and the conversion to
 * the control plane's NetworkPolicyState. Calico's projectcalico.org/v3 policy kinds are refused
 * by name (CALICO_POLICY_KINDS).
 */
import { checkLabelSelector, ianaSvcName } from './apimachinery.js';
import type { NetworkPolicyState, PolicyPeer, PolicyPort, PolicyRule, PolicyType } from '../cluster/network-policy.js';
import type { LabelSelector } from '../cluster/selectors.js';
import { cidrText, parseCidr, type Cidr } from '../util/ipv4.js';

type Add = (path: string, message: string) => void;

export const CALICO_POLICY_KINDS = ['NetworkPolicy', 'GlobalNetworkPolicy', 'StagedNetworkPolicy', 'StagedGlobalNetworkPolicy', 'Tier'];
export const CALICO_POLICY_REFUSAL = 'not emulated yet: use networking.k8s.io/v1 NetworkPolicy';

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const TYPES = ['Ingress', 'Egress'];

interface RawPort { protocol?: string; port?: number | string; endPort?: number }
interface RawPeer { podSelector?: LabelSelector; namespaceSelector?: LabelSelector; ipBlock?: { cidr?: string; except?: string[] } }
interface RawRule { ports?: RawPort[]; from?: RawPeer[]; to?: RawPeer[] }
interface RawPolicy { metadata?: { name?: string; namespace?: string }; spec?: { podSelector?: LabelSelector; policyTypes?: string[]; ingress?: RawRule[]; egress?: RawRule[] } }

function cidrOf(text: unknown, path: string, add: Add): Cidr | undefined {
  if (typeof text !== 'string' || text === '') {
    add(path, 'Required value');
    return undefined;
  }
  if (text.includes(':')) {
    add(path, `Invalid value: "${text}": IPv6 is not emulated (kemu's pod network is IPv4); use an IPv4 CIDR`);
    return undefined;
  }
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(text) || text.split('/')[0]!.split('.').some((o) => Number(o) > 255) || Number(text.split('/')[1]) > 32) {
    add(path, `Invalid value: "${text}": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`);
    return undefined;
  }
  return parseCidr(text);
}

function checkPort(p: RawPort, path: string, add: Add): void {
  if (p.protocol !== undefined && !PROTOCOLS.includes(p.protocol)) add(`${path}.protocol`, `Unsupported value: "${p.protocol}": supported values: "SCTP", "TCP", "UDP"`);
  if (typeof p.port === 'number') {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) add(`${path}.port`, `Invalid value: ${p.port}: must be between 1 and 65535, inclusive`);
  } else if (typeof p.port === 'string') {
    const bad = ianaSvcName(p.port);
    if (bad) add(`${path}.port`, bad);
  }
  if (p.endPort !== undefined) {
    if (p.port === undefined) add(`${path}.endPort`, 'Required value: may not be specified when `port` is not specified');
    else if (typeof p.port === 'string') add(`${path}.endPort`, 'Invalid value: may not be specified when `port` is non-numeric');
    else if (!Number.isInteger(p.endPort) || p.endPort < 1 || p.endPort > 65535) add(`${path}.endPort`, `Invalid value: ${p.endPort}: must be between 1 and 65535, inclusive`);
    else if (p.endPort < p.port) add(`${path}.endPort`, `Invalid value: ${p.endPort}: must be greater than or equal to \`port\``);
  }
}

function checkPeer(peer: RawPeer, path: string, add: Add): void {
  const kinds = [peer.podSelector, peer.namespaceSelector, peer.ipBlock].filter((x) => x !== undefined && x !== null).length;
  if (kinds === 0) return add(path, 'Required value: must specify a peer');
  if (peer.ipBlock && kinds > 1) return add(path, 'Forbidden: may not specify more than 1 peer type');
  checkLabelSelector(peer.podSelector, `${path}.podSelector`, add);
  checkLabelSelector(peer.namespaceSelector, `${path}.namespaceSelector`, add);
  if (peer.ipBlock) {
    const cidr = cidrOf(peer.ipBlock.cidr, `${path}.ipBlock.cidr`, add);
    (peer.ipBlock.except ?? []).forEach((e, i) => {
      const ex = cidrOf(e, `${path}.ipBlock.except[${i}]`, add);
      if (cidr && ex && !(ex.prefix > cidr.prefix && ex.base >= cidr.base && ex.base < cidr.base + cidr.size)) add(`${path}.ipBlock.except[${i}]`, `Invalid value: "${e}": must be a strict subset of \`cidr\``);
    });
  }
}

/**
 * The client's typed loader names an ingress rule's `from` `_from` (a reserved word in its model):
 * put the wire name back, so checks, the store and `get -o json` see what the user wrote.
 */
export function wireNetworkPolicy<T>(doc: T): T {
  const spec = (doc as { spec?: { ingress?: Array<Record<string, unknown>> } }).spec;
  for (const r of spec?.ingress ?? []) {
    if (r && '_from' in r) {
      r.from = r._from;
      delete r._from;
    }
  }
  return doc;
}

/** Every problem of one NetworkPolicy document, reported through `add`. */
export function checkNetworkPolicy(doc: unknown, where: string, add: Add): void {
  const spec = (doc as RawPolicy).spec;
  if (!spec) return add(`${where}.spec`, 'Required value');
  if (spec.podSelector === undefined || spec.podSelector === null) add(`${where}.spec.podSelector`, 'Required value: use {} to select every pod of the namespace');
  else checkLabelSelector(spec.podSelector, `${where}.spec.podSelector`, add);
  const types = spec.policyTypes ?? [];
  types.forEach((t, i) => {
    if (!TYPES.includes(t)) add(`${where}.spec.policyTypes[${i}]`, `Unsupported value: "${t}": supported values: "Egress", "Ingress"`);
  });
  if (types.length > 2) add(`${where}.spec.policyTypes`, 'Invalid value: may not specify more than two policyTypes');
  for (const [dir, peersKey] of [['ingress', 'from'], ['egress', 'to']] as const)
    (spec[dir] ?? []).forEach((r, i) => {
      (r.ports ?? []).forEach((p, j) => checkPort(p, `${where}.spec.${dir}[${i}].ports[${j}]`, add));
      (r[peersKey] ?? []).forEach((p, j) => checkPeer(p, `${where}.spec.${dir}[${i}].${peersKey}[${j}]`, add));
    });
}

function toRule(r: RawRule, peersKey: 'from' | 'to'): PolicyRule {
  const ports: PolicyPort[] = (r.ports ?? []).map((p) => ({ protocol: (p.protocol ?? 'TCP') as PolicyPort['protocol'], ...(p.port !== undefined ? { port: p.port } : {}), ...(p.endPort !== undefined ? { endPort: p.endPort } : {}) }));
  const peers: PolicyPeer[] = (r[peersKey] ?? []).map((p) =>
    p.ipBlock
      ? { ipBlock: { cidr: cidrText(parseCidr(p.ipBlock.cidr!)), except: (p.ipBlock.except ?? []).map((e) => cidrText(parseCidr(e))) } }
      : { ...(p.podSelector ? { podSelector: p.podSelector } : {}), ...(p.namespaceSelector ? { namespaceSelector: p.namespaceSelector } : {}) },
  );
  return { ports, peers };
}

/** A checked document as control-plane state (namespace defaults to `default`). */
export function toNetworkPolicyState(doc: unknown): NetworkPolicyState {
  const d = doc as RawPolicy;
  const spec = d.spec!;
  return {
    namespace: d.metadata?.namespace ?? 'default',
    name: d.metadata!.name!,
    podSelector: spec.podSelector ?? {},
    ...(spec.policyTypes?.length ? { policyTypes: spec.policyTypes as PolicyType[] } : {}),
    ingress: (spec.ingress ?? []).map((r) => toRule(r, 'from')),
    egress: (spec.egress ?? []).map((r) => toRule(r, 'to')),
  };
}
