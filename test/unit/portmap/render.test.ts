/** The CNI portmap plugin's nat rules for host ports, rule for rule (plugins/meta/portmap, iptables backend). */
import { describe, expect, it } from 'vitest';
import { clusterFromTopology } from '../../../src/cluster/desired.js';
import { dnatChainName, hookedIn, HOOKS, planPortmaps, renderPortmap, type NodePortmapPlan } from '../../../src/plan/portmap/index.js';
import { parseTopology } from '../../../src/topology/load.js';

const topology = `apiVersion: kemu.dev/v1alpha1
kind: Topology
metadata: {name: lab}
spec:
  nodes: [{name: a}, {name: b}]
  workloads:
    - {apiVersion: v1, kind: Pod, metadata: {name: web}, spec: {nodeName: a, containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 53, hostPort: 5353, protocol: UDP, hostIP: 192.168.0.7}, {containerPort: 9000}]}]}}
    - {apiVersion: v1, kind: Pod, metadata: {name: host}, spec: {nodeName: a, hostNetwork: true, containers: [{name: c, image: x, ports: [{containerPort: 9100}]}]}}
    - {apiVersion: v1, kind: Pod, metadata: {name: plain}, spec: {nodeName: b, containers: [{name: c, image: x}]}}
`;

describe('portmap plan', async () => {
  const cluster = clusterFromTopology(await parseTopology(topology, '/x/t.yaml'));
  const plans = planPortmaps(cluster);
  const web = cluster.pods.find((p) => p.name === 'web')!;

  it('maps the host ports of pod-network pods only (a hostNetwork pod gets no CNI call)', () => {
    expect(plans.map((p) => [p.node, p.pods.map((x) => x.key)])).toEqual([['a', ['default/web']], ['b', []]]);
    expect(plans[0]!.pods[0]!.mappings).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'TCP', hostIP: '' },
      { hostPort: 5353, containerPort: 53, protocol: 'UDP', hostIP: '192.168.0.7' },
    ]);
  });

  it('names the per-pod chain as the plugin does: CNI-DN- + sha512(network + container ID), 28 characters', () => {
    const chain = dnatChainName('kemu-lab.pod.default.web');
    expect(chain).toMatch(/^CNI-DN-[0-9a-f]{21}$/);
    expect(chain).toBe(dnatChainName('kemu-lab.pod.default.web'));
    expect(chain).not.toBe(dnatChainName('kemu-lab.pod.default.other'));
  });

  it('renders the chains, entries, hairpin/localhost marks, DNATs and the missing jumps', () => {
    const chain = dnatChainName('kemu-lab.pod.default.web');
    const comment = '"dnat name: \\"k8s-pod-network\\" id: \\"kemu-lab.pod.default.web\\""';
    expect(renderPortmap(plans[0]!, { chains: [], hooked: new Set() }).split('\n')).toEqual([
      '*nat',
      ':CNI-HOSTPORT-DNAT - [0:0]',
      ':CNI-HOSTPORT-SETMARK - [0:0]',
      ':CNI-HOSTPORT-MASQ - [0:0]',
      `:${chain} - [0:0]`,
      '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
      '-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
      `-A CNI-HOSTPORT-DNAT -m comment --comment ${comment} -m multiport -p tcp --destination-ports 8080 -j ${chain}`,
      `-A CNI-HOSTPORT-DNAT -m comment --comment ${comment} -m multiport -p udp --destination-ports 5353 -j ${chain}`,
      `-A ${chain} -p tcp --dport 8080 -s ${web.ip}/32 -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} -p tcp --dport 8080 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} -p tcp --dport 8080 -j DNAT --to-destination ${web.ip}:80`,
      `-A ${chain} -p udp --dport 5353 -d 192.168.0.7 -s ${web.ip}/32 -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} -p udp --dport 5353 -d 192.168.0.7 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} -p udp --dport 5353 -d 192.168.0.7 -j DNAT --to-destination ${web.ip}:53`,
      '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-I POSTROUTING 1 -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
      'COMMIT',
      '',
    ]);
  });

  it('touches only CNI chains: jumps in place are not added twice, stale CNI-DN chains are flushed and deleted, KUBE chains never named', () => {
    const stale = dnatChainName('kemu-lab.pod.default.gone');
    const saved = [
      '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      HOOKS.PREROUTING,
      HOOKS.OUTPUT,
      '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
    ];
    const empty: NodePortmapPlan = { node: 'b', netns: 'kemu-lab.node.b', pods: [] };
    const payload = renderPortmap(empty, { chains: ['KUBE-SERVICES', 'KUBE-SVC-ABC', stale, 'CNI-HOSTPORT-DNAT'], hooked: hookedIn(saved) });
    expect(payload).toContain(`:${stale} - [0:0]\n`);
    expect(payload).toContain(`-X ${stale}\n`);
    expect(payload).not.toMatch(/KUBE-|PREROUTING|OUTPUT|POSTROUTING/);
    expect(payload.split('\n').filter((l) => l.startsWith(':'))).toEqual([':CNI-HOSTPORT-DNAT - [0:0]', ':CNI-HOSTPORT-SETMARK - [0:0]', ':CNI-HOSTPORT-MASQ - [0:0]', `:${stale} - [0:0]`]);
  });

  it('splits more than 15 ports of a protocol over several multiport entries', () => {
    const mappings = Array.from({ length: 17 }, (_, i) => ({ hostPort: 10000 + i, containerPort: 80 + i, protocol: 'TCP' as const, hostIP: '' }));
    const payload = renderPortmap({ node: 'a', netns: 'n', pods: [{ key: 'd/p', ip: '10.244.0.5', sandbox: 's', mappings }] }, { chains: [], hooked: new Set(['PREROUTING', 'OUTPUT', 'POSTROUTING']) });
    const entries = payload.split('\n').filter((l) => l.startsWith('-A CNI-HOSTPORT-DNAT'));
    expect(entries.map((l) => l.match(/--destination-ports (\S+)/)![1]!.split(',').length)).toEqual([15, 2]);
  });
});

describe('hostNetwork pods in the cluster and the plan', async () => {
  const cluster = clusterFromTopology(await parseTopology(topology, '/x/t.yaml'));
  const { planLab } = await import('../../../src/plan/lab-plan.js');
  const plan = planLab(cluster);

  it("takes the node's address, no IPAM address, no veth, the node's name as hostname", () => {
    const host = cluster.pods.find((p) => p.name === 'host')!;
    const nodeA = cluster.nodes.find((n) => n.name === 'a')!;
    expect(host.ip).toBe(nodeA.ip);
    expect(host.hostIP).toBe(nodeA.ip);
    expect(host.hostNetwork).toBe(true);
    const pp = plan.pods.find((p) => p.name === 'host')!;
    expect(pp).toMatchObject({ hostNetwork: true, hostname: 'a', podLines: [], nodeLines: [], ip: nodeA.ip });
    // The pod-network pods keep their addresses from the block.
    expect(cluster.pods.filter((p) => !p.hostNetwork).every((p) => p.ip.startsWith('10.244.'))).toBe(true);
    expect(plan.routes.flatMap((r) => r.routes).some((r) => r.dst === nodeA.ip)).toBe(false);
  });
});
