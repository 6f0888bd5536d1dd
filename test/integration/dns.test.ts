/**
 * Cluster DNS end to end on a lab's pod network: the lab's DNS server (`kemu dns-server`) runs in a
 * pod labelled k8s-app=kube-dns behind a kube-dns Service at 10.96.0.10 (kube-proxy's real rules),
 * serves records planned from the lab's pods and Services (plan/dns), and forwards other names to
 * the test's own upstream responder on an outside host (nothing leaves the machine). Pods get the
 * kubelet's resolv.conf through a private mount namespace (labs do not deliver it themselves yet).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, NOTHING_LEFT, ROOT, getJson as getLabJson, kemu, leftovers, mustUp, pods, until, writeTopology } from '../helpers/kemu.js';
import { clusterRecords, podResolverConfig, resolvConf, type DnsService, type PodDnsInput } from '../../src/plan/dns/index.js';
import { hostNetns } from '../../src/topology/names.js';

const LAB = 'kt-dn-srv';
const pod = (name: string, node: string, labels: Record<string, string> = {}, image = 'busybox') => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { nodeName: node, containers: [{ name: 'c', image, ports: image === 'nginx' ? [{ containerPort: 80 }] : [] }] } });
const service = (name: string, spec: object, namespace = 'default') => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec });
const file = writeTopology(LAB, {
  apiVersion: 'kemu.dev/v1alpha1',
  kind: 'Topology',
  metadata: { name: LAB },
  spec: {
    network: { underlay: { subnet: '192.168.133.0/24' } },
    nodes: [{ name: 'n1' }, { name: 'n2' }],
    externalHosts: [{ name: 'up' }],
    workloads: [
      // Pinned so the selector-less kube-dns Service can name it (a selector would make the default
      // server listen on 53 itself).
      { ...pod('coredns-1', 'n1', { 'k8s-app': 'kube-dns' }), metadata: { name: 'coredns-1', labels: { 'k8s-app': 'kube-dns' }, annotations: { 'cni.projectcalico.org/ipAddrs': '["10.244.0.53"]' } } },
      pod('client', 'n1'),
      pod('web-1', 'n1', { app: 'web' }, 'nginx'),
      pod('web-2', 'n2', { app: 'web' }, 'nginx'),
      service('kube-dns', { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] }),
      { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kube-dns' }, subsets: [{ addresses: [{ ip: '10.244.0.53' }], ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] }] },
      service('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] }),
      service('web-hl', { clusterIP: 'None', selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] }),
      service('ext', { type: 'ExternalName', externalName: 'www.outside.test' }),
    ],
  },
});
const getJson = (...args: string[]) => getLabJson(LAB, ...args);
const dir = mkdtempSync('/tmp/kt-dn-srv-');
const recordsFile = join(dir, 'records.json');
const children: ResultPromise[] = [];
let upIP = '';
let webIP = '';
let podIPs: Record<string, string> = {};

/** Run argv in the client pod with RESOLV as its /etc/resolv.conf (a private mount namespace). */
async function inClient(resolv: string, script: string) {
  return kemu('exec', '--lab', LAB, 'client', '--', 'unshare', '-m', 'sh', '-c', `mount --bind ${resolv} /etc/resolv.conf && ${script}`);
}
function resolvFile(name: string, input: Partial<PodDnsInput>): string {
  const base: PodDnsInput = { namespace: 'default', clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', host: { nameservers: [upIP], searches: [], options: [] } };
  const path = join(dir, `${name}.conf`);
  writeFileSync(path, resolvConf(podResolverConfig({ ...base, ...input })));
  return path;
}

beforeAll(async () => {
  await mustUp(file);
  const all = await pods(LAB);
  podIPs = Object.fromEntries(all.map((p) => [p.name, p.ip]));
  webIP = (await getJson('svc', 'web')).spec.clusterIP;
  upIP = JSON.parse(readFileSync(`/var/lib/kemu/${LAB}/state.json`, 'utf8')).cluster.externalHosts[0].ip;
  const services: DnsService[] = [
    { namespace: 'default', name: 'kube-dns', clusterIP: '10.96.0.10', ports: [{ name: 'dns', protocol: 'UDP', port: 53 }, { name: 'dns-tcp', protocol: 'TCP', port: 53 }], publishNotReadyAddresses: false, endpoints: [] },
    { namespace: 'default', name: 'web', clusterIP: webIP, ports: [{ name: 'http', protocol: 'TCP', port: 80 }], publishNotReadyAddresses: false, endpoints: [] },
    { namespace: 'default', name: 'web-hl', clusterIP: 'None', ports: [{ name: 'http', protocol: 'TCP', port: 80 }], publishNotReadyAddresses: false, endpoints: [{ ip: podIPs['web-1']!, ready: true }, { ip: podIPs['web-2']!, ready: true }] },
    { namespace: 'default', name: 'ext', externalName: (await getJson('svc', 'ext')).spec.externalName, ports: [], publishNotReadyAddresses: false, endpoints: [] },
  ];
  writeFileSync(recordsFile, JSON.stringify({ zone: 'cluster.local', records: clusterRecords({ services, pods: all.map((p) => ({ namespace: p.namespace, ip: p.ip })) }) }));
  children.push(execa('ip', ['netns', 'exec', hostNetns(LAB, 'up'), 'python3', join(ROOT, 'bench/dns-upstream.py'), '0.0.0.0', '53'], { reject: false }));
  const holder = all.find((p) => p.name === 'coredns-1')!.holderPid;
  const ready = join(dir, 'ready');
  children.push(execa('nsenter', ['--target', String(holder), '--net', '--uts', '--ipc', '--', process.execPath, BIN, 'dns-server', '--records', recordsFile, '--listen', '0.0.0.0', '--port', '53', '--upstream', upIP, '--ready', ready], { reject: false }));
  await until('the DNS server to listen', 10_000, async () => existsSync(ready) || children[1]!.exitCode !== null).catch(() => undefined);
  if (!existsSync(ready)) {
    children[1]!.kill('SIGTERM');
    throw new Error(`kemu dns-server did not start: ${(await children[1]!).stderr}`);
  }
}, 90_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => c.catch(() => undefined)));
  await kemu('down', '-q', LAB);
  rmSync(dir, { recursive: true, force: true });
  expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
});

