import { describe, expect, it } from 'vitest';
import { CANARY_CHAIN, renderHookRules, staleUdpEndpoints } from '../../../src/plan/kube-proxy/render.js';
import { ep, svc } from './helpers.js';

describe('renderHookRules', () => {
  const hooks = renderHookRules();

  it('lists the built-in → KUBE-* jumps with extra matches before the comment', () => {
    expect(hooks.nat).toEqual([
      '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    ]);
    expect(hooks.filter).toHaveLength(11);
    expect(hooks.filter).toContain('-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
    expect(hooks.filter).toContain('-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS');
    expect(hooks.filter).toContain('-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD');
    expect(hooks.filter.filter((r) => r.endsWith('-j KUBE-PROXY-FIREWALL'))).toHaveLength(3);
    expect(hooks.filter.slice(-2)).toEqual(['-A INPUT -j KUBE-FIREWALL', '-A OUTPUT -j KUBE-FIREWALL']);
  });

  it('names the chains to ensure first', () => {
    expect(hooks.ensureChains.nat).toEqual(['KUBE-SERVICES', 'KUBE-POSTROUTING']);
    expect(hooks.ensureChains.filter).toEqual(['KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-SERVICES', 'KUBE-FORWARD', 'KUBE-PROXY-FIREWALL', 'KUBE-FIREWALL']);
    expect(CANARY_CHAIN).toBe('KUBE-PROXY-CANARY');
  });
});

describe('staleUdpEndpoints', () => {
  const dns = svc('kube-system', 'dns', {
    portName: 'dns',
    protocol: 'UDP',
    clusterIP: '172.30.0.10',
    port: 53,
    nodePort: 30053,
    externalIPs: ['192.168.99.53'],
    endpoints: [ep('10.180.0.1', { port: 5353 }), ep('10.180.0.2', { port: 5353 })],
  });

  it('lists every frontend × removed endpoint of a UDP service that still has serving endpoints', () => {
    const after = { ...dns, endpoints: [ep('10.180.0.2', { port: 5353 })] };
    const stale = { serviceKey: 'kube-system/dns:dns', endpointIP: '10.180.0.1', endpointPort: 5353 };
    expect(staleUdpEndpoints([dns], [after])).toEqual([
      { ...stale, serviceIP: '172.30.0.10', port: 53 },
      { ...stale, serviceIP: '192.168.99.53', port: 53 },
      { ...stale, serviceIP: '', port: 30053 },
    ]);
  });

  it('counts an endpoint that stopped serving as gone, and ignores TCP and services left without endpoints', () => {
    const notServing = { ...dns, endpoints: [ep('10.180.0.1', { port: 5353, ready: false, serving: false, terminating: true }), ep('10.180.0.2', { port: 5353 })] };
    expect(staleUdpEndpoints([dns], [notServing]).map((e) => e.endpointIP)).toEqual(['10.180.0.1', '10.180.0.1', '10.180.0.1']);
    expect(staleUdpEndpoints([dns], [{ ...dns, endpoints: [] }])).toEqual([]);
    const tcp = { ...dns, protocol: 'TCP' as const };
    expect(staleUdpEndpoints([tcp], [{ ...tcp, endpoints: [] }])).toEqual([]);
    expect(staleUdpEndpoints([dns], [dns])).toEqual([]);
  });

  it('clears un-DNATed flows when a service gets its first serving endpoint', () => {
    const before = { ...dns, endpoints: [] };
    expect(staleUdpEndpoints([before], [dns])).toEqual([
      { serviceKey: 'kube-system/dns:dns', serviceIP: '172.30.0.10', port: 53, endpointIP: '172.30.0.10', endpointPort: 53 },
      { serviceKey: 'kube-system/dns:dns', serviceIP: '192.168.99.53', port: 53, endpointIP: '192.168.99.53', endpointPort: 53 },
    ]);
  });
});
