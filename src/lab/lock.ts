/**
 * One kemu command (or supervisor pass) at a time per lab: the lock is a Unix socket bound to the
 * abstract name `kemu-lock:<lab>` in the root network namespace, held for the whole command. The
 * kernel lets only one socket bind a name and releases it when its holder exits or is killed, so the
 * lock is exclusive, cannot go stale, and leaves no file behind. A waiter retries the bind; a waiter
 * that connects instead learns who holds it (pid and command), for the message when it gives up.
 *
 * kemu processes never leave the root network namespace (they enter lab namespaces only through
 * child processes), so every command sees the same abstract names.
 */
import { createConnection, createServer, type Server } from 'node:net';
import { checkedLabPaths } from '../host/lab-dirs.js';

const lockName = (lab: string) => `\0kemu-lock:${lab}`;
const POLL_MS = [2, 5, 10, 20, 40];

export class LabBusyError extends Error {
  constructor(lab: string, holder: string | undefined, timeoutMs: number) {
    super(`lab ${lab} is busy: ${holder ?? 'another kemu command'} has held its lock for more than ${Math.round(timeoutMs / 1000)} s; try again when it has finished`);
    this.name = 'LabBusyError';
  }
}

/** Bind the lock's name; undefined when another process holds it. */
function tryBind(name: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer((conn) => conn.end(`pid ${process.pid} (${process.argv.slice(2, 4).join(' ') || 'kemu'})`));
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    server.listen({ path: name }, () => {
      server.unref();
      resolve(server);
    });
  });
}

/** Who holds the lock, as the holder describes itself. */
function holderOf(name: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const c = createConnection({ path: name });
    c.setTimeout(500, () => c.destroy());
    c.on('data', (d: Buffer) => (text += d.toString()));
    c.on('close', () => resolve(text.trim() || undefined));
    c.on('error', () => resolve(undefined));
  });
}

export async function withLabLock<T>(lab: string, fn: () => Promise<T>, opts: { timeoutMs?: number } = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  await checkedLabPaths(lab);
  const name = lockName(lab);
  const deadline = Date.now() + timeoutMs;
  let server: Server | undefined;
  for (let attempt = 0; !(server = await tryBind(name)); attempt++) {
    if (Date.now() >= deadline) throw new LabBusyError(lab, await holderOf(name), timeoutMs);
    const wait = POLL_MS[Math.min(attempt, POLL_MS.length - 1)]! * (0.5 + Math.random());
    await new Promise((r) => setTimeout(r, Math.min(wait, Math.max(0, deadline - Date.now()))));
  }
  try {
    return await fn();
  } finally {
    await new Promise((r) => server!.close(r));
  }
}

/** Whether some process holds the lab's lock right now (a bind of its name, let go at once). */
export async function labLockHeld(lab: string): Promise<boolean> {
  const server = await tryBind(lockName(lab));
  if (!server) return true;
  await new Promise((r) => server.close(r));
  return false;
}
