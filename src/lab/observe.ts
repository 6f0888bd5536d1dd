/** What of a lab exists on the host right now: namespaces and processes, found by kemu's marks. */
import { labPrefix } from '../topology/names.js';
import { isAlive, listNetns, netnsInode, scanProcesses, type ProcessInfo } from '../host/netns.js';
import type { LabRecord } from './state.js';

export interface Observed {
  /** Lab namespaces present in /run/netns, with the namespace inode when bound. */
  netns: Map<string, number | undefined>;
  /** Processes inside a lab namespace or carrying KEMU_LAB=<lab>. */
  processes: ProcessInfo[];
}

export async function observeLab(lab: string): Promise<Observed> {
  const names = await listNetns(labPrefix(lab));
  const netns = new Map(await Promise.all(names.map(async (n) => [n, await netnsInode(n)] as const)));
  const inodes = new Set([...netns.values()].filter((i): i is number => i !== undefined));
  const processes = (await scanProcesses()).filter(
    (p) => p.pid !== process.pid && (p.marks.KEMU_LAB === lab || (p.netInode !== undefined && inodes.has(p.netInode))),
  );
  return { netns, processes };
}

/** Pods whose sandbox and containers are all alive and in the right namespace. */
export async function healthyPods(record: LabRecord | undefined, observed: Observed, podNetns: (key: string) => string): Promise<Set<string>> {
  const out = new Set<string>();
  if (!record) return out;
  const byPid = new Map(observed.processes.map((p) => [p.pid, p]));
  for (const [key, rt] of Object.entries(record.pods)) {
    const inode = observed.netns.get(podNetns(key));
    const holder = byPid.get(rt.holderPid);
    if (inode === undefined || !holder || holder.netInode !== inode) continue;
    const containers = await Promise.all(Object.values(rt.containers).map(async (pid) => byPid.get(pid)?.netInode === inode && (await isAlive(pid))));
    if (containers.every(Boolean)) out.add(key);
  }
  return out;
}
