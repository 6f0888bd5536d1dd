/**
 * Rule-for-rule comparison with upstream TestOverallIPTablesRules (reference §6.1), built from the
 * same services and EndpointSlices as the upstream test. The upstream fake proxier has nfacct counters
 * and no --random-fully, so the node sets `nfacct: true, randomFully: false`. Inputs our types cannot
 * say verbatim: svc4 is `type: NodePort` with NodePort 0 (here: no nodePort, same rules), and svc5
 * sets healthCheckNodePort 30000 with eTP=Cluster, which kube-proxy ignores (so does the planner).
 */
import { describe, expect, it } from 'vitest';
import { renderProxyRules } from '../../../src/plan/kube-proxy/render.js';
import type { ProxyNode } from '../../../src/plan/kube-proxy/types.js';
import { OVERALL_GOLDEN } from './golden-overall.js';
import { ep, jumpProblems, parseRestore, rulesOf, sortLikeUpstream, svc } from './helpers.js';

const node: ProxyNode = {
  name: 'test-node',
  nodeIPs: ['192.168.0.2', '192.168.1.2', '192.168.99.11'],
  clusterCIDR: '10.0.0.0/8',
  nfacct: true,
  randomFully: false,
};

// Upstream leaves NodeName unset on ns2's endpoint, so it is not local.
const services = [
  svc('ns1', 'svc1', { clusterIP: '172.30.0.41', endpoints: [ep('10.180.0.1', { nodeName: '' })] }),
  svc('ns2', 'svc2', {
    clusterIP: '172.30.0.42',
    nodePort: 3001,
    loadBalancerIPs: ['1.2.3.4'],
    externalIPs: ['192.168.99.22'],
    externalTrafficPolicy: 'Local',
    healthCheckNodePort: 30000,
    endpoints: [ep('10.180.0.2', { nodeName: '' })],
  }),
  svc('ns3', 'svc3', { clusterIP: '172.30.0.43', nodePort: 3003, endpoints: [ep('10.180.0.3', { nodeName: '' })] }),
  svc('ns4', 'svc4', {
    clusterIP: '172.30.0.44',
    externalIPs: ['192.168.99.33'],
    endpoints: [ep('10.180.0.4', { nodeName: '' }), ep('10.180.0.5', { nodeName: 'test-node' })],
  }),
  svc('ns5', 'svc5', {
    clusterIP: '172.30.0.45',
    nodePort: 3002,
    loadBalancerIPs: ['5.6.7.8'],
    healthCheckNodePort: 30000,
    loadBalancerSourceRanges: [' 203.0.113.0/25'],
    sessionAffinityTimeoutSeconds: 10800,
    endpoints: [ep('10.180.0.3', { nodeName: '' })],
  }),
  svc('ns6', 'svc6', { clusterIP: '172.30.0.46' }),
];

describe('TestOverallIPTablesRules golden', () => {
  const result = renderProxyRules(node, services);

  it('matches the upstream expected dump line for line (after upstream sorting)', () => {
    expect(sortLikeUpstream(result.payload).split('\n')).toEqual(OVERALL_GOLDEN.split('\n'));
  });

  it('matches regardless of the order services are given in', () => {
    expect(renderProxyRules(node, [...services].reverse()).payload).toBe(result.payload);
  });

  it('has the same line counts as the golden dump', () => {
    const golden = parseRestore(OVERALL_GOLDEN);
    expect(result.lineCounts).toEqual({ filterRules: 10, natRules: 55, natChainsWritten: 20, skippedRules: 0 });
    expect(golden.filter!.rules).toHaveLength(10);
    expect(golden.nat!.rules).toHaveLength(55);
    expect(golden.nat!.chains).toHaveLength(20);
  });

  it('emits in kube-proxy order: filter before nat, tail rule last, KUBE-FORWARD last in filter', () => {
    const t = parseRestore(result.payload);
    expect(Object.keys(t)).toEqual(['filter', 'nat']);
    expect(t.filter!.chains).toEqual(['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL', 'KUBE-FIREWALL']);
    expect(t.nat!.chains.slice(0, 4)).toEqual(['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']);
    expect(t.filter!.rules[0]).toMatch(/^-A KUBE-FIREWALL /);
    expect(t.filter!.rules.slice(-3).every((r) => r.startsWith('-A KUBE-FORWARD '))).toBe(true);
    expect(t.nat!.rules.slice(0, 4).map((r) => r.split(' ')[1])).toEqual(['KUBE-POSTROUTING', 'KUBE-POSTROUTING', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']);
    expect(t.nat!.rules.at(-1)).toBe(
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    );
    // ns1's entries and chains come before ns2's (services sorted by name).
    const firstNs2 = t.nat!.rules.findIndex((r) => r.includes('ns2/svc2'));
    const lastNs1 = t.nat!.rules.map((r) => r.includes('ns1/svc1')).lastIndexOf(true);
    expect(lastNs1).toBeLessThan(firstNs2);
  });

  it('passes the upstream jump checks (declared targets, no unused or empty chains)', () => {
    expect(jumpProblems(result.payload)).toEqual([]);
  });

  it('reports the active chains and the written services', () => {
    const top = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'];
    const perService = parseRestore(OVERALL_GOLDEN).nat!.chains.filter((c) => !top.includes(c));
    expect(perService).toHaveLength(16);
    expect(result.natChains).toEqual([...top, ...perService]);
    expect(result.writtenServices).toEqual(['ns1/svc1:p80', 'ns2/svc2:p80', 'ns3/svc3:p80', 'ns4/svc4:p80', 'ns5/svc5:p80', 'ns6/svc6:p80']);
    expect(rulesOf(parseRestore(result.payload).nat!, 'KUBE-POSTROUTING')[2]).toBe(
      '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE',
    );
  });
});
