/**
 * Shared fixtures for the kube-proxy planner tests: the upstream test's address plan (pods 10/8,
 * ClusterIPs 172.30/16, node 192.168.0.2), builders, and a tiny iptables-restore parser.
 */
import type { ProxyEndpoint, ProxyNode, ProxyServicePort } from '../../../src/plan/kube-proxy/types.js';

export const NODE: ProxyNode = { name: 'test-node', nodeIPs: ['192.168.0.2', '192.168.1.2', '192.168.99.11'], clusterCIDR: '10.0.0.0/8' };

export function svc(namespace: string, name: string, over: Partial<ProxyServicePort> = {}): ProxyServicePort {
  return {
    namespace,
    name,
    portName: 'p80',
    protocol: 'TCP',
    clusterIP: '172.30.0.41',
    port: 80,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    endpoints: [],
    ...over,
  };
}

export function ep(ip: string, over: Partial<ProxyEndpoint> = {}): ProxyEndpoint {
  return { ip, port: 80, nodeName: 'other-node', ready: true, serving: true, terminating: false, ...over };
}

export interface Table {
  chains: string[];
  rules: string[];
  deleted: string[];
}

/** Parse a restore payload into tables: declared chains, `-A` lines and `-X` chains, in order. */
export function parseRestore(payload: string): Record<string, Table> {
  const tables: Record<string, Table> = {};
  let current: Table | undefined;
  for (const line of payload.split('\n')) {
    if (line === '' || line === 'COMMIT') continue;
    if (line.startsWith('*')) tables[line.slice(1)] = current = { chains: [], rules: [], deleted: [] };
    else if (line.startsWith(':')) current!.chains.push(line.slice(1).split(' ')[0]!);
    else if (line.startsWith('-A ')) current!.rules.push(line);
    else if (line.startsWith('-X ')) current!.deleted.push(line.slice(3));
    else throw new Error(`unexpected restore line: ${line}`);
  }
  return tables;
}

export const chainOf = (rule: string): string => rule.split(' ')[1]!;
export const rulesOf = (table: Table, chain: string): string[] => table.rules.filter((r) => chainOf(r) === chain);

/** The `--comment` value of a rule, unquoted ('' if none). */
export function commentOf(rule: string): string {
  const m = / --comment (?:"([^"]*)"|(\S+))/.exec(rule);
  return m ? (m[1] ?? m[2] ?? '') : '';
}

function chainOrder(a: string, b: string): number {
  const rank = (c: string): number => (c === 'KUBE-NODEPORTS' ? 0 : c === 'KUBE-SERVICES' ? 1 : c.startsWith('KUBE-') ? 2 : 3);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Upstream's sortIPTablesRules: tables by name; chains KUBE-NODEPORTS, KUBE-SERVICES, other KUBE-*
 * alphabetically; KUBE-NODEPORTS and KUBE-SERVICES rules stably by comment, the nat "must be the last
 * rule" entry last; rules printed grouped by chain.
 */
export function sortLikeUpstream(payload: string): string {
  const tables = parseRestore(payload);
  const out: string[] = [];
  for (const name of Object.keys(tables).sort()) {
    const t = tables[name]!;
    const chains = [...t.chains].sort(chainOrder);
    out.push(`*${name}`, ...chains.map((c) => `:${c} - [0:0]`));
    for (const chain of chains) {
      let rules = rulesOf(t, chain);
      if (chain === 'KUBE-NODEPORTS' || chain === 'KUBE-SERVICES') {
        const key = (r: string): string => (commentOf(r).includes('must be the last rule') ? '\uffff' : commentOf(r));
        rules = [...rules].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
      }
      out.push(...rules);
    }
    out.push(...t.deleted.map((c) => `-X ${c}`), 'COMMIT');
  }
  return `${out.join('\n')}\n`;
}

const TARGETS_NOT_CHAINS = new Set(['ACCEPT', 'DROP', 'REJECT', 'RETURN', 'DNAT', 'MARK', 'MASQUERADE']);

/**
 * Like upstream's checkIPTablesRuleJumps, for a full-sync payload: every jump goes to a declared
 * chain, and every declared per-service chain is jumped to and has rules.
 */
export function jumpProblems(payload: string): string[] {
  const problems: string[] = [];
  for (const [name, t] of Object.entries(parseRestore(payload))) {
    const declared = new Set(t.chains);
    const jumpedTo = new Set<string>();
    for (const rule of t.rules) {
      const target = / -j (\S+)/.exec(rule)?.[1];
      if (target === undefined || TARGETS_NOT_CHAINS.has(target)) continue;
      jumpedTo.add(target);
      if (!declared.has(target)) problems.push(`${name}: ${rule} jumps to undeclared ${target}`);
    }
    for (const chain of t.chains) {
      if (!/^KUBE-(SVC|SVL|EXT|FW|SEP)-/.test(chain) || t.deleted.includes(chain)) continue;
      if (!jumpedTo.has(chain)) problems.push(`${name}: ${chain} is never jumped to`);
      if (rulesOf(t, chain).length === 0) problems.push(`${name}: ${chain} is empty`);
    }
  }
  return problems;
}
