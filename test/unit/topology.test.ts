import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/topology/errors.js';
import { parseTopology } from '../../src/topology/load.js';
import { clusterFromTopology } from '../../src/cluster/desired.js';
import { BAD_INPUTS } from '../helpers/bad-inputs.js';

const ok = (spec: string) => `apiVersion: kemu.dev/v1alpha1
kind: Topology
metadata: {name: t}
spec:
${spec}`;

describe('topology validation', () => {
  for (const bad of BAD_INPUTS) {
    it(`rejects ${bad.name}, naming ${bad.path || 'the problem'}`, async () => {
      const err = await parseTopology(bad.text, '/tmp/kt/topology.yaml')
        .then(clusterFromTopology)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      const problems = (err as InputError).problems;
      expect(problems.some((p) => p.path.includes(bad.path) && bad.message.test(p.message)), JSON.stringify(problems)).toBe(true);
    });
  }

  it('reports every problem at once, each with its line', async () => {
    const err = (await parseTopology(ok('  nodes: [{name: A}, {name: b, address: 1.2.3.4}]\n  bogus: 1'), '/x/t.yaml').catch((e: unknown) => e)) as InputError;
    expect(err.problems.map((p) => p.path)).toEqual(expect.arrayContaining(['spec.nodes[0].name', 'spec.bogus']));
    expect(err.problems.find((p) => p.path === 'spec.nodes[0].name')!.where).toBe('/x/t.yaml:5:18');
  });

  it('fills defaults', async () => {
    const t = await parseTopology(ok('  nodes: [{name: n1}]'), '/x/t.yaml');
    expect(t.network).toEqual({
      podCIDR: '10.244.0.0/16',
      blockSize: 26,
      serviceCIDR: '10.96.0.0/12',
      underlay: { racks: [{ name: 'underlay', subnet: '192.168.50.0/24', gateway: '192.168.50.1', bridge: 'underlay' }], mtu: 1500 },
      routing: 'static',
      asNumber: 64512,
      routeReflectors: [],
      natOutgoing: true,
      nodePortRange: { min: 30000, max: 32767 },
      serviceClusterIPs: [],
    });
  });

  it('places machines in racks: the first rack by default, addresses from their rack, gateways .1', async () => {
    const t = await parseTopology(
      ok(`  network:
    routing: ipip
    ipipMode: CrossSubnet
    underlay: {racks: [{name: rack-a, subnet: 10.1.0.0/24}, {name: rack-b, subnet: 10.2.0.0/24, gateway: 10.2.0.254}]}
  nodes: [{name: n1}, {name: n2, rack: rack-b, asNumber: 64600, extraAddresses: [10.2.0.99]}]
  externalHosts: [{name: h1, rack: rack-b}]`),
      '/x/t.yaml',
    );
    expect(t.network.underlay.racks.map((r) => [r.name, r.gateway, r.bridge])).toEqual([['rack-a', '10.1.0.1', 'rack-a'], ['rack-b', '10.2.0.254', 'rack-b']]);
    expect(t.nodes.map((n) => [n.rack, n.asNumber])).toEqual([['rack-a', undefined], ['rack-b', 64600]]);
    expect(t.nodes[1]!.extraAddresses).toEqual(['10.2.0.99/24']);
    const c = clusterFromTopology(t);
    expect(c.nodes.map((n) => [n.ip, n.asNumber])).toEqual([['10.1.0.2', 64512], ['10.2.0.1', 64600]]);
    expect(c.externalHosts[0]!.ip).toBe('10.2.0.2');
  });

  it('accepts any disjoint ranges the user picks', async () => {
    const t = await parseTopology(
      ok('  network: {podCIDR: 10.0.0.0/8, serviceCIDR: 172.30.0.0/16, underlay: {subnet: 192.168.0.0/24}}\n  nodes: [{name: n1, address: 192.168.0.9, extraAddresses: [192.168.0.200, 172.31.0.1/24]}]'),
      '/x/t.yaml',
    );
    expect(t.nodes[0]!.extraAddresses).toEqual(['192.168.0.200/24', '172.31.0.1/24']);
  });

  it('reads Pods and Deployments inline, typed by the Kubernetes client', async () => {
    const t = await parseTopology(
      ok(`  nodes: [{name: n1}]
  workloads:
    - {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}}
    - {apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: 2, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: x}]}}}}`),
      '/x/t.yaml',
    );
    expect(t.manifests.map((m) => [m.kind, m.object.constructor.name, m.origin])).toEqual([
      ['Pod', 'V1Pod', expect.stringMatching(/^spec\.workloads/)],
      ['Deployment', 'V1Deployment', expect.stringMatching(/^spec\.workloads/)],
      // what every cluster has: cluster DNS (kube-system/coredns, kube-dns) and default/kubernetes
      ['Deployment', 'Object', 'spec.dns'],
      ['Service', 'Object', 'spec.dns'],
      ['Service', 'Object', 'apiserver'],
    ]);
  });

  it('rejects a Deployment whose selector does not match its template', async () => {
    const err = (await parseTopology(
      ok(`  nodes: [{name: n1}]
  workloads:
    - {apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: -1, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: c}}, spec: {containers: [{name: c, image: x}]}}}}`),
      '/x/t.yaml',
    ).catch((e: unknown) => e)) as InputError;
    expect(err.problems.map((p) => p.path)).toEqual(['spec.workloads[0].spec.replicas', 'spec.workloads[0].spec.template.metadata.labels']);
  });
});
