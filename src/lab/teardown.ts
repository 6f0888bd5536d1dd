/** Removing parts of a lab: processes first, then veths cut from the side that stays, then namespaces. */
import { killAndWait } from '../host/netns.js';
import { deleteLinks, deleteNetns } from '../host/links.js';
import { mapLimit } from '../host/run.js';
import type { Observed } from './observe.js';

export async function removeNamespaces(observed: Observed, netns: string[], cuts: Array<{ netns: string; link: string }>, alsoKill: number[] = []): Promise<void> {
  const inodes = new Set(netns.map((n) => observed.netns.get(n)).filter((i): i is number => i !== undefined));
  const pids = observed.processes.filter((p) => p.netInode !== undefined && inodes.has(p.netInode)).map((p) => p.pid);
  await killAndWait([...new Set([...pids, ...alsoKill])]);
  const byNetns = new Map<string, string[]>();
  for (const c of cuts) byNetns.set(c.netns, [...(byNetns.get(c.netns) ?? []), c.link]);
  await mapLimit([...byNetns], 8, ([ns, links]) => deleteLinks(ns, links));
  await deleteNetns(netns);
}
