/**
 * kube-proxy's configuration, EndpointSlices and service-CIDR advertisement with real traffic: one
 * lab, five nodes, each node's kube-proxy configured differently (per-node KubeProxyConfiguration,
 * one of them from a --config file), an outside host that reaches ClusterIPs through the fabric.
 */
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { NOTHING_LEFT, exec, kemu, leftovers, mustUp, pods, rootNetwork } from '../helpers/kemu.js';

const LAB = 'kt-kp-cfg';
const IP = { n1: '192.168.63.11', n2: '192.168.63.12', n3: '192.168.63.13', n4: '192.168.63.14', n5: '192.168.63.15', outside: '192.168.63.50' };
const N2_EXTRA = '192.168.63.200';
const N4_EXTRA = '192.168.63.201';
const SRV_A = '10.244.0.10';
const dir = mkdtempSync(join(tmpdir(), `${LAB}-`));
const file = join(dir, 'topology.yaml');
const stateFile = `/var/lib/kemu/${LAB}/state.json`;

const zone = (z: string) => ({ 'topology.kubernetes.io/zone': z });
const server = (name: string, node: string, labels: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels, ...(extra.metadata as object) },
  spec: { nodeName: node, containers: [{ name: 'web', image: 'agnhost', ports: [{ name: 'http', containerPort: 8080 }], ...(extra.container as object) }], ...(extra.spec as object) },
});
const client = (name: string, node: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: node, containers: [{ name: 'c', image: 'agnhost' }] } });
const svc = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }], ...spec } });

function topology(edit?: (t: any) => void): string {
  const t: any = {
    apiVersion: 'kemu.dev/v1alpha1',
    kind: 'Topology',
    metadata: { name: LAB },
    spec: {
      network: { podCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/16', underlay: { subnet: '192.168.63.0/24' }, advertiseServiceCIDR: true },
      kubeProxy: { conntrack: { tcpEstablishedTimeout: '2h' } },
      nodes: [
        { name: 'n1', address: IP.n1, labels: zone('zone-a'), kubeProxy: { iptables: { masqueradeAll: true, localhostNodePorts: false } } },
        { name: 'n2', address: IP.n2, extraAddresses: [N2_EXTRA], labels: zone('zone-b'), kubeProxy: { detectLocalMode: 'InterfaceNamePrefix', detectLocal: { interfaceNamePrefix: 'cali' }, nodePortAddresses: [`${N2_EXTRA}/32`], conntrack: { tcpBeLiberal: true } } },
        { name: 'n3', address: IP.n3, labels: zone('zone-b'), kubeProxy: 'kp-n3.yaml' },
        { name: 'n4', address: IP.n4, extraAddresses: [N4_EXTRA], labels: zone('zone-c'), kubeProxy: { detectLocalMode: 'NodeCIDR', nodePortAddresses: ['primary'] } },
        { name: 'n5', address: IP.n5, labels: zone('zone-c'), kubeProxy: { clusterCIDR: '' } },
      ],
      externalHosts: [{ name: 'outside', address: IP.outside }],
      workloads: [
        server('srv-a', 'n1', { app: 'srv-a', tier: 'srv' }, { metadata: { annotations: { 'cni.projectcalico.org/ipAddrs': `["${SRV_A}"]` } } }),
        server('srv-b', 'n2', { app: 'srv-b', tier: 'srv' }),
        server('srv-e', 'n5', { app: 'srv-e' }),
        server('leaving', 'n5', { app: 'leaving' }, { container: { lifecycle: { preStop: { sleep: { seconds: 15 } } } }, spec: { terminationGracePeriodSeconds: 30 } }),
        ...['n1', 'n2', 'n3', 'n4', 'n5'].map((n) => client(`c-${n}`, n)),
        svc('to-b', { selector: { app: 'srv-b' } }),
        svc('to-e', { selector: { app: 'srv-e' } }),
        svc('np', { type: 'NodePort', selector: { tier: 'srv' }, ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30100 }] }),
        svc('local-b', { type: 'NodePort', externalTrafficPolicy: 'Local', selector: { app: 'srv-b' }, ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30101 }] }),
        svc('zonal', { selector: { tier: 'srv' }, trafficDistribution: 'PreferClose' }),
        svc('drain', { type: 'NodePort', externalTrafficPolicy: 'Local', selector: { app: 'leaving' }, ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30102 }] }),
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'manual' }, spec: { ports: [{ name: 'http', port: 80 }] } },
        {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: 'manual-1', labels: { 'kubernetes.io/service-name': 'manual' } },
          addressType: 'IPv4',
          endpoints: [{ addresses: [SRV_A], conditions: { ready: true }, nodeName: 'n1' }],
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        },
      ],
    },
  };
  edit?.(t);
  writeFileSync(file, stringify(t));
  return file;
}
writeFileSync(join(dir, 'kp-n3.yaml'), stringify({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'iptables', detectLocalMode: 'BridgeInterface', detectLocal: { bridgeInterface: 'cbr0' } }));

