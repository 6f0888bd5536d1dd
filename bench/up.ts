/**
 * bench/up: how long `kemu up` takes, against the kernel work it cannot avoid, in the same run.
 *
 *   sudo npx tsx bench/up.ts [--nodes 10] [--pods-per-node 50]
 *   sudo npx tsx bench/up.ts --scale 1000,2000,5000 [--nodes 10]
 *
 * Baseline: one raw `ip -batch` that creates the same namespaces (nodes + pods) and the same node↔pod
 * veth pairs, nothing else. Figures: quickstart `up`, N×M `up` and its ratio to the baseline, RSS per
 * pod (holder + default server), and `down`.
 *
 * --scale: one Deployment of each size spread over the nodes by the scheduler, behind one Service. For
 * each: `up`, memory per pod (holder + server RSS, and the machine's MemAvailable drop), curls through
 * the ClusterIP from a node (distinct pods answering), `down`; then each size's `up` time against the
 * first one's, as a growth ratio per doubling of pods (linear: the pod ratio).
 */
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BIN, ROOT, numberOption } from './lib.js';

const NODES = numberOption('nodes', 10);
const PER_NODE = numberOption('pods-per-node', 50);
const scaleArg = process.argv.indexOf('--scale');
const SCALE = scaleArg > 0 ? process.argv[scaleArg + 1]!.split(',').map(Number) : undefined;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function kemu(...args: string[]): Promise<string> {
  const r = await execa('node', [BIN, ...args], { reject: false, all: true });
  if (r.exitCode !== 0) throw new Error(`kemu ${args.join(' ')}: ${r.stderr}`);
  return r.all ?? '';
}

function bigTopology(lab: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kemu-bench-'));
  const file = join(dir, 'topology.yaml');
  const nodes = Array.from({ length: NODES }, (_, i) => ({ name: `n${i + 1}` }));
  const workloads = nodes.map((n) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `app-${n.name}` },
    spec: {
      replicas: PER_NODE,
      selector: { matchLabels: { app: n.name } },
      template: { metadata: { labels: { app: n.name } }, spec: { nodeName: n.name, containers: [{ name: 'c', image: 'x' }] } },
    },
  }));
  writeFileSync(file, stringify({ apiVersion: 'kemu.dev/v1alpha1', kind: 'Topology', metadata: { name: lab }, spec: { nodes, workloads } }));
  return file;
}

/** The same namespaces and node↔pod veths, with one `ip -batch` from the root context. */
async function baseline(): Promise<number> {
  const names = Array.from({ length: NODES }, (_, n) => `kemu-benchraw.n${n}`);
  const lines = names.map((n) => `netns add ${n}`);
  for (let n = 0; n < NODES; n++)
    for (let p = 0; p < PER_NODE; p++) {
      const pod = `kemu-benchraw.p${n}-${p}`;
      lines.push(`netns add ${pod}`, `link add name v${n}-${p} netns ${names[n]} type veth peer name eth0 netns ${pod}`);
    }
  const ms = await timed(() => execa('ip', ['-batch', '-'], { input: lines.join('\n') + '\n' }));
  const all = lines.filter((l) => l.startsWith('netns add')).map((l) => l.replace('add', 'del'));
  await execa('ip', ['-batch', '-'], { input: all.join('\n') + '\n' });
  return ms;
}

async function rssPerPod(lab: string): Promise<{ kb: number; pods: number }> {
  const state = JSON.parse(readFileSync(`/var/lib/kemu/${lab}/state.json`, 'utf8')) as { pods: Record<string, { holderPid: number; containers: Record<string, { pid: number }> }> };
  let total = 0;
  const pods = Object.values(state.pods);
  for (const p of pods)
    for (const pid of [p.holderPid, ...Object.values(p.containers).map((c) => c.pid)]) {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      total += Number(m?.[1] ?? 0);
    }
  return { kb: total / pods.length, pods: pods.length };
}

function scaleTopology(lab: string, pods: number): string {
  const file = join(mkdtempSync(join(tmpdir(), 'kemu-bench-')), 'topology.yaml');
  // The kubelet's default maxPods (110) would leave most of them Pending: room for all, and some.
  const nodes = Array.from({ length: NODES }, (_, i) => ({ name: `n${i + 1}`, capacity: { pods: Math.ceil((pods * 1.2) / NODES) } }));
  const workloads = [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'app' }, spec: { replicas: pods, selector: { matchLabels: { app: 'app' } }, template: { metadata: { labels: { app: 'app' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'app' }, spec: { selector: { app: 'app' }, ports: [{ port: 80, targetPort: 8080 }] } },
  ];
  // A /16 pod pool holds 1,024 /26 blocks: room for 5,000 pods over 10 nodes.
  writeFileSync(file, stringify({ apiVersion: 'kemu.dev/v1alpha1', kind: 'Topology', metadata: { name: lab }, spec: { network: { podCIDR: '10.244.0.0/16' }, nodes, workloads } }));
  return file;
}

const memAvailableKb = () => Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);

