import { describe, expect, it } from 'vitest';
import type { V1PodSpec } from '@kubernetes/client-node';
import { checkHostPorts, hostPortsOf } from '../../src/topology/host-ports.js';
import { checkSysctls } from '../../src/topology/sysctls.js';
import { nodePortsFilter, REASON_NODE_PORTS, wantedHostPorts } from '../../src/cluster/scheduling/node-ports.js';
import { schedule } from '../../src/cluster/scheduler.js';
import { emptyStore, getObject, newMeta, putObject, type StoredPod } from '../../src/cluster/store.js';
import type { SchedulingNode } from '../../src/cluster/controllers/types.js';

const problems = (spec: V1PodSpec) => {
  const out: string[] = [];
  checkHostPorts(spec, 'spec', (p, m) => out.push(`${p}: ${m}`));
  return out;
};
const c = (ports: NonNullable<V1PodSpec['containers'][number]['ports']>, name = 'c', image = 'x') => ({ name, image, ports });

describe('hostPort and hostNetwork validation (API server rules)', () => {
  it('accepts hostPort in range, hostNetwork with matching or defaulted hostPort', () => {
    expect(problems({ containers: [c([{ containerPort: 80, hostPort: 8080 }])] })).toEqual([]);
    expect(problems({ hostNetwork: true, containers: [c([{ containerPort: 80 }, { containerPort: 81, hostPort: 81 }])] })).toEqual([]);
  });
  it('refuses a hostPort out of range', () => {
    expect(problems({ containers: [c([{ containerPort: 80, hostPort: 70000 }])] })).toEqual(['spec.containers[0].ports[0].hostPort: Invalid value: 70000: must be between 1 and 65535, inclusive']);
  });
  it('refuses a hostNetwork hostPort that differs from containerPort', () => {
    expect(problems({ hostNetwork: true, containers: [c([{ containerPort: 80, hostPort: 8080 }])] })).toEqual([
      'spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true',
    ]);
  });
  it('refuses the same protocol/hostIP/hostPort twice in a pod, across containers', () => {
    expect(problems({ containers: [c([{ containerPort: 80, hostPort: 8080 }]), c([{ containerPort: 81, hostPort: 8080 }], 'd')] })).toEqual(['spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"']);
    expect(problems({ containers: [c([{ containerPort: 80, hostPort: 8080 }, { containerPort: 80, hostPort: 8080, protocol: 'UDP' }])] })).toEqual([]);
  });
  it('refuses a hostIP that is not an IPv4 address, and hostNetwork for a program image, by name', () => {
    expect(problems({ containers: [c([{ containerPort: 80, hostPort: 8080, hostIP: 'nodeip' }])] })[0]).toMatch(/^spec\.containers\[0\]\.ports\[0\]\.hostIP: 'nodeip' is not an IPv4 address/);
    expect(problems({ hostNetwork: true, containers: [c([], 'ing', 'registry.k8s.io/ingress-nginx/controller:v1.15.1')] })[0]).toMatch(/^spec\.hostNetwork: true is not emulated for a pod that runs ingress-nginx/);
  });
  it('refuses net.* sysctls on a hostNetwork pod, as the kubelet does (they would change the node), and keeps others', () => {
    const sysctlProblems = (hostNetwork: boolean) => {
      const out: string[] = [];
      checkSysctls([{ name: 'net.ipv4.ip_unprivileged_port_start', value: '80' }, { name: 'kernel.shm_rmid_forced', value: '1' }], 'spec.securityContext.sysctls', (p, m) => out.push(`${p}: ${m}`), hostNetwork);
      return out;
    };
    expect(sysctlProblems(false)).toEqual([]);
    expect(sysctlProblems(true)).toEqual([expect.stringMatching(/^spec\.securityContext\.sysctls\[0\]\.name: "net\.ipv4\.ip_unprivileged_port_start" not allowed with host net enabled/)]);
  });
  it('defaults hostPort to containerPort for hostNetwork pods, 0.0.0.0 to every address', () => {
    expect(hostPortsOf({ hostNetwork: true, containers: [c([{ containerPort: 80, protocol: 'UDP' }])] })).toEqual([{ hostPort: 80, containerPort: 80, protocol: 'UDP', hostIP: '' }]);
    expect(hostPortsOf({ containers: [c([{ containerPort: 80 }, { containerPort: 81, hostPort: 9, hostIP: '0.0.0.0' }])] })).toEqual([{ hostPort: 9, containerPort: 81, protocol: 'TCP', hostIP: '' }]);
  });
});

const NOW = '2024-05-01T12:00:00Z';
function pod(name: string, spec: Partial<V1PodSpec>, created = NOW): StoredPod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: newMeta({ name, namespace: 'default' }, created, true), spec: { containers: [{ name: 'c', image: 'x' }], ...spec } } as StoredPod;
}
const node = (name: string): SchedulingNode => ({ name, labels: { 'kubernetes.io/hostname': name }, unschedulable: false, taints: [], allocatable: { cpuMilli: 2000, memoryBytes: 2 ** 32, pods: 110 } });

