/**
 * Container programs: a real program that runs in a pod instead of the default server (cluster/programs.ts
 * picks it by image). A runner prepares the program's files for one container and names its command line;
 * host/sandbox.ts execs that in the holder's net/UTS/IPC namespaces, as any container joins them. Its
 * processes carry the container's KEMU_* marks, which is how a restart finds all of them (a killed
 * master's workers included). New programs register here.
 */
import type { ContainerPlan, PodPlan } from '../plan/types.js';
import { ingressNginx } from './ingress/program.js';
import { coredns } from './dns/program.js';
import type { LabRecord } from './state.js';

export interface ProgramContext {
  lab: string;
  pod: PodPlan;
  container: ContainerPlan;
  record: LabRecord;
}

export interface ProgramRunner {
  /** Its process name (/proc/<pid>/comm), by which a recorded pid is known to be still this program. */
  comm: string;
  /** Write what the program needs (config, certificates) and return its command line and ready file. */
  prepare(ctx: ProgramContext): Promise<{ argv: string[]; readyFile: string }>;
}

const RUNNERS: Record<string, ProgramRunner> = {
  'ingress-nginx': ingressNginx,
  coredns,
};

export function programRunner(name: string): ProgramRunner {
  const runner = RUNNERS[name];
  if (!runner) throw new Error(`no runner for container program '${name}'; known: ${Object.keys(RUNNERS).join(', ')}`);
  return runner;
}
