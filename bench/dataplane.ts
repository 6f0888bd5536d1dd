/**
 * bench/dataplane: pod-to-pod TCP throughput across nodes for routing bgp and ipip, against a single
 * veth pair between two namespaces measured in the same run; BGP convergence of a 10-node full mesh;
 * BIRD + IPIP datapath memory per node.
 *
 *   sudo npx tsx bench/dataplane.ts [--seconds 5] [--rounds 3]
 *
 * iperf3 runs one stream. The veth baseline and bgp run pinned (client on CPU 0, server on CPU 1, as
 * shared/reference/limits.md measures), so both see the same scheduling; ipip runs unpinned, because
 * pinning client and server to the two cores starves the userspace IPIP processes that must run beside
 * them. The three are measured in turn, `--rounds` times, and medians are printed, with the median of
 * each round's own ratio (a burst of load from elsewhere then skews one round, not the ratio). The bgp
 * lab also measures the path hop by hop (pod → its own node: one veth and the node's stack; pod →
 * the other node: plus routing and the fabric bridge), so the cost of each hop shows against the
 * veth pair. Every address is inside namespaces this script creates.
 */
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BIN, median, numberOption } from './lib.js';

const SECONDS = numberOption('seconds', 5);
const ROUNDS = numberOption('rounds', 3);
const kemu = (...args: string[]) => execa('node', [BIN, ...args]);

/** CPU time busy (all cores) since boot, from /proc/stat, in ticks. */
function cpuTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}

/**
 * Wait until the machine is quiet (under 10 % busy over 300 ms, at most 10 s): the kernel frees deleted
 * namespaces asynchronously, and a run next to that cleanup measures the cleanup.
 */
async function settle(): Promise<void> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const a = cpuTicks();
    await new Promise((r) => setTimeout(r, 300));
    const b = cpuTicks();
    if ((b.busy - a.busy) / Math.max(1, b.total - a.total) < 0.1) return;
  }
}

/** iperf3 from `client` netns to `server` netns (server at `ip`), receiver Gbit/s. */
async function iperf(serverNetns: string, clientNetns: string, ip: string, pinned: boolean): Promise<number> {
  const server = execa('ip', ['netns', 'exec', serverNetns, 'iperf3', '-s', '-1'], { reject: false, cwd: '/' });
  await settle();
  const r = await execa('ip', ['netns', 'exec', clientNetns, 'iperf3', '-c', ip, '-t', String(SECONDS), '-J', ...(pinned ? ['-A', '0,1'] : [])], { cwd: '/' });
  await server;
  return JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9;
}

async function vethBaseline(): Promise<number> {
  const [a, b] = ['kemu-benchraw.va', 'kemu-benchraw.vb'];
  await execa('ip', ['-batch', '-'], { input: `netns add ${a}\nnetns add ${b}\n` });
  try {
    await execa('ip', ['-n', a, '-batch', '-'], { input: `link set lo up\nlink add name v0 type veth peer name v1 netns ${b}\naddr add 10.199.0.1/24 dev v0\nlink set v0 up\n` });
    await execa('ip', ['-n', b, '-batch', '-'], { input: 'link set lo up\naddr add 10.199.0.2/24 dev v1\nlink set v1 up\n' });
    return await iperf(b, a, '10.199.0.2', true);
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

const nodeIP = async (netns: string) => JSON.parse((await execa('ip', ['-n', netns, '-j', '-4', 'addr', 'show', 'dev', 'eth0'])).stdout)[0].addr_info[0].local as string;

interface PodToPod { gbps: number; rss: number; datapath: string; toOwnNode?: number; toOtherNode?: number }

async function podToPod(routing: 'bgp' | 'ipip'): Promise<PodToPod> {
  const lab = `bench-dp-${routing}`;
  await kemu('down', '-q', lab).catch(() => undefined);
  await kemu('up', '-q', topology(lab, routing, 2, true));
  try {
    const pods = JSON.parse((await kemu('get', 'pods', '-o', 'json', '--lab', lab)).stdout).items;
    const ip = pods.find((p: any) => p.metadata.name === 'p-n2').status.podIP;
    const [client, n1, n2] = [`kemu-${lab}.pod.default.p-n1`, `kemu-${lab}.node.n1`, `kemu-${lab}.node.n2`];
    const gbps = await iperf(`kemu-${lab}.pod.default.p-n2`, client, ip, routing === 'bgp');
    const hops = routing === 'bgp' ? { toOwnNode: await iperf(n1, client, await nodeIP(n1), true), toOtherNode: await iperf(n2, client, await nodeIP(n2), true) } : {};
    const state = JSON.parse(readFileSync(`/var/lib/kemu/${lab}/state.json`, 'utf8'));
    const rss = rssMB(state.bird.n1.pid) + (state.tunnels?.n1?.pid ? rssMB(state.tunnels.n1.pid) : 0);
    return { gbps, rss, datapath: state.tunnels?.n1?.datapath ?? '', ...hops };
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

const runs = { veth: [] as number[], bgp: [] as number[], ipip: [] as number[], ownNode: [] as number[], otherNode: [] as number[] };
let bgp: PodToPod = { gbps: 0, rss: 0, datapath: '' };
let ipip = bgp;
for (let round = 0; round < ROUNDS; round++) {
  runs.veth.push(await vethBaseline());
  bgp = await podToPod('bgp');
  runs.bgp.push(bgp.gbps);
  runs.ownNode.push(bgp.toOwnNode!);
  runs.otherNode.push(bgp.toOtherNode!);
  ipip = await podToPod('ipip');
  runs.ipip.push(ipip.gbps);
}
const conv = await convergence(10);
const veth = median(runs.veth);
const spread = (xs: number[]) => `[${xs.map((x) => x.toFixed(1)).join(', ')}]`;
const row = (k: string, v: string, note: string) => console.log(`${k.padEnd(58)} ${v.padStart(12)}   ${note}`);
row('baseline: one veth pair between two namespaces (pinned)', `${veth.toFixed(2)} Gbit/s`, `1.00×  runs ${spread(runs.veth)}`);
/** Median ratio to the baseline, and the median of each round's own ratio. */
const ratios = (xs: number[]) => `${(median(xs) / veth).toFixed(2)}× baseline (per round: ${median(xs.map((x, i) => x / runs.veth[i]!)).toFixed(2)}×)`;
row('  bgp lab, hop by hop: pod → its own node (pinned)', `${median(runs.ownNode).toFixed(2)} Gbit/s`, `${ratios(runs.ownNode)}  runs ${spread(runs.ownNode)}`);
row('  bgp lab, hop by hop: pod → the other node (pinned)', `${median(runs.otherNode).toFixed(2)} Gbit/s`, `${ratios(runs.otherNode)}  runs ${spread(runs.otherNode)}`);
row('pod → pod across nodes, routing: bgp (pinned)', `${median(runs.bgp).toFixed(2)} Gbit/s`, `${ratios(runs.bgp)} (target ≥ 0.8×)  runs ${spread(runs.bgp)}`);
row(`pod → pod across nodes, routing: ipip (${ipip.datapath} datapath)`, `${median(runs.ipip).toFixed(2)} Gbit/s`, `${ratios(runs.ipip)} (target ≥ 2 Gbit/s)  runs ${spread(runs.ipip)}`);
row('10-node full mesh: up starts BIRD → every session Established', `${conv.toFixed(2)} s`, 'target ≤ 5 s');
row('BIRD + IPIP datapath RSS per node (ipip lab)', `${ipip.rss.toFixed(1)} MB`, `target ≤ 10 MB (BIRD alone, bgp lab: ${bgp.rss.toFixed(1)} MB)`);