/** `tries` curls to the Service's ClusterIP from node n1: how many answered, and how many distinct pods. */
async function throughService(lab: string, tries: number): Promise<{ ok: number; distinct: number }> {
  const state = JSON.parse(readFileSync(`/var/lib/kemu/${lab}/state.json`, 'utf8')) as { cluster: { services: Array<{ name: string; clusterIP: string }> } };
  const ip = state.cluster.services.find((s) => s.name === 'app')!.clusterIP;
  const script = `for i in $(seq ${tries}); do curl -s -m 2 http://${ip}/hostname; echo; done`;
  const r = await execa('ip', ['netns', 'exec', `kemu-${lab}.node.n1`, 'sh', '-c', script], { reject: false });
  const names = r.stdout.split('\n').filter((l) => l.startsWith('app-'));
  return { ok: names.length, distinct: new Set(names).size };
}

async function scale(sizes: number[]): Promise<void> {
  const lab = 'bench-scale';
  await kemu('down', '-q', lab);
  const rows: Array<{ pods: number; up: number; down: number; rssMb: number; memMb: number; ok: number; distinct: number; phases: string }> = [];
  for (const pods of sizes) {
    const file = scaleTopology(lab, pods);
    const memBefore = memAvailableKb();
    let phases = '';
    const upMs = await timed(async () => {
      const out = await kemu('up', file);
      // Where the pods phase goes: its detail lines carry their own durations.
      const steps = out.split('\n').filter((l) => /^\s+\d+ (sandboxes started|host-side veths|containers running)/.test(l));
      phases = [/^phases: .*$/m.exec(out)?.[0] ?? '', ...steps.map((l) => l.trim())].join('; ');
    });
    try {
      const rss = await rssPerPod(lab);
      const memMb = (memBefore - memAvailableKb()) / 1024 / pods;
      const svc = await throughService(lab, 40);
      rows.push({ pods, up: upMs, down: 0, rssMb: rss.kb / 1024, memMb, ...svc, phases });
    } finally {
      // Big labs go at once: the machine is shared.
      const downMs = await timed(() => kemu('down', '-q', lab));
      if (rows.at(-1)?.pods === pods) rows.at(-1)!.down = downMs;
    }
  }
  const first = rows[0]!;
  for (const r of rows) {
    const growth = r.up / first.up;
    console.log(
      `${String(r.pods).padStart(5)} pods: up ${(r.up / 1000).toFixed(2)} s (${(r.up / r.pods).toFixed(2)} ms/pod; ${growth.toFixed(2)}× the ${first.pods}-pod up for ${(r.pods / first.pods).toFixed(1)}× the pods), ` +
        `down ${(r.down / 1000).toFixed(2)} s, RSS ${r.rssMb.toFixed(2)} MB/pod (holder + server), machine memory ${r.memMb.toFixed(2)} MB/pod, ` +
        `Service: ${r.ok}/40 curls answered by ${r.distinct} distinct pods`,
    );
  }
  for (const r of rows) console.log(`${String(r.pods).padStart(5)} pods: ${r.phases}`);
}

if (SCALE) {
  await scale(SCALE);
  process.exit(0);
}

const quick = join(ROOT, 'topologies', 'quickstart.yaml');
const quickLab = 'quickstart';
await kemu('down', '-q', quickLab);
const quickUp = await timed(() => kemu('up', '-q', quick));
const quickDown = await timed(() => kemu('down', '-q', quickLab));

const lab = 'bench-up';
const file = bigTopology(lab);
await kemu('down', '-q', lab);
// The baseline is short and noisy: take the median of three.
const base = [await baseline(), await baseline(), await baseline()].sort((a, b) => a - b)[1]!;
const bigUp = await timed(() => kemu('up', '-q', file));
const rss = await rssPerPod(lab);
const again = await timed(() => kemu('up', '-q', file));
const bigDown = await timed(() => kemu('down', '-q', lab));

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rows: Array<[string, string, string]> = [
  ['quickstart up (2 nodes, 4 pods)', fmt(quickUp), ''],
  ['quickstart down', fmt(quickDown), ''],
  [`baseline: raw ip -batch, ${NODES + NODES * PER_NODE} netns + ${NODES * PER_NODE} veths (median of 3)`, fmt(base), '1.00×'],
  [`up ${NODES} nodes × ${PER_NODE} pods (${rss.pods} pods)`, fmt(bigUp), `${(bigUp / base).toFixed(2)}× baseline (target ≤ 2×)`],
  ['second up, nothing to change', fmt(again), `${(again / base).toFixed(2)}× baseline`],
  [`down ${rss.pods} pods`, fmt(bigDown), `${(bigDown / base).toFixed(2)}× baseline`],
  ['RSS per pod (holder + default server)', `${(rss.kb / 1024).toFixed(2)} MB`, `${(rss.kb / 1024 / 3).toFixed(2)}× the 3 MB budget`],
];
const w = Math.max(...rows.map((r) => r[0].length));
for (const [k, v, ratio] of rows) console.log(`${k.padEnd(w)}  ${v.padStart(9)}  ${ratio}`);
