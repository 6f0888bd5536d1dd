// Headless Services (clusterIP: None) are accepted as the API server accepts them: no ClusterIP is
// allocated, no ports needed; kube-proxy skips them (test/unit/kube-proxy/cluster-ip.test.ts).
import { describe, expect, it } from 'vitest';
import { clusterFromTopology } from '../../../src/cluster/desired.js';
import { parseTopology } from '../../../src/topology/load.js';
import { clusterRecords, dnsPods, dnsServices, DnsZone } from '../../../src/plan/dns/index.js';

const file = (workloads: string) => `apiVersion: kemu.dev/v1alpha1
kind: Topology
metadata: {name: t}
spec:
  nodes: [{name: n1}]
  workloads:
${workloads}`;
const pod = `    - {apiVersion: v1, kind: Pod, metadata: {name: db-0, labels: {app: db}}, spec: {containers: [{name: c, image: x, ports: [{containerPort: 5432}]}]}}`;
const svc = (name: string, spec: string) => `    - {apiVersion: v1, kind: Service, metadata: {name: ${name}}, spec: {selector: {app: db}, ${spec}}}`;

describe('headless Services', () => {
  it('keep clusterIP None and take no address; a ClusterIP Service gets the first address past 10.96.0.1 (default/kubernetes)', async () => {
    const c = clusterFromTopology(await parseTopology(file([pod, svc('db', 'clusterIP: None, ports: [{name: pg, port: 5432}]'), svc('db-rw', 'ports: [{port: 5432}]')].join('\n')), '/x/t.yaml'));
    expect(c.services.filter((s) => s.name.startsWith('db')).map((s) => [s.name, s.clusterIP])).toEqual([['db', 'None'], ['db-rw', '10.96.0.2']]);
  });
  it('may have no ports', async () => {
    const c = clusterFromTopology(await parseTopology(file([pod, svc('db', 'clusterIP: None')].join('\n')), '/x/t.yaml'));
    expect(c.services[0]!.ports).toEqual([]);
  });
  it('are refused for NodePort, by field', async () => {
    await expect(parseTopology(file([pod, svc('db', 'type: NodePort, clusterIP: None, ports: [{port: 5432}]')].join('\n')), '/x/t.yaml')).rejects.toThrow(/spec\.clusterIP.*may not be set to 'None' for NodePort/s);
  });
  it('a ClusterIP that is neither an address nor None is refused', async () => {
    await expect(parseTopology(file([pod, svc('db', 'clusterIP: none, ports: [{port: 5432}]')].join('\n')), '/x/t.yaml')).rejects.toThrow(/or None for a headless Service/);
  });
});

describe('DNS records from the cluster', () => {
  it('a headless Service lists its ready, non-terminating endpoints; pods get a-b-c-d records', async () => {
    const c = clusterFromTopology(await parseTopology(file([pod, svc('db', 'clusterIP: None, ports: [{name: pg, port: 5432}]'), svc('db-rw', 'ports: [{port: 5432}]')].join('\n')), '/x/t.yaml'));
    const ip = c.pods[0]!.ip;
    const view = (e: string, ready: boolean, terminating = false) => ({ ip: e, ready, serving: ready, terminating, ports: {} });
    const slices = [{ namespace: 'default', name: 'db', endpoints: [view(ip, true), view('10.244.9.9', false), view('10.244.9.8', true, true)] }];
    const zone = new DnsZone(clusterRecords({ services: dnsServices(c, slices), pods: dnsPods(c) }), 'cluster.local');
    expect(zone.lookup('db.default.svc.cluster.local', 'A').answers).toEqual([{ name: 'db.default.svc.cluster.local', type: 'A', ip }]);
    expect(zone.lookup('db-rw.default.svc.cluster.local', 'A').answers).toEqual([{ name: 'db-rw.default.svc.cluster.local', type: 'A', ip: '10.96.0.2' }]);
    expect(zone.lookup(`${ip.replace(/\./g, '-')}.default.pod.cluster.local`, 'A').answers).toHaveLength(1);
  });
});

describe('service addresses the cluster keeps', () => {
  it('allocation skips the first (kubernetes) and the tenth (kube-dns) address; a pinned one is kept', async () => {
    const many = Array.from({ length: 10 }, (_, i) => svc(`s${i}`, 'ports: [{port: 80}]'));
    const c = clusterFromTopology(await parseTopology(file([pod, ...many, svc('pinned', "clusterIP: 10.96.0.100, ports: [{port: 80}]")].join('\n')), '/x/t.yaml'));
    const ips = c.services.filter((s) => s.namespace === 'default' && s.name !== 'kubernetes').map((s) => s.clusterIP);
    expect(ips.slice(0, 10)).toEqual(['10.96.0.2', '10.96.0.3', '10.96.0.4', '10.96.0.5', '10.96.0.6', '10.96.0.7', '10.96.0.8', '10.96.0.9', '10.96.0.11', '10.96.0.12']);
    expect(ips[10]).toBe('10.96.0.100');
  });
});

describe('ExternalName Services', () => {
  it('are accepted with no ports and no address, keep the name without its trailing dot, and become a CNAME', async () => {
    const c = clusterFromTopology(await parseTopology(file([pod, svc('ext', 'type: ExternalName, externalName: db.example.com.'), svc('db-rw', 'ports: [{port: 5432}]')].join('\n')), '/x/t.yaml'));
    const ext = c.services.find((s) => s.name === 'ext')!;
    expect([ext.clusterIP, ext.externalName, ext.selector]).toEqual(['', 'db.example.com', undefined]);
    expect(c.services.find((s) => s.name === 'db-rw')!.clusterIP).toBe('10.96.0.2');
    const zone = new DnsZone(clusterRecords({ services: dnsServices(c, []), pods: [] }), 'cluster.local');
    expect(zone.lookup('ext.default.svc.cluster.local', 'A').answers).toEqual([{ name: 'ext.default.svc.cluster.local', type: 'CNAME', target: 'db.example.com' }]);
  });
  it.each([
    ['no externalName', 'type: ExternalName', /spec\.externalName.*Required/s],
    ['a name that is no DNS subdomain', 'type: ExternalName, externalName: Db_Example', /spec\.externalName.*RFC 1123 subdomain/s],
    ['a ClusterIP', 'type: ExternalName, externalName: db.example.com, clusterIP: 10.96.0.50', /spec\.clusterIP.*may not be set for ExternalName/s],
    ['a nodePort', 'type: ExternalName, externalName: db.example.com, ports: [{port: 80, nodePort: 30080}]', /nodePort.*only allowed for type NodePort or LoadBalancer/s],
  ])('are refused with %s', async (_what, spec, message) => {
    await expect(parseTopology(file([pod, svc('ext', spec)].join('\n')), '/x/t.yaml')).rejects.toThrow(message);
  });
});
