/**
 * How containers end, as the kubelet sees it: the exit code (the default server writes it to a file
 * next to its log as it exits; a process that left none was killed: 137), whether the restart policy
 * restarts it, and stopping containers the kubelet's way (SIGTERM, SIGKILL after the grace period).
 */
import { readFile, rm } from 'node:fs/promises';
import { stillMarked, terminateAndWait } from '../../host/netns.js';
import { podLogFile } from '../../topology/names.js';
import type { ContainerRuntime, ContainerTermination, LabRecord } from '../state.js';

/** A lab bounds every grace period (terminationGracePeriodSeconds, 30 by default) to this. */
export const GRACE_CAP_MS = 10_000;
/** The exit status of a process killed by SIGKILL, as container runtimes report it. */
const KILLED = 137;

export const exitFile = (lab: string, key: string, container: string) => {
  const [ns, name] = key.split('/') as [string, string];
  return podLogFile(lab, ns, name, container).replace(/\.log$/, '.exit');
};

export const clearExitFile = (lab: string, key: string, container: string) => rm(exitFile(lab, key, container), { force: true });

const termination = (exitCode: number, startedAt: string | undefined, finishedAt: string, message?: string): ContainerTermination => ({
  exitCode,
  reason: exitCode === 0 ? 'Completed' : 'Error',
  ...(message ? { message } : {}),
  ...(startedAt ? { startedAt } : {}),
  finishedAt,
});

/** How a container found dead ended: the code it wrote, else killed. */
export async function exitOf(lab: string, key: string, container: string, rt: ContainerRuntime, finishedAt: string): Promise<ContainerTermination> {
  const text = await readFile(exitFile(lab, key, container), 'utf8').catch(() => '');
  const code = /^\d+/.test(text.trim()) ? Number(text.trim()) : KILLED;
  return termination(code, rt.startedAt, finishedAt);
}

/** restartPolicy: Always restarts any exit, OnFailure a non-zero one, Never none. */
export const restartsAfter = (policy: string, exit: ContainerTermination | undefined): boolean => policy === 'Always' || (policy === 'OnFailure' && (exit?.exitCode ?? KILLED) !== 0);

/** The grace a pod's containers get when stopped: its terminationGracePeriodSeconds (or the deletion's), bounded by GRACE_CAP_MS. */
export const graceMs = (seconds: number | undefined) => Math.min(Math.max(0, seconds ?? 30) * 1000, GRACE_CAP_MS);

/**
 * Stop running containers (SIGTERM, SIGKILL after `grace`) and record how each ended, with `message`
 * saying why kemu stopped it. The record's pids are checked against their marks first.
 */
export async function stopContainers(record: LabRecord, list: Array<{ pod: string; container: string; message: string; graceMs: number }>): Promise<void> {
  await Promise.all(
    list.map(async ({ pod, container, message, graceMs: grace }) => {
      const cur = record.pods[pod]?.containers[container];
      if (!cur || cur.diedAt) return;
      const pids = await stillMarked([cur.pid], { KEMU_LAB: record.lab, KEMU_POD: pod, KEMU_CONTAINER: container });
      const killed = await terminateAndWait(pids, grace);
      const now = new Date().toISOString();
      const exit = killed.size ? termination(KILLED, cur.startedAt, now) : await exitOf(record.lab, pod, container, cur, now);
      cur.diedAt = now;
      cur.exit = { ...exit, ...(message ? { message } : {}) };
    }),
  );
}
