/**
 * One node's policy plan in Felix's filter-table layout (Calico v3.32: policy chains named
 * cali-pi-knp/<ns>/<name>, mark bits accept 0x10000, pass 0x20000, drop 0x40000, scratch0 0x80000,
 * scratch1 0x100000 under the default mask 0xffff0000). Pure: pods, policies and namespaces in,
 * chains (rule bodies without comments) and ipsets out.
 *
 * Simplifications against Felix, kept verdict-identical: flat dispatch chains (no prefix tree), no
 * policy-group chains, no host-endpoint chains, no ksa.* profiles, named and numbered ports of
 * one protocol in separate rules instead of a match block.
 */
import { caliName } from '../../topology/names.js';
import { effectivePolicyTypes, peerSelects, policiesFor, type NamespaceLabels, type NetworkPolicyState, type PolicyPeer, type PolicyPod, type PolicyPort, type PolicyProtocol, type PolicyRule } from '../../cluster/network-policy.js';
import { fromWorkloadChain, namedPortIpset, policyChain, profileChain, ruleHashes, selectorIpset, toWorkloadChain } from './names.js';
import { ALL_PODS_SELECTOR, peerSelector, policySelector } from './selectors.js';
import { selectorMatches } from '../../cluster/selectors.js';

export const MARK_ACCEPT = '0x10000';
export const MARK_PASS = '0x20000';
export const MARK_SCRATCH0 = '0x80000';
/** accept|pass: cleared at the start of each endpoint chain. */
const MARK_VERDICT = '0x30000';
/** Every Calico bit except accept (pass, drop, scratch, endpoint): cleared on entry to cali-FORWARD. */
const MARK_ALL_BUT_ACCEPT = '0xfffe0000';

const SET_ACCEPT = `-j MARK --set-xmark ${MARK_ACCEPT}/${MARK_ACCEPT}`;
const IF_ACCEPTED = `-m mark --mark ${MARK_ACCEPT}/${MARK_ACCEPT}`;
const IF_NOT_PASSED = `-m mark --mark 0x0/${MARK_PASS}`;
const c = (text: string) => `-m comment --comment "${text}"`;

export interface IpsetPlan {
  name: string;
  type: 'hash:net' | 'hash:ip,port';
  members: string[];
}

export interface PolicyPlan {
  /** Chain name → rules (argument text after `-A <chain> `), in order. */
  chains: Map<string, string[]>;
  ipsets: IpsetPlan[];
}

export interface PolicyInput {
  policies: NetworkPolicyState[];
  namespaces: NamespaceLabels;
  /** Every pod with an address, cluster-wide (ipset members). */
  pods: PolicyPod[];
  /** The pods on this node. */
  localPods: PolicyPod[];
}

class Ipsets {
  readonly sets = new Map<string, IpsetPlan>();
  add(name: string, type: IpsetPlan['type'], members: () => string[]): string {
    if (!this.sets.has(name)) this.sets.set(name, { name, type, members: [...new Set(members())].sort() });
    return name;
  }
}

function portList(ports: PolicyPort[]): string[] {
  return ports.map((p) => (p.endPort !== undefined && p.endPort !== p.port ? `${p.port}:${p.endPort}` : String(p.port)));
}

