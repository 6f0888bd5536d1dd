/**
 * Cluster DNS that a lab runs itself (spec.dns): the kube-system/coredns pod (kemu's DNS server) behind
 * kube-dns at 10.96.0.10 through kube-proxy's real rules, the records rewritten on each reconcile, and
 * every pod's resolv.conf and hosts bound over /etc in its own mount namespace. Names outside the
 * cluster go to the test's own upstream responder on an outside host of the lab (nothing leaves the
 * machine). The host's own /etc is checked unchanged, and `down` leaves no mount.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NOTHING_LEFT, ROOT, exec, getJson as getLabJson, kemu, leftovers, mustApplyDocs, mustUp, pods, topologyAs, until, writeTopology } from '../helpers/kemu.js';
import { hostNetns } from '../../src/topology/names.js';

const LAB = 'kt-hd-dns';
const TIER = 'kt-hd-tier';
const UPSTREAM = '192.168.134.53';
const nginx = [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] }];
const file = writeTopology(LAB, {
  apiVersion: 'kemu.dev/v1alpha1',
  kind: 'Topology',
  metadata: { name: LAB },
  spec: {
    network: { underlay: { subnet: '192.168.134.0/24' } },
    dns: { enabled: true, upstream: [UPSTREAM] },
    nodes: [{ name: 'n1' }, { name: 'n2' }],
    externalHosts: [{ name: 'up', address: UPSTREAM }],
    workloads: [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client' }, spec: { nodeName: 'n1', hostAliases: [{ ip: '192.0.2.50', hostnames: ['legacy.example', 'legacy'] }], containers: [{ name: 'c', image: 'busybox' }] } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'custom' }, spec: { dnsPolicy: 'None', dnsConfig: { nameservers: ['10.96.0.10'], searches: ['svc.cluster.local'], options: [{ name: 'ndots', value: '2' }] }, containers: [{ name: 'c', image: 'busybox' }] } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hostnet' }, spec: { nodeName: 'n2', hostNetwork: true, containers: [{ name: 'c', image: 'busybox' }] } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hostnet-cf' }, spec: { nodeName: 'n1', hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet', containers: [{ name: 'c', image: 'busybox' }] } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: nginx } } } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'nginx' }, spec: { clusterIP: 'None', selector: { app: 'sts' }, ports: [{ name: 'http', port: 80 }] } },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web-sts' }, spec: { serviceName: 'nginx', replicas: 2, podManagementPolicy: 'Parallel', selector: { matchLabels: { app: 'sts' } }, template: { metadata: { labels: { app: 'sts' } }, spec: { containers: nginx } } } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'www.outside.test' } },
    ],
  },
});
const getJson = (...args: string[]) => getLabJson(LAB, ...args);
/** A file inside a pod, as it is (execa strips the one final newline). */
const podFile = async (pod: string, path: string) => `${await exec(LAB, pod, 'cat', path)}\n`;
const inPod = (pod: string, script: string) => kemu('exec', '--lab', LAB, pod, '--', 'sh', '-c', script);
const firstColumn = (out: string) => out.split('\n').map((l) => l.split(/\s+/)[0]).filter(Boolean).sort();
const sum = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const hostEtc = () => ({ resolv: sum('/etc/resolv.conf'), hosts: sum('/etc/hosts') });
const labMounts = async (lab: string) => (readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(`kemu-${lab}.`) || l.includes(`/run/kemu/${lab}/`)));

let upstream: ResultPromise | undefined;
let etcBefore: ReturnType<typeof hostEtc>;
let ip: Record<string, string> = {};
let webIP = '';

beforeAll(async () => {
  etcBefore = hostEtc();
  await mustUp(file);
  upstream = execa('ip', ['netns', 'exec', hostNetns(LAB, 'up'), 'python3', join(ROOT, 'bench/dns-upstream.py'), '0.0.0.0', '53'], { reject: false });
  ip = Object.fromEntries((await pods(LAB)).map((p) => [p.name, p.ip]));
  webIP = (await getJson('svc', 'web')).spec.clusterIP;
  await until('the test upstream to answer', 10_000, async () => (await inPod('client', 'getent hosts probe.outside.test')).exitCode === 0);
}, 90_000);

