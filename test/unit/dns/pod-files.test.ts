// Pod resolv.conf and hosts as the kubelet writes them (pkg/kubelet/network/dns getPodDNSType, appendDNSConfig).
import { describe, expect, it } from 'vitest';
import { parseResolvConf, podHostsFile, podResolverConfig, resolvConf, type PodDnsInput } from '../../../src/plan/dns/index.js';

const base: PodDnsInput = {
  namespace: 'x',
  clusterDNS: ['10.96.0.10'],
  clusterDomain: 'cluster.local',
  host: { nameservers: ['192.0.2.53'], searches: ['example.com.'], options: ['rotate', 'timeout:1'] },
};

describe('pod resolv.conf', () => {
  it('ClusterFirst: the cluster server, the three cluster search paths then the node ones, ndots:5 only', () => {
    expect(resolvConf(podResolverConfig(base))).toBe('search x.svc.cluster.local svc.cluster.local cluster.local example.com\nnameserver 10.96.0.10\noptions ndots:5\n');
  });
  it('ClusterFirst on the host network falls back to the node resolver; ClusterFirstWithHostNet does not', () => {
    expect(podResolverConfig({ ...base, hostNetwork: true }).nameservers).toEqual(['192.0.2.53']);
    expect(podResolverConfig({ ...base, hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }).nameservers).toEqual(['10.96.0.10']);
  });
  it('Default: the node resolver with its options', () => {
    expect(podResolverConfig({ ...base, dnsPolicy: 'Default' })).toEqual({ nameservers: ['192.0.2.53'], searches: ['example.com'], options: ['rotate', 'timeout:1'] });
  });
  it('None: only spec.dnsConfig', () => {
    const cfg = podResolverConfig({ ...base, dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'], searches: ['a.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } });
    expect(resolvConf(cfg)).toBe('search a.example\nnameserver 1.2.3.4\noptions ndots:2 edns0\n');
  });
  it('dnsConfig is appended without duplicates, options merged by name (pod wins), 3 nameservers at most', () => {
    const cfg = podResolverConfig({
      ...base,
      dnsConfig: { nameservers: ['10.96.0.10', '1.1.1.1', '2.2.2.2', '3.3.3.3'], searches: ['svc.cluster.local', 'extra.example'], options: [{ name: 'ndots', value: '1' }, { name: 'single-request' }] },
    });
    expect(cfg.nameservers).toEqual(['10.96.0.10', '1.1.1.1', '2.2.2.2']);
    expect(cfg.searches).toEqual(['x.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'example.com', 'extra.example']);
    expect(cfg.options).toEqual(['ndots:1', 'single-request']);
  });
  it('search paths: entries over 253 chars dropped, 32 entries at most', () => {
    const many = Array.from({ length: 40 }, (_, i) => `d${i}.example`);
    const cfg = podResolverConfig({ ...base, dnsPolicy: 'None', dnsConfig: { searches: ['a'.repeat(254), ...many] } });
    expect(cfg.searches).toEqual(many.slice(0, 32));
  });
  it('parses a host resolv.conf', () => {
    expect(parseResolvConf('# c\nnameserver 10.0.0.2\nnameserver 10.0.0.3 ; x\nsearch a.example b.example\noptions ndots:2\n')).toEqual({
      nameservers: ['10.0.0.2', '10.0.0.3'],
      searches: ['a.example', 'b.example'],
      options: ['ndots:2'],
    });
  });
});

describe('pod hosts file', () => {
  it('loopback lines, the pod IP with its name, then hostAliases', () => {
    const text = podHostsFile({ podName: 'web-1', namespace: 'default', podIP: '10.244.1.5', clusterDomain: 'cluster.local', hostAliases: [{ ip: '192.0.2.9', hostnames: ['foo.local', 'bar.local'] }] });
    const lines = text.trim().split('\n');
    expect(lines[1]).toBe('127.0.0.1\tlocalhost');
    expect(lines).toContain('10.244.1.5\tweb-1');
    expect(lines.at(-1)).toBe('192.0.2.9\tfoo.local\tbar.local');
  });
  it('hostname and subdomain give the fully qualified name first', () => {
    const text = podHostsFile({ podName: 'web-0', namespace: 'db', podIP: '10.244.2.7', hostname: 'web-0', subdomain: 'nginx', clusterDomain: 'cluster.local' });
    expect(text).toContain('10.244.2.7\tweb-0.nginx.db.svc.cluster.local\tweb-0\n');
    expect(text).not.toContain('HostAliases');
  });
});
