/** BIRD daemons, one per node namespace: started from a rendered config, asked over their control socket. */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { makeLabDir } from './lab-dirs.js';
import { dirname } from 'node:path';
import { run, spawnCounter } from './run.js';
import { BIRD_PROTOCOLS } from '../plan/bird/types.js';

export interface BirdStart {
  netns: string;
  config: string;
  configFile: string;
  socket: string;
  pidFile: string;
}

/**
 * Start BIRD in `netns`, marked as node/<node>'s; it daemonizes, so this resolves with the daemon's pid
 * from its pid file (written by the daemon after the starting process returned: waited for). `recover`:
 * a restart after BIRD died, run as Calico's runit runs it, with `-R` (graceful-restart recovery: the
 * kernel routes the dead BIRD left stay until the sessions are back, instead of being pruned and re-added).
 */
export async function startBird(lab: string, b: BirdStart, node: string, opts: { recover?: boolean } = {}): Promise<number> {
  await makeLabDir(dirname(b.configFile));
  await writeFile(b.configFile, b.config);
  await rm(b.pidFile, { force: true });
  spawnCounter.other++;
  const r = await run('ip', ['netns', 'exec', b.netns, 'env', `KEMU_LAB=${lab}`, `KEMU_POD=node/${node}`, 'KEMU_CONTAINER=bird', 'bird', ...(opts.recover ? ['-R'] : []), '-c', b.configFile, '-s', b.socket, '-P', b.pidFile], { reject: false });
  if (!r.ok) throw new Error(`bird in ${b.netns} did not start: ${r.stderr.trim() || r.stdout.trim()}`);
  const deadline = Date.now() + PID_FILE_MS;
  for (;;) {
    const pid = Number((await readFile(b.pidFile, 'utf8').catch(() => '')).trim());
    if (pid > 0) return pid;
    if (Date.now() > deadline) throw new Error(`bird in ${b.netns} started but wrote no pid to ${b.pidFile} within ${PID_FILE_MS} ms`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

const PID_FILE_MS = 5000;

/** `birdc reload out` of the kernel protocol: BIRD writes every route it exports to the kernel again. */
export async function reexportKernelRoutes(socket: string): Promise<void> {
  spawnCounter.other++;
  await run('birdc', ['-s', socket, 'reload', 'out', BIRD_PROTOCOLS.kernel]);
}

export interface BgpSession {
  protocol: string;
  peer: string;
  peerAs: number;
  state: string;
  since: string;
  imported: number;
  exported: number;
}

/** Every BGP session of one BIRD, from `birdc show protocols all`. */
export async function bgpSessions(socket: string): Promise<BgpSession[]> {
  spawnCounter.other++;
  const r = await run('birdc', ['-s', socket, 'show', 'protocols', 'all'], { reject: false });
  if (!r.ok) throw new Error(`BIRD does not answer on ${socket}: ${r.stderr.trim() || r.stdout.trim()}`);
  const out: BgpSession[] = [];
  let cur: BgpSession | undefined;
  for (const line of r.stdout.split('\n')) {
    const head = /^(\S+)\s+(\S+)\s+\S+\s+\S+\s+(\S+)/.exec(line);
    if (head) {
      cur = head[2] === 'BGP' ? { protocol: head[1]!, peer: '', peerAs: 0, state: '', since: head[3]!, imported: 0, exported: 0 } : undefined;
      if (cur) out.push(cur);
      continue;
    }
    if (!cur) continue;
    const [, key, value] = /^\s+([^:]+):\s+(.*)$/.exec(line) ?? [];
    if (key === 'BGP state') cur.state = value!.trim();
    else if (key === 'Neighbor address') cur.peer = value!.trim();
    else if (key === 'Neighbor AS') cur.peerAs = Number(value);
    else if (key === 'Routes') {
      cur.imported = Number(/(\d+) imported/.exec(value!)?.[1] ?? 0);
      cur.exported = Number(/(\d+) exported/.exec(value!)?.[1] ?? 0);
    }
  }
  return out;
}
