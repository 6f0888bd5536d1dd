/**
 * The cost of a lab's cluster DNS (spec.dns): the DNS server's RSS, and from a pod, through kube-proxy's
 * DNAT of 10.96.0.10 to the coredns pod, queries/s (dnsperf, 100 outstanding, for --seconds) and the
 * median answer time of sequential queries (dns-query.py), for a cluster name and a forwarded one,
 * against the same run's baseline: the bench's own upstream (dns-upstream.py on an outside host)
 * answering the pod directly. Medians of --runs runs. Nothing leaves the machine.
 *   sudo npx tsx bench/dns.ts [--runs 5] [--seconds 3] [--queries 2000]
 */
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BIN, ROOT, median, numberOption } from './lib.js';

const LAB = 'hd-dnsbench';
const UPSTREAM = '192.168.135.53';
const runs = numberOption('runs', 5);
const seconds = numberOption('seconds', 3);
const queries = numberOption('queries', 2000);
const kemu = (...args: string[]) => execa('node', [BIN, ...args]);
const dir = mkdtempSync(join(tmpdir(), `${LAB}-`));
const topology = join(dir, 'topology.yaml');
writeFileSync(
  topology,
  stringify({
    apiVersion: 'kemu.dev/v1alpha1',
    kind: 'Topology',
    metadata: { name: LAB },
    spec: {
      network: { underlay: { subnet: '192.168.135.0/24' } },
      dns: { enabled: true, upstream: [UPSTREAM] },
      nodes: [{ name: 'n1' }, { name: 'n2' }],
      externalHosts: [{ name: 'up', address: UPSTREAM }],
      workloads: [
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } },
      ],
    },
  }),
);

const inClient = async (...cmd: string[]) => (await kemu('exec', '--lab', LAB, 'client', '--', ...cmd)).stdout;
async function dnsperf(server: string, name: string): Promise<number> {
  const file = join(dir, `${name}.q`);
  writeFileSync(file, `${name} A\n`);
  const out = await inClient('dnsperf', '-s', server, '-d', file, '-l', String(seconds), '-q', '100');
  const qps = /Queries per second:\s+([\d.]+)/.exec(out)?.[1];
  const lost = /Queries lost:\s+(\d+)/.exec(out)?.[1];
  if (!qps) throw new Error(`dnsperf printed no rate:\n${out}`);
  if (Number(lost) > 0) console.log(`  (${server} ${name}: ${lost} lost)`);
  return Number(qps);
}
async function medianMicros(server: string, name: string): Promise<number> {
  const out = await inClient('python3', join(ROOT, 'bench/dns-query.py'), server, '53', name, String(queries));
  return Number(/median (\d+) us/.exec(out)![1]);
}

const upstream = { proc: undefined as ReturnType<typeof execa> | undefined };
try {
  const started = Date.now();
  await kemu('up', '-q', topology);
  console.log(`kemu up: ${Date.now() - started} ms`);
  upstream.proc = execa('ip', ['netns', 'exec', `kemu-${LAB}.host.up`, 'python3', join(ROOT, 'bench/dns-upstream.py'), '0.0.0.0', '53'], { reject: false });
  await new Promise((r) => setTimeout(r, 500));
  const pid = (await execa('pgrep', ['-f', `dns-server --records /run/kemu/${LAB}/`])).stdout.trim().split('\n')[0]!;
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  const rssIdle = rss();
  const cases = [
    ['kube-dns, cluster name', '10.96.0.10', 'web.default.svc.cluster.local'],
    ['kube-dns, forwarded name', '10.96.0.10', 'app.outside.test'],
    ['upstream direct (baseline)', UPSTREAM, 'app.outside.test'],
  ] as const;
  const qps = new Map<string, number[]>(cases.map(([k]) => [k, []]));
  const us = new Map<string, number[]>(cases.map(([k]) => [k, []]));
  for (let i = 0; i < runs; i++)
    for (const [k, server, name] of cases) {
      qps.get(k)!.push(await dnsperf(server, name));
      us.get(k)!.push(await medianMicros(server, name));
    }
  const base = { qps: median(qps.get(cases[2][0])!), us: median(us.get(cases[2][0])!) };
  for (const [k] of cases) {
    const q = median(qps.get(k)!);
    const u = median(us.get(k)!);
    console.log(`${k.padEnd(28)} dnsperf ${q.toFixed(0).padStart(6)} q/s (${(q / base.qps).toFixed(2)}x baseline)   median answer ${String(u).padStart(5)} us (${(u / base.us).toFixed(2)}x)   runs: ${qps.get(k)!.map((x) => x.toFixed(0)).join(' ')}`);
  }
  console.log(`DNS server RSS: ${rssIdle} kB idle, ${rss()} kB after ${runs * cases.length * 2} bursts`);
} finally {
  upstream.proc?.kill('SIGTERM');
  await upstream.proc?.catch(() => undefined);
  await execa('node', [BIN, 'down', '-q', LAB], { reject: false });
}
