/**
 * Host ports as the CNI portmap plugin maps them (containernetworking/plugins, plugins/meta/portmap,
 * iptables backend), in each node's nat table. Pure: the kube-proxy-style restore payload of one node.
 *
 *   PREROUTING, OUTPUT  -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT          (appended)
 *   CNI-HOSTPORT-DNAT   per pod: -m multiport -p PROTO --destination-ports P,… -j CNI-DN-<hash>
 *   CNI-DN-<hash>       per port: hairpin (-s POD/32) and localhost (-s 127.0.0.1) → CNI-HOSTPORT-SETMARK,
 *                       then -p PROTO --dport HOSTPORT [-d HOSTIP] -j DNAT --to-destination POD:PORT
 *   CNI-HOSTPORT-SETMARK  MARK --set-xmark 0x2000/0x2000 (markMasqBit 13)
 *   POSTROUTING         -j CNI-HOSTPORT-MASQ (inserted first); CNI-HOSTPORT-MASQ masquerades the mark
 *
 * The payload names only CNI-* chains (an `iptables-restore --noflush` flushes just the chains it
 * declares), so kube-proxy's restores, which rewrite KUBE-* chains and delete only stale KUBE service
 * chains, and this one leave each other alone. hostNetwork pods get no mapping (no CNI call for them).
 */
import { createHash } from 'node:crypto';
import type { ClusterState } from '../../cluster/types.js';
import { nodeNetns, podNetns } from '../../topology/names.js';
import type { HostPortMapping } from '../../topology/host-ports.js';

export const DNAT_CHAIN = 'CNI-HOSTPORT-DNAT';
export const SETMARK_CHAIN = 'CNI-HOSTPORT-SETMARK';
export const MASQ_CHAIN = 'CNI-HOSTPORT-MASQ';
/** The plugin's default markMasqBit (13). */
export const MASQ_MARK = '0x2000/0x2000';
/** Calico's CNI network name, the `name` the portmap plugin hashes with the container ID. */
export const CNI_NETWORK = 'k8s-pod-network';
/** multiport takes at most 15 ports per rule. */
const MULTIPORT_MAX = 15;
const MAX_CHAIN_LENGTH = 28;
const MAX_COMMENT = 256;

export interface PortmapPod {
  key: string;
  ip: string;
  /** The container ID stand-in the chain name and comment are derived from: the pod's network namespace. */
  sandbox: string;
  mappings: HostPortMapping[];
}

export interface NodePortmapPlan {
  node: string;
  netns: string;
  pods: PortmapPod[];
}

/** `CNI-DN-` + sha512(network name + container ID), cut to 28 characters, as the plugin names it. */
export const dnatChainName = (sandbox: string): string => `CNI-DN-${createHash('sha512').update(CNI_NETWORK + sandbox).digest('hex')}`.slice(0, MAX_CHAIN_LENGTH);

export const isDnatChainName = (chain: string): boolean => /^CNI-DN-[0-9a-f]{21}$/.test(chain);