describe('cluster DNS from a pod (ClusterFirst)', () => {
  it('short names resolve through the search path; curl by Service name', async () => {
    const resolv = resolvFile('cluster-first', {});
    expect(readFileSync(resolv, 'utf8')).toBe('search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
    const r = await inClient(resolv, 'getent hosts web && curl -sS -m 3 -o /dev/null -w "%{http_code}" http://web/');
    expect(r.stdout).toMatch(new RegExp(`^${webIP.replace(/\./g, '\\.')}\\s+web\\.default\\.svc\\.cluster\\.local`));
    expect(r.stdout.trim().endsWith('200')).toBe(true);
  });
  it('a headless Service: every ready pod IP; a pod record; ExternalName chased to the upstream', async () => {
    const resolv = resolvFile('cluster-first', {});
    const hl = await inClient(resolv, 'getent hosts web-hl');
    expect(hl.stdout.split('\n').map((l) => l.split(/\s+/)[0]).filter(Boolean).sort()).toEqual([podIPs['web-1'], podIPs['web-2']].sort());
    const dashed = `${podIPs['client']!.replace(/\./g, '-')}.default.pod.cluster.local`;
    expect((await inClient(resolv, `getent hosts ${dashed}`)).stdout.split(/\s+/)[0]).toBe(podIPs['client']);
    expect((await inClient(resolv, 'getent hosts ext')).stdout).toMatch(/^192\.0\.2\.7\s+www\.outside\.test/);
  });
  it('SRV for a named port; NXDOMAIN for a missing Service; an outside name from the upstream', async () => {
    const srv = await kemu('exec', '--lab', LAB, 'client', '--', 'python3', join(ROOT, 'bench/dns-ask.py'), '10.96.0.10', '_http._tcp.web-hl.default.svc.cluster.local', 'SRV');
    expect(srv.stdout).toContain('rcode=0 tc=0 answers=2');
    expect(srv.stdout).toContain(`srv 80 ${podIPs['web-1']!.replace(/\./g, '-')}.web-hl.default.svc.cluster.local`);
    const nx = await kemu('exec', '--lab', LAB, 'client', '--', 'python3', join(ROOT, 'bench/dns-ask.py'), '10.96.0.10', 'missing.default.svc.cluster.local', 'A');
    expect(nx.stdout).toContain('rcode=3');
    const resolv = resolvFile('cluster-first', {});
    expect((await inClient(resolv, 'getent hosts missing')).exitCode).toBe(2);
    expect((await inClient(resolv, 'getent hosts app.outside.test')).stdout).toMatch(/^192\.0\.2\.7\s+app\.outside\.test/);
  });
});

describe('the cluster\'s own objects', () => {
  it('kube-system, kube-public and kube-node-lease always exist', async () => {
    const names = (await getJson('ns')).items.map((n: { metadata: { name: string } }) => n.metadata.name);
    expect(names).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  });
  it('a headless Service shows None and gets no kube-proxy rules; the first ClusterIP went past 10.96.0.1', async () => {
    expect((await getJson('svc', 'web-hl')).spec.clusterIP).toBe('None');
    expect(webIP).toBe('10.96.0.2');
    const rules = (await execa('ip', ['netns', 'exec', `kemu-${LAB}.node.n1`, 'iptables-save', '-t', 'nat'])).stdout;
    expect(rules).toContain('default/web:http');
    expect(rules).not.toContain('default/web-hl');
    expect(rules).not.toContain('default/ext');
    const ext = await kemu('get', 'svc', 'ext', '--lab', LAB);
    expect(ext.stdout).toMatch(/ext\s+ExternalName\s+<none>\s+www\.outside\.test/);
  });
});

describe('dnsPolicy', () => {
  it('Default: the node resolver (the topology upstream) — outside names only', async () => {
    const resolv = resolvFile('default', { dnsPolicy: 'Default' });
    expect(readFileSync(resolv, 'utf8')).toBe(`nameserver ${upIP}\n`);
    expect((await inClient(resolv, 'getent hosts app.outside.test')).stdout).toMatch(/^192\.0\.2\.7/);
    expect((await inClient(resolv, 'getent hosts web')).exitCode).toBe(2);
  });
  it('None with dnsConfig: only what the pod names', async () => {
    const resolv = resolvFile('none', { dnsPolicy: 'None', dnsConfig: { nameservers: ['10.96.0.10'], searches: ['svc.cluster.local'], options: [{ name: 'ndots', value: '2' }] } });
    expect(readFileSync(resolv, 'utf8')).toBe('search svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:2\n');
    expect((await inClient(resolv, 'getent hosts web.default')).stdout.split(/\s+/)[0]).toBe(webIP);
    expect((await inClient(resolv, 'getent hosts web')).exitCode).toBe(2);
  });
});

describe('cost', () => {
  it('queries/s from a pod, against the test upstream for comparison; server RSS', async () => {
    const ours = await kemu('exec', '--lab', LAB, 'client', '--', 'python3', join(ROOT, 'bench/dns-query.py'), '10.96.0.10', '53', 'web.default.svc.cluster.local', '3000');
    const theirs = await kemu('exec', '--lab', LAB, 'client', '--', 'python3', join(ROOT, 'bench/dns-query.py'), upIP, '53', 'app.outside.test', '3000');
    const rss = readFileSync(`/proc/${children[1]!.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1];
    console.log(`kemu dns-server via 10.96.0.10: ${ours.stdout.trim()}\ntest upstream (python): ${theirs.stdout.trim()}\nserver RSS ${rss} kB`);
    expect(ours.exitCode).toBe(0);
  }, 60_000);
});
