/**
 * kube-proxy's iptables-mode sync for one node, as a pure function: one `iptables-restore --noflush`
 * payload with the *filter then the *nat table, in the order syncProxyRules writes them.
 *
 * filter: chain lines, KUBE-FIREWALL martian rule, per-service REJECT/DROP/ACCEPT rules, KUBE-FORWARD.
 * nat:    chain lines, KUBE-POSTROUTING, KUBE-MARK-MASQ, per service port (sorted by name) its
 *         KUBE-SERVICES/KUBE-NODEPORTS entries then its own chains, `-X` for stale chains, and last the
 *         KUBE-SERVICES → KUBE-NODEPORTS tail rule.
 *
 * Partial sync (opts.changed): top-level chains and the whole filter table are always written; the
 * SVC/SVL/EXT/FW/SEP chains of unchanged services are neither declared nor written (only counted).
 */
import { allowsLoopback, cidrHasIp, normalizeIPv4 } from './addresses.js';
import { ipToInt, parseCidr } from '../../util/ipv4.js';
import { isServiceChainName } from './chain-names.js';
import { LineBuffer, chainLine, quoted } from './line-buffer.js';
import { writeServiceChains, writeServiceEntries, type RenderContext } from './render-service.js';
import { activeChainsOf, planServicePort, type ServicePlan } from './service-plan.js';
import type { LocalDetector, ProxyNode, ProxyRestore, ProxyServicePort, RenderOptions } from './types.js';

export { renderHookRules, CANARY_CHAIN, CANARY_TABLES, type HookRules } from './hooks.js';
export { staleUdpEndpoints, type StaleUdpEntry } from './conntrack.js';

const FILTER_TOP = ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL'];
const NAT_TOP = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'];
/** Above this many endpoints in total, kube-proxy drops per-endpoint comments. */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

/** The mark as iptables-save prints it (kube-proxy writes "%#08x", e.g. 0x004000; same mark). */
export const masqueradeMark = (bit = 14): string => `0x${(2 ** bit).toString(16)}`;

const byName = (a: ServicePlan, b: ServicePlan): number =>
  a.key < b.key ? -1 : a.key > b.key ? 1 : a.proto < b.proto ? -1 : a.proto > b.proto ? 1 : 0;

