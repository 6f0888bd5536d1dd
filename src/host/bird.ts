/** BIRD daemons, one per node namespace: started from a rendered config, asked over their control socket. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { run, spawnCounter } from './run.js';

export interface BirdStart {
  netns: string;
  config: string;
  configFile: string;
  socket: string;
  pidFile: string;
}

/** Start BIRD in `netns`; it daemonizes, so this resolves with the daemon's pid from its pid file. */
export async function startBird(lab: string, b: BirdStart): Promise<number> {
  await mkdir(dirname(b.configFile), { recursive: true });
  await writeFile(b.configFile, b.config);
  spawnCounter.other++;
  const r = await run('ip', ['netns', 'exec', b.netns, 'env', `KEMU_LAB=${lab}`, 'bird', '-c', b.configFile, '-s', b.socket, '-P', b.pidFile], { reject: false });
  if (!r.ok) throw new Error(`bird in ${b.netns} did not start: ${r.stderr.trim() || r.stdout.trim()}`);
  return Number((await readFile(b.pidFile, 'utf8')).trim());
}

export interface BirdProtocol {
  name: string;
  proto: string;
  state: string;
  since: string;
  info: string;
}

/** `birdc show protocols`, parsed. */
export async function birdProtocols(socket: string): Promise<BirdProtocol[]> {
  spawnCounter.other++;
  const r = await run('birdc', ['-s', socket, 'show', 'protocols'], { reject: false });
  if (!r.ok) return [];
  return r.stdout
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 5)
    .map(([name, proto, , state, since, ...info]) => ({ name: name!, proto: proto!, state: state!, since: since!, info: info.join(' ') }));
}