let before: Awaited<ReturnType<typeof rootNetwork>>;
let podIP: Record<string, string>;
let clusterIP: Record<string, string>;

const curl = (target: string, url: string, max = 3) => kemu('exec', '--lab', LAB, target, '--', 'curl', '-sS', '-m', String(max), url);
const body = async (target: string, url: string) => {
  const r = await curl(target, url);
  if (r.exitCode !== 0) throw new Error(`curl ${url} from ${target} failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout;
};
const sourceSeen = async (target: string, url: string) => (await body(target, url)).split(':')[0];
const nat = async (node: string) => exec(LAB, `node/${node}`, 'iptables-save', '-t', 'nat');
const sysctl = async (node: string, key: string) => (await exec(LAB, `node/${node}`, 'cat', `/proc/sys/${key.replace(/\./g, '/')}`)).trim();
const getJson = async (...args: string[]) => JSON.parse((await kemu('get', ...args, '-o', 'json', '--lab', LAB)).stdout);
/** The masquerade rule of a service's KUBE-SVC chain (the first rule, mentioning its cluster IP). */
const svcMasqRule = (rules: string, ip: string) => rules.split('\n').find((l) => l.startsWith('-A KUBE-SVC-') && l.includes(`-d ${ip}/32`) && l.includes('KUBE-MARK-MASQ'));

beforeAll(async () => {
  before = await rootNetwork();
  await mustUp(topology());
  podIP = Object.fromEntries((await pods(LAB)).map((p) => [p.name, p.ip]));
  clusterIP = Object.fromEntries((await getJson('svc')).items.map((s: any) => [s.metadata.name, s.spec.clusterIP]));
}, 180_000);
afterAll(async () => {
  await kemu('down', '-q', LAB);
  expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
  expect(await rootNetwork()).toEqual(before);
});

describe('per-node kube-proxy configuration, as rules and sysctls', () => {
  it('writes each node’s local detector, masqueradeAll, node-port addresses, INVALID drop and nfacct counters', async () => {
    const [n1, n2, n3, n4, n5] = await Promise.all(['n1', 'n2', 'n3', 'n4', 'n5'].map(nat));
    const ip = clusterIP['to-b']!;
    expect(svcMasqRule(n1!, ip)).not.toMatch(/ -s | -i /); // masqueradeAll: no source condition
    expect(svcMasqRule(n2!, ip)).toMatch(/ ! -i cali\+ /);
    expect(svcMasqRule(n3!, ip)).toMatch(/ ! -i cbr0 /);
    const blocks = (await getJson('nodes')).items.find((n: any) => n.metadata.name === 'n4').spec.podCIDR;
    expect(svcMasqRule(n4!, ip)).toContain(` ! -s ${blocks} `);
    expect(svcMasqRule(n5!, ip)).toBeUndefined(); // clusterCIDR "": no detector, no rule
    const tail = (rules: string) => rules.split('\n').filter((l) => l.includes('must be the last rule'));
    expect(tail(n1!)).toHaveLength(1);
    expect(tail(n1!)[0]).toMatch(/^-A KUBE-SERVICES ! -d 127\.0\.0\.0\/8 .*-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS$/);
    expect(tail(n2!)).toEqual([expect.stringMatching(new RegExp(`^-A KUBE-SERVICES -d ${N2_EXTRA}/32 .*-j KUBE-NODEPORTS$`))]);
    expect(tail(n4!)).toEqual([expect.stringMatching(new RegExp(`^-A KUBE-SERVICES -d ${IP.n4}/32 .*-j KUBE-NODEPORTS$`))]);
    const filter1 = await exec(LAB, 'node/n1', 'iptables-save', '-t', 'filter');
    expect(filter1).toMatch(/-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name +ct_state_invalid_dropped_pkts -j DROP/);
    expect(filter1).not.toContain('block incoming localnet connections'); // localhostNodePorts false
    // tcpBeLiberal: kube-proxy's own INVALID drop is gone (Calico's endpoint chains keep theirs).
    const kubeLines = (await exec(LAB, 'node/n2', 'iptables-save', '-t', 'filter')).split('\n').filter((l) => l.startsWith('-A KUBE-'));
    expect(kubeLines.length).toBeGreaterThan(0);
    expect(kubeLines.filter((l) => l.includes('--ctstate INVALID'))).toEqual([]);
    expect(await exec(LAB, 'node/n5', 'iptables-save', '-t', 'filter')).toContain('block incoming localnet connections');
    const counters = await exec(LAB, 'node/n1', 'nfacct', 'list');
    expect(counters).toMatch(/= ct_state_invalid_dropped_pkts;/);
    expect(counters).toMatch(/= localhost_nps_accepted_pkts;/);
  });

  it('sets the conntrack sysctls in each node (cluster config merged under the node’s) and route_localnet only with localhost NodePorts', async () => {
    expect(await sysctl('n1', 'net.netfilter.nf_conntrack_tcp_timeout_established')).toBe('7200');
    expect(await sysctl('n1', 'net.netfilter.nf_conntrack_tcp_timeout_close_wait')).toBe('3600');
    expect(await sysctl('n1', 'net.netfilter.nf_conntrack_tcp_be_liberal')).toBe('0');
    expect(await sysctl('n2', 'net.netfilter.nf_conntrack_tcp_be_liberal')).toBe('1');
    expect(await sysctl('n1', 'net.ipv4.conf.all.route_localnet')).toBe('0');
    expect(await sysctl('n5', 'net.ipv4.conf.all.route_localnet')).toBe('1');
  });
});

describe('with real traffic', () => {
  it('masqueradeAll and each detectLocalMode decide whether a pod client is masqueraded', async () => {
    const url = `http://${clusterIP['to-b']}/clientip`;
    expect(await sourceSeen('c-n1', url)).toBe(IP.n1); // masqueradeAll: even a pod client
    expect(await sourceSeen('c-n3', url)).toBe(IP.n3); // BridgeInterface cbr0: pods enter via cali, so "not local"
    expect(await sourceSeen('c-n2', url)).toBe(podIP['c-n2']); // InterfaceNamePrefix cali
    expect(await sourceSeen('c-n4', url)).toBe(podIP['c-n4']); // NodeCIDR: the pod is in its node's podCIDR
    expect(await sourceSeen('c-n5', url)).toBe(podIP['c-n5']); // no detector
  });

  it('serviceClusterIPs: the fabric routes the service CIDR to every node and a Local service’s ClusterIP to its endpoints’ nodes', async () => {
    const routes = await execa('ip', ['netns', 'exec', `kemu-${LAB}.fabric`, 'ip', 'route', 'show', 'proto', 'static']);
    const cidr = routes.stdout.split('\n\t').join(' ').split('\n').find((l) => l.startsWith('10.96.0.0/16'));
    expect(cidr?.match(/nexthop via/g)).toHaveLength(5);
    expect(routes.stdout).toContain(`${clusterIP['local-b']} via ${IP.n2} dev underlay`);
    // Any node answers for to-e (its endpoint is on n5; every other node masquerades the outside client).
    for (let i = 0; i < 4; i++) expect(await body('host/outside', `http://${clusterIP['to-e']}/hostname`)).toBe('srv-e');
    // local-b goes to n2, whose InterfaceNamePrefix detector masquerades the outside client.
    expect([IP.n2, N2_EXTRA]).toContain(await sourceSeen('host/outside', `http://${clusterIP['local-b']}/clientip`));
  });

  it('an outside client keeps its address through a node without a detector, and is masqueraded through a NodeCIDR one', async () => {
    const via = async (node: string) => {
      await exec(LAB, 'host/outside', 'ip', 'route', 'replace', `${clusterIP['to-e']}/32`, 'via', IP[node as 'n4']);
      return sourceSeen('host/outside', `http://${clusterIP['to-e']}/clientip`);
    };
    try {
      expect(await via('n5')).toBe(IP.outside);
      expect(await via('n4')).toBe(IP.n4);
    } finally {
      await exec(LAB, 'host/outside', 'ip', 'route', 'del', `${clusterIP['to-e']}/32`);
    }
  });

  it('localhostNodePorts false: 127.0.0.1:<nodePort> fails in the node, its own address works; on by default, and counted by nfacct', async () => {
    expect((await curl('node/n1', 'http://127.0.0.1:30100/hostname')).exitCode).not.toBe(0);
    expect(['srv-a', 'srv-b']).toContain(await body('node/n1', `http://${IP.n1}:30100/hostname`));
    const counted = async () => Number(/pkts = 0*(\d+)/.exec(await exec(LAB, 'node/n5', 'nfacct', 'get', 'localhost_nps_accepted_pkts'))?.[1] ?? 0);
    const start = await counted();
    expect(['srv-a', 'srv-b']).toContain(await body('node/n5', 'http://127.0.0.1:30100/hostname'));
    expect(await counted()).toBeGreaterThan(start);
  });

  it('nodePortAddresses: only the listed addresses answer; primary is the node IP only', async () => {
    expect(['srv-a', 'srv-b']).toContain(await body('host/outside', `http://${N2_EXTRA}:30100/hostname`));
    expect((await curl('host/outside', `http://${IP.n2}:30100/hostname`, 2)).exitCode).not.toBe(0);
    expect(['srv-a', 'srv-b']).toContain(await body('host/outside', `http://${IP.n4}:30100/hostname`));
    expect((await curl('host/outside', `http://${N4_EXTRA}:30100/hostname`, 2)).exitCode).not.toBe(0);
  });

  it('an EndpointSlice-only service answers from its hand-written slice', async () => {
    expect(await body('c-n3', `http://${clusterIP.manual}/hostname`)).toBe('srv-a');
  });

  it('trafficDistribution PreferClose: a client in a zone with endpoints stays in it; a zone without any gets all', async () => {
    const seen = async (target: string) => new Set((await exec(LAB, target, 'sh', '-c', `for i in $(seq 12); do curl -sS -m 3 http://${clusterIP.zonal}/hostname; echo; done`)).trim().split('\n'));
    expect(await seen('c-n3')).toEqual(new Set(['srv-b'])); // zone-b
    expect(await seen('c-n4')).toEqual(new Set(['srv-a', 'srv-b'])); // zone-c has none: hints ignored
  });
});

