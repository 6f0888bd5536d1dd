/** MetalLB's objects: parsing and checks, allocation as its controller does, and which nodes announce. */
import { describe, expect, it } from 'vitest';
import { clusterFromTopology } from '../../src/cluster/desired.js';
import { parseTopology } from '../../src/topology/load.js';
import { electL2, l2Key, planLbAnnouncements } from '../../src/plan/metallb.js';
import { planFabricRoutes } from '../../src/plan/routes.js';
import { planRouter, planSpeakers } from '../../src/plan/metallb-bgp.js';
import type { ServiceEndpoints } from '../../src/cluster/endpoints.js';

const lab = (objects: string, services: string, extra = '') => `apiVersion: kemu.dev/v1alpha1
kind: Topology
metadata: {name: mlb}
spec:
  dns: {enabled: false}
  network: {podCIDR: 10.244.0.0/16, serviceCIDR: 10.96.0.0/16, underlay: {subnet: 192.168.50.0/24, gateway: 192.168.50.1}${extra}}
  nodes: [{name: n1}, {name: n2}, {name: n3}]
  workloads:
${objects}
${services}`;
const pool = (name: string, addresses: string, more = '') => `    - {apiVersion: metallb.io/v1beta1, kind: IPAddressPool, metadata: {name: ${name}, namespace: metallb-system}, spec: {addresses: [${addresses}]${more}}}`;
const l2 = (name: string, pools = '') => `    - {apiVersion: metallb.io/v1beta1, kind: L2Advertisement, metadata: {name: ${name}, namespace: metallb-system}${pools ? `, spec: {ipAddressPools: [${pools}]}` : ''}}`;
const svc = (name: string, ann = '', spec = '') => `    - {apiVersion: v1, kind: Service, metadata: {name: ${name}${ann ? `, annotations: {${ann}}` : ''}}, spec: {type: LoadBalancer, selector: {app: x}, ports: [{port: 80}]${spec}}}`;
const build = async (text: string) => clusterFromTopology(await parseTopology(text, '/t.yaml'));
const ips = async (text: string) => (await build(text)).services.filter((s) => s.type === 'LoadBalancer').map((s) => [s.name, s.loadBalancerIPs, s.loadBalancerPool]);

