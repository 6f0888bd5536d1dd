/** LoadBalancer addresses as MetalLB hands them out (issue 9 §2, issue 11 §3): pools of several CIDRs and
 * ranges; no pool, or a full one, leaves EXTERNAL-IP <pending> while ClusterIP and NodePort work. */
import { afterAll, describe, expect, it } from 'vitest';
import { NOTHING_LEFT, exec, getJson, kemu, leftovers, mustApplyDocs, mustUp, writeTopology } from '../helpers/kemu.js';

const LAB = 'kt-lb-pools';
const web = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 8080 }] }] } } },
};
const lb = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } });
const topology = (pool?: string[]) => ({
  apiVersion: 'kemu.dev/v1alpha1',
  kind: 'Topology',
  metadata: { name: LAB },
  spec: {
    network: { underlay: { subnet: '192.168.91.0/24', gateway: '192.168.91.1' }, ...(pool ? { loadBalancerPool: pool } : {}) },
    nodes: [{ name: 'n1' }],
    externalHosts: [{ name: 'outside' }],
    workloads: [web, lb('first')],
  },
});
const services = async () => Object.fromEntries(((await getJson(LAB, 'svc')).items as any[]).map((s) => [s.metadata.name, s]));
const external = (s: any): string[] => (s.status?.loadBalancer?.ingress ?? []).map((i: any) => i.ip);
const curl = (url: string) => exec(LAB, 'host/outside', 'curl', '-sS', '-m', '3', url);

afterAll(async () => {
  await kemu('down', '-q', LAB);
});

describe('LoadBalancer pools', () => {
  it('without a pool the Service is created <pending>; its NodePort answers from outside', async () => {
    await mustUp(writeTopology(LAB, topology()));
    const table = (await kemu('get', 'svc', 'first', '--lab', LAB)).stdout;
    expect(table).toMatch(/first\s+LoadBalancer\s+\S+\s+<pending>/);
    const svc = (await services()).first;
    expect(external(svc)).toEqual([]);
    const nodeIP = (await getJson(LAB, 'nodes')).items[0].status.addresses.find((a: any) => a.type === 'InternalIP').address;
    expect(await curl(`http://${nodeIP}:${svc.spec.ports[0].nodePort}/hostname`)).toMatch(/^web-/);
    expect(await exec(LAB, 'node/n1', 'curl', '-sS', '-m', '3', `http://${svc.spec.clusterIP}/hostname`)).toMatch(/^web-/);
  });

  it('a pool of a single address, a range and a CIDR hands addresses out in order, keeps them, and leaves the overflow pending', async () => {
    await mustUp(writeTopology(LAB, topology(['172.31.250.7', ' 172.31.251.10-172.31.251.11 ', '172.31.252.0/31'])));
    expect(external((await services()).first)).toEqual(['172.31.250.7']);
    await mustApplyDocs(LAB, ['second', 'third', 'fourth', 'fifth', 'sixth'].map(lb));
    const got = await services();
    expect(['second', 'third', 'fourth', 'fifth'].map((n) => external(got[n])[0])).toEqual(['172.31.251.10', '172.31.251.11', '172.31.252.0', '172.31.252.1']);
    expect(external(got.sixth)).toEqual([]);
    expect(await curl('http://172.31.251.11/hostname')).toMatch(/^web-/);
    expect(await curl('http://172.31.252.1/hostname')).toMatch(/^web-/);
    // A freed address goes to the pending Service at the next pass, as MetalLB's controller does.
    expect((await kemu('delete', 'svc', 'third', '--lab', LAB)).exitCode).toBe(0);
    expect(external((await services()).sixth)).toEqual(['172.31.251.11']);
    expect(await curl('http://172.31.251.11/hostname')).toMatch(/^web-/);
  });

  it('a pool entry that is no CIDR or range, or overlaps another, is refused by index and changes nothing', async () => {
    const before = (await kemu('get', 'svc', '--lab', LAB, '-o', 'json')).stdout;
    const bad = await kemu('up', writeTopology(LAB, topology(['172.31.250.7', '172.31.251.20-172.31.251.10'])));
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/spec\.network\.loadBalancerPool\[1\].*runs backwards/);
    const overlap = await kemu('up', writeTopology(LAB, topology(['172.31.250.0/30', '172.31.250.2-172.31.250.9'])));
    expect(overlap.stderr).toMatch(/spec\.network\.loadBalancerPool\[1\].*overlaps spec\.network\.loadBalancerPool\[0\]/);
    expect((await kemu('get', 'svc', '--lab', LAB, '-o', 'json')).stdout).toBe(before);
  });

  it('down leaves nothing', async () => {
    expect((await kemu('down', LAB)).exitCode).toBe(0);
    expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
  });
});