afterAll(async () => {
  upstream?.kill('SIGTERM');
  await upstream?.catch(() => undefined);
  await kemu('down', '-q', LAB);
  await kemu('down', '-q', TIER);
  expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
  expect(await leftovers(TIER)).toEqual(NOTHING_LEFT);
  expect(await labMounts(LAB)).toEqual([]);
  expect(hostEtc()).toEqual(etcBefore);
});

describe('the cluster\'s DNS add-on', () => {
  it('kube-system/coredns runs; kube-dns at the 10th address, kubernetes at the 1st', async () => {
    const coredns = (await pods(LAB, { system: true })).filter((p) => p.namespace === 'kube-system');
    expect(coredns.map((p) => [p.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, ''), p.phase])).toEqual([['coredns', 'Running']]);
    const kubeDns = await getJson('svc', 'kube-dns', '-n', 'kube-system');
    expect(kubeDns.spec.clusterIP).toBe('10.96.0.10');
    expect(kubeDns.spec.ports.map((p: { port: number; protocol: string }) => `${p.port}/${p.protocol}`)).toEqual(['53/UDP', '53/TCP', '9153/TCP']);
    expect((await getJson('svc', 'kubernetes', '-n', 'default')).spec.clusterIP).toBe('10.96.0.1');
    const shown = (await kemu('get', 'svc', '-A', '--lab', LAB)).stdout;
    expect(shown).toMatch(/kube-system\s+kube-dns\s+ClusterIP\s+10\.96\.0\.10\s+<none>\s+53\/UDP,53\/TCP,9153\/TCP/);
    expect(shown).toMatch(/default\s+kubernetes\s+ClusterIP\s+10\.96\.0\.1\s/);
    // The metrics port answers through the Service too.
    expect((await inPod('client', 'curl -sS -m 3 http://kube-dns.kube-system:9153/metrics')).stdout).toMatch(/^coredns_dns_requests_total\{[^}]*\} [1-9]/m);
  });
});