/** multiport takes at most 15 slots, a range two (SplitPortList). */
function splitPorts(items: string[]): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let slots = 0;
  for (const it of items) {
    const n = it.includes(':') ? 2 : 1;
    if (slots + n > 15) {
      out.push(cur);
      cur = [];
      slots = 0;
    }
    cur.push(it);
    slots += n;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** The port matches of one protocol group: whole protocol, numbered chunks, named-port sets. */
function portMatches(proto: PolicyProtocol, ports: PolicyPort[], namedSelector: string, namedMembers: (name: string) => string[], sets: Ipsets): string[] {
  const p = `-p ${proto.toLowerCase()}`;
  if (ports.some((x) => x.port === undefined)) return [p];
  const numbered = ports.filter((x) => typeof x.port === 'number');
  const named = [...new Set(ports.filter((x) => typeof x.port === 'string').map((x) => x.port as string))].sort();
  const out = splitPorts(portList(numbered)).map((chunk) => `${p} -m multiport --destination-ports ${chunk.join(',')}`);
  for (const n of named) {
    const set = sets.add(namedPortIpset(namedSelector, proto, n), 'hash:ip,port', () => namedMembers(n));
    out.push(`${p} -m set --match-set ${set} dst,dst`);
  }
  return out;
}

interface Ctx {
  input: PolicyInput;
  sets: Ipsets;
}

/** The rules of one policy direction (the body of cali-pi-/cali-po-). */
function policyRules(pol: NetworkPolicyState, dir: 'in' | 'out', ctx: Ctx): string[] {
  const rules: string[] = [c(`KubernetesNetworkPolicy ${pol.namespace}/${pol.name} ${dir === 'in' ? 'ingress' : 'egress'}`)];
  const side = dir === 'in' ? 'src' : 'dst';
  const addrFlag = dir === 'in' ? '-s' : '-d';
  const list: PolicyRule[] = dir === 'in' ? pol.ingress : pol.egress;
  const { pods, namespaces } = ctx.input;
  for (const r of list) {
    const peers: Array<PolicyPeer | undefined> = r.peers.length ? r.peers : [undefined];
    for (const peer of peers) {
      // Named ports resolve on the destination: the policy's own pods for ingress, the peer's pods for egress.
      const destPods = (): PolicyPod[] =>
        dir === 'in' ? pods.filter((x) => x.namespace === pol.namespace && selectorMatches(pol.podSelector, x.labels)) : peer && !peer.ipBlock ? pods.filter((x) => peerSelects(peer, pol.namespace, x, namespaces)) : pods;
      const namedSel = dir === 'in' ? policySelector(pol.podSelector, pol.namespace) : peer && !peer.ipBlock ? peerSelector(peer, pol.namespace) : ALL_PODS_SELECTOR;
      const namedMembers = (proto: PolicyProtocol) => (name: string) =>
        destPods().flatMap((x) => x.ports.filter((cp) => cp.name === name && cp.protocol === proto).map((cp) => `${x.ip},${proto.toLowerCase()}:${cp.containerPort}`));
      const protos = [...new Set(r.ports.map((x) => x.protocol))];
      const portSets: string[] = r.ports.length ? protos.flatMap((proto) => portMatches(proto, r.ports.filter((x) => x.protocol === proto), namedSel, namedMembers(proto), ctx.sets)) : [''];
      let peerMatch = '';
      let excepts: string[] = [];
      if (peer?.ipBlock) {
        peerMatch = `${addrFlag} ${peer.ipBlock.cidr}`;
        excepts = peer.ipBlock.except;
      } else if (peer) {
        const sel = peerSelector(peer, pol.namespace);
        const set = ctx.sets.add(selectorIpset(sel), 'hash:net', () => pods.filter((x) => peerSelects(peer, pol.namespace, x, namespaces)).map((x) => `${x.ip}/32`));
        peerMatch = `-m set --match-set ${set} ${side}`;
      }
      for (const portMatch of portSets) {
        const match = [portMatch, peerMatch].filter(Boolean).join(' ');
        if (excepts.length) {
          // A CIDR with holes is a match block: set scratch0, clear it for each except, require it at the end.
          rules.push(`-j MARK --set-xmark ${MARK_SCRATCH0}/0x180000`);
          for (const e of excepts) rules.push(`${addrFlag} ${e} -j MARK --set-xmark 0x0/${MARK_SCRATCH0}`);
          rules.push(`${match} -m mark --mark ${MARK_SCRATCH0}/${MARK_SCRATCH0} ${SET_ACCEPT}`);
        } else rules.push(`${match ? match + ' ' : ''}${SET_ACCEPT}`);
        rules.push(`${IF_ACCEPTED} -j RETURN`);
      }
    }
  }
  // Felix strips trailing RETURNs: an allow that ends the chain falls off it.
  while (rules.length > 1 && rules[rules.length - 1] === `${IF_ACCEPTED} -j RETURN`) rules.pop();
  return rules;
}

/** cali-tw-<iface> (dir in) or cali-fw-<iface> (dir out) for one local pod. */
function endpointRules(pod: PolicyPod, dir: 'in' | 'out', ctx: Ctx): string[] {
  const rules = ['-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-m conntrack --ctstate INVALID -j DROP', `-j MARK --set-xmark 0x0/${MARK_VERDICT}`];
  if (dir === 'out') rules.push(`${c('DROP VXLAN encapped packets originating in workloads')} -p udp -m multiport --destination-ports 4789 -j DROP`, `${c('DROP IPinIP encapped packets originating in workloads')} -p ipencap -j DROP`);
  const pols = policiesFor(ctx.input.policies, pod, dir === 'in' ? 'Ingress' : 'Egress');
  if (pols.length) {
    rules.push(`${c('Start of tier default')} -j MARK --set-xmark 0x0/${MARK_PASS}`);
    for (const p of pols) rules.push(`${IF_NOT_PASSED} -j ${policyChain(dir, p.namespace, p.name)}`, `${c('Return if policy accepted')} ${IF_ACCEPTED} -j RETURN`);
    rules.push(`${c('End of tier default. DROP if no policies passed packet')} ${IF_NOT_PASSED} -j DROP`);
  }
  rules.push(`-j ${profileChain(dir, `kns.${pod.namespace}`)}`, `${c('Return if profile accepted')} ${IF_ACCEPTED} -j RETURN`, `${c('DROP if no profiles matched')} -j DROP`);
  return rules;
}

export function planPolicy(input: PolicyInput): PolicyPlan {
  const ctx: Ctx = { input, sets: new Ipsets() };
  const chains = new Map<string, string[]>();
  const local = [...input.localPods].sort((a, b) => caliName(a.namespace, a.name).localeCompare(caliName(b.namespace, b.name)));
  chains.set('cali-FORWARD', [
    `${c('Clear marks')} -j MARK --set-xmark 0x0/${MARK_ALL_BUT_ACCEPT}`,
    `-i cali+ ${c('From workload')} -j cali-from-wl-dispatch`,
    `-o cali+ ${c('To workload')} -j cali-to-wl-dispatch`,
  ]);
  chains.set('cali-from-wl-dispatch', [...local.map((p) => `-i ${caliName(p.namespace, p.name)} -g ${fromWorkloadChain(caliName(p.namespace, p.name))}`), `${c('Unknown interface')} -j DROP`]);
  chains.set('cali-to-wl-dispatch', [...local.map((p) => `-o ${caliName(p.namespace, p.name)} -g ${toWorkloadChain(caliName(p.namespace, p.name))}`), `${c('Unknown interface')} -j DROP`]);
  // Host → local workload is never policed (cali-OUTPUT returns for -o cali+): kubelet probes pass.
  chains.set('cali-OUTPUT', [`-o cali+ -j RETURN`]);
  for (const p of local) {
    const iface = caliName(p.namespace, p.name);
    chains.set(toWorkloadChain(iface), endpointRules(p, 'in', ctx));
    chains.set(fromWorkloadChain(iface), endpointRules(p, 'out', ctx));
  }
  for (const ns of [...new Set(local.map((p) => p.namespace))].sort()) {
    chains.set(profileChain('in', `kns.${ns}`), [SET_ACCEPT]);
    chains.set(profileChain('out', `kns.${ns}`), [SET_ACCEPT]);
  }
  // Policy chains for the policies that select some local pod, in the direction they govern.
  for (const pol of [...input.policies].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))) {
    const types = effectivePolicyTypes(pol);
    for (const [dir, type] of [['in', 'Ingress'], ['out', 'Egress']] as const) {
      if (!types.includes(type)) continue;
      if (!local.some((p) => policiesFor([pol], p, type).length)) continue;
      chains.set(policyChain(dir, pol.namespace, pol.name), policyRules(pol, dir, ctx));
    }
  }
  return { chains, ipsets: [...ctx.sets.sets.values()].sort((a, b) => a.name.localeCompare(b.name)) };
}

