/**
 * Short host commands through native/kemu-spawner, one helper per kemu process. Node forks its whole
 * process for every child (6 ms for the CLI, 20 ms at 500 MB on a VM, all of it blocking the event
 * loop); the helper is small, so it starts each command in well under a millisecond and many at once.
 * Without the helper (not built, KEMU_SPAWNER=off, or no pidfds) `spawnCommand` gives undefined and
 * the caller starts the command itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { nativeBin } from './paths.js';

export const SPAWNER_BIN = process.env.KEMU_SPAWNER ?? nativeBin('kemu-spawner');

export interface Spawned {
  /** undefined when killed by a signal or not started */
  exitCode: number | undefined;
  signal?: number;
  stdout: string;
  stderr: string;
}

interface Pending {
  /** undefined: the helper could not run here, nothing was started */
  resolve: (r: Spawned | undefined) => void;
  reject: (e: Error) => void;
  file: string;
}

/** The helper exits 2 before reading anything when it cannot run here. */
const CANNOT_RUN = 2;

class Spawner {
  private child?: ChildProcess;
  private unusable = process.env.KEMU_SPAWNER === 'off' || !existsSync(SPAWNER_BIN);
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private chunks: Buffer[] = [];

  run(argv: string[], input: string | undefined): Promise<Spawned | undefined> | undefined {
    const child = this.unusable ? undefined : (this.child ?? this.start());
    if (!child) return undefined;
    const id = this.nextId++;
    const parts: Buffer[] = [u32(id), u32(argv.length)];
    for (const a of argv) {
      const b = Buffer.from(a);
      parts.push(u32(b.length), b);
    }
    const inputBytes = Buffer.from(input ?? '');
    parts.push(u32(inputBytes.length), inputBytes);
    const answer = new Promise<Spawned | undefined>((resolve, reject) => this.pending.set(id, { resolve, reject, file: argv[0]! }));
    if (this.pending.size === 1) this.ref(true);
    child.stdin!.write(Buffer.concat(parts));
    return answer;
  }

  private start(): ChildProcess | undefined {
    let child: ChildProcess;
    try {
      child = spawn(SPAWNER_BIN, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    } catch {
      this.unusable = true;
      return undefined;
    }
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => this.receive(d));
    child.stdin!.on('error', () => undefined); // its exit says what happened
    child.once('error', () => this.lost(undefined));
    child.once('exit', (code) => this.lost(code));
    this.ref(false);
    return child;
  }

  /** While nothing is pending the helper must not keep the process alive. */
  private ref(on: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const s of [c.stdin, c.stdout] as Array<{ ref(): void; unref(): void } | null>) on ? s?.ref() : s?.unref();
    on ? c.ref() : c.unref();
  }

  private lost(code: number | null | undefined): void {
    this.child = undefined;
    this.unusable = true;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      if (code === CANNOT_RUN) p.resolve(undefined);
      else p.reject(new Error(`kemu-spawner exited (${code ?? 'failed to start'}) while running a command`));
    }
  }

  private receive(d: Buffer): void {
    this.chunks.push(d);
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    let at = 0;
    for (;;) {
      if (buf.length - at < 12) break;
      const outLen = buf.readUInt32LE(at + 8);
      if (buf.length - at < 16 + outLen) break;
      const errLen = buf.readUInt32LE(at + 12 + outLen);
      const end = at + 16 + outLen + errLen;
      if (buf.length < end) break;
      const id = buf.readUInt32LE(at);
      const status = buf.readUInt32LE(at + 4);
      const stdout = buf.toString('utf8', at + 12, at + 12 + outLen);
      const stderr = buf.toString('utf8', at + 16 + outLen, end);
      at = end;
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      p.resolve(answerOf(p.file, status, stdout, stderr));
    }
    buf = buf.subarray(at);
    this.chunks = buf.length ? [buf] : [];
    if (this.pending.size === 0) this.ref(false);
  }
}

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

function answerOf(file: string, status: number, stdout: string, stderr: string): Spawned {
  if (status < 256) return { exitCode: status, stdout, stderr };
  if (status < 512) return { exitCode: undefined, signal: status - 256, stdout, stderr };
  const errno = status - 512;
  return { exitCode: undefined, stdout, stderr: `spawn ${file} ${ERRNO_NAMES.get(errno) ?? `errno ${errno}`}` };
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

const spawner = new Spawner();

/**
 * Run `file args` through the helper, with `input` on its stdin. Undefined (at once, or as the
 * answer when the helper turns out unable to run here) means nothing was started: run it yourself.
 */
export async function spawnCommand(file: string, args: string[], input: string | undefined): Promise<Spawned | undefined> {
  return spawner.run([file, ...args], input);
}
