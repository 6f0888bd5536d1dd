/**
 * Pod sandboxes and their containers, as real long-lived processes, started in batches.
 *
 * Holder: `kemu-sandbox` (native/) makes new net/UTS/IPC namespaces, bind-mounts the network namespace
 * on /run/netns/<pod> (as `ip netns add` would), sets the hostname, wires the pod side of its network
 * with one `ip -batch` run inside (creating the veth pair with the host end placed straight into the
 * node), then execs `catatonit -P` in place: the holder owns the pod's namespaces as the kubelet's
 * infra container does (a hostNetwork pod's holder joins the node's network namespace instead, and binds
 * that on /run/netns/<pod>). Containers: the default server started with `--join <holder pid>`, which
 * enters the holder's net/UTS/IPC namespaces (setns, as nsenter does) before it listens, and its mount
 * namespace when the holder has one (a lab with cluster DNS: the pod's resolv.conf and hosts).
 *
 * Spawning from Node costs milliseconds per process, so a small shell "launcher" starts a whole group
 * of pods and reports `<pid> ok|fail <tag>` lines; kemu spawns one launcher per group. Every process
 * carries KEMU_LAB (and KEMU_POD) in its environment so `down` finds it even if a crash lost the state.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { labPaths } from '../topology/names.js';
import { makeLabDir } from './lab-dirs.js';
import { nativeBin } from './paths.js';
import { NETNS_DIR } from './netns.js';
import { mapLimit, spawnCounter } from './run.js';
import { shellQuote } from '../util/shell.js';

/** The compiled helpers (scripts/build-native.sh). */
export const NETEXEC_BIN = process.env.KEMU_NETEXEC ?? nativeBin('kemu-netexec');
export const SANDBOX_BIN = process.env.KEMU_SANDBOX ?? nativeBin('kemu-sandbox');
export const IPIP_BIN = process.env.KEMU_IPIP ?? nativeBin('kemu-ipip');
export const HOLDER_BIN = 'catatonit';
/** The default server's process name (/proc/<pid>/comm), to tell a recorded pid still ours. */
export const SERVER_COMM = 'kemu-netexec';

/** Launchers run side by side; each starts its group one process after another. */
const LAUNCHERS = Number(process.env.KEMU_LAUNCHERS ?? 4);

export interface HolderSpec {
  key: string;
  netns: string;
  /** A hostNetwork pod: join this (the node's) network namespace instead of making one. */
  joinNetns?: string;
  hostname: string;
  /** `ip -batch` lines run inside the pod's namespace before the holder settles. */
  lines: string[];
  /** A folder whose resolv.conf and hosts the holder binds over /etc in a mount namespace of its own. */
  etcDir?: string;
}

export interface ServerSpec {
  /** KEMU_POD mark (a pod key, or `node/<name>` for node-level servers). */
  key: string;
  container: string;
  /** Whose namespaces to enter: a pod holder's (net, uts, ipc; the server joins them itself) or a named network namespace. */
  enter: { holderPid: number } | { netns: string };
  /** Arguments of the program (the default server unless `bin` says otherwise). */
  args: string[];
  /** A node-level helper instead of the default server (entered with `enter.netns`). */
  bin?: string;
  /**
   * A container program instead of the default server (with `enter.holderPid`): `argv` is exec'd in
   * the holder's net/UTS/IPC namespaces by nsenter; it serves once `readyFile` exists (e.g. its pid file).
   */
  program?: { argv: string[]; readyFile: string };
  log: string;
}

export const serverPortArgs = (tcp: number[], udp: number[]): string[] => [...tcp.flatMap((p) => ['--tcp', String(p)]), ...udp.flatMap((p) => ['--udp', String(p)])];


/** Start holders; resolves with key → pid once each namespace is named, wired and its hostname set. */
export async function startHolders(lab: string, holders: HolderSpec[]): Promise<Map<string, number>> {
  await mkdir(NETNS_DIR, { recursive: true });
  await Promise.all(holders.map((h) => writeFile(`${NETNS_DIR}/${h.netns}`, '', { flag: 'a' })));
  // In the lab's run folder, so a command killed meanwhile leaves nothing that `down` does not remove.
  const { tmpDir } = labPaths(lab);
  await makeLabDir(tmpDir);
  const errors = await mkdtemp(join(tmpDir, 'sandbox-'));
  const lines = holders.map(
    (h, i) =>
      `KEMU_POD=${shellQuote(h.key)} ${shellQuote(SANDBOX_BIN)} ${h.joinNetns ? `--join-netns ${shellQuote(`${NETNS_DIR}/${h.joinNetns}`)} ` : ''}${h.etcDir ? `--etc ${shellQuote(h.etcDir)} ` : ''}${shellQuote(`${NETNS_DIR}/${h.netns}`)} ${shellQuote(h.hostname)} ${i} ${shellQuote(`${errors}/${i}`)} -- ${HOLDER_BIN} -P <<'KEMU_EOF' &\n${h.lines.join('\n')}\nKEMU_EOF`,
  );
  try {
    const pids = await launch(lab, lines, 'sandbox');
    return new Map(holders.map((h, i) => [h.key, pids.get(i)!]));
  } finally {
    await rm(errors, { recursive: true, force: true });
  }
}

