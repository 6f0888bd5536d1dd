/**
 * bench/up: how long `kemu up` takes, against the kernel work it cannot avoid, in the same run.
 *
 *   sudo npx tsx bench/up.ts [--nodes 10] [--pods-per-node 50]
 *
 * Baseline: one raw `ip -batch` that creates the same namespaces (nodes + pods) and the same node↔pod
 * veth pairs, nothing else. Figures: quickstart `up`, N×M `up` and its ratio to the baseline, RSS per
 * pod (holder + default server), and `down`.
 */
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BIN, ROOT, numberOption } from './lib.js';

const NODES = numberOption('nodes', 10);
const PER_NODE = numberOption('pods-per-node', 50);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function kemu(...args: string[]): Promise<void> {
  const r = await execa('node', [BIN, ...args], { reject: false });
  if (r.exitCode !== 0) throw new Error(`kemu ${args.join(' ')}: ${r.stderr}`);
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
  [`up ${NODES} nodes × ${PER_NODE} pods (${rss.pods} pods)`, fmt(bigUp), `${(bigUp / base).toFixed(2)}× baseline (target ≤ 3×)`],
  ['second up, nothing to change', fmt(again), `${(again / base).toFixed(2)}× baseline`],
  [`down ${rss.pods} pods`, fmt(bigDown), `${(bigDown / base).toFixed(2)}× baseline`],
  ['RSS per pod (holder + default server)', `${(rss.kb / 1024).toFixed(2)} MB`, `${(rss.kb / 1024 / 3).toFixed(2)}× the 3 MB budget`],
];
const w = Math.max(...rows.map((r) => r[0].length));
for (const [k, v, ratio] of rows) console.log(`${k.padEnd(w)}  ${v.padStart(9)}  ${ratio}`);
