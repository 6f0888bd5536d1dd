/** LoadBalancer pools as MetalLB's IPAddressPool `addresses` are written: CIDRs and first-last ranges. */
import { describe, expect, it } from 'vitest';
import { firstFreeIn, parseRange, rangesContain, rangesSize, type IpRange } from '../../src/util/ip-ranges.js';
import { ipToInt } from '../../src/util/ipv4.js';
import { clusterFromTopology } from '../../src/cluster/desired.js';
import { parseTopology } from '../../src/topology/load.js';

const ok = (e: string) => parseRange(e) as IpRange;

describe('pool entries', () => {
  it.each([
    ['10.0.0.0/30', 4],
    ['10.0.0.5', 1],
    ['10.0.0.5/32', 1],
    ['10.0.1.10-10.0.1.20', 11],
    [' 10.0.1.10 - 10.0.1.10 ', 1],
  ])('%s holds %i addresses', (entry, size) => expect(rangesSize([ok(entry)])).toBe(size));

  it.each([
    ['10.0.0.1/30', /host bits set; did you mean 10\.0\.0\.0\/30/],
    ['10.0.0.0/33', /not an IPv4 CIDR/],
    ['10.0.1.20-10.0.1.10', /runs backwards/],
    ['10.0.1.300', /neither a CIDR/],
    ['10.0.1.1-10.0.1.2-10.0.1.3', /neither a CIDR/],
    ['fd00::/64', /not an IPv4 CIDR/],
  ])('%s is refused', (entry, message) => expect(parseRange(entry)).toMatch(message));

  it('hands out the lowest free address entry by entry', () => {
    const pool = ['1.2.3.4', '5.6.7.8', '9.10.11.12'].map(ok);
    expect(firstFreeIn(pool, (ip) => ip === '1.2.3.4')).toBe('5.6.7.8');
    expect(firstFreeIn(pool, () => true)).toBeUndefined();
    expect(rangesContain(pool, ipToInt('9.10.11.12'))).toBe(true);
    expect(rangesContain(pool, ipToInt('1.2.3.5'))).toBe(false);
  });
});

describe('LoadBalancer services', () => {
  const lab = (pool: string, services: string[]) => `apiVersion: kemu.dev/v1alpha1
kind: Topology
metadata: {name: pools}
spec:
  dns: {enabled: false}
  network: {podCIDR: 10.0.0.0/8, serviceCIDR: 172.20.0.0/16${pool ? `, loadBalancerPool: ${pool}` : ''}}
  nodes: [{name: n1}]
  workloads:
${services.map((n) => `    - {apiVersion: v1, kind: Service, metadata: {name: ${n}}, spec: {type: LoadBalancer, ports: [{port: 80}]}}`).join('\n')}`;
  const lbIPs = async (pool: string, services: string[]) =>
    clusterFromTopology(await parseTopology(lab(pool, services), '/t.yaml')).services.filter((s) => s.type === 'LoadBalancer').map((s) => [s.name, s.loadBalancerIPs, s.ports[0]!.nodePort !== undefined]);

  it('kube-proxy’s test addresses next to a 10.0.0.0/8 pod CIDR: one pool of three single addresses', async () => {
    expect(await lbIPs('[1.2.3.4, 5.6.7.8, 9.10.11.12]', ['a', 'b', 'c'])).toEqual([
      ['a', ['1.2.3.4'], true],
      ['b', ['5.6.7.8'], true],
      ['c', ['9.10.11.12'], true],
    ]);
  });

  it('no pool: created pending with a NodePort, as in a cluster without an LB controller', async () => {
    expect(await lbIPs('', ['a'])).toEqual([['a', [], true]]);
  });

  it('a full pool leaves the rest pending instead of failing', async () => {
    expect(await lbIPs('172.31.0.0/31', ['a', 'b', 'c'])).toEqual([
      ['a', ['172.31.0.0'], true],
      ['b', ['172.31.0.1'], true],
      ['c', [], true],
    ]);
  });

  it('entries overlapping the pod CIDR or each other are refused by index', async () => {
    await expect(parseTopology(lab('[10.9.0.0/30]', ['a']), '/t.yaml')).rejects.toThrow(/spec\.network\.loadBalancerPool\[0\]: 10\.9\.0\.0\/30 overlaps spec\.network\.podCIDR/);
    await expect(parseTopology(lab('[172.31.0.0/30, 172.31.0.3-172.31.0.9]', ['a']), '/t.yaml')).rejects.toThrow(/loadBalancerPool\[1\]: .* overlaps spec\.network\.loadBalancerPool\[0\]/);
  });
});
