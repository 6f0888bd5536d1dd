/**
 * The lab's supervisor runs as `kemu supervise LAB`, detached, marked KEMU_LAB=<lab> and
 * KEMU_ROLE=supervisor: `down` finds and stops it with the rest of the lab; `up`'s clean-up of
 * leftover processes leaves it alone. A reconcile starts it when it is not running.
 */
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { labLogsDir } from '../topology/names.js';
import { makeLabDir } from '../host/lab-dirs.js';
import { isAlive, stillMarked } from '../host/netns.js';
import type { LabRecord } from './state.js';

/** Whether `pid` is a living process carrying the marks of `lab`'s supervisor (a pid in the record may be anything). */
export async function isSupervisorOf(lab: string, pid: number | undefined): Promise<boolean> {
  return pid !== undefined && (await stillMarked([pid], { KEMU_LAB: lab, KEMU_ROLE: 'supervisor' })).length === 1 && (await isAlive(pid));
}

export async function ensureSupervisor(record: LabRecord): Promise<void> {
  if (process.env.KEMU_ROLE === 'supervisor') {
    // The supervisor itself reconciles (only while the record names it, or names no real supervisor): it records itself.
    if (process.env.KEMU_LAB === record.lab) record.supervisor = { pid: process.pid };
    return;
  }
  if (await isSupervisorOf(record.lab, record.supervisor?.pid)) return;
  const dir = labLogsDir(record.lab);
  await makeLabDir(dir);
  const log = await open(`${dir}/supervisor.log`, 'a');
  // A small young generation: the supervisor's garbage is short-lived, and it should stay light beside the lab.
  const child = spawn(process.execPath, ['--max-semi-space-size=2', process.argv[1]!, 'supervise', record.lab], {
    detached: true,
    stdio: ['ignore', log.fd, log.fd],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', KEMU_LAB: record.lab, KEMU_ROLE: 'supervisor' },
  });
  child.unref();
  await log.close();
  record.supervisor = { pid: child.pid! };
}
