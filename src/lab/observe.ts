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

/** A pod as found on the host: its sandbox (holder alive in the pod's namespace) and each container's process. */
export interface PodHealth {
  sandbox: boolean;
  /** container name → its process runs inside the sandbox */
  alive: Record<string, boolean>;
}

export async function podHealth(record: LabRecord | undefined, observed: Observed, podNetns: (key: string) => string): Promise<Map<string, PodHealth>> {
  const out = new Map<string, PodHealth>();
  if (!record) return out;
  const byPid = new Map(observed.processes.map((p) => [p.pid, p]));
  await Promise.all(
    Object.entries(record.pods).map(async ([key, rt]) => {
      const inode = observed.netns.get(podNetns(key));
      const holder = byPid.get(rt.holderPid);
      const sandbox = inode !== undefined && holder !== undefined && holder.netInode === inode;
      const alive: Record<string, boolean> = {};
      for (const [name, c] of Object.entries(rt.containers)) alive[name] = sandbox && byPid.get(c.pid)?.netInode === inode && (await isAlive(c.pid));
      out.set(key, { sandbox, alive });
    }),
  );
  return out;
}

/** Pods whose sandbox and containers are all alive and in the right namespace. */
export async function healthyPods(record: LabRecord | undefined, observed: Observed, podNetns: (key: string) => string): Promise<Set<string>> {
  const health = await podHealth(record, observed, podNetns);
  return new Set([...health].filter(([, h]) => h.sandbox && Object.values(h.alive).every(Boolean)).map(([k]) => k));
}
