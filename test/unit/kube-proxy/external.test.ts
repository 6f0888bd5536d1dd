import { describe, expect, it } from 'vitest';
import { renderProxyRules } from '../../../src/plan/kube-proxy/render.js';
import type { ProxyNode, ProxyServicePort } from '../../../src/plan/kube-proxy/types.js';
import { NODE, ep, jumpProblems, parseRestore, rulesOf, svc } from './helpers.js';

const render = (services: ProxyServicePort[], node: ProxyNode = NODE) => {
  const result = renderProxyRules(node, services);
  const t = parseRestore(result.payload);
  return { result, filter: t.filter!, nat: t.nat! };
};
const H2 = 'GNZBNJ2PO5MGZ6GT'; // ns2/svc2:p80 tcp

describe('NodePort', () => {
  const sp = svc('ns2', 'svc2', { clusterIP: '172.30.0.42', nodePort: 3001, endpoints: [ep('10.180.0.2')] });

  it('enters through KUBE-NODEPORTS into KUBE-EXT, which masquerades then goes to KUBE-SVC', () => {
    const { nat, result } = render([sp]);
    expect(rulesOf(nat, 'KUBE-NODEPORTS')).toEqual([`-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-${H2}`]);
    expect(rulesOf(nat, `KUBE-EXT-${H2}`)).toEqual([
      `-A KUBE-EXT-${H2} -m comment --comment "masquerade traffic for ns2/svc2:p80 external destinations" -j KUBE-MARK-MASQ`,
      `-A KUBE-EXT-${H2} -j KUBE-SVC-${H2}`,
    ]);
    const services = rulesOf(nat, 'KUBE-SERVICES');
    expect(services.at(-1)).toMatch(/"kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS$/);
    expect(jumpProblems(result.payload)).toEqual([]);
  });

  it('adds the localhost nfacct rule only with nfacct; without localhost NodePorts excludes 127/8', () => {
    const withNfacct = render([sp], { ...NODE, nfacct: true }).nat;
    expect(rulesOf(withNfacct, 'KUBE-NODEPORTS')[0]).toBe(
      `-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3001 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-${H2}`,
    );
    const noLocalhost = render([sp], { ...NODE, localhostNodePorts: false, nfacct: true });
    expect(rulesOf(noLocalhost.nat, 'KUBE-NODEPORTS')).toHaveLength(1);
    expect(noLocalhost.nat.rules.at(-1)).toMatch(/-m addrtype --dst-type LOCAL ! -d 127\.0\.0\.0\/8 -j KUBE-NODEPORTS$/);
    expect(noLocalhost.filter.chains).not.toContain('KUBE-FIREWALL');
    expect(noLocalhost.result.filterChains).toEqual(['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']);
  });

  it('with no endpoints REJECTs ClusterIP, NodePort, externalIPs and LB IPs in filter, no firewall', () => {
    const empty = svc('ns2', 'svc2', {
      clusterIP: '172.30.0.42',
      nodePort: 3001,
      externalIPs: ['192.168.99.22'],
      loadBalancerIPs: ['1.2.3.4'],
      loadBalancerSourceRanges: ['203.0.113.0/25'],
    });
    const { filter, nat } = render([empty]);
    const c = '-m comment --comment "ns2/svc2:p80 has no endpoints"';
    expect(rulesOf(filter, 'KUBE-SERVICES')).toEqual([`-A KUBE-SERVICES ${c} -m tcp -p tcp -d 172.30.0.42 --dport 80 -j REJECT`]);
    expect(rulesOf(filter, 'KUBE-EXTERNAL-SERVICES')).toEqual([
      `-A KUBE-EXTERNAL-SERVICES ${c} -m tcp -p tcp -d 192.168.99.22 --dport 80 -j REJECT`,
      `-A KUBE-EXTERNAL-SERVICES ${c} -m tcp -p tcp -d 1.2.3.4 --dport 80 -j REJECT`,
      `-A KUBE-EXTERNAL-SERVICES ${c} -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j REJECT`,
    ]);
    expect(rulesOf(filter, 'KUBE-PROXY-FIREWALL')).toEqual([]);
    expect(nat.rules.some((r) => r.includes('ns2/svc2'))).toBe(false);
  });
});

describe('externalTrafficPolicy Local', () => {
  const base = {
    clusterIP: '172.30.0.42',
    nodePort: 3001,
    externalIPs: ['192.168.99.22'],
    loadBalancerIPs: ['1.2.3.4'],
    externalTrafficPolicy: 'Local' as const,
    healthCheckNodePort: 30000,
  };
  const shortCircuit = [
    `-A KUBE-EXT-${H2} -m comment --comment "pod traffic for ns2/svc2:p80 external destinations" -s 10.0.0.0/8 -j KUBE-SVC-${H2}`,
    `-A KUBE-EXT-${H2} -m comment --comment "masquerade LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
    `-A KUBE-EXT-${H2} -m comment --comment "route LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-${H2}`,
  ];

  it('with a local endpoint: KUBE-EXT short-circuits pods and host, then jumps to KUBE-SVL', () => {
    const sp = svc('ns2', 'svc2', { ...base, endpoints: [ep('10.180.2.1', { nodeName: 'test-node' }), ep('10.180.0.2')] });
    const { nat, filter, result } = render([sp]);
    expect(rulesOf(nat, `KUBE-EXT-${H2}`)).toEqual([...shortCircuit, `-A KUBE-EXT-${H2} -j KUBE-SVL-${H2}`]);
    expect(rulesOf(nat, `KUBE-SVL-${H2}`)).toEqual([`-A KUBE-SVL-${H2} -m comment --comment "ns2/svc2:p80 -> 10.180.2.1:80" -j KUBE-SEP-${sepOf(nat, '10.180.2.1')}`]);
    expect(rulesOf(nat, `KUBE-SVC-${H2}`)).toHaveLength(3);
    expect(rulesOf(filter, 'KUBE-EXTERNAL-SERVICES')).toEqual([]);
    expect(rulesOf(filter, 'KUBE-NODEPORTS')).toEqual([
      '-A KUBE-NODEPORTS -m comment --comment "ns2/svc2:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT',
    ]);
    expect(jumpProblems(result.payload)).toEqual([]);
  });

  it('without a local endpoint: no KUBE-SVL, and DROP in KUBE-EXTERNAL-SERVICES for each external destination', () => {
    const sp = svc('ns2', 'svc2', { ...base, endpoints: [ep('10.180.0.2')] });
    const { nat, filter, result } = render([sp]);
    expect(rulesOf(nat, `KUBE-EXT-${H2}`)).toEqual(shortCircuit);
    expect(nat.chains).not.toContain(`KUBE-SVL-${H2}`);
    const c = '-m comment --comment "ns2/svc2:p80 has no local endpoints"';
    expect(rulesOf(filter, 'KUBE-EXTERNAL-SERVICES')).toEqual([
      `-A KUBE-EXTERNAL-SERVICES ${c} -m tcp -p tcp -d 192.168.99.22 --dport 80 -j DROP`,
      `-A KUBE-EXTERNAL-SERVICES ${c} -m tcp -p tcp -d 1.2.3.4 --dport 80 -j DROP`,
      `-A KUBE-EXTERNAL-SERVICES ${c} -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j DROP`,
    ]);
    expect(rulesOf(filter, 'KUBE-NODEPORTS')).toHaveLength(1);
    expect(jumpProblems(result.payload)).toEqual([]);
  });

  it('has no pod short-circuit without a local-traffic detector, and ignores a health check port under eTP Cluster', () => {
    const sp = svc('ns2', 'svc2', { ...base, endpoints: [ep('10.180.0.2')] });
    expect(rulesOf(render([sp], { ...NODE, clusterCIDR: '' }).nat, `KUBE-EXT-${H2}`)).toEqual(shortCircuit.slice(1));
    const cluster = render([{ ...sp, externalTrafficPolicy: 'Cluster' }]);
    expect(rulesOf(cluster.filter, 'KUBE-NODEPORTS')).toEqual([]);
  });
});

describe('externalIPs and LoadBalancer', () => {
  it('sends externalIPs and LB IPs to KUBE-EXT, ignoring IPv6 entries', () => {
    const sp = svc('ns4', 'svc4', { clusterIP: '172.30.0.44', externalIPs: ['192.168.99.33', '2001:db8::33'], loadBalancerIPs: ['5.6.7.8'], endpoints: [ep('10.180.0.4')] });
    const { nat } = render([sp]);
    expect(rulesOf(nat, 'KUBE-SERVICES').slice(0, 3)).toEqual([
      '-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j KUBE-SVC-4SW47YFZTEDKD3PK',
      '-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 external IP" -m tcp -p tcp -d 192.168.99.33 --dport 80 -j KUBE-EXT-4SW47YFZTEDKD3PK',
      '-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 loadbalancer IP" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j KUBE-EXT-4SW47YFZTEDKD3PK',
    ]);
    expect(rulesOf(nat, 'KUBE-SERVICES')).toHaveLength(4);
  });

  it('loadBalancerSourceRanges route LB traffic through KUBE-FW and drop the rest in KUBE-PROXY-FIREWALL', () => {
    const sp = svc('ns5', 'svc5', { clusterIP: '172.30.0.45', loadBalancerIPs: ['5.6.7.8'], loadBalancerSourceRanges: [' 203.0.113.5/25', '198.51.100.0/24'], endpoints: [ep('10.180.0.3')] });
    const { nat, filter } = render([sp]);
    const fw = 'KUBE-FW-NUKIZ6OKUXPJNT4C';
    expect(rulesOf(nat, 'KUBE-SERVICES')[1]).toBe(`-A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 loadbalancer IP" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j ${fw}`);
    expect(rulesOf(nat, fw)).toEqual([
      `-A ${fw} -m comment --comment "ns5/svc5:p80 loadbalancer IP" -s 203.0.113.0/25 -j KUBE-EXT-NUKIZ6OKUXPJNT4C`,
      `-A ${fw} -m comment --comment "ns5/svc5:p80 loadbalancer IP" -s 198.51.100.0/24 -j KUBE-EXT-NUKIZ6OKUXPJNT4C`,
      `-A ${fw} -m comment --comment "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL"`,
    ]);
    expect(rulesOf(filter, 'KUBE-PROXY-FIREWALL')).toEqual([
      `-A KUBE-PROXY-FIREWALL -m comment --comment "ns5/svc5:p80 traffic not accepted by ${fw}" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j DROP`,
    ]);
  });

  it('allows the LB IPs as sources when a range holds the node IP, and 0.0.0.0/0 disables the firewall', () => {
    const sp = svc('ns5', 'svc5', { loadBalancerIPs: ['5.6.7.8', '5.6.7.9'], loadBalancerSourceRanges: ['192.168.0.0/16'], endpoints: [ep('10.180.0.3')] });
    const fwRules = rulesOf(render([sp]).nat, 'KUBE-FW-NUKIZ6OKUXPJNT4C');
    expect(fwRules.map((r) => / -s (\S+)/.exec(r)?.[1] ?? 'none')).toEqual(['192.168.0.0/16', '5.6.7.8', '5.6.7.9', 'none']);
    const open = render([{ ...sp, loadBalancerSourceRanges: ['10.0.0.0/8', '0.0.0.0/0'] }]);
    expect(open.nat.chains.some((c) => c.startsWith('KUBE-FW-'))).toBe(false);
    expect(rulesOf(open.filter, 'KUBE-PROXY-FIREWALL')).toEqual([]);
  });
});

function sepOf(nat: { rules: string[] }, ip: string): string {
  const rule = nat.rules.find((r) => r.startsWith('-A KUBE-SEP-') && r.includes(`--to-destination ${ip}:`));
  return rule!.split(' ')[1]!.slice('KUBE-SEP-'.length);
}
