/**
 * bench/pending: a Deployment far larger than the lab (issue 9 §4), accepted and reported quickly and
 * quietly, and deleted quickly.
 *
 *   sudo npx tsx bench/pending.ts [--replicas 10000] [--rounds 3]
 *
 * Three nodes take 110 pods each (the default capacity), so 330 run and the rest stay Pending.
 * Baseline, in the same run: `up` of the same lab with exactly the 330 replicas that fit (the same
 * sandboxes and rules, no pending pods). Figures (medians): `up` with all replicas against the
 * baseline and against the 3 s target, the lines it prints, and `kemu delete deployment` against
 * the 5 s target.
 */
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BIN, median, numberOption } from './lib.js';

const REPLICAS = numberOption('replicas', 10_000);
const ROUNDS = numberOption('rounds', 3);
const LAB = 'bench-pending';
const FITS = 3 * 110;

function topology(replicas: number): string {
  const file = join(mkdtempSync(join(tmpdir(), 'kemu-bench-')), 'topology.yaml');
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'huge' },
    spec: { replicas, selector: { matchLabels: { app: 'huge' } }, template: { metadata: { labels: { app: 'huge' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
  };
  writeFileSync(file, stringify({ apiVersion: 'kemu.dev/v1alpha1', kind: 'Topology', metadata: { name: LAB }, spec: { nodes: [{ name: 'n1' }, { name: 'n2' }, { name: 'n3' }], workloads: [deployment] } }));
  return file;
}

async function kemu(...args: string[]): Promise<{ ms: number; lines: number }> {
  const t = performance.now();
  const r = await execa('node', [BIN, ...args], { reject: false });
  const ms = performance.now() - t;
  if (r.exitCode !== 0) throw new Error(`kemu ${args.join(' ')}: ${r.stderr}`);
  return { ms, lines: `${r.stdout}${r.stderr}`.split('\n').filter(Boolean).length };
}

const fits = topology(FITS);
const huge = topology(REPLICAS);
const base: number[] = [];
const up: number[] = [];
const lines: number[] = [];
const del: number[] = [];
await kemu('down', '-q', LAB);
for (let i = 0; i < ROUNDS; i++) {
  base.push((await kemu('up', '--no-wait', fits)).ms);
  await kemu('down', '-q', LAB);
  const u = await kemu('up', '--no-wait', huge);
  up.push(u.ms);
  lines.push(u.lines);
  del.push((await kemu('delete', 'deployment', 'huge', '--lab', LAB)).ms);
  await kemu('down', '-q', LAB);
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rows: Array<[string, string, string]> = [
  [`baseline: up with the ${FITS} replicas that fit`, s(median(base)), '1.00×'],
  [`up with ${REPLICAS} replicas (${REPLICAS - FITS} Pending)`, s(median(up)), `${(median(up) / median(base)).toFixed(2)}× baseline; target ≤ 3 s`],
  ['  lines it printed (stdout + progress)', String(median(lines)), ''],
  [`delete deployment (${REPLICAS} pods, ${FITS} sandboxes)`, s(median(del)), `${(median(del) / median(base)).toFixed(2)}× baseline; target ≤ 5 s`],
];
const w = Math.max(...rows.map((r) => r[0].length));
console.log(`medians of ${ROUNDS} rounds`);
for (const [k, v, ratio] of rows) console.log(`${k.padEnd(w)}  ${v.padStart(8)}  ${ratio}`);
