import { describe, expect, it } from 'vitest';
import {
  base32,
  endpointChainName,
  hash16,
  isServiceChainName,
  serviceExternalChainName,
  serviceFirewallChainName,
  serviceLocalChainName,
  servicePortChainName,
} from '../../../src/plan/kube-proxy/chain-names.js';
import { computeProbability } from '../../../src/plan/kube-proxy/probability.js';
import { servicePortKey } from '../../../src/plan/kube-proxy/types.js';

describe('chain-name hashing (reference §1.5 vectors)', () => {
  it.each([
    ['ns1/svc1:p80tcp', 'XPGD46QRK7WJZT7O'],
    ['ns1/svc1:p80tcp10.180.0.1:80', 'SXIVWICOYRO3J4NJ'],
    ['ns2/svc2:p80tcp', 'GNZBNJ2PO5MGZ6GT'],
    ['ns5/svc5:p80tcp10.180.0.3:80', 'I77PXRDZVX7PMWMN'],
    ['ns2/svc2:p8080tcp', '2VJB64SDSIJUP5T6'],
    ['ns3/svc3:p8081tcp203.0.113.4:8081', 'RUVVH7YV3PHQBDOS'],
    ['ns4/svc4:p8082tcp', 'EBDQOQU5SJFXRIL3'],
  ])('hash16(%s) = %s', (input, expected) => {
    expect(hash16(input)).toBe(expected);
  });

  it('base32 is RFC 4648 standard encoding with padding', () => {
    const enc = (s: string): string => base32(new TextEncoder().encode(s));
    expect([enc(''), enc('f'), enc('fo'), enc('foo'), enc('foob'), enc('fooba'), enc('foobar')]).toEqual([
      '',
      'MY======',
      'MZXQ====',
      'MZXW6===',
      'MZXW6YQ=',
      'MZXW6YTB',
      'MZXW6YTBOI======',
    ]);
  });

  it('builds the five chain kinds from the service port, protocol and endpoint', () => {
    const sp = { namespace: 'ns1', name: 'svc1', portName: 'p80', protocol: 'TCP' as const };
    expect(servicePortChainName(sp)).toBe('KUBE-SVC-XPGD46QRK7WJZT7O');
    expect(serviceLocalChainName(sp)).toBe('KUBE-SVL-XPGD46QRK7WJZT7O');
    expect(serviceExternalChainName(sp)).toBe('KUBE-EXT-XPGD46QRK7WJZT7O');
    expect(serviceFirewallChainName(sp)).toBe('KUBE-FW-XPGD46QRK7WJZT7O');
    expect(endpointChainName(sp, { ip: '10.180.0.1', port: 80 })).toBe('KUBE-SEP-SXIVWICOYRO3J4NJ');
    expect(endpointChainName({ ...sp, namespace: 'ns3', name: 'svc3', portName: 'p8081' }, { ip: '203.0.113.4', port: 8081 })).toBe(
      'KUBE-SEP-RUVVH7YV3PHQBDOS',
    );
  });

  it('uses the lower-case protocol and the bare name for unnamed ports', () => {
    const udp = { namespace: 'ns1', name: 'svc1', portName: 'p80', protocol: 'UDP' as const };
    expect(servicePortChainName(udp)).toBe(`KUBE-SVC-${hash16('ns1/svc1:p80udp')}`);
    const unnamed = { namespace: 'ns1', name: 'svc1', portName: '', protocol: 'TCP' as const };
    expect(servicePortKey(unnamed)).toBe('ns1/svc1');
    expect(servicePortChainName(unnamed)).toBe(`KUBE-SVC-${hash16('ns1/svc1tcp')}`);
    expect(servicePortChainName(unnamed)).toHaveLength(25);
  });

  it('recognises only per-service chains as kube-proxy-owned for cleanup', () => {
    expect(['KUBE-SVC-X', 'KUBE-SVL-X', 'KUBE-EXT-X', 'KUBE-FW-X', 'KUBE-SEP-X'].every(isServiceChainName)).toBe(true);
    expect(['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-MARK-MASQ', 'KUBE-XLB-X', 'KUBE-EXTERNAL-SERVICES'].some(isServiceChainName)).toBe(false);
  });
});

describe('computeProbability (TestComputeProbability)', () => {
  it.each([
    [1, '1.0000000000'],
    [2, '0.5000000000'],
    [3, '0.3333333333'],
    [10, '0.1000000000'],
    [100, '0.0100000000'],
    [1000, '0.0010000000'],
    [10000, '0.0001000000'],
    [100000, '0.0000100000'],
    [100001, '0.0000099999'],
  ])('1/%i prints as %s', (n, text) => {
    expect(computeProbability(n)).toBe(text);
  });

  it('rounds an exact tie half to even, like Go (1/2048 = 0.00048828125)', () => {
    expect(computeProbability(2048)).toBe('0.0004882812');
    expect(computeProbability(6)).toBe('0.1666666667');
  });
});