describe('NodePorts filter', () => {
  it('conflicts on protocol + port when either hostIP is every address, or both are the same', () => {
    const w = (hostPort: number, protocol: 'TCP' | 'UDP' = 'TCP', hostIP = '') => ({ hostPort, protocol, hostIP });
    expect(nodePortsFilter([w(80)], [w(80)])).toBe(REASON_NODE_PORTS);
    expect(nodePortsFilter([w(80)], [w(80, 'UDP')])).toBeUndefined();
    expect(nodePortsFilter([w(80, 'TCP', '10.0.0.1')], [w(80)])).toBe(REASON_NODE_PORTS);
    expect(nodePortsFilter([w(80, 'TCP', '10.0.0.1')], [w(80, 'TCP', '10.0.0.2')])).toBeUndefined();
    expect(nodePortsFilter([w(80, 'TCP', '10.0.0.1')], [w(80, 'TCP', '10.0.0.1')])).toBe(REASON_NODE_PORTS);
  });
  it("counts a hostNetwork pod's container ports and its default server's 8080 as host ports", () => {
    expect(wantedHostPorts(pod('a', { hostNetwork: true }))).toEqual([{ hostPort: 8080, protocol: 'TCP', hostIP: '' }]);
    expect(wantedHostPorts(pod('a', { hostNetwork: true, containers: [c([{ containerPort: 9000 }])] }))).toEqual([{ hostPort: 9000, protocol: 'TCP', hostIP: '' }]);
    expect(wantedHostPorts(pod('a', { containers: [c([{ containerPort: 9000 }])] }))).toEqual([]);
  });
  it('leaves the second pod asking for a taken port Pending with the upstream message', () => {
    const store = emptyStore();
    const ports = [{ containerPort: 80, hostPort: 8080 }];
    putObject(store, 'Pod', pod('first', { containers: [c(ports)], nodeSelector: { 'kubernetes.io/hostname': 'n1' } }, '2024-05-01T11:00:00Z'));
    putObject(store, 'Pod', pod('second', { containers: [c(ports)], nodeSelector: { 'kubernetes.io/hostname': 'n1' } }));
    putObject(store, 'Pod', pod('third', { containers: [c(ports)] }));
    const r = schedule(store, [node('n1'), node('n2')], { now: NOW });
    expect(r.bound).toEqual([{ pod: 'default/first', node: 'n1' }, { pod: 'default/third', node: 'n2' }]);
    expect(r.unschedulable).toEqual([
      { pod: 'default/second', message: "0/2 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 1 node(s) didn't match Pod's node affinity/selector." },
    ]);
    // Two hostNetwork pods with the default server on a one-node cluster.
    const one = emptyStore();
    putObject(one, 'Pod', pod('a', { hostNetwork: true }, '2024-05-01T11:00:00Z'));
    putObject(one, 'Pod', pod('b', { hostNetwork: true }));
    expect(schedule(one, [node('n1')], { now: NOW }).unschedulable).toEqual([{ pod: 'default/b', message: "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports." }]);
    expect(getObject(one, 'Pod', 'default/b')!.status?.conditions?.[0]).toMatchObject({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' });
  });
});

describe('pods pinned to a node whose host port is taken', async () => {
  const { parseTopology } = await import('../../src/topology/load.js');
  const { clusterFromTopology } = await import('../../src/cluster/desired.js');
  const topo = (second: string) => `apiVersion: kemu.dev/v1alpha1
kind: Topology
metadata: {name: lab}
spec:
  dns: {enabled: false}
  nodes: [{name: a}, {name: b}]
  workloads:
    - {apiVersion: v1, kind: Pod, metadata: {name: one}, spec: {nodeName: a, hostNetwork: true, containers: [{name: c, image: x, ports: [{containerPort: 9000}]}]}}
    - {apiVersion: v1, kind: Pod, metadata: {name: two}, spec: {${second}, containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: 9000}]}]}}
`;
  it('are refused by name (the kubelet would reject them), nothing built', async () => {
    const t = await parseTopology(topo('nodeName: a'), '/x/t.yaml');
    expect(() => clusterFromTopology(t)).toThrow(/spec\.workloads\[1\]\.spec\.nodeName.*pod default\/two is pinned to node a, where pod default\/one already holds host port TCP\/9000/s);
  });
  it('on another node, or left to the scheduler, are fine', async () => {
    expect(clusterFromTopology(await parseTopology(topo('nodeName: b'), '/x/t.yaml')).pods.map((p) => p.nodeName)).toEqual(['a', 'b']);
    expect(clusterFromTopology(await parseTopology(topo('hostNetwork: false'), '/x/t.yaml')).pods.find((p) => p.name === 'two')!.nodeName).toBe('b');
  });
});

describe("a Service's target port on hostNetwork pods sharing a node", async () => {
  const { parseTopology } = await import('../../src/topology/load.js');
  const { clusterFromTopology } = await import('../../src/cluster/desired.js');
  it('is not added to a second pod whose node already has it open (its default server would not bind)', async () => {
    const t = await parseTopology(
      `apiVersion: kemu.dev/v1alpha1
kind: Topology
metadata: {name: lab}
spec:
  dns: {enabled: false}
  nodes: [{name: a}]
  workloads:
    - {apiVersion: v1, kind: Pod, metadata: {name: one, labels: {app: x}}, spec: {nodeName: a, hostNetwork: true, containers: [{name: c, image: x, ports: [{containerPort: 9376}]}]}}
    - {apiVersion: v1, kind: Pod, metadata: {name: two, labels: {app: x}}, spec: {nodeName: a, hostNetwork: true, containers: [{name: c, image: x}]}}
    - {apiVersion: v1, kind: Pod, metadata: {name: three, labels: {app: x}}, spec: {nodeName: a, containers: [{name: c, image: x, ports: [{containerPort: 81}]}]}}
    - {apiVersion: v1, kind: Service, metadata: {name: x}, spec: {selector: {app: x}, ports: [{port: 80, targetPort: 9376}]}}
`,
      '/x/t.yaml',
    );
    const c = clusterFromTopology(t);
    const tcp = (name: string) => c.pods.find((p) => p.name === name)!.containers[0]!.tcpPorts;
    expect(tcp('one')).toEqual([9376]);
    expect(tcp('two')).toEqual([8080]);
    expect(tcp('three')).toEqual([81, 9376]);
  });
});