/** Each node's pods with host ports (not hostNetwork ones), in pod-key order. */
export function planPortmaps(c: ClusterState): NodePortmapPlan[] {
  return c.nodes.map((n) => ({
    node: n.name,
    netns: nodeNetns(c.lab, n.name),
    pods: c.pods
      .filter((p) => p.nodeName === n.name && !p.hostNetwork)
      .map((p) => ({
        key: `${p.namespace}/${p.name}`,
        ip: p.ip,
        sandbox: podNetns(c.lab, p.namespace, p.name),
        mappings: p.containers.flatMap((ct) =>
          ct.declaredPorts.flatMap((d) => (d.hostPort ? [{ hostPort: d.hostPort, containerPort: d.containerPort, protocol: d.protocol, hostIP: d.hostIP && d.hostIP !== '0.0.0.0' ? d.hostIP : '' }] : [])),
        ),
      }))
      .filter((p) => p.mappings.length > 0)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
  }));
}

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The rules of one pod: its entry in CNI-HOSTPORT-DNAT and its own chain. */
export function renderPod(p: PortmapPod): { entries: string[]; rules: string[]; chain: string } {
  const chain = dnatChainName(p.sandbox);
  const comment = `dnat name: "${CNI_NETWORK}" id: "${p.sandbox}"`.slice(0, MAX_COMMENT);
  const protocols = [...new Set(p.mappings.map((m) => m.protocol.toLowerCase()))].sort();
  const entries: string[] = [];
  for (const proto of protocols) {
    const ports = [...new Set(p.mappings.filter((m) => m.protocol.toLowerCase() === proto).map((m) => m.hostPort))];
    for (let i = 0; i < ports.length; i += MULTIPORT_MAX)
      entries.push(`-A ${DNAT_CHAIN} -m comment --comment ${quote(comment)} -m multiport -p ${proto} --destination-ports ${ports.slice(i, i + MULTIPORT_MAX).join(',')} -j ${chain}`);
  }
  const rules = p.mappings.flatMap((m) => {
    const base = `-A ${chain} -p ${m.protocol.toLowerCase()} --dport ${m.hostPort}${m.hostIP ? ` -d ${m.hostIP}` : ''}`;
    return [`${base} -s ${p.ip}/32 -j ${SETMARK_CHAIN}`, `${base} -s 127.0.0.1 -j ${SETMARK_CHAIN}`, `${base} -j DNAT --to-destination ${p.ip}:${m.containerPort}`];
  });
  return { entries, rules, chain };
}

/** The jumps from the built-in chains, as iptables-save prints them (to find the ones missing). */
export const HOOKS = {
  PREROUTING: `-A PREROUTING -m addrtype --dst-type LOCAL -j ${DNAT_CHAIN}`,
  OUTPUT: `-A OUTPUT -m addrtype --dst-type LOCAL -j ${DNAT_CHAIN}`,
  POSTROUTING: `-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j ${MASQ_CHAIN}`,
} as const;

export interface PortmapExisting {
  /** nat chains the node has now */
  chains: string[];
  /** which CNI jumps the built-in chains already hold */
  hooked: Set<keyof typeof HOOKS>;
}

/**
 * One node's restore payload: the CNI chains rewritten whole, stale CNI-DN chains of pods that are gone
 * flushed and deleted, and the missing jumps (DNAT appended to PREROUTING/OUTPUT, MASQ inserted first
 * in POSTROUTING, as the plugin adds them).
 */
export function renderPortmap(plan: NodePortmapPlan, existing: PortmapExisting): string {
  const pods = plan.pods.map(renderPod);
  const active = new Set(pods.map((p) => p.chain));
  const stale = existing.chains.filter((c) => isDnatChainName(c) && !active.has(c)).sort();
  const lines = [
    '*nat',
    ...[DNAT_CHAIN, SETMARK_CHAIN, MASQ_CHAIN, ...pods.map((p) => p.chain), ...stale].map((c) => `:${c} - [0:0]`),
    `-A ${SETMARK_CHAIN} -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark ${MASQ_MARK}`,
    `-A ${MASQ_CHAIN} -m mark --mark ${MASQ_MARK} -j MASQUERADE`,
    ...pods.flatMap((p) => p.entries),
    ...pods.flatMap((p) => p.rules),
    ...stale.map((c) => `-X ${c}`),
    ...(!existing.hooked.has('PREROUTING') ? [HOOKS.PREROUTING] : []),
    ...(!existing.hooked.has('OUTPUT') ? [HOOKS.OUTPUT] : []),
    ...(!existing.hooked.has('POSTROUTING') ? [HOOKS.POSTROUTING.replace('-A POSTROUTING', '-I POSTROUTING 1')] : []),
    'COMMIT',
    '',
  ];
  return lines.join('\n');
}

/** Which hooks a node's saved built-in nat rules hold. */
export function hookedIn(builtinNatRules: string[]): Set<keyof typeof HOOKS> {
  const out = new Set<keyof typeof HOOKS>();
  for (const chain of Object.keys(HOOKS) as Array<keyof typeof HOOKS>) {
    const target = chain === 'POSTROUTING' ? MASQ_CHAIN : DNAT_CHAIN;
    if (builtinNatRules.some((r) => r.startsWith(`-A ${chain} `) && r.endsWith(`-j ${target}`))) out.add(chain);
  }
  return out;
}
