/** Running host commands: the only place kemu spawns short-lived processes. */
import { spawnCommand } from './spawner.js';

export interface HostResult {
  ok: boolean;
  command: string;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** A host command failed; `context` holds the payload lines around the one the kernel rejected. */
export class HostCommandError extends Error {
  constructor(
    readonly result: HostResult,
    readonly context: string[] = [],
  ) {
    super(
      `${result.command} failed (exit ${result.exitCode ?? 'signal'}): ${result.stderr.trim() || result.stdout.trim()}` +
        (context.length ? `\n${context.map((l) => `    ${l}`).join('\n')}` : ''),
    );
    this.name = 'HostCommandError';
  }
}

export async function run(file: string, args: string[], opts: { input?: string; reject?: boolean } = {}): Promise<HostResult> {
  const started = performance.now();
  const r = (await spawnCommand(file, args, opts.input)) ?? (await startItself(file, args, opts.input));
  const result: HostResult = {
    ok: r.exitCode === 0,
    command: [file, ...args].join(' '),
    exitCode: r.exitCode,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    durationMs: performance.now() - started,
  };
  if (!result.ok && opts.reject !== false) throw new HostCommandError(result);
  return result;
}

/** Without kemu-spawner: Node's own child_process, through execa (loaded only then). */
async function startItself(file: string, args: string[], input: string | undefined) {
  const { execa } = await import('execa');
  return execa(file, args, { input, reject: false, stripFinalNewline: false, env: { LC_ALL: 'C' } });
}

/** Counts what the host layer spawned, for `up`'s summary and the benchmarks. */
export const spawnCounter = { ip: 0, other: 0 };

/**
 * One `ip -batch` in `netns` (or the root context when undefined). ip stops at the first failing line
 * and names it as `Command failed -:N`; the error then shows that line with its neighbours.
 */
export async function ipBatch(netns: string | undefined, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  spawnCounter.ip++;
  const args = netns ? ['-n', netns, '-batch', '-'] : ['-batch', '-'];
  const r = await run('ip', args, { input: lines.join('\n') + '\n', reject: false });
  if (r.ok) return;
  const m = /Command failed -:(\d+)/.exec(r.stderr);
  const at = m ? Number(m[1]) - 1 : -1;
  const context = at >= 0 ? lines.slice(Math.max(0, at - 2), at + 3).map((l, i) => `${Math.max(0, at - 2) + i === at ? '>' : ' '} ${l}`) : [];
  throw new HostCommandError(r, context);
}

/** JSON output of an `ip` show command in `netns`. */
export async function ipJson<T>(netns: string, args: string[]): Promise<T> {
  spawnCounter.ip++;
  const r = await run('ip', ['-n', netns, '-j', ...args]);
  return JSON.parse(r.stdout.trim() || '[]') as T;
}

/** Set sysctls inside `netns` with one process. */
export async function setSysctls(netns: string, values: Record<string, string>): Promise<void> {
  const entries = Object.entries(values);
  if (entries.length === 0) return;
  spawnCounter.other++;
  await run('ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', ...entries.map(([k, v]) => `${k}=${v}`)]);
}

/** Run `fn` over `items` with at most `limit` in flight; fails with the first error after all started ones settle. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < items.length && failure === undefined) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure;
  return out;
}
