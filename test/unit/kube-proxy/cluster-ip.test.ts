import { describe, expect, it } from 'vitest';
import { renderProxyRules } from '../../../src/plan/kube-proxy/render.js';
import type { ProxyNode, ProxyServicePort } from '../../../src/plan/kube-proxy/types.js';
import { NODE, ep, jumpProblems, parseRestore, rulesOf, svc } from './helpers.js';

const render = (services: ProxyServicePort[], node: ProxyNode = NODE) => {
  const result = renderProxyRules(node, services);
  const t = parseRestore(result.payload);
  return { result, filter: t.filter!, nat: t.nat! };
};
const SVC1 = 'KUBE-SVC-XPGD46QRK7WJZT7O';

describe('ClusterIP', () => {
  it('spreads N endpoints with probabilities 1/N, 1/(N-1), … in "ip:port" string (byte) order', () => {
    const eps = ['10.180.0.2', '10.180.0.10', '10.180.0.3', '10.180.0.1'].map((ip) => ep(ip));
    const { nat } = render([svc('ns1', 'svc1', { endpoints: eps })]);
    const dispatch = rulesOf(nat, SVC1).slice(1);
    expect(dispatch.map((r) => / -> (\S+)"/.exec(r)?.[1])).toEqual(['10.180.0.10:80', '10.180.0.1:80', '10.180.0.2:80', '10.180.0.3:80']);
    expect(dispatch.map((r) => / --probability (\S+)/.exec(r)?.[1] ?? null)).toEqual(['0.2500000000', '0.3333333333', '0.5000000000', null]);
    expect(dispatch[1]).toBe(
      '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-SXIVWICOYRO3J4NJ',
    );
    expect(dispatch[3]).toMatch(/^-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1\/svc1:p80 -> 10\.180\.0\.3:80" -j KUBE-SEP-\w{16}$/);
    expect(nat.chains.filter((c) => c.startsWith('KUBE-SEP-'))).toHaveLength(4);
  });

  it('masquerades off-cluster sources and hairpin traffic, DNATs to the endpoint port', () => {
    const { nat } = render([svc('ns1', 'svc1', { endpoints: [ep('10.180.0.1', { port: 8080 })] })]);
    const sep = endpointRules(nat);
    expect(rulesOf(nat, SVC1)[0]).toBe(
      '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ',
    );
    expect(sep[0]).toMatch(/^-A KUBE-SEP-\w{16} -m comment --comment ns1\/svc1:p80 -s 10\.180\.0\.1 -j KUBE-MARK-MASQ$/);
    expect(sep[1]).toMatch(/ -m tcp -p tcp -j DNAT --to-destination 10\.180\.0\.1:8080$/);
  });

  it('masquerade-all drops the source condition; no detector drops the rule', () => {
    const sp = svc('ns1', 'svc1', { endpoints: [ep('10.180.0.1')] });
    expect(rulesOf(render([sp], { ...NODE, masqueradeAll: true }).nat, SVC1)[0]).toMatch(/--dport 80 -j KUBE-MARK-MASQ$/);
    const noDetector = rulesOf(render([sp], { ...NODE, clusterCIDR: '' }).nat, SVC1);
    expect(noDetector).toHaveLength(1);
    expect(noDetector[0]).toMatch(/ -> 10\.180\.0\.1:80" -j KUBE-SEP-/);
  });

  it('has no nat rules when there are no endpoints, only a filter REJECT', () => {
    const { filter, nat, result } = render([svc('ns6', 'svc6', { clusterIP: '172.30.0.46' })]);
    expect(rulesOf(filter, 'KUBE-SERVICES')).toEqual([
      '-A KUBE-SERVICES -m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.46 --dport 80 -j REJECT',
    ]);
    expect(nat.rules.filter((r) => r.includes('ns6'))).toEqual([]);
    expect(result.natChains).toEqual(['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']);
  });

  it('treats unready, non-terminating endpoints as none, and falls back to serving+terminating ones', () => {
    const unready = render([svc('ns1', 'svc1', { endpoints: [ep('10.180.0.1', { ready: false, serving: false })] })]);
    expect(rulesOf(unready.filter, 'KUBE-SERVICES')[0]).toMatch(/has no endpoints.* -j REJECT$/);
    const terminating = render([
      svc('ns1', 'svc1', {
        endpoints: [ep('10.180.0.1', { ready: false, serving: true, terminating: true }), ep('10.180.0.2', { ready: false, serving: false, terminating: true })],
      }),
    ]);
    expect(rulesOf(terminating.nat, SVC1).slice(1)).toEqual(['-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ']);
  });

  it('internalTrafficPolicy Local jumps to KUBE-SVL with local endpoints only, masquerading as before', () => {
    const sp = svc('ns1', 'svc1', { internalTrafficPolicy: 'Local', endpoints: [ep('10.180.0.1', { nodeName: 'test-node' }), ep('10.180.0.2')] });
    const { nat } = render([sp]);
    const svl = 'KUBE-SVL-XPGD46QRK7WJZT7O';
    expect(rulesOf(nat, 'KUBE-SERVICES')[0]).toMatch(new RegExp(`-d 172\\.30\\.0\\.41 --dport 80 -j ${svl}$`));
    expect(nat.chains).not.toContain(SVC1);
    expect(rulesOf(nat, svl)).toEqual([
      `-A ${svl} -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ`,
      `-A ${svl} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ`,
    ]);
    expect(nat.chains.filter((c) => c.startsWith('KUBE-SEP-'))).toEqual(['KUBE-SEP-SXIVWICOYRO3J4NJ']);
  });

  it('internalTrafficPolicy Local with no local endpoint DROPs in filter KUBE-SERVICES', () => {
    const { filter, nat } = render([svc('ns1', 'svc1', { internalTrafficPolicy: 'Local', endpoints: [ep('10.180.0.2')] })]);
    expect(rulesOf(filter, 'KUBE-SERVICES')).toEqual([
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j DROP',
    ]);
    expect(nat.chains).toEqual(['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']);
  });

  it('ClientIP affinity writes all rcheck rules first, then the statistic rules, and --set in KUBE-SEP', () => {
    const sp = svc('ns5', 'svc5', { clusterIP: '172.30.0.45', sessionAffinityTimeoutSeconds: 10800, endpoints: [ep('10.180.0.3'), ep('10.180.0.4')] });
    const { nat } = render([sp]);
    const rules = rulesOf(nat, 'KUBE-SVC-NUKIZ6OKUXPJNT4C').slice(1);
    expect(rules.map((r) => (r.includes('--rcheck') ? 'rcheck' : r.includes('--probability') ? 'p' : 'last'))).toEqual(['rcheck', 'rcheck', 'p', 'last']);
    expect(rules[0]).toBe(
      '-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --rcheck --seconds 10800 --reap -j KUBE-SEP-I77PXRDZVX7PMWMN',
    );
    expect(rulesOf(nat, 'KUBE-SEP-I77PXRDZVX7PMWMN')[1]).toBe(
      '-A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80',
    );
  });

  it('writes UDP matches as -m udp -p udp', () => {
    const { nat } = render([svc('kube-system', 'dns', { portName: 'dns', protocol: 'UDP', port: 53, endpoints: [ep('10.180.0.9', { port: 53 })] })]);
    expect(rulesOf(nat, 'KUBE-SERVICES')[0]).toBe(
      `-A KUBE-SERVICES -m comment --comment "kube-system/dns:dns cluster IP" -m udp -p udp -d 172.30.0.41 --dport 53 -j ${nat.chains[4]}`,
    );
    expect(endpointRules(nat)[1]).toMatch(/ -m udp -p udp -j DNAT --to-destination 10\.180\.0\.9:53$/);
  });

  it('skips headless/non-IPv4 services and normalises sloppy IPs', () => {
    const { nat } = render([
      svc('ns1', 'headless', { clusterIP: 'None', endpoints: [ep('10.180.0.1')] }),
      svc('ns1', 'v6', { clusterIP: 'fd00::1', endpoints: [ep('10.180.0.1')] }),
      svc('ns1', 'svc1', { clusterIP: '172.30.0.041', endpoints: [ep('10.180.0.1'), ep('fd00::5')] }),
    ]);
    expect(rulesOf(nat, 'KUBE-SERVICES')[0]).toContain('-d 172.30.0.41 --dport 80');
    expect(nat.rules.some((r) => r.includes('headless') || r.includes('/v6'))).toBe(false);
    expect(rulesOf(nat, SVC1)).toHaveLength(2);
  });

  it('leaves out per-endpoint comments above 1000 endpoints in total (large cluster mode)', () => {
    const many = Array.from({ length: 1001 }, (_, i) => ep(`10.181.${i >> 8}.${i & 255}`));
    const { nat } = render([svc('ns1', 'svc1', { endpoints: many })]);
    const svcRules = rulesOf(nat, SVC1);
    expect(svcRules[0]).toContain('"ns1/svc1:p80 cluster IP"');
    expect(svcRules[1]).toMatch(/^-A KUBE-SVC-XPGD46QRK7WJZT7O -m statistic --mode random --probability 0\.0009990010 -j KUBE-SEP-\w{16}$/);
    expect(endpointRules(nat)[0]).toMatch(/^-A KUBE-SEP-\w{16} -s 10\.181\.0\.0 -j KUBE-MARK-MASQ$/);
    expect(svcRules).toHaveLength(1002);
  });
});

describe('static chains', () => {
  it('writes the masquerade machinery with the configured mark, random-fully and KUBE-FORWARD', () => {
    const { nat, filter } = render([], { ...NODE, masqueradeBit: 15 });
    expect(nat.rules).toEqual([
      '-A KUBE-POSTROUTING -m mark ! --mark 0x8000/0x8000 -j RETURN',
      '-A KUBE-POSTROUTING -j MARK --xor-mark 0x8000',
      '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
      '-A KUBE-MARK-MASQ -j MARK --or-mark 0x8000',
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    ]);
    expect(rulesOf(filter, 'KUBE-FORWARD')).toEqual([
      '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x8000/0x8000 -j ACCEPT',
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ]);
  });

  it('omits the INVALID drop when conntrack is TCP-liberal', () => {
    const { filter } = render([], { ...NODE, conntrackTcpLiberal: true });
    expect(rulesOf(filter, 'KUBE-FORWARD')).toHaveLength(2);
  });

  it('produces consistent jumps for a mixed set of services', () => {
    const { result } = render([
      svc('a', 'one', { internalTrafficPolicy: 'Local', nodePort: 30001, endpoints: [ep('10.1.0.1')] }),
      svc('a', 'two', { externalTrafficPolicy: 'Local', externalIPs: ['203.0.113.9'], endpoints: [ep('10.1.0.2', { nodeName: 'test-node' }), ep('10.1.0.3')] }),
      svc('a', 'three', { sessionAffinityTimeoutSeconds: 60, loadBalancerIPs: ['198.51.100.1'], loadBalancerSourceRanges: ['192.0.2.0/24'], endpoints: [ep('10.1.0.4')] }),
    ]);
    expect(jumpProblems(result.payload)).toEqual([]);
  });
});

function endpointRules(nat: { rules: string[] }): string[] {
  return nat.rules.filter((r) => r.startsWith('-A KUBE-SEP-'));
}
