/**
 * Each KubeProxyConfiguration option as the renderer writes it, checked against the upstream unit test
 * that pins it (kubernetes pkg/proxy/iptables/proxier_test.go and pkg/proxy/util/localdetector_test.go).
 * Fixtures are upstream's: node 192.168.0.2 with alternate 192.168.1.2, pods 10/8, svc1 172.30.0.41.
 */
import { describe, expect, it } from 'vitest';
import { renderProxyRules } from '../../../src/plan/kube-proxy/render.js';
import { localDetector } from '../../../src/plan/kube-proxy/node-config.js';
import type { ProxyNode } from '../../../src/plan/kube-proxy/types.js';
import { NODE, ep, parseRestore, rulesOf, svc } from './helpers.js';

const nodePortSvc = svc('ns1', 'svc1', { nodePort: 3001, endpoints: [ep('10.180.0.1', { nodeName: '' }), ep('10.180.2.1', { nodeName: 'test-node' })] });
const localSvc = svc('ns2', 'svc2', {
  clusterIP: '172.30.0.42',
  nodePort: 3002,
  externalTrafficPolicy: 'Local',
  endpoints: [ep('10.180.0.2', { nodeName: 'test-node' })],
});
const interfaces = ['127.0.0.1', '192.168.0.2', '192.168.1.2'];
const render = (over: Partial<ProxyNode>, services = [nodePortSvc, localSvc]) =>
  parseRestore(renderProxyRules({ ...NODE, interfaceAddresses: interfaces, ...over }, services).payload);
const tail = '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"';
const svcMasq = (t: ReturnType<typeof render>) => rulesOf(t.nat!, 'KUBE-SVC-XPGD46QRK7WJZT7O')[0];
const extPod = (t: ReturnType<typeof render>) => rulesOf(t.nat!, 'KUBE-EXT-GNZBNJ2PO5MGZ6GT').find((r) => r.includes('pod traffic'));

