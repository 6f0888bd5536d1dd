/**
 * One kemu command (or supervisor pass) at a time per lab: an exclusive lock file holding the owner's
 * pid. A lock whose owner died (crash, SIGKILL) is taken over, under a second, short-lived lock, and
 * only while it still names the dead owner: two waiters that both found it stale cannot both win.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { RUN_ROOT } from '../topology/names.js';
import { isAlive } from '../host/netns.js';

const lockFile = (lab: string) => `${RUN_ROOT}/${lab}.lock`;
/** A takeover lock older than this was left by a process that died inside the takeover. */
const STALE_TAKEOVER_MS = 10_000;

/** Create `path` holding our pid, atomically (link of a written file): nobody ever sees it empty. */
async function tryCreate(path: string): Promise<boolean> {
  const mine = `${path}.${process.pid}.${randomUUID()}`;
  await writeFile(mine, String(process.pid));
  try {
    await link(mine, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    await rm(mine, { force: true });
  }
}

const ownerOf = async (path: string) => Number(await readFile(path, 'utf8').catch(() => '')) || undefined;

/** Remove the lock if it still belongs to `dead`; returns whether the caller should retry at once. */
async function takeOver(path: string, dead: number | undefined): Promise<boolean> {
  const takeover = `${path}.takeover`;
  if (!(await tryCreate(takeover))) {
    const age = Date.now() - ((await stat(takeover).catch(() => undefined))?.mtimeMs ?? Date.now());
    if (age > STALE_TAKEOVER_MS) await rm(takeover, { force: true });
    return false;
  }
  try {
    if ((await ownerOf(path)) === dead) await rm(path, { force: true });
    return true;
  } finally {
    await rm(takeover, { force: true });
  }
}

export async function withLabLock<T>(lab: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  await mkdir(RUN_ROOT, { recursive: true });
  const path = lockFile(lab);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await tryCreate(path)) break;
    const owner = await ownerOf(path);
    if ((!owner || !(await isAlive(owner))) && (await takeOver(path, owner))) continue;
    if (Date.now() > deadline) throw new Error(`lab ${lab} is busy: another kemu command (pid ${owner}) holds ${path}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}