/** Start servers (containers, or node-level ones) inside namespaces; resolves once every one listens. */
export async function startServers(lab: string, servers: ServerSpec[]): Promise<Map<string, number>> {
  for (const dir of new Set(servers.map((c) => dirname(c.log)))) await makeLabDir(dir);
  const lines = servers.map((c, i) => {
    if (c.program && 'holderPid' in c.enter) return programLine(c as ServerSpec & { program: NonNullable<ServerSpec['program']>; enter: { holderPid: number } }, i);
    // nsenter enters no pid namespace, so it execs the server in place: $! is the server's pid either way.
    const start = 'holderPid' in c.enter ? `${shellQuote(NETEXEC_BIN)} --join ${c.enter.holderPid}` : `nsenter --net=${shellQuote(`${NETNS_DIR}/${c.enter.netns}`)} -- ${shellQuote(c.bin ?? NETEXEC_BIN)}`;
    return `KEMU_POD=${shellQuote(c.key)} KEMU_CONTAINER=${shellQuote(c.container)} KEMU_READY_TAG=${i} ${start} ${c.args.map(shellQuote).join(' ')} 2>>${shellQuote(c.log)} & echo "$! started ${i}"`;
  });
  const pids = await launch(lab, lines, 'server', true);
  return new Map(servers.map((c, i) => [`${c.key}/${c.container}`, pids.get(i)!]));
}

/**
 * A container program: nsenter execs it in place ($! is its pid); a background loop reports `ready`
 * once its ready file appears (it binds its sockets before it writes it), or nothing if it dies first.
 */
function programLine(c: ServerSpec & { program: { argv: string[]; readyFile: string }; enter: { holderPid: number } }, i: number): string {
  const ready = shellQuote(c.program.readyFile);
  // --mount: the holder's own mount namespace (the pod's resolv.conf and hosts), or the host's when it has none.
  const start = `nsenter --target ${c.enter.holderPid} --net --uts --ipc --mount --wd=/ -- ${c.program.argv.map(shellQuote).join(' ')}`;
  const wait = `n=0; while [ ! -s ${ready} ] && kill -0 $p 2>/dev/null && [ $n -lt ${PROGRAM_READY_MS / 10} ]; do sleep 0.01; n=$((n+1)); done; [ -s ${ready} ] && kill -0 $p 2>/dev/null && echo "ready ${i}"`;
  return `rm -f ${ready}; KEMU_POD=${shellQuote(c.key)} KEMU_CONTAINER=${shellQuote(c.container)} ${start} </dev/null >/dev/null 2>>${shellQuote(c.log)} & p=$!; echo "$p started ${i}"; ( ${wait} ) &`;
}

/** How long a container program may take to start serving. */
const PROGRAM_READY_MS = 10_000;

/**
 * Run `lines` in LAUNCHERS shells and collect `<pid> ok <tag>` (or `ready <tag>` from servers after a
 * `<pid> started <tag>`). Resolves when every tag is ready; rejects with the failures otherwise.
 */
async function launch(lab: string, lines: string[], what: string, serverReady = false): Promise<Map<number, number>> {
  const groups: string[][] = Array.from({ length: Math.min(LAUNCHERS, lines.length) }, () => []);
  lines.forEach((l, i) => groups[i % groups.length]!.push(l));
  const pids = new Map<number, number>();
  const ready = new Set<number>();
  const failures: string[] = [];
  await mapLimit(groups, LAUNCHERS, async (group) => {
    const out = await runLauncher(lab, group.join('\n') + '\n');
    for (const line of out.split('\n')) {
      const m = /^(\d+) (ok|fail|started) (\d+)(?: (.*))?$/.exec(line) ?? (serverReady ? /^ready (\d+)$/.exec(line) : null);
      if (!m) continue;
      if (m.length === 2) ready.add(Number(m[1]));
      else if (m[2] === 'fail') failures.push(`${what} ${m[3]}: ${m[4] ?? ''}`.trim());
      else {
        pids.set(Number(m[3]), Number(m[1]));
        if (m[2] === 'ok') ready.add(Number(m[3]));
      }
    }
  });
  const missing = lines.map((_, i) => i).filter((i) => !ready.has(i) || !pids.has(i));
  if (failures.length || missing.length)
    throw new Error(`${failures.length + missing.length} of ${lines.length} ${what}s did not start${failures.length ? `: ${failures.slice(0, 5).join('; ')}` : ''}${missing.length && !failures.length ? ` (see the logs in /run/kemu/${lab}/logs)` : ''}`);
  return pids;
}

/** How long a launcher may take: 60 s, and 50 ms more for each of its lines past 1,000 (thousands of pods start on 2 cores). */
const launchLimitMs = (script: string): number => 60_000 + Math.max(0, script.split('\n').length - 1000) * 50;

/** One shell running a group of start lines; resolves with its stdout once every writer closed it. */
function runLauncher(lab: string, script: string): Promise<string> {
  spawnCounter.other++;
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-s'], {
      detached: true,
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', KEMU_LAB: lab },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const limitMs = launchLimitMs(script);
    const timer = setTimeout(() => reject(new Error(`starting processes took longer than ${Math.round(limitMs / 1000)} s: ${err.trim()}`)), limitMs);
    child.on('error', reject);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // stdout ends when the launcher and everything it started have closed it (ready, or dead).
    child.stdout.on('end', () => {
      clearTimeout(timer);
      child.stderr.destroy();
      child.unref();
      resolve(out);
    });
    child.stdin.end(script);
  });
}