describe('local traffic detectors (localdetector_test.go)', () => {
  it('TestDetectLocalByCIDR: -s / ! -s the CIDR', () => {
    expect(localDetector('ClusterCIDR', '10.0.0.0/14')).toEqual({ ifLocal: ['-s', '10.0.0.0/14'], ifNotLocal: ['!', '-s', '10.0.0.0/14'] });
    const t = render({ localDetector: localDetector('NodeCIDR', '10.0.0.0/24') });
    expect(svcMasq(t)).toBe('-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/24 -j KUBE-MARK-MASQ');
    expect(extPod(t)).toBe('-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "pod traffic for ns2/svc2:p80 external destinations" -s 10.0.0.0/24 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT');
  });

  it('TestDetectLocalByBridgeInterface: -i / ! -i the bridge', () => {
    expect(localDetector('BridgeInterface', 'eth0')).toEqual({ ifLocal: ['-i', 'eth0'], ifNotLocal: ['!', '-i', 'eth0'] });
    const t = render({ localDetector: localDetector('BridgeInterface', 'cbr0') });
    expect(svcMasq(t)).toMatch(/--dport 80 ! -i cbr0 -j KUBE-MARK-MASQ$/);
    expect(extPod(t)).toMatch(/external destinations" -i cbr0 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT$/);
  });

  it('TestDetectLocalByInterfaceNamePrefix: -i / ! -i prefix+', () => {
    expect(localDetector('InterfaceNamePrefix', 'eth0')).toEqual({ ifLocal: ['-i', 'eth0+'], ifNotLocal: ['!', '-i', 'eth0+'] });
    const t = render({ localDetector: localDetector('InterfaceNamePrefix', 'cali') });
    expect(svcMasq(t)).toMatch(/--dport 80 ! -i cali\+ -j KUBE-MARK-MASQ$/);
    expect(extPod(t)).toMatch(/external destinations" -i cali\+ -j KUBE-SVC-GNZBNJ2PO5MGZ6GT$/);
  });

  it('TestNoOpLocalDetector / TestGetLocalTrafficDetectors "no ClusterCIDR": neither rule is written', () => {
    expect(localDetector('ClusterCIDR', '')).toBeUndefined();
    const t = render({ localDetector: null });
    expect(rulesOf(t.nat!, 'KUBE-SVC-XPGD46QRK7WJZT7O').some((r) => r.includes('KUBE-MARK-MASQ'))).toBe(false);
    expect(extPod(t)).toBeUndefined();
    // The LOCAL-source short circuit of eTP=Local stays (it needs no detector).
    expect(rulesOf(t.nat!, 'KUBE-EXT-GNZBNJ2PO5MGZ6GT').some((r) => r.includes('--src-type LOCAL -j KUBE-SVC-GNZBNJ2PO5MGZ6GT'))).toBe(true);
  });
});

describe('iptables.masqueradeAll and masqueradeBit', () => {
  it('masqueradeAll: the cluster IP masquerade rule loses its source condition (syncProxyRules, TestInternalExternalMasquerade)', () => {
    const t = render({ masqueradeAll: true });
    expect(svcMasq(t)).toBe('-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-MARK-MASQ');
    // masqueradeAll wins over any detector, and with none at all.
    expect(svcMasq(render({ masqueradeAll: true, localDetector: null }))).toBe(svcMasq(t));
  });

  it('masqueradeBit 17: mark 0x20000 everywhere TestMasqueradeRule looks (Go prints %#08x, iptables-save 0x20000)', () => {
    const t = render({ masqueradeBit: 17 });
    expect(rulesOf(t.nat!, 'KUBE-POSTROUTING')).toEqual([
      '-A KUBE-POSTROUTING -m mark ! --mark 0x20000/0x20000 -j RETURN',
      '-A KUBE-POSTROUTING -j MARK --xor-mark 0x20000',
      '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    ]);
    expect(rulesOf(t.nat!, 'KUBE-MARK-MASQ')).toEqual(['-A KUBE-MARK-MASQ -j MARK --or-mark 0x20000']);
    expect(rulesOf(t.filter!, 'KUBE-FORWARD')).toContain('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x20000/0x20000 -j ACCEPT');
    expect(rulesOf(render({ masqueradeBit: 0 }).nat!, 'KUBE-MARK-MASQ')).toEqual(['-A KUBE-MARK-MASQ -j MARK --or-mark 0x1']);
  });
});

describe('TestNodePorts: localhostNodePorts × nodePortAddresses', () => {
  const cases = [
    { name: 'ipv4, localhost-nodeports enabled', localhostNodePorts: true, nodePortAddresses: undefined, tail: [`${tail} -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`], firewall: true },
    { name: 'ipv4, localhost-nodeports disabled', localhostNodePorts: false, nodePortAddresses: undefined, tail: [`${tail} -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS`], firewall: false },
    {
      name: 'ipv4, localhost-nodeports disabled, localhost in nodeport-addresses',
      localhostNodePorts: false,
      nodePortAddresses: ['192.168.0.0/24', '127.0.0.1/32'],
      tail: [`${tail} -d 192.168.0.2 -j KUBE-NODEPORTS`],
      firewall: false,
    },
    {
      name: 'ipv4, localhost-nodeports enabled, multiple nodeport-addresses (no loopback: disabled)',
      localhostNodePorts: true,
      nodePortAddresses: ['192.168.0.0/24', '192.168.1.0/24', '2001:db8::/64'],
      tail: [`${tail} -d 192.168.0.2 -j KUBE-NODEPORTS`, `${tail} -d 192.168.1.2 -j KUBE-NODEPORTS`],
      firewall: false,
    },
    {
      name: 'ipv4, localhost-nodeports enabled, localhost in nodeport-addresses',
      localhostNodePorts: true,
      nodePortAddresses: ['192.168.0.0/24', '127.0.0.1/32'],
      tail: [`${tail} -d 127.0.0.1 -j KUBE-NODEPORTS`, `${tail} -d 192.168.0.2 -j KUBE-NODEPORTS`],
      firewall: true,
    },
    { name: 'IPv6-only list: IPv4 matches all', localhostNodePorts: true, nodePortAddresses: ['2001:db8::/64'], tail: [`${tail} -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`], firewall: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const t = render({ localhostNodePorts: c.localhostNodePorts, ...(c.nodePortAddresses ? { nodePortAddresses: c.nodePortAddresses } : {}), nfacct: true });
      expect(rulesOf(t.nat!, 'KUBE-SERVICES').filter((r) => r.includes('must be the last rule'))).toEqual(c.tail);
      expect(rulesOf(t.filter!, 'KUBE-FIREWALL')).toEqual(
        c.firewall ? ['-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP'] : [],
      );
      expect(t.filter!.chains.includes('KUBE-FIREWALL')).toBe(c.firewall);
      // The localhost counter rule exists only with localhost NodePorts (and the nfacct counter).
      const counted = rulesOf(t.nat!, 'KUBE-NODEPORTS').filter((r) => r.includes('-m nfacct'));
      expect(counted).toEqual(
        c.firewall ? ['-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3001 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-XPGD46QRK7WJZT7O', '-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3002 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-GNZBNJ2PO5MGZ6GT'] : [],
      );
    });
  }
});

describe('TestDropInvalidRule: conntrack tcpBeLiberal and the nfacct counter', () => {
  const forward = ['-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT', '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'];
  it('tcpLiberal is false and nfacctEnsured is false', () => {
    expect(rulesOf(render({ nfacct: false }).filter!, 'KUBE-FORWARD')).toEqual(['-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP', ...forward]);
  });
  it('tcpLiberal is false and nfacctEnsured is true', () => {
    expect(rulesOf(render({ nfacct: true }).filter!, 'KUBE-FORWARD')).toEqual(['-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP', ...forward]);
  });
  it('tcpLiberal is true and nfacctEnsured is false', () => {
    expect(rulesOf(render({ conntrackTcpLiberal: true }).filter!, 'KUBE-FORWARD')).toEqual(forward);
  });
});