describe('EndpointSlices in the store', () => {
  it('the controller’s slices are stored objects with kubectl’s columns; hand-written ones sit beside them', async () => {
    const list = (await getJson('endpointslices')).items;
    const toB = list.find((s: any) => s.metadata.labels['kubernetes.io/service-name'] === 'to-b');
    expect(toB.metadata.name).toMatch(/^to-b-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(toB.metadata).toMatchObject({ uid: expect.any(String), resourceVersion: expect.any(String), labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } });
    expect(toB.endpoints).toEqual([expect.objectContaining({ addresses: [podIP['srv-b']], nodeName: 'n2', zone: 'zone-b', conditions: { ready: true, serving: true, terminating: false }, targetRef: expect.objectContaining({ kind: 'Pod', name: 'srv-b' }) })]);
    const zonal = list.find((s: any) => s.metadata.labels['kubernetes.io/service-name'] === 'zonal');
    expect(zonal.endpoints.map((e: any) => e.hints)).toEqual([{ forZones: [{ name: 'zone-a' }] }, { forZones: [{ name: 'zone-b' }] }]);
    const table = (await kemu('get', 'endpointslices', '--lab', LAB)).stdout;
    expect(table.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS/);
    expect(table).toMatch(new RegExp(`manual-1\\s+IPv4\\s+8080\\s+${SRV_A.replace(/\./g, '\\.')}`));
  });
});

