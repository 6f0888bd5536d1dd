/**
 * bench/dataplane: pod-to-pod TCP throughput across nodes for routing bgp and ipip, against a single
 * veth pair between two namespaces measured in the same run; BGP convergence of a 10-node full mesh;
 * BIRD + IPIP datapath memory per node.
 *
 *   sudo npx tsx bench/dataplane.ts [--seconds 5]
 *
 * iperf3 runs one stream, unpinned: pinning client and server to the two cores starves the userspace
 * IPIP processes that must run beside them. Every address is inside namespaces this script creates.
 */
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

const i = process.argv.indexOf('--seconds');
const SECONDS = i > 0 ? Number(process.argv[i + 1]) : 5;
const BIN = join(resolve(import.meta.dirname, '..'), 'bin', 'kemu.js');
const kemu = (...args: string[]) => execa('node', [BIN, ...args]);

/** iperf3 from `client` netns to `server` netns (server at `ip`), receiver Gbit/s. */
async function iperf(serverNetns: string, clientNetns: string, ip: string): Promise<number> {
  const server = execa('ip', ['netns', 'exec', serverNetns, 'iperf3', '-s', '-1'], { reject: false, cwd: '/' });
  await new Promise((r) => setTimeout(r, 300));
  const r = await execa('ip', ['netns', 'exec', clientNetns, 'iperf3', '-c', ip, '-t', String(SECONDS), '-J'], { cwd: '/' });
  await server;
  return JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9;
}

async function vethBaseline(): Promise<number> {
  const [a, b] = ['kemu-benchraw.va', 'kemu-benchraw.vb'];
  await execa('ip', ['-batch', '-'], { input: `netns add ${a}\nnetns add ${b}\n` });
  try {
    await execa('ip', ['-n', a, '-batch', '-'], { input: `link set lo up\nlink add name v0 type veth peer name v1 netns ${b}\naddr add 10.199.0.1/24 dev v0\nlink set v0 up\n` });
    await execa('ip', ['-n', b, '-batch', '-'], { input: 'link set lo up\naddr add 10.199.0.2/24 dev v1\nlink set v1 up\n' });
    return await iperf(b, a, '10.199.0.2');
  } finally {
    await execa('ip', ['-batch', '-'], { input: `netns del ${a}\nnetns del ${b}\n`, reject: false });
  }
}

function topology(lab: string, routing: string, nodes: number, withPods: boolean): string {
  const names = Array.from({ length: nodes }, (_, k) => `n${k + 1}`);
  const workloads = withPods
    ? names.slice(0, 2).map((n) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${n}` }, spec: { nodeName: n, containers: [{ name: 'c', image: 'x' }] } }))
    : [];
  const file = join(mkdtempSync(join(tmpdir(), 'kemu-bench-dp-')), 'topology.yaml');
  writeFileSync(file, stringify({ apiVersion: 'kemu.dev/v1alpha1', kind: 'Topology', metadata: { name: lab }, spec: { network: { routing, underlay: { subnet: '192.168.90.0/24' } }, nodes: names.map((name) => ({ name })), workloads } }));
  return file;
}

const rssMB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function podToPod(routing: 'bgp' | 'ipip'): Promise<{ gbps: number; rss: number }> {
  const lab = `bench-dp-${routing}`;
  await kemu('down', '-q', lab).catch(() => undefined);
  await kemu('up', '-q', topology(lab, routing, 2, true));
  try {
    const pods = JSON.parse((await kemu('get', 'pods', '-o', 'json', '--lab', lab)).stdout).items;
    const ip = pods.find((p: any) => p.metadata.name === 'p-n2').status.podIP;
    const gbps = await iperf(`kemu-${lab}.pod.default.p-n2`, `kemu-${lab}.pod.default.p-n1`, ip);
    const state = JSON.parse(readFileSync(`/var/lib/kemu/${lab}/state.json`, 'utf8'));
    const rss = rssMB(state.bird.n1.pid) + (state.tunnels?.n1?.pid ? rssMB(state.tunnels.n1.pid) : 0);
    return { gbps, rss };
  } finally {
    await kemu('down', '-q', lab);
  }
}

async function convergence(nodes: number): Promise<number> {
  const lab = 'bench-dp-mesh';
  await kemu('down', '-q', lab).catch(() => undefined);
  try {
    const r = await kemu('up', '-o', 'json', topology(lab, 'bgp', nodes, false));
    return JSON.parse(r.stdout).timings.find((t: { phase: string }) => t.phase === 'bgp').ms / 1000;
  } finally {
    await kemu('down', '-q', lab);
  }
}

const veth = await vethBaseline();
const bgp = await podToPod('bgp');
const ipip = await podToPod('ipip');
const conv = await convergence(10);
const row = (k: string, v: string, note: string) => console.log(`${k.padEnd(58)} ${v.padStart(12)}   ${note}`);
row('baseline: one veth pair between two namespaces', `${veth.toFixed(2)} Gbit/s`, '1.00×');
row('pod → pod across nodes, routing: bgp', `${bgp.gbps.toFixed(2)} Gbit/s`, `${(bgp.gbps / veth).toFixed(2)}× baseline (target ≥ 0.8×)`);
row('pod → pod across nodes, routing: ipip (userspace datapath)', `${ipip.gbps.toFixed(2)} Gbit/s`, `${(ipip.gbps / veth).toFixed(2)}× baseline (target ≥ 1 Gbit/s)`);
row('10-node full mesh: up starts BIRD → every session Established', `${conv.toFixed(2)} s`, 'target ≤ 5 s');
row('BIRD + IPIP datapath RSS per node (ipip lab)', `${ipip.rss.toFixed(1)} MB`, `target ≤ 10 MB (BIRD alone, bgp lab: ${bgp.rss.toFixed(1)} MB)`);