describe('from a pod (ClusterFirst): the kubelet\'s files, names through kube-proxy', () => {
  it('resolv.conf and hosts as the kubelet writes them, hostAliases included', async () => {
    expect(await podFile('client', '/etc/resolv.conf')).toBe('search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
    const hosts = await podFile('client', '/etc/hosts');
    expect(hosts).toContain(`\n${ip['client']}\tclient\n`);
    expect(hosts).toContain('# Entries added by HostAliases.\n192.0.2.50\tlegacy.example\tlegacy\n');
    expect((await exec(LAB, 'client', 'getent', 'hosts', 'legacy')).split(/\s+/)[0]).toBe('192.0.2.50');
  });
  it('getent hosts web and curl http://web/ by the short name', async () => {
    expect(await exec(LAB, 'client', 'getent', 'hosts', 'web')).toMatch(new RegExp(`^${webIP.replace(/\./g, '\\.')}\\s+web\\.default\\.svc\\.cluster\\.local`));
    expect((await inPod('client', 'curl -sS -m 3 -o /dev/null -w "%{http_code}" http://web/')).stdout).toBe('200');
  });
  it('a headless Service: every ready pod IP; a StatefulSet pod by its stable name, with its own hostname and hosts', async () => {
    expect(firstColumn(await exec(LAB, 'client', 'getent', 'hosts', 'nginx'))).toEqual([ip['web-sts-0'], ip['web-sts-1']].sort());
    expect(await exec(LAB, 'client', 'getent', 'hosts', 'web-sts-0.nginx.default.svc.cluster.local')).toMatch(new RegExp(`^${ip['web-sts-0']!.replace(/\./g, '\\.')}\\s`));
    expect(firstColumn(await exec(LAB, 'client', 'getent', 'hosts', 'web-sts-1.nginx'))).toEqual([ip['web-sts-1']]);
    expect((await exec(LAB, 'web-sts-0', 'hostname')).trim()).toBe('web-sts-0');
    expect(await podFile('web-sts-0', '/etc/hosts')).toContain(`\n${ip['web-sts-0']}\tweb-sts-0.nginx.default.svc.cluster.local\tweb-sts-0\n`);
    expect((await inPod('client', 'curl -sS -m 3 -o /dev/null -w "%{http_code}" http://web-sts-1.nginx/')).stdout).toBe('200');
  });
  it('ExternalName as a CNAME chased to the upstream; a pod record; an outside name from the test\'s upstream; NXDOMAIN', async () => {
    expect(await exec(LAB, 'client', 'getent', 'hosts', 'ext')).toMatch(/^192\.0\.2\.7\s+www\.outside\.test/);
    const cname = await exec(LAB, 'client', 'python3', join(ROOT, 'bench/dns-ask.py'), '10.96.0.10', 'ext.default.svc.cluster.local', 'A');
    expect(cname).toContain('cname www.outside.test');
    const dashed = `${ip['client']!.replace(/\./g, '-')}.default.pod.cluster.local`;
    expect((await exec(LAB, 'client', 'getent', 'hosts', dashed)).split(/\s+/)[0]).toBe(ip['client']);
    expect(await exec(LAB, 'client', 'getent', 'hosts', 'app.outside.test')).toMatch(/^192\.0\.2\.7\s+app\.outside\.test/);
    expect((await inPod('client', 'getent hosts missing')).exitCode).toBe(2);
  });
  it('a Service applied later resolves after that apply, with the DNS pod untouched', async () => {
    const before = (await pods(LAB, { system: true })).find((p) => p.namespace === 'kube-system')!;
    await mustApplyDocs(LAB, [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'late' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 80 }] } }]);
    const lateIP = (await getJson('svc', 'late')).spec.clusterIP;
    // The server re-reads the records file within 100 ms of the change.
    await until('late to resolve', 3000, async () => (await inPod('client', 'getent hosts late')).stdout.startsWith(`${lateIP} `));
    expect((await inPod('client', 'curl -sS -m 3 -o /dev/null -w "%{http_code}" http://late/')).stdout).toBe('200');
    const after = (await pods(LAB, { system: true })).find((p) => p.namespace === 'kube-system')!;
    expect([after.name, after.holderPid]).toEqual([before.name, before.holderPid]);
  });
});

describe('the supervisor keeps the DNS pod running', () => {
  it('a killed DNS server is restarted as any container, and answers again', async () => {
    const serverPid = async () => (await execa('pgrep', ['-f', `dns-server --records /run/kemu/${LAB}/`], { reject: false })).stdout.trim();
    const before = await serverPid();
    expect(before).toMatch(/^\d+$/);
    process.kill(Number(before), 'SIGKILL');
    await until('a new DNS server', 15_000, async () => /^\d+$/.test(await serverPid()) && (await serverPid()) !== before);
    await until('names to answer again', 5000, async () => (await inPod('client', 'getent hosts web')).exitCode === 0);
    const coredns = (await getJson('pods', '-n', 'kube-system')).items[0];
    expect(coredns.status.containerStatuses[0].restartCount).toBe(1);
  }, 30_000);
});

describe('records and rules', () => {
  it('SRV per named port of a headless Service; headless and ExternalName get no kube-proxy rules; the first user ClusterIP is past .1 and .10', async () => {
    const srv = await exec(LAB, 'client', 'python3', join(ROOT, 'bench/dns-ask.py'), '10.96.0.10', '_http._tcp.nginx.default.svc.cluster.local', 'SRV');
    expect(srv).toContain('rcode=0 tc=0 answers=2');
    expect(srv).toContain('srv 80 web-sts-0.nginx.default.svc.cluster.local');
    expect(await exec(LAB, 'client', 'python3', join(ROOT, 'bench/dns-ask.py'), '10.96.0.10', 'missing.default.svc.cluster.local', 'A')).toContain('rcode=3');
    expect(webIP).toBe('10.96.0.2');
    const rules = (await execa('ip', ['netns', 'exec', `kemu-${LAB}.node.n1`, 'iptables-save', '-t', 'nat'])).stdout;
    expect(rules).toContain('kube-system/kube-dns:dns');
    expect(rules).toContain('default/web:http');
    expect(rules).not.toContain('default/nginx');
    expect(rules).not.toContain('default/ext');
  });
  it('kube-system, kube-public and kube-node-lease always exist', async () => {
    expect((await getJson('ns')).items.map((n: { metadata: { name: string } }) => n.metadata.name)).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  });
});

