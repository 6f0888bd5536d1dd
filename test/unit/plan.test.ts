import { describe, expect, it } from 'vitest';
import { clusterFromTopology } from '../../src/cluster/desired.js';
import { planLab } from '../../src/plan/lab-plan.js';
import { routeSpec } from '../../src/plan/routes.js';
import { caliName, labOfNetns, podNetns } from '../../src/topology/names.js';
import { parseTopology } from '../../src/topology/load.js';

const topology = `apiVersion: kemu.dev/v1alpha1
kind: Topology
metadata: {name: lab}
spec:
  nodes: [{name: a}, {name: b}]
  workloads:
    - {apiVersion: v1, kind: Pod, metadata: {name: pod-a}, spec: {nodeName: a, containers: [{name: c, image: x}]}}
    - {apiVersion: v1, kind: Pod, metadata: {name: pod-b, annotations: {cni.projectcalico.org/ipAddrs: '["10.244.0.9"]'}}, spec: {nodeName: b, containers: [{name: c, image: x}]}}
`;

describe('names', () => {
  it('uses Calico’s host-side veth name', () => {
    expect(caliName('default', 'pod-a')).toBe('cali5e1c4d6c68c');
    expect(caliName('kube-system', 'coredns-abc')).toBe('cali3d5d6ab04b5');
  });
  it('scopes namespaces to the lab', () => {
    expect(podNetns('lab', 'default', 'web')).toBe('kemu-lab.pod.default.web');
    expect(labOfNetns('kemu-my-lab.node.n1')).toBe('my-lab');
    expect(labOfNetns('other')).toBeUndefined();
  });
});

