/** What every bench script needs: its options, the CLI to run, medians. */
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
/** KEMU_BENCH_BIN: another build's CLI (a before/after comparison from one checkout of the benches). */
export const BIN = process.env.KEMU_BENCH_BIN ?? join(ROOT, 'bin', 'kemu.js');

/** `--name N` from the command line, or `fallback`. */
export function numberOption(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