describe('terminating endpoints', () => {
  it('externalTrafficPolicy Local falls back to a draining pod: its open and new connections are served until it is gone', async () => {
    const url = `http://${IP.n5}:30102/hostname`;
    expect(await body('host/outside', url)).toBe('leaving');
    // One keep-alive connection: a request now, another while the pod drains.
    const script = `import socket,time
s=socket.create_connection(("${IP.n5}",30102),timeout=20)
def get():
  s.sendall(b"GET /hostname HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"); d=b""
  while b"\\r\\n\\r\\n" not in d: d+=s.recv(4096)
  h,b=d.split(b"\\r\\n\\r\\n",1); n=int([l for l in h.split(b"\\r\\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
  while len(b)<n: b+=s.recv(4096)
  return b.decode()
print(get(),flush=True); time.sleep(5); print(get(),flush=True)`;
    const open = kemu('exec', '--lab', LAB, 'host/outside', '--', 'python3', '-c', script);
    await new Promise((r) => setTimeout(r, 1000));
    const deleting = kemu('delete', 'pod', 'leaving', '--lab', LAB, '-q');
    // Wait until the slice says terminating (the delete's first sync is done), then connect anew.
    const terminating = async () => (await getJson('endpointslices')).items.find((s: any) => s.metadata.labels['kubernetes.io/service-name'] === 'drain')?.endpoints?.[0]?.conditions?.terminating === true;
    for (let i = 0; i < 60 && !(await terminating()); i++) await new Promise((r) => setTimeout(r, 200));
    expect(await terminating()).toBe(true);
    // Not ready, still serving: the Local chain keeps it (KEP-1669's fallback), and a new connection lands there.
    expect(await nat('n5')).toMatch(new RegExp(`-A KUBE-SVL-\\w+ .*-j KUBE-SEP-`));
    expect(await body('host/outside', url)).toBe('leaving');
    const kept = await open;
    expect(kept.exitCode, kept.stderr).toBe(0);
    expect(kept.stdout.trim().split('\n')).toEqual(['leaving', 'leaving']);
    expect((await deleting).exitCode).toBe(0);
    expect((await pods(LAB)).some((p) => p.name === 'leaving')).toBe(false);
    expect((await curl('host/outside', url, 2)).exitCode).not.toBe(0);
  }, 90_000);
});