describe('dnsPolicy as the kubelet applies it', () => {
  it('None with dnsConfig: only what the pod names', async () => {
    expect(await podFile('custom', '/etc/resolv.conf')).toBe('search svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:2\n');
    expect((await exec(LAB, 'custom', 'getent', 'hosts', 'web.default')).split(/\s+/)[0]).toBe(webIP);
  });
  it('hostNetwork: ClusterFirst falls back to the node resolver (the upstream), ClusterFirstWithHostNet gets cluster DNS; both keep the host\'s /etc/hosts', async () => {
    expect(await podFile('hostnet', '/etc/resolv.conf')).toBe(`nameserver ${UPSTREAM}\n`);
    expect((await inPod('hostnet', 'getent hosts web')).exitCode).toBe(2);
    expect(await exec(LAB, 'hostnet', 'getent', 'hosts', 'app.outside.test')).toMatch(/^192\.0\.2\.7/);
    expect(await podFile('hostnet-cf', '/etc/resolv.conf')).toBe('search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
    expect((await exec(LAB, 'hostnet-cf', 'getent', 'hosts', 'web')).split(/\s+/)[0]).toBe(webIP);
    expect(await exec(LAB, 'hostnet', 'cat', '/etc/hosts')).toBe(readFileSync('/etc/hosts', 'utf8').replace(/\n$/, ''));
  });
  it('the host\'s /etc is untouched while the lab runs', () => {
    expect(hostEtc()).toEqual(etcBefore);
    expect(readFileSync('/etc/resolv.conf', 'utf8')).not.toContain('10.96.0.10');
  });
});

describe('cost', () => {
  it('server RSS; queries/s and answer time through kube-dns against the upstream answering directly', async () => {
    const n = '2000';
    const ours = await exec(LAB, 'client', 'python3', join(ROOT, 'bench/dns-query.py'), '10.96.0.10', '53', 'web.default.svc.cluster.local', n);
    const direct = await exec(LAB, 'client', 'python3', join(ROOT, 'bench/dns-query.py'), UPSTREAM, '53', 'app.outside.test', n);
    const forwarded = await exec(LAB, 'client', 'python3', join(ROOT, 'bench/dns-query.py'), '10.96.0.10', '53', 'app.outside.test', n);
    const pid = (await execa('pgrep', ['-f', `dns-server --records /run/kemu/${LAB}/`])).stdout.trim().split('\n')[0];
    const rss = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1];
    console.log(`kube-dns (cluster name): ${ours.trim()}\nkube-dns (forwarded):    ${forwarded.trim()}\nupstream direct (python): ${direct.trim()}\nDNS server RSS ${rss} kB`);
    for (const out of [ours, direct, forwarded]) expect(out).toMatch(new RegExp(`^${n} queries in`));
    expect(Number(rss)).toBeGreaterThan(0);
  }, 60_000);
});

describe('topologies/multi-tier-dns.yaml', () => {
  it('comes up; the frontend reaches the api by name and the api finds db-0.db', async () => {
    await mustUp(topologyAs('topologies/multi-tier-dns.yaml', TIER));
    const all = await pods(TIER);
    const frontend = all.find((p) => p.name.startsWith('frontend-'))!;
    const api = all.find((p) => p.name.startsWith('api-'))!;
    const db = all.find((p) => p.name === 'db-0')!;
    const r = await kemu('exec', '--lab', TIER, `shop/${frontend.name}`, '--', 'curl', '-sS', '-m', '3', 'http://api:8080/hostname');
    expect(r.stdout.trim()).toMatch(/^api-/);
    const hosts = await kemu('exec', '--lab', TIER, `shop/${api.name}`, '--', 'getent', 'hosts', 'db-0.db');
    expect(hosts.stdout).toMatch(new RegExp(`^${db.ip.replace(/\./g, '\\.')}\\s+db-0\\.db\\.shop\\.svc\\.cluster\\.local`));
  }, 60_000);
});
