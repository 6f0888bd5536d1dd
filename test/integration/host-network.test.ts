/**
 * hostNetwork pods as the kubelet runs them (containers in the node's network namespace, podIP = node
 * IP, the node's name as hostname, selected by Services at the node IP) and hostPort as the CNI portmap
 * plugin maps it (CNI-HOSTPORT-DNAT → CNI-DN-<hash> in the node's nat table), with kube-scheduler's
 * NodePorts filter keeping two pods off one host port (issue 9 §3).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTHING_LEFT, exec, getJson, kemu, leftovers, mustApplyDocs, mustUp, pods, until, writeTopology } from '../helpers/kemu.js';

const LAB = 'kt-hn-net';
const pod = (name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'agnhost' }], ...spec } });
const HOST_NET = pod('hostnet', { nodeName: 'n1', hostNetwork: true, containers: [{ name: 'c', image: 'agnhost', ports: [{ containerPort: 9376 }], readinessProbe: { httpGet: { path: '/healthz', port: 9376 } } }] }, { app: 'hostnet' });
const HOST_PORT = pod('mapped', { nodeName: 'n2', containers: [{ name: 'c', image: 'agnhost', ports: [{ containerPort: 8080, hostPort: 30808 }, { containerPort: 5353, hostPort: 30853, protocol: 'UDP' }] }] });
const workloads = (kubeProxy?: unknown) => ({
  apiVersion: 'kemu.dev/v1alpha1',
  kind: 'Topology',
  metadata: { name: LAB },
  spec: {
    network: { underlay: { subnet: '192.168.93.0/24' } },
    nodes: [{ name: 'n1' }, { name: 'n2', ...(kubeProxy ? { kubeProxy } : {}) }],
    externalHosts: [{ name: 'outside' }],
    workloads: [
      HOST_NET,
      // A second hostNetwork pod on n1 (the default server on 8080) that must outlive the first one's removal.
      pod('neighbour', { nodeName: 'n1', hostNetwork: true }),
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'hostnet' }, spec: { selector: { app: 'hostnet' }, ports: [{ port: 80, targetPort: 9376 }] } },
      HOST_PORT,
      pod('client', { nodeName: 'n2' }),
    ],
  },
});
const file = writeTopology(LAB, workloads());
let nodeIP: Record<string, string> = {};

const curl = (target: string, url: string) => kemu('exec', '--lab', LAB, target, '--', 'curl', '-sS', '-m', '3', url);
const body = async (target: string, url: string) => {
  const r = await curl(target, url);
  expect(r.exitCode, `${target} → ${url}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
};
const cniRules = async (node: string) => (await exec(LAB, `node/${node}`, 'iptables-save', '-t', 'nat')).split('\n').filter((l) => /CNI-/.test(l));

beforeAll(async () => {
  await kemu('down', '-q', LAB);
  await mustUp(file);
  const nodes = (await getJson(LAB, 'nodes')).items;
  nodeIP = Object.fromEntries(nodes.map((n: any) => [n.metadata.name, n.status.addresses[0].address]));
}, 60_000);
afterAll(async () => {
  await kemu('down', '-q', LAB);
  expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
});

describe('hostNetwork', () => {
  it("runs in the node's network namespace: podIP is the node's IP, its hostname the node's name, no pod address or veth of its own", async () => {
    const p = (await getJson(LAB, 'pods', 'hostnet')) as any;
    expect(p.status.podIP).toBe(nodeIP.n1);
    expect(p.status.podIPs).toEqual([{ ip: nodeIP.n1 }]);
    expect(p.status.hostIP).toBe(nodeIP.n1);
    expect((await exec(LAB, 'hostnet', 'hostname')).trim()).toBe('n1');
    expect(await exec(LAB, 'hostnet', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0')).toContain(`inet ${nodeIP.n1}/`);
    // The same interfaces as the node itself.
    const names = (out: string) => out.split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0]).filter(Boolean).sort();
    expect(names(await exec(LAB, 'hostnet', 'ip', '-o', 'link'))).toEqual(names(await exec(LAB, 'node/n1', 'ip', '-o', 'link')));
    expect(await exec(LAB, 'node/n1', 'ss', '-ltn')).toMatch(/0\.0\.0\.0:9376\b/);
    const wide = (await kemu('get', 'pods', '-o', 'wide', '--lab', LAB)).stdout;
    expect(wide).toMatch(new RegExp(`^default\\s+hostnet\\s+1/1\\s+Running\\s+0\\s+${nodeIP.n1!.replace(/\./g, '\\.')}\\s+n1\\b`, 'm'));
  });

  it('is a Service endpoint at the node IP: the ClusterIP answers from a pod on the other node', async () => {
    const slice = (await getJson(LAB, 'endpointslices')).items.find((s: any) => s.metadata.labels['kubernetes.io/service-name'] === 'hostnet');
    expect(slice.endpoints.map((e: any) => e.addresses[0])).toEqual([nodeIP.n1]);
    expect(slice.ports[0].port).toBe(9376);
    const clusterIP = (await getJson(LAB, 'svc', 'hostnet')).spec.clusterIP;
    expect(await body('client', `http://${clusterIP}/hostname`)).toBe('n1');
  });

  it('a second pod asking for a taken host port stays Pending with the NodePorts message', async () => {
    await mustApplyDocs(LAB, [pod('clash', { nodeSelector: { 'kubernetes.io/hostname': 'n1' }, containers: [{ name: 'c', image: 'agnhost', ports: [{ containerPort: 80, hostPort: 9376 }] }] })]);
    const p = (await getJson(LAB, 'pods', 'clash')) as any;
    expect(p.status.phase).toBe('Pending');
    expect(p.status.conditions.find((c: any) => c.type === 'PodScheduled')).toMatchObject({
      status: 'False',
      reason: 'Unschedulable',
      message: "0/2 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 1 node(s) didn't match Pod's node affinity/selector.",
    });
    expect(await body('client', `http://${nodeIP.n1}:9376/hostname`)).toBe('n1');
    const gone = await kemu('delete', 'pod', 'clash', '--lab', LAB);
    expect(gone.exitCode, gone.stderr).toBe(0);
  });
});

describe('hostPort', () => {
  it('reaches the pod at nodeIP:hostPort from an outside host, the other node, the node itself and the pod (hairpin)', async () => {
    const url = `http://${nodeIP.n2}:30808`;
    expect(await body('host/outside', `${url}/hostname`)).toBe('mapped');
    const outsideIP = (await exec(LAB, 'host/outside', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0')).match(/inet (\S+)\//)![1]!;
    // From outside the client address is kept (DNAT only); from the node itself and the pod it is masqueraded to the node.
    expect(await body('host/outside', `${url}/clientip`)).toMatch(new RegExp(`^${outsideIP.replace(/\./g, '\\.')}:`));
    expect(await body('node/n1', `${url}/clientip`)).toMatch(new RegExp(`^${nodeIP.n1!.replace(/\./g, '\\.')}:`));
    expect(await body('node/n2', `${url}/hostname`)).toBe('mapped');
    expect(await body('node/n2', 'http://127.0.0.1:30808/clientip')).toMatch(new RegExp(`^${nodeIP.n2!.replace(/\./g, '\\.')}:`));
    expect(await body('mapped', `${url}/clientip`)).toMatch(new RegExp(`^${nodeIP.n2!.replace(/\./g, '\\.')}:`));
    const udp = await exec(LAB, 'host/outside', 'sh', '-c', `echo hostname | socat -t2 - UDP:${nodeIP.n2}:30853`);
    expect(udp.trim()).toBe('mapped');
    // Not on the other node: the mapping is n2's only.
    expect((await curl('host/outside', `http://${nodeIP.n1}:30808/hostname`)).exitCode).not.toBe(0);
  });

  it('programs the CNI portmap chains in the node only, and a full kube-proxy resync keeps them', async () => {
    const before = await cniRules('n2');
    expect(before).toContain('-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT');
    expect(before).toContain('-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT');
    expect(before.some((l) => /^-A POSTROUTING .*-j CNI-HOSTPORT-MASQ$/.test(l))).toBe(true);
    const mapped = (await pods(LAB)).find((p) => p.name === 'mapped')!;
    expect(before.some((l) => /^-A CNI-DN-[0-9a-f]{21} -p tcp -m tcp --dport 30808 -j DNAT --to-destination /.test(l) && l.endsWith(`${mapped.ip}:8080`))).toBe(true);
    expect(await cniRules('n1')).toEqual([]);
    // A changed kube-proxy configuration on n2 is a restart of it with a full iptables-restore.
    const r = await kemu('up', writeTopology(LAB, workloads({ iptables: { masqueradeAll: true } })));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/kube-proxy on n2: full sync/);
    expect(await cniRules('n2')).toEqual(before);
    expect(await body('host/outside', `http://${nodeIP.n2}:30808/hostname`)).toBe('mapped');
  });

  it("deleting the pod removes its CNI-DN chain and its entry; the node's other chains stay", async () => {
    const chain = (await cniRules('n2')).find((l) => l.startsWith(':CNI-DN-'))!.slice(1).split(' ')[0]!;
    const kubeBefore = (await exec(LAB, 'node/n2', 'iptables-save', '-t', 'nat')).split('\n').filter((l) => l.startsWith(':KUBE-SERVICES'));
    const r = await kemu('delete', 'pod', 'mapped', '--lab', LAB);
    expect(r.exitCode, r.stderr).toBe(0);
    const after = await cniRules('n2');
    expect(after.some((l) => l.includes(chain))).toBe(false);
    expect(after).toContain(':CNI-HOSTPORT-DNAT - [0:0]');
    expect((await exec(LAB, 'node/n2', 'iptables-save', '-t', 'nat')).split('\n').filter((l) => l.startsWith(':KUBE-SERVICES'))).toEqual(kubeBefore);
    expect((await curl('host/outside', `http://${nodeIP.n2}:30808/hostname`)).exitCode).not.toBe(0);
  });
});

describe('removing a hostNetwork pod', () => {
  it("stops its own processes only: the node's other hostNetwork pod keeps serving", async () => {
    const neighbourPid = (await pods(LAB)).find((p) => p.name === 'neighbour')!.holderPid;
    const r = await kemu('delete', 'pod', 'hostnet', '--lab', LAB);
    expect(r.exitCode, r.stderr).toBe(0);
    await until('hostnet gone', 10_000, async () => !(await pods(LAB)).some((p) => p.name === 'hostnet'));
    expect(await exec(LAB, 'node/n1', 'ss', '-ltn')).not.toMatch(/0\.0\.0\.0:9376\b/);
    expect(await body('client', `http://${nodeIP.n1}:8080/hostname`)).toBe('n1');
    expect((await pods(LAB)).find((p) => p.name === 'neighbour')!.holderPid).toBe(neighbourPid);
    expect(await exec(LAB, 'neighbour', 'hostname')).toContain('n1');
  });
});