export function renderProxyRules(node: ProxyNode, services: ProxyServicePort[], opts: RenderOptions = {}): ProxyRestore {
  const mark = masqueradeMark(node.masqueradeBit);
  const nodePortCidrs = (node.nodePortAddresses ?? []).filter((c) => !c.includes(':'));
  // NewProxier: localhost NodePorts only while --nodeport-addresses keeps IPv4 loopback.
  const localhostNodePorts = (node.localhostNodePorts ?? true) && allowsLoopback(nodePortCidrs);
  const nfacct = node.nfacct ?? false;
  const plans = services.map((sp) => planServicePort(sp, node.name, node.zone)).filter((p): p is ServicePlan => p !== null).sort(byName);
  const totalEndpoints = plans.reduce((n, p) => n + p.endpoints.length, 0);

  const filterChains = new LineBuffer();
  const filterRules = new LineBuffer();
  const natChains = new LineBuffer();
  const natRules = new LineBuffer();
  const skipped = { natChains: new LineBuffer(true), natRules: new LineBuffer(true) };
  const ctx: RenderContext = {
    detector: detectorOf(node),
    masqueradeAll: node.masqueradeAll ?? false,
    localhostNodePorts,
    nfacct,
    nodeIP: node.nodeIPs.map(normalizeIPv4).find((ip): ip is string => ip !== null),
    largeClusterMode: (opts.totalEndpoints ?? totalEndpoints) > LARGE_CLUSTER_ENDPOINTS_THRESHOLD,
    filterRules,
    natRules,
  };

  const declaredFilter = [...FILTER_TOP];
  for (const chain of FILTER_TOP) filterChains.write(chainLine(chain));
  for (const chain of NAT_TOP) natChains.write(chainLine(chain));

  natRules.write('-A KUBE-POSTROUTING -m mark ! --mark', `${mark}/${mark}`, '-j RETURN');
  natRules.write('-A KUBE-POSTROUTING -j MARK --xor-mark', mark);
  const masquerade = ['-A KUBE-POSTROUTING -m comment --comment', quoted('kubernetes service traffic requiring SNAT'), '-j MASQUERADE'];
  natRules.write(masquerade, node.randomFully ?? true ? ['--random-fully'] : []);
  natRules.write('-A KUBE-MARK-MASQ -j MARK --or-mark', mark);

  if (localhostNodePorts) {
    declaredFilter.push('KUBE-FIREWALL');
    filterChains.write(chainLine('KUBE-FIREWALL'));
    filterRules.write(
      '-A KUBE-FIREWALL -m comment --comment',
      quoted('block incoming localnet connections'),
      '-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    );
  }

  const existing = opts.previousChains ? new Set(opts.previousChains.nat) : undefined;
  const active = new Set<string>();
  const written: string[] = [];
  for (const plan of plans) {
    const chains = activeChainsOf(plan);
    for (const chain of chains) active.add(chain);
    writeServiceEntries(ctx, plan);
    // A service whose chains are missing from the live table is rewritten even if unchanged,
    // instead of leaving a dangling jump that would fail the whole restore.
    const missing = existing !== undefined && chains.some((c) => !existing.has(c));
    const changed = opts.changed === undefined || isChanged(opts.changed, plan) || missing;
    writeServiceChains(ctx, plan, changed ? { natChains, natRules } : skipped);
    if (changed) written.push(plan.key);
  }

  // Stale per-service chains: a chain line flushes each one, then -X deletes it.
  const stale = (opts.previousChains?.nat ?? []).filter((c) => isServiceChainName(c) && !active.has(c));
  for (const chain of [...new Set(stale)].sort()) {
    natChains.write(chainLine(chain));
    natRules.write('-X', chain);
  }

  const tail = ['-A KUBE-SERVICES -m comment --comment', quoted('kubernetes service nodeports; NOTE: this must be the last rule in this chain')];
  const nodePortIPs = matchedNodeIPs(nodePortCidrs, node.interfaceAddresses ?? node.nodeIPs);
  if (nodePortIPs === 'all') natRules.write(tail, '-m addrtype --dst-type LOCAL', localhostNodePorts ? [] : ['! -d 127.0.0.0/8'], '-j KUBE-NODEPORTS');
  // One rule per matching node address; loopback only with localhost NodePorts (upstream logs an error otherwise).
  else for (const ip of nodePortIPs) if (localhostNodePorts || !ip.startsWith('127.')) natRules.write(tail, '-d', ip, '-j KUBE-NODEPORTS');

  const invalid = nfacct ? ['-m nfacct --nfacct-name ct_state_invalid_dropped_pkts'] : [];
  if (!(node.conntrackTcpLiberal ?? false)) filterRules.write('-A KUBE-FORWARD -m conntrack --ctstate INVALID', invalid, '-j DROP');
  filterRules.write('-A KUBE-FORWARD -m comment --comment', quoted('kubernetes forwarding rules'), '-m mark --mark', `${mark}/${mark}`, '-j ACCEPT');
  filterRules.write(
    '-A KUBE-FORWARD -m comment --comment',
    quoted('kubernetes forwarding conntrack rule'),
    '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  );

  const payload = ['*filter\n', filterChains.text(), filterRules.text(), 'COMMIT\n', '*nat\n', natChains.text(), natRules.text(), 'COMMIT\n'].join('');
  return {
    payload,
    natChains: [...NAT_TOP, ...[...active].sort()],
    filterChains: declaredFilter,
    writtenServices: written,
    lineCounts: {
      filterRules: filterRules.length,
      natRules: natRules.all().filter((l) => l.startsWith('-A ')).length,
      natChainsWritten: natChains.length,
      skippedRules: skipped.natRules.length,
    },
  };
}

function detectorOf(node: ProxyNode): LocalDetector | undefined {
  if (node.localDetector !== undefined) return node.localDetector ?? undefined;
  const cidr = node.clusterCIDR.trim();
  return cidr === '' ? undefined : { ifLocal: ['-s', cidr], ifNotLocal: ['!', '-s', cidr] };
}

/**
 * NodePortAddresses.GetNodeIPs: 'all' when no IPv4 CIDR is given or one is 0.0.0.0/0 (MatchAll), else the
 * node's addresses inside any of them, once each (upstream collects them in a map; here in address order).
 */
function matchedNodeIPs(cidrs: string[], addresses: string[]): string[] | 'all' {
  if (cidrs.length === 0 || cidrs.some((c) => parseCidr(c).prefix === 0)) return 'all';
  const ips = addresses.map(normalizeIPv4).filter((ip): ip is string => ip !== null);
  const hits = new Set(ips.filter((ip) => cidrs.some((c) => cidrHasIp(c, ip))));
  return [...hits].sort((a, b) => ipToInt(a) - ipToInt(b));
}

/** `changed` may name a service port ("ns/name:port") or a whole service ("ns/name"), as kube-proxy tracks. */
function isChanged(changed: Set<string>, plan: ServicePlan): boolean {
  return changed.has(plan.key) || changed.has(`${plan.sp.namespace}/${plan.sp.name}`);
}
