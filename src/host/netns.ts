/** Named network namespaces (/run/netns) and the processes inside them, read without spawning anything. */
import { closeSync, openSync, readSync } from 'node:fs';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';

export const NETNS_DIR = '/run/netns';

export async function listNetns(prefix = ''): Promise<string[]> {
  try {
    return (await readdir(NETNS_DIR)).filter((n) => n.startsWith(prefix)).sort();
  } catch {
    return [];
  }
}

/** The namespace inode a /run/netns entry is bound to, or undefined when it is not (yet) a bind mount. */
export async function netnsInode(name: string): Promise<number | undefined> {
  try {
    const [file, dir] = await Promise.all([stat(`${NETNS_DIR}/${name}`), stat(NETNS_DIR)]);
    // An unmounted placeholder is a regular file on the same device as the folder.
    return file.dev === dir.dev ? undefined : file.ino;
  } catch {
    return undefined;
  }
}

export interface ProcessInfo {
  pid: number;
  netInode: number | undefined;
  /** KEMU_* variables from the process environment (kemu's ownership marks). */
  marks: Record<string, string>;
}

/** Every process with its network namespace inode and kemu marks. */
export async function scanProcesses(): Promise<ProcessInfo[]> {
  const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
  const out = await Promise.all(
    pids.map(async (pid): Promise<ProcessInfo | undefined> => {
      try {
        const [link, env] = await Promise.all([readlink(`/proc/${pid}/ns/net`), readFile(`/proc/${pid}/environ`, 'latin1')]);
        const marks: Record<string, string> = {};
        if (env.includes('KEMU_'))
          for (const kv of env.split('\0')) if (kv.startsWith('KEMU_')) marks[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
        return { pid, netInode: Number(/\[(\d+)\]/.exec(link)?.[1]), marks };
      } catch {
        return undefined; // exited meanwhile, or a kernel thread
      }
    }),
  );
  return out.filter((p): p is ProcessInfo => p !== undefined);
}

/** Not a zombie, and (when `comm` is given) the program kemu started: a recorded pid may belong to another process by now. */
const liveStat = (stat: string, comm?: string) => !/^\d+ \(.*\) Z/.test(stat) && (comm === undefined || stat.startsWith(`${stat.slice(0, stat.indexOf(' '))} (${comm}) `));

const procBuffer = Buffer.alloc(16_384);

/**
 * A small /proc file read into one shared buffer (no stat, no allocation per call: a third of
 * readFileSync's cost), or undefined when it cannot be read. For the supervisor's loops over every pod.
 */
export function readProcSync(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    return procBuffer.toString('latin1', 0, readSync(fd, procBuffer, 0, procBuffer.length, 0));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** isAlive without the thread pool: for loops that look at hundreds of processes several times a second. */
export function isAliveSync(pid: number, comm?: string): boolean {
  const stat = readProcSync(`/proc/${pid}/stat`);
  return stat !== undefined && liveStat(stat, comm);
}

export async function isAlive(pid: number, comm?: string): Promise<boolean> {
  try {
    return liveStat(await readFile(`/proc/${pid}/stat`, 'latin1'), comm);
  } catch {
    return false;
  }
}

/**
 * Pids a record holds may be stale: the process died and the kernel gave its pid to another (pid_max is
 * often 32768). Only the ones still carrying every one of kemu's `marks` (KEMU_LAB, KEMU_POD, …) are
 * returned, so nothing else is ever killed.
 */
export async function stillMarked(pids: number[], marks: Record<string, string>): Promise<number[]> {
  const wanted = Object.entries(marks).map(([k, v]) => `${k}=${v}`);
  const ok = await Promise.all(
    pids.map(async (pid) => {
      const env = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
      const vars = env.split('\0');
      return wanted.every((w) => vars.includes(w));
    }),
  );
  return pids.filter((_, i) => ok[i]);
}

/** SIGKILL the processes a record names (see stillMarked) and wait until they are gone. */
export async function killRecorded(pids: number[], marks: Record<string, string>): Promise<void> {
  await killAndWait(await stillMarked(pids, marks));
}

/**
 * SIGKILL every process whose marks `match` (read from /proc now, so a process started by a run that
 * was killed before it recorded the pid is found too), except `keep`, and wait until they are gone.
 */
export async function killMarked(match: (marks: Record<string, string>) => boolean, keep: number[] = []): Promise<number[]> {
  const pids = (await scanProcesses()).filter((p) => p.pid !== process.pid && !keep.includes(p.pid) && Object.keys(p.marks).length && match(p.marks)).map((p) => p.pid);
  await killAndWait(pids);
  return pids;
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/** The pids of `pids` still alive after waiting up to `ms` for them to go (zombies of our own children count as gone). */
async function stillAliveAfter(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids;
  for (;;) {
    left = (await Promise.all(left.map(async (p) => ((await isAlive(p)) ? p : -1)))).filter((p) => p >= 0);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * SIGKILL `pids` and wait until they are gone; pids just observed, never ones from a record. Thousands
 * of pod processes take seconds to exit on a small VM (each tears down its namespaces): the wait grows
 * with their number.
 */
export async function killAndWait(pids: number[], timeoutMs = 5000 + 10 * pids.length): Promise<void> {
  signal(pids, 'SIGKILL');
  const left = await stillAliveAfter(pids, timeoutMs);
  if (left.length) throw new Error(`processes ${left.join(', ')} did not exit after SIGKILL`);
}

/**
 * SIGKILL every process named `comm` inside the named network namespace (a pod's), and wait until they
 * are gone. For programs that overwrite their environment with their process title (nginx does, so its
 * KEMU_* marks cannot be read back): being inside the lab's namespace is what makes them kemu's.
 */
export async function killInNetns(netns: string, comm: string): Promise<void> {
  const inode = await netnsInode(netns);
  if (inode === undefined) return;
  const inside = (await scanProcesses()).filter((p) => p.netInode === inode && p.pid !== process.pid);
  const named = await Promise.all(inside.map(async (p) => (await readFile(`/proc/${p.pid}/comm`, 'latin1').catch(() => '')).trim() === comm));
  await killAndWait(inside.filter((_, i) => named[i]).map((p) => p.pid));
}

/**
 * Stop processes as the kubelet stops a container: SIGTERM, then SIGKILL for whatever still runs
 * after `graceMs`. Resolves with the pids that had to be killed. Pids just checked (stillMarked).
 */
export async function terminateAndWait(pids: number[], graceMs: number): Promise<Set<number>> {
  if (graceMs > 0) signal(pids, 'SIGTERM');
  const left = graceMs > 0 ? await stillAliveAfter(pids, graceMs) : pids;
  await killAndWait(left);
  return new Set(left);
}
