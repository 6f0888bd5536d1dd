/**
 * The lab's supervisor runs as `kemu supervise LAB`, detached, marked KEMU_LAB=<lab> and
 * KEMU_ROLE=supervisor: `down` finds and stops it with the rest of the lab; `up`'s clean-up of
 * leftover processes leaves it alone. A reconcile starts it when it is not running.
 *
 * Beside it runs its watchdog (native/kemu-watchdog, same marks): it waits on the supervisor's pidfd
 * and, when the supervisor is killed, execs a new one in place — back within a Node start-up, with no
 * command needed and no polling. The new supervisor claims the record and starts its own watchdog;
 * the supervisor restarts a watchdog that dies. Only both killed at once leave the lab unsupervised
 * until the next command (`get`/`ls` then warn).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { labLogsDir } from '../topology/names.js';
import { makeLabDir } from '../host/lab-dirs.js';
import { isAlive, stillMarked } from '../host/netns.js';
import { nativeBin } from '../host/paths.js';
import type { LabRecord } from './state.js';

export const WATCHDOG_BIN = process.env.KEMU_WATCHDOG ?? nativeBin('kemu-watchdog');

const marks = (lab: string) => ({ KEMU_LAB: lab, KEMU_ROLE: 'supervisor' });

/** The supervisor's command line. A small young generation: its garbage is short-lived, and it should stay light beside the lab. */
const supervisorArgv = (lab: string) => [process.execPath, '--max-semi-space-size=2', process.argv[1]!, 'supervise', lab];

/** Whether the record's supervisor runs: its pid is alive and carries the supervisor's marks (a pid in the record may be anything). */
export async function supervisorRuns(record: LabRecord): Promise<boolean> {
  const pid = record.supervisor?.pid;
  return pid !== undefined && (await stillMarked([pid], marks(record.lab))).length > 0 && (await isAlive(pid));
}

async function spawnDetached(lab: string, argv: string[]): Promise<ChildProcess> {
  const dir = labLogsDir(lab);
  await makeLabDir(dir);
  const log = await open(`${dir}/supervisor.log`, 'a');
  try {
    return spawn(argv[0]!, argv.slice(1), {
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      // KEMU_RULE_EVENTS=off (tests of the polling path) is passed on; nothing else of the caller's environment.
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...marks(lab), ...(process.env.KEMU_RULE_EVENTS ? { KEMU_RULE_EVENTS: process.env.KEMU_RULE_EVENTS } : {}) },
    });
  } finally {
    await log.close();
  }
}

/** The lab this process supervises (set by `kemu supervise`), or undefined in any other command. */
let supervisedLab: string | undefined;

/**
 * Called first by `kemu supervise`. The marks leave this process's own environment: the tools it runs
 * (ip, iptables, launchers) would inherit them and look like a second supervisor to `down` and the tests.
 */
export function becomeSupervisor(lab: string): void {
  supervisedLab = lab;
  delete process.env.KEMU_ROLE;
  delete process.env.KEMU_LAB;
}

export async function ensureSupervisor(record: LabRecord): Promise<void> {
  if (supervisedLab !== undefined) {
    // The supervisor itself reconciles (only while the record names it, or names no real supervisor): it records itself.
    if (supervisedLab === record.lab) record.supervisor = { pid: process.pid };
    return;
  }
  if (await supervisorRuns(record)) return;
  const child = await spawnDetached(record.lab, supervisorArgv(record.lab));
  child.unref();
  record.supervisor = { pid: child.pid! };
}

/** Start the calling supervisor's watchdog; `onExit` runs if it dies. Undefined when it is not built (scripts/build-native.sh). */
export async function startWatchdog(lab: string, onExit: () => void): Promise<ChildProcess | undefined> {
  if (!existsSync(WATCHDOG_BIN)) return undefined;
  const child = await spawnDetached(lab, [WATCHDOG_BIN, String(process.pid), '--', ...supervisorArgv(lab)]);
  child.once('exit', onExit);
  child.once('error', onExit);
  child.unref();
  return child;
}

/** The warning `get` and `ls` print (stderr) while a lab has no live supervisor, or undefined. */
export async function supervisorWarning(record: LabRecord): Promise<string | undefined> {
  if (await supervisorRuns(record)) return undefined;
  const was = record.supervisor ? ` (pid ${record.supervisor.pid} is gone)` : '';
  return `warning: lab ${record.lab} has no running supervisor${was}: dead containers, daemons and flushed rules are not repaired until a command runs; 'kemu up ${record.topologyFile}' starts it again`;
}