describe('lab plan', async () => {
  const plan = planLab(clusterFromTopology(await parseTopology(topology, '/x/t.yaml')));

  it('wires a pod as the Calico CNI does', () => {
    const pod = plan.pods.find((p) => p.name === 'pod-a')!;
    const mac = pod.podLines[1]!.match(/eth0 address (\S+)/)![1];
    expect(mac).toMatch(/^0e(:[0-9a-f]{2}){5}$/);
    expect(pod.podLines).toEqual([
      'link set lo up',
      `link add name eth0 address ${mac} mtu 1500 type veth peer name cali5e1c4d6c68c address ee:ee:ee:ee:ee:ee mtu 1500 netns kemu-lab.node.a`,
      'addr add 10.244.0.64/32 dev eth0',
      'link set eth0 up',
      'route add 169.254.1.1 dev eth0 scope link',
      'route add default via 169.254.1.1 dev eth0',
    ]);
    expect(pod.nodeLines).toEqual([
      'ntable change name arp_cache dev cali5e1c4d6c68c proxy_delay 0',
      'link set dev cali5e1c4d6c68c up',
      'route add 10.244.0.64 dev cali5e1c4d6c68c scope link',
      `neigh replace 10.244.0.64 lladdr ${mac} dev cali5e1c4d6c68c nud permanent`,
    ]);
    const node = plan.machines.find((m) => m.name === 'a')!;
    expect(node.sysctls).toMatchObject({ 'net.ipv4.conf.default.proxy_arp': '1', 'net.ipv4.conf.default.route_localnet': '1' });
  });

  it('routes blocks: own as blackhole, others via their node (a pinned address claims its block, as in Calico)', () => {
    const a = plan.routes.find((r) => r.node === 'a')!;
    expect(a.routes.map(routeSpec)).toEqual(['10.244.0.0/26 via 192.168.50.3 dev eth0 proto static', 'blackhole 10.244.0.64/26 proto static']);
    const b = plan.routes.find((r) => r.node === 'b')!;
    expect(b.routes.map(routeSpec)).toEqual(['blackhole 10.244.0.0/26 proto static', '10.244.0.64/26 via 192.168.50.2 dev eth0 proto static']);
  });

  it('announces a /32 for an address borrowed from another node’s block', async () => {
    const pinnedBoth = topology.replace('{name: pod-a}', `{name: pod-a, annotations: {cni.projectcalico.org/ipAddrs: '["10.244.0.3"]'}}`);
    const p = planLab(clusterFromTopology(await parseTopology(pinnedBoth, '/x/t.yaml')));
    expect(p.routes.find((r) => r.node === 'a')!.routes.map(routeSpec)).toEqual(['blackhole 10.244.0.0/26 proto static', '10.244.0.9 via 192.168.50.3 dev eth0 proto static']);
    expect(p.routes.find((r) => r.node === 'b')!.routes.map(routeSpec)).toEqual(['10.244.0.0/26 via 192.168.50.2 dev eth0 proto static']);
  });

  it('leaves inter-node routes to BIRD with routing: bgp, and renders one BIRD config per node', async () => {
    const { planBird } = await import('../../src/plan/bird/nodes.js');
    const c = clusterFromTopology(await parseTopology(topology.replace('spec:\n  nodes', 'spec:\n  network: {routing: bgp}\n  nodes'), '/x/t.yaml'));
    expect(planLab(c).routes.every((r) => r.routes.length === 0)).toBe(true);
    const bird = planBird(c);
    expect(bird.map((b) => [b.node, b.peers, b.socket])).toEqual([
      ['a', 1, '/run/kemu/lab/bird/a.ctl'],
      ['b', 1, '/run/kemu/lab/bird/b.ctl'],
    ]);
    expect(bird[0]!.config).toContain('192.168.50.3');
  });

  it('CrossSubnet across racks: a bridge per rack in the fabric, tunnelling only off the node’s subnet, per-node AS', async () => {
    const { planBird } = await import('../../src/plan/bird/nodes.js');
    const racks = `spec:
  network:
    routing: ipip
    ipipMode: CrossSubnet
    underlay: {racks: [{name: ra, subnet: 10.1.0.0/24}, {name: rb, subnet: 10.2.0.0/24}]}
  nodes: [{name: a, rack: ra}, {name: b, rack: rb, asNumber: 64513}, {name: c, rack: ra}]
  workloads: []`;
    const c = clusterFromTopology(await parseTopology(topology.replace(/spec:[\s\S]*$/, racks), '/x/t.yaml'));
    const p = planLab(c);
    expect(p.fabric.lines).toEqual(expect.arrayContaining(['addr add 10.1.0.1/24 dev ra', 'addr add 10.2.0.1/24 dev rb']));
    expect(p.machines.find((m) => m.name === 'b')!.fabricLines).toContain('link set dev b master rb');
    expect(p.machines.find((m) => m.name === 'b')!.lines).toContain('route add default via 10.2.0.1 dev eth0');
    const a = planBird(c).find((b) => b.node === 'a')!.config;
    expect(a).toContain('if !(bgp_next_hop ~ 10.1.0.0/24) then {');
    expect(a).toContain('neighbor 10.2.0.2 as 64513;');
    expect(a).toContain('neighbor 10.1.0.3 as 64512;');
    expect(planBird(c).find((b) => b.node === 'b')!.config).toContain('local as 64513;');
  });

  it('chooses the kernel ipip device when `ip link add tunl0 type ipip` works, else the userspace datapath', async () => {
    const { ipipDatapath } = await import('../../src/plan/tunnels.js');
    expect(ipipDatapath({ ok: true, stderr: '' })).toBe('kernel');
    expect(ipipDatapath({ ok: false, stderr: 'RTNETLINK answers: File exists' })).toBe('kernel'); // the module made tunl0 already
    expect(ipipDatapath({ ok: false, stderr: 'Error: Unknown device type.' })).toBe('userspace');
  });

  it('plans each node’s tunl0: underlay MTU − 20 (8980 on a jumbo-frame underlay), its IPAM address', async () => {
    const { planTunnels } = await import('../../src/plan/tunnels.js');
    const c = clusterFromTopology(await parseTopology(topology.replace('spec:\n  nodes', 'spec:\n  network: {routing: ipip}\n  nodes'), '/x/t.yaml'));
    expect(planTunnels(c).map(({ hash, ...t }) => t)).toEqual([
      { node: 'a', netns: 'kemu-lab.node.a', local: '192.168.50.2', address: '10.244.0.64', mtu: 1480 },
      { node: 'b', netns: 'kemu-lab.node.b', local: '192.168.50.3', address: '10.244.0.0', mtu: 1480 },
    ]);
    const jumbo = clusterFromTopology(await parseTopology(topology.replace('spec:\n  nodes', 'spec:\n  network: {routing: ipip, underlay: {mtu: 9000}}\n  nodes'), '/x/t.yaml'));
    expect(planTunnels(jumbo).map((t) => t.mtu)).toEqual([8980, 8980]);
    expect(planTunnels(clusterFromTopology(await parseTopology(topology, '/x/t.yaml')))).toEqual([]);
  });

  it('reserves tunl0’s address in each node’s block before any pod, with routing: ipip', async () => {
    const c = clusterFromTopology(await parseTopology(topology.replace('spec:\n  nodes', 'spec:\n  network: {routing: ipip}\n  nodes'), '/x/t.yaml'));
    expect(c.nodes.map((n) => [n.name, n.tunnelIP, n.blocks[0]])).toEqual([
      ['a', '10.244.0.64', '10.244.0.64/26'],
      ['b', '10.244.0.0', '10.244.0.0/26'],
    ]);
    expect(c.pods.map((p) => p.ip)).not.toContain('10.244.0.64');
  });

  it('names every link explicitly, so a node called "a" is not read as a keyword', () => {
    const fabricLines = plan.machines.flatMap((m) => m.fabricLines);
    expect(fabricLines).toContain('link add name a mtu 1500 type veth peer name eth0 mtu 1500 netns kemu-lab.node.a');
    expect(fabricLines).toContain('link set dev a master underlay');
  });

  it('changes a pod’s hash only when its wiring changes', async () => {
    const again = planLab(clusterFromTopology(await parseTopology(topology, '/x/t.yaml')));
    expect(again.pods.map((p) => p.hash)).toEqual(plan.pods.map((p) => p.hash));
    const moved = planLab(clusterFromTopology(await parseTopology(topology.replace('nodeName: a', 'nodeName: b'), '/x/t.yaml')));
    expect(moved.pods.find((p) => p.name === 'pod-a')!.hash).not.toBe(plan.pods.find((p) => p.name === 'pod-a')!.hash);
  });
});
