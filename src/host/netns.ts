/** Named network namespaces (/run/netns) and the processes inside them, read without spawning anything. */
import { readFileSync } from 'node:fs';
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

/** isAlive without the thread pool: for loops that look at hundreds of processes several times a second. */
export function isAliveSync(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

export async function isAlive(pid: number): Promise<boolean> {
  try {
    const s = await readFile(`/proc/${pid}/stat`, 'latin1');
    return !/^\d+ \(.*\) Z/.test(s);
  } catch {
    return false;
  }
}

/** SIGKILL `pids` and wait until they are gone (zombies of our own children count as gone). */
export async function killAndWait(pids: number[], timeoutMs = 5000): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + timeoutMs;
  let left = pids;
  while (left.length && Date.now() < deadline) {
    left = (await Promise.all(left.map(async (p) => ((await isAlive(p)) ? p : -1)))).filter((p) => p >= 0);
    if (left.length) await new Promise((r) => setTimeout(r, 10));
  }
  if (left.length) throw new Error(`processes ${left.join(', ')} did not exit after SIGKILL`);
}
