/**
 * bench/cli: how fast a command starts, against Node itself (issue 16).
 *
 *   npx tsx bench/cli.ts [--runs 10]
 *
 * Paired runs, alternating: `node -e 0` (the baseline), `kemu --version`, `kemu --help` and
 * `kemu ls` (which reads the lab folders). Prints each median, its ratio to the baseline (target for
 * --version: ≤ 1.5×) and the peak RSS of one run.
 */
import { execa } from 'execa';
import { BIN, median, numberOption } from './lib.js';

const RUNS = numberOption('runs', 10);
const cases: Record<string, string[]> = {
  'node -e 0': ['-e', '0'],
  'kemu --version': [BIN, '--version'],
  'kemu --help': [BIN, '--help'],
  'kemu ls': [BIN, 'ls'],
};

async function timed(args: string[]): Promise<{ ms: number; rssKb: number }> {
  const start = performance.now();
  const r = await execa('/usr/bin/time', ['-f', '%M', process.execPath, ...args], { reject: false });
  const ms = performance.now() - start;
  return { ms, rssKb: Number(r.stderr.trim().split('\n').at(-1)) };
}

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
const rss: Record<string, number> = {};
for (let i = 0; i < RUNS; i++) {
  for (const [name, args] of Object.entries(cases)) {
    const t = await timed(args);
    samples[name]!.push(t.ms);
    rss[name] = t.rssKb;
  }
}
const base = median(samples['node -e 0']!);
for (const name of Object.keys(cases)) {
  const m = median(samples[name]!);
  console.log(`${name.padEnd(16)} ${m.toFixed(0).padStart(5)} ms  ${(m / base).toFixed(2)}× node -e 0  ${(rss[name]! / 1024).toFixed(0)} MB peak`);
}
