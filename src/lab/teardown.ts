/** Removing parts of a lab: processes first, then veths cut from the side that stays, then namespaces. */
import { killAndWait, scanProcesses } from '../host/netns.js';
import { deleteLinks, deleteNetns } from '../host/links.js';
import { mapLimit } from '../host/run.js';
import { podOfNetns } from '../topology/names.js';
import type { Observed } from './observe.js';

export async function removeNamespaces(observed: Observed, netns: string[], cuts: Array<{ netns: string; link: string }>, alsoKill: number[] = []): Promise<void> {
  const removed = new Set(netns);
  // A hostNetwork pod's name is bound to its node's namespace: while a name that stays holds the same
  // namespace, only the pod's own processes (its marks) go, never everything inside.
  const kept = new Set([...observed.netns].filter(([n, i]) => !removed.has(n) && i !== undefined).map(([, i]) => i));
  const inodes = new Set(netns.map((n) => observed.netns.get(n)).filter((i): i is number => i !== undefined && !kept.has(i)));
  const pids = observed.processes.filter((p) => p.netInode !== undefined && inodes.has(p.netInode)).map((p) => p.pid);
  const shared = netns.filter((n) => kept.has(observed.netns.get(n) ?? -1)).map(podOfNetns).filter((p) => p !== undefined);
  if (shared.length) {
    const owned = new Set(shared.map((p) => `${p.lab}\0${p.key}`));
    // Scanned now, not from `observed`: a container started since then is the pod's too.
    for (const p of await scanProcesses()) if (p.pid !== process.pid && owned.has(`${p.marks.KEMU_LAB}\0${p.marks.KEMU_POD}`)) pids.push(p.pid);
  }
  await killAndWait([...new Set([...pids, ...alsoKill])]);
  const byNetns = new Map<string, string[]>();
  for (const c of cuts) byNetns.set(c.netns, [...(byNetns.get(c.netns) ?? []), c.link]);
  await mapLimit([...byNetns], 8, ([ns, links]) => deleteLinks(ns, links));
  await deleteNetns(netns);
}
