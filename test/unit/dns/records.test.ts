// Expectations from the examples of kubernetes/dns docs/specification.md (schema 1.1.0), as data.
import { describe, expect, it } from 'vitest';
import { clusterRecords, DnsZone, zoneFile, type DnsService } from '../../../src/plan/dns/index.js';

const kubernetes: DnsService = { namespace: 'default', name: 'kubernetes', clusterIP: '10.3.0.1', ports: [{ name: 'https', protocol: 'TCP', port: 443 }], publishNotReadyAddresses: false, endpoints: [] };
const headless: DnsService = {
  namespace: 'default', name: 'headless', clusterIP: 'None', ports: [{ name: 'https', protocol: 'TCP', port: 443 }], publishNotReadyAddresses: false,
  endpoints: [
    { ip: '10.3.0.2', ready: true },
    { ip: '10.3.0.1', ready: true },
    { ip: '10.3.0.100', hostname: 'my-pet', ready: true },
    { ip: '10.3.0.9', ready: false },
  ],
};
const external: DnsService = { namespace: 'default', name: 'my-service', externalName: 'www.example.com', ports: [], publishNotReadyAddresses: false, endpoints: [] };
const records = clusterRecords({ services: [kubernetes, headless, external], pods: [{ namespace: 'default', ip: '10.244.1.5' }] });
const zone = new DnsZone(records, 'cluster.local');

describe('cluster DNS records (spec examples)', () => {
  it('ClusterIP Service: A, SRV per named port, PTR', () => {
    expect(zone.lookup('kubernetes.default.svc.cluster.local', 'A').answers).toEqual([{ name: 'kubernetes.default.svc.cluster.local', type: 'A', ip: '10.3.0.1' }]);
    expect(zone.lookup('_https._tcp.kubernetes.default.svc.cluster.local.', 'SRV').answers).toEqual([{ name: '_https._tcp.kubernetes.default.svc.cluster.local', type: 'SRV', priority: 0, weight: 100, port: 443, target: 'kubernetes.default.svc.cluster.local' }]);
    expect(zone.lookup('1.0.3.10.in-addr.arpa', 'PTR').answers.map((r) => r.type === 'PTR' && r.target)).toEqual(['kubernetes.default.svc.cluster.local']);
  });
  it('headless Service: one A per ready endpoint, hostname records, SRV per endpoint, PTR for hostnames', () => {
    expect(zone.lookup('headless.default.svc.cluster.local', 'A').answers.map((r) => r.type === 'A' && r.ip)).toEqual(['10.3.0.1', '10.3.0.2', '10.3.0.100']);
    expect(zone.lookup('my-pet.headless.default.svc.cluster.local', 'A').answers.map((r) => r.type === 'A' && r.ip)).toEqual(['10.3.0.100']);
    expect(zone.lookup('_https._tcp.headless.default.svc.cluster.local', 'SRV').answers.map((r) => r.type === 'SRV' && r.target)).toContain('my-pet.headless.default.svc.cluster.local');
    expect(zone.lookup('100.0.3.10.in-addr.arpa', 'PTR').answers.map((r) => r.type === 'PTR' && r.target)).toEqual(['my-pet.headless.default.svc.cluster.local']);
  });
  it('publishNotReadyAddresses publishes not-ready endpoints', () => {
    const z = new DnsZone(clusterRecords({ services: [{ ...headless, publishNotReadyAddresses: true }], pods: [] }), 'cluster.local');
    expect(z.lookup('headless.default.svc.cluster.local', 'A').answers).toHaveLength(4);
  });
  it('ExternalName Service: CNAME for every type', () => {
    expect(zone.lookup('my-service.default.svc.cluster.local', 'A').answers).toEqual([{ name: 'my-service.default.svc.cluster.local', type: 'CNAME', target: 'www.example.com' }]);
  });
  it('pod A record and schema version', () => {
    expect(zone.lookup('10-244-1-5.default.pod.cluster.local', 'A').answers).toHaveLength(1);
    expect(zone.lookup('dns-version.cluster.local', 'TXT').answers).toEqual([{ name: 'dns-version.cluster.local', type: 'TXT', text: '1.1.0' }]);
  });
  it('NXDOMAIN vs NODATA vs REFUSED', () => {
    expect(zone.lookup('kubernetes.default.svc.cluster.local', 'SRV')).toEqual({ rcode: 'NOERROR', answers: [] });
    expect(zone.lookup('default.svc.cluster.local', 'A')).toEqual({ rcode: 'NOERROR', answers: [] });
    expect(zone.lookup('nope.default.svc.cluster.local', 'A').rcode).toBe('NXDOMAIN');
    expect(zone.lookup('example.com', 'A').rcode).toBe('REFUSED');
  });
  it('zone file lines', () => {
    expect(zoneFile(records)).toContain('kubernetes.default.svc.cluster.local. 5 IN A 10.3.0.1\n');
    expect(zoneFile(records)).toContain('my-service.default.svc.cluster.local. 5 IN CNAME www.example.com.\n');
  });
});