/** Rules appended to the built-in FORWARD chain (static.go StaticFilterForwardAppendRules). */
export const FORWARD_APPEND = [`${c('Policy explicitly accepted packet.')} ${IF_ACCEPTED} -j ACCEPT`, `-j MARK --set-xmark ${MARK_ACCEPT}/${MARK_ACCEPT}`];

/** iptables-restore --noflush text: declaring a chain flushes it; each rule carries its cali:<hash> comment. */
export function filterRestore(plan: PolicyPlan, removed: string[] = []): string {
  const lines = ['*filter'];
  for (const name of plan.chains.keys()) lines.push(`:${name} - [0:0]`);
  for (const [name, rules] of plan.chains) {
    const hashes = ruleHashes(name, rules);
    rules.forEach((r, i) => lines.push(`-A ${name} -m comment --comment "cali:${hashes[i]}" ${r}`));
  }
  for (const name of removed) lines.push(`-F ${name}`);
  for (const name of removed) lines.push(`-X ${name}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** Felix's temporary twin of a set: cali4t… for cali40… (ipset_defs.go). */
export const tempIpset = (name: string) => name.slice(0, 5) + 't' + name.slice(6);

/**
 * ipset restore text: each set filled as its temporary twin and swapped in, so a member change
 * never leaves the set empty (and never touches the policy chains); sets no longer used destroyed.
 */
export function ipsetRestore(plan: PolicyPlan, removed: string[] = []): string {
  const lines: string[] = [];
  for (const s of plan.ipsets) {
    const t = tempIpset(s.name);
    lines.push(`create ${s.name} ${s.type} family inet -exist`, `create ${t} ${s.type} family inet -exist`, `flush ${t}`);
    for (const m of s.members) lines.push(`add ${t} ${m}`);
    lines.push(`swap ${t} ${s.name}`, `destroy ${t}`);
  }
  for (const name of removed) lines.push(`destroy ${name}`);
  return lines.join('\n') + '\n';
}