describe('MetalLB objects', () => {
  it('are refused with the field named: wrong namespace, bad address, unknown field value, unemulated field', async () => {
    await expect(parseTopology(lab('    - {apiVersion: metallb.io/v1beta1, kind: IPAddressPool, metadata: {name: p}, spec: {addresses: [10.1.0.0/24]}}', ''), '/t.yaml')).rejects.toThrow(/metadata\.namespace: MetalLB reads its objects from namespace metallb-system/);
    await expect(parseTopology(lab(pool('p', '10.1.0.1/24'), ''), '/t.yaml')).rejects.toThrow(/spec\.addresses\[0\]: '10\.1\.0\.1\/24' has host bits set/);
    await expect(parseTopology(lab(pool('p', '10.1.0.0/24', ', autoAssign: maybe'), ''), '/t.yaml')).rejects.toThrow(/spec\.autoAssign: must be true or false/);
    await expect(parseTopology(lab(pool('p', '10.1.0.0/24', ', serviceAllocation: {priority: 1}'), ''), '/t.yaml')).rejects.toThrow(/spec\.serviceAllocation: pool priority/);
    await expect(parseTopology(lab('    - {apiVersion: metallb.io/v1beta1, kind: BGPAdvertisement, metadata: {name: a, namespace: metallb-system}, spec: {aggregationLength: 33, communities: [bogus]}}', ''), '/t.yaml')).rejects.toThrow(/aggregationLength: 33 must be a whole number from 0 to 32[\s\S]*communities\[0\]: 'bogus'/);
    await expect(parseTopology(lab('    - {apiVersion: metallb.io/v1beta2, kind: BGPPeer, metadata: {name: r, namespace: metallb-system}, spec: {myASN: 64512, peerAddress: 192.168.50.1}}', ''), '/t.yaml')).rejects.toThrow(/spec\.peerASN: is required/);
    await expect(parseTopology(lab('    - {apiVersion: metallb.io/v1beta1, kind: L2Advertisement, metadata: {name: a, namespace: metallb-system}, spec: {interfaces: [eth9]}}', ''), '/t.yaml')).rejects.toThrow(/spec\.interfaces: a kemu node reaches the underlay through eth0 only/);
    await expect(parseTopology(lab('    - {apiVersion: v1, kind: ConfigMap, metadata: {name: other, namespace: default}, data: {a: b}}', ''), '/t.yaml')).rejects.toThrow(/kind 'ConfigMap' is not supported here \(kemu reads a ConfigMap only as MetalLB's legacy configuration/);
  });

  it('a BGPPeer next to Calico\'s BIRD is refused', async () => {
    await expect(build(lab('    - {apiVersion: metallb.io/v1beta2, kind: BGPPeer, metadata: {name: r, namespace: metallb-system}, spec: {myASN: 64512, peerASN: 64500, peerAddress: 192.168.50.1}}', '', ', routing: bgp'))).rejects.toThrow(/beside Calico's BIRD \(routing: bgp\) is not emulated/);
  });

  it('a BGPPeer must name the fabric router; a BGP pool may not lie in the underlay; pools are disjoint', async () => {
    await expect(build(lab('    - {apiVersion: metallb.io/v1beta2, kind: BGPPeer, metadata: {name: r, namespace: metallb-system}, spec: {myASN: 64512, peerASN: 64500, peerAddress: 10.9.9.9}}', ''))).rejects.toThrow(/spec\.peerAddress: 10\.9\.9\.9 is not the fabric router: .* 192\.168\.50\.1/);
    await expect(build(lab(`${pool('p', '192.168.50.200-192.168.50.210')}\n    - {apiVersion: metallb.io/v1beta1, kind: BGPAdvertisement, metadata: {name: a, namespace: metallb-system}}`, ''))).rejects.toThrow(/lies in the underlay.*L2Advertisement only/);
    await expect(build(lab(`${pool('a', '10.1.0.0/24')}\n${pool('b', '10.1.0.128/25')}`, ''))).rejects.toThrow(/10\.1\.0\.128\/25 overlaps pool 'a'/);
    await expect(build(lab(pool('a', '10.96.0.0/24'), ''))).rejects.toThrow(/overlaps spec\.network\.serviceCIDR/);
  });
});

describe('allocation as MetalLB', () => {
  it('no pool: <pending>; a pool with no advertisement still assigns', async () => {
    expect(await ips(lab('', svc('a')))).toEqual([['a', [], undefined]]);
    expect(await ips(lab(pool('p', '10.1.0.0/30'), svc('a')))).toEqual([['a', ['10.1.0.0'], 'p']]);
  });

  it('avoidBuggyIPs skips .0 and .255; an L2 pool in the underlay skips machine and gateway addresses', async () => {
    expect(await ips(lab(pool('p', '10.1.0.255-10.1.1.1', ', avoidBuggyIPs: true'), `${svc('a')}\n${svc('b')}`))).toEqual([['a', ['10.1.1.1'], 'p'], ['b', [], undefined]]);
    const c = await build(lab(`${pool('p', '192.168.50.1-192.168.50.9')}\n${l2('l2')}`, svc('a')));
    const taken = new Set(['192.168.50.1', ...c.nodes.map((n) => n.ip)]);
    const first = [...Array(9).keys()].map((i) => `192.168.50.${i + 1}`).find((ip) => !taken.has(ip));
    expect(taken.size).toBe(4);
    expect(c.services[0]!.loadBalancerIPs).toEqual([first]);
  });

  it('autoAssign: false pools only by request (address-pool annotation, loadBalancerIPs, spec.loadBalancerIP, old prefix)', async () => {
    const pools = `${pool('cheap', '10.1.0.0/30')}\n${pool('dear', '10.2.0.0/30', ', autoAssign: false')}`;
    expect(
      await ips(lab(pools, [svc('a'), svc('b', '"metallb.io/address-pool": dear'), svc('c', '"metallb.universe.tf/loadBalancerIPs": 10.2.0.3'), svc('d', '', ', loadBalancerIP: 10.2.0.2'), svc('e', '"metallb.io/address-pool": nosuch')].join('\n'))),
    ).toEqual([
      ['a', ['10.1.0.0'], 'cheap'],
      ['b', ['10.2.0.0'], 'dear'],
      ['c', ['10.2.0.3'], 'dear'],
      ['d', ['10.2.0.2'], 'dear'],
      ['e', [], undefined],
    ]);
    await expect(build(lab(pools, svc('a', '"metallb.io/address-pool": cheap, "metallb.io/loadBalancerIPs": 10.2.0.1')))).rejects.toThrow(/10\.2\.0\.1 is in pool 'dear', not in 'cheap'/);
    await expect(build(lab(pools, svc('a', '"metallb.io/loadBalancerIPs": 10.3.0.1')))).rejects.toThrow(/10\.3\.0\.1 is not in any address pool \(pools: cheap, dear\)/);
  });

  it('allow-shared-ip: the same key and disjoint ports share; a port clash or a missing key does not', async () => {
    const shared = (name: string, port: number, key = 'k', ip = '') => `    - {apiVersion: v1, kind: Service, metadata: {name: ${name}, annotations: {"metallb.io/allow-shared-ip": ${key}${ip ? `, "metallb.io/loadBalancerIPs": ${ip}` : ''}}}, spec: {type: LoadBalancer, selector: {app: x}, ports: [{port: ${port}}]}}`;
    expect(await ips(lab(pool('p', '10.1.0.0/30'), `${shared('a', 80)}\n${shared('b', 443)}\n${shared('c', 80, 'other')}`))).toEqual([
      ['a', ['10.1.0.0'], 'p'],
      ['b', ['10.1.0.0'], 'p'],
      ['c', ['10.1.0.1'], 'p'],
    ]);
    await expect(build(lab(pool('p', '10.1.0.0/30'), `${shared('a', 80, 'k', '10.1.0.2')}\n${shared('b', 80, 'k', '10.1.0.2')}`))).rejects.toThrow(/10\.1\.0\.2 is shared with default\/a, which uses port TCP\/80 too/);
    await expect(build(lab(pool('p', '10.1.0.0/30'), `${svc('a', '"metallb.io/loadBalancerIPs": 10.1.0.2')}\n${svc('b', '"metallb.io/loadBalancerIPs": 10.1.0.2')}`))).rejects.toThrow(/10\.1\.0\.2 is already taken by default\/a/);
  });

  it('the legacy ConfigMap: pools with protocol layer2 or bgp, and its field names in messages', async () => {
    const cm = (config: string) => `    - apiVersion: v1\n      kind: ConfigMap\n      metadata: {name: config, namespace: metallb-system}\n      data:\n        config: |\n${config.split('\n').map((l) => `          ${l}`).join('\n')}`;
    const good = cm('address-pools:\n- name: default\n  protocol: layer2\n  addresses: [192.168.50.240-192.168.50.250]');
    const c = await build(lab(good, svc('a')));
    expect(c.services[0]!.loadBalancerIPs).toEqual(['192.168.50.240']);
    expect(c.metallb!.advertisements.map((a) => [a.mode, a.ipAddressPools])).toEqual([['layer2', ['default']]]);
    await expect(parseTopology(lab(cm('address-pools:\n- name: x\n  protocol: arp\n  addresses: [10.1.0.0/24]'), ''), '/t.yaml')).rejects.toThrow(/data\.config: address-pools\[0\]\.protocol: 'arp' must be layer2 or bgp/);
    await expect(parseTopology(lab(cm('peers:\n- peer-address: 192.168.50.1\n  my-asn: 64512'), ''), '/t.yaml')).rejects.toThrow(/peers\[0\]\.peer-asn: is required/);
    const bgpCfg = cm('peers:\n- {peer-address: 192.168.50.1, peer-asn: 64500, my-asn: 64512}\nbgp-communities: {no-advertise: "65535:65282"}\naddress-pools:\n- name: routed\n  protocol: bgp\n  addresses: [10.7.0.0/30]\n  bgp-advertisements: [{aggregation-length: 32, localpref: 100, communities: [no-advertise]}]');
    const b = await build(lab(bgpCfg, svc('a')));
    expect(b.metallb!.advertisements).toMatchObject([{ mode: 'bgp', ipAddressPools: ['routed'], localPref: 100, communities: ['65535:65282'] }]);
    expect(b.metallb!.peers).toMatchObject([{ myASN: 64512, peerASN: 64500, peerAddress: '192.168.50.1' }]);
    expect(planRouter(b)!.config).toMatch(/neighbor 192\.168\.50\.\d+ as 64512/);
    await expect(build(lab(cm('peers:\n- {peer-address: 10.0.0.9, peer-asn: 64500, my-asn: 64512}'), ''))).rejects.toThrow(/data\.config: peers\[0\]\.peer-address: 10\.0\.0\.9 is not the fabric router/);
  });

  it('loadBalancerPool is the shorthand for one pool announced over BGP to the fabric router', async () => {
    const c = await build(lab('', svc('a'), ', loadBalancerPool: 10.5.0.0/30'));
    expect(c.services[0]).toMatchObject({ loadBalancerIPs: ['10.5.0.0'], loadBalancerPool: 'lab-pool' });
    expect(c.metallb!.advertisements.map((a) => a.mode)).toEqual(['bgp']);
  });
});

describe('announcements', () => {
  const ready = (nodes: string[]): ServiceEndpoints[] => [{ namespace: 'default', name: 'a', endpoints: nodes.map((n, i) => ({ ip: `10.244.${i}.2`, nodeName: n, ready: true, serving: true, terminating: false, ports: { '/TCP': 80 } })) }];

  it('L2: the node whose sha256(node#ip) sorts first; eTP Local only among nodes with endpoints; none without endpoints', async () => {
    const ip = '192.168.50.240';
    const order = ['n1', 'n2', 'n3'].sort((a, b) => l2Key(a, ip).localeCompare(l2Key(b, ip)));
    expect(electL2(['n3', 'n2', 'n1'], ip)).toBe(order[0]);
    const text = (etp: string) => lab(`${pool('p', `${ip}/32`)}\n${l2('l2')}`, svc('a', '', `, externalTrafficPolicy: ${etp}`));
    const cl = await build(text('Cluster'));
    expect(planLbAnnouncements(cl, ready(['n1'])).l2).toEqual([{ ip, service: 'default/a', node: order[0] }]);
    expect(planLbAnnouncements(cl, ready([])).l2).toEqual([]);
    expect(planLbAnnouncements(cl, ready(['n1']), new Set([order[0]!])).l2[0]!.node).toBe(order[1]);
    const lo = await build(text('Local'));
    expect(planLbAnnouncements(lo, ready([order[2]!])).l2[0]!.node).toBe(order[2]);
    // no fabric route for an on-link L2 address
    expect(planFabricRoutes(cl, ready(['n1']))).toEqual([]);
  });

  it('a pool without an advertisement announces nothing', async () => {
    const c = await build(lab(pool('p', '10.1.0.0/30'), svc('a')));
    expect(planLbAnnouncements(c, ready(['n1']))).toEqual({ l2: [], bgp: [] });
    expect(planFabricRoutes(c, ready(['n1']))).toEqual([]);
  });

  it('BGP: every node a peer and the advertisement select (eTP Local: with endpoints), ECMP in the fabric; aggregationLength widens the prefix', async () => {
    const objs = `${pool('p', '10.1.0.0/30')}\n    - {apiVersion: metallb.io/v1beta1, kind: BGPAdvertisement, metadata: {name: a, namespace: metallb-system}, spec: {aggregationLength: 30, localPref: 50}}\n    - {apiVersion: metallb.io/v1beta2, kind: BGPPeer, metadata: {name: r, namespace: metallb-system}, spec: {myASN: 64512, peerASN: 64500, peerAddress: 192.168.50.1, nodeSelectors: [{matchExpressions: [{key: kubernetes.io/hostname, operator: NotIn, values: [n3]}]}]}}`;
    const c = await build(lab(objs, svc('a')));
    const a = planLbAnnouncements(c, ready(['n3']));
    expect(a.bgp).toEqual([{ ip: '10.1.0.0', service: 'default/a', prefix: '10.1.0.0/30', nodes: ['n1', 'n2'], peers: ['r'], localPref: 50, communities: [] }]);
    // Over real sessions the route is the fabric BIRD's: kemu writes none.
    expect(planFabricRoutes(c, ready(['n3']))).toEqual([]);
    expect(planLbAnnouncements(c, ready(['n3']), new Set(['n1'])).bgp[0]!.nodes).toEqual(['n2']);
    const router = planRouter(c)!.config;
    expect(router).toMatch(/merge paths on;/);
    expect(router).toMatch(/protocol bgp mlb_r_n1 \{\n  local 192\.168\.50\.1 as 64500;\n  neighbor 192\.168\.50\.\d+ as 64512;\n  passive on;/);
    expect(router).not.toMatch(/mlb_r_n3/);
    const speakers = planSpeakers(c, a);
    expect(speakers.map((s) => s.name)).toEqual(['n1', 'n2']);
    expect(speakers[0]!.config).toMatch(/route 10\.1\.0\.0\/30 blackhole;[\s\S]*neighbor 192\.168\.50\.1 as 64500;[\s\S]*export filter \{ if net ~ \[ 10\.1\.0\.0\/30 \] then accept; reject; \}/);
  });

  it('the shorthand pool keeps its routes static in the fabric (no daemons), with a next hop per node', async () => {
    const c = await build(lab('', svc('a'), ', loadBalancerPool: 10.5.0.0/30'));
    expect(planRouter(c)).toBeUndefined();
    expect(planFabricRoutes(c, ready(['n1'])).map((r) => [r.dst, r.nexthops?.length])).toEqual([['10.5.0.0', 3]]);
  });
});
