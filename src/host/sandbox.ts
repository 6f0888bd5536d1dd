/**
 * Pod sandboxes and their containers, as real long-lived processes.
 *
 * Holder: `unshare --net=/run/netns/<pod> --uts --ipc` → sh sets the hostname → exec `catatonit -P`.
 * unshare bind-mounts the new network namespace onto the name itself, the way the kubelet's infra
 * container holds a pod's namespaces. Containers: `nsenter` into the holder's net/uts/ipc namespaces,
 * then the default server. Every process carries KEMU_LAB (and KEMU_POD) in its environment so that
 * `down` finds it even when a crash lost the state file.
 */
import { spawn } from 'node:child_process';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NETNS_DIR } from './netns.js';
import { spawnCounter } from './run.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The compiled default server (scripts/build-native.sh); same depth from src/ and dist/. */
export const NETEXEC_BIN = process.env.KEMU_NETEXEC ?? join(here, '..', '..', 'native', 'build', 'kemu-netexec');
export const HOLDER_BIN = 'catatonit';

const HOLDER_SCRIPT = 'echo "$1" > /proc/sys/kernel/hostname && echo ok && exec catatonit -P </dev/null >/dev/null 2>&1';

export interface Marks {
  lab: string;
  pod: string;
  container?: string;
}

const envOf = (m: Marks): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
  KEMU_LAB: m.lab,
  KEMU_POD: m.pod,
  ...(m.container ? { KEMU_CONTAINER: m.container } : {}),
});

/** Start a pod's holder; resolves with its pid once the namespace is named and the hostname set. */
export async function startHolder(netns: string, hostname: string, marks: Marks): Promise<number> {
  await mkdir(NETNS_DIR, { recursive: true });
  await writeFile(`${NETNS_DIR}/${netns}`, '', { flag: 'a' });
  return startDetached(
    'unshare',
    [`--net=${NETNS_DIR}/${netns}`, '--uts', '--ipc', '--', 'sh', '-c', HOLDER_SCRIPT, 'holder', hostname],
    envOf(marks),
    'ok',
    'ignore',
  );
}

/** Start one container of a pod inside the holder's namespaces; resolves with its pid once it listens. */
export async function startContainer(holderPid: number, ports: { tcp: number[]; udp: number[] }, marks: Marks, logFile: string): Promise<number> {
  await mkdir(dirname(logFile), { recursive: true });
  const log = await open(logFile, 'a');
  try {
    const args = ['--target', String(holderPid), '--net', '--uts', '--ipc', '--', NETEXEC_BIN, ...ports.tcp.flatMap((p) => ['--tcp', String(p)]), ...ports.udp.flatMap((p) => ['--udp', String(p)])];
    return await startDetached('nsenter', args, envOf(marks), 'ready', log.fd);
  } finally {
    await log.close();
  }
}

/**
 * Spawn a process that outlives kemu (own session) and wait for it to print `token` and close stdout.
 * A process that exits first, or prints something else, fails with its stderr.
 */
function startDetached(file: string, args: string[], env: NodeJS.ProcessEnv, token: string, stderr: 'ignore' | number): Promise<number> {
  spawnCounter.other++;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { detached: true, env, stdio: ['ignore', 'pipe', stderr === 'ignore' ? 'pipe' : stderr] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error(`${file} did not start within 10 s`)), 10_000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      try {
        if (child.pid) process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      reject(e);
    };
    child.on('error', fail);
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stdout!.on('end', () => {
      if (out.trim() !== token) return; // the exit handler reports it
      clearTimeout(timer);
      child.stderr?.destroy();
      child.removeAllListeners('exit');
      child.unref();
      resolve(child.pid!);
    });
    child.on('exit', (code, signal) => {
      if (out.trim() === token) return;
      fail(new Error(`${file} ${args.slice(0, 3).join(' ')}… exited (${signal ?? `code ${code}`}) before it was ready: ${err.trim() || out.trim() || 'no output'}`));
    });
  });
}