describe('changes and bad input', () => {
  it('a node’s changed configuration gives it a full sync; the others keep their rules', async () => {
    const n1Before = await nat('n1');
    // (The drained pod stays deleted: the file no longer lists it.)
    const edit = (t: any) => {
      t.spec.nodes[4].kubeProxy = { clusterCIDR: '', iptables: { masqueradeAll: true } };
      t.spec.workloads = t.spec.workloads.filter((w: any) => w.metadata.name !== 'leaving');
    };
    const r = await kemu('up', topology(edit));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/kube-proxy on n5: full sync/);
    expect(r.stdout).not.toMatch(/kube-proxy on n1:/);
    expect(svcMasqRule(await nat('n5'), clusterIP['to-b']!)).toBeDefined();
    expect((await nat('n1')).split('\n').filter((l) => l.startsWith('-A'))).toEqual(n1Before.split('\n').filter((l) => l.startsWith('-A')));
  });

  it('refuses a mode kemu does not emulate, and SCTP on this kernel, by field, changing nothing', async () => {
    const state = readFileSync(stateFile, 'utf8');
    const bad = await kemu('up', topology((t) => (t.spec.nodes[1].kubeProxy = { mode: 'nftables' })));
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('spec.nodes[1].kubeProxy.mode');
    expect(bad.stderr).toMatch(/not emulated yet/);
    const sctp = await kemu('up', topology((t) => t.spec.workloads.push(svc('sctp', { selector: { app: 'srv-b' }, ports: [{ name: 'x', port: 9, protocol: 'SCTP' }] }))));
    expect(sctp.exitCode).toBe(2);
    expect(sctp.stderr).toMatch(/spec\.workloads\[\d+\]\.spec\.ports\[0\]\.protocol: SCTP needs the kernel's sctp protocol/);
    expect(readFileSync(stateFile, 'utf8')).toBe(state);
  });
});
