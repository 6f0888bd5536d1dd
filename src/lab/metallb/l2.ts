/**
 * MetalLB's layer-2 speakers: each L2 address is answered for by the node plan/metallb.ts elects;
 * when the owner changes, the old node stops answering, the new one starts and sends gratuitous ARP.
 * The record keeps `address → node` and when each node took it (for `describe svc`'s events).
 */
import type { ServiceEndpoints } from '../../cluster/endpoints.js';
import type { ClusterState } from '../../cluster/types.js';
import { announceOnNode, sendGratuitousArp, stopGratuitousArp, withdrawOnNode } from '../../host/arp-announce.js';
import { planLbAnnouncements } from '../../plan/metallb.js';
import { nodeNetns } from '../../topology/names.js';
import type { LabRecord } from '../state.js';

export interface L2Record {
  node: string;
  service: string;
  since: string;
  /** its gratuitous ARP sender while it repeats */
  garpPid?: number;
}

/** `fresh`: node namespaces just (re)created, which hold none of the entries the record lists. */
export async function syncL2Announcements(c: ClusterState, record: LabRecord, slices: ServiceEndpoints[], fresh: Set<string> = new Set()): Promise<void> {
  const down = new Set(record.stoppedNodes ?? []);
  const want = new Map(planLbAnnouncements(c, slices, down).l2.map((a) => [a.ip, a]));
  const had = record.metallbL2 ?? {};
  const byNode = (pick: (ip: string) => string | undefined, ips: string[]) => {
    const m = new Map<string, string[]>();
    for (const ip of ips) {
      const n = pick(ip);
      if (n && c.nodes.some((x) => x.name === n)) m.set(n, [...(m.get(n) ?? []), ip]);
    }
    return m;
  };
  const moved = Object.keys(had).filter((ip) => want.get(ip)?.node !== had[ip]!.node);
  const gained = [...want.keys()].filter((ip) => had[ip]?.node !== want.get(ip)!.node || fresh.has(want.get(ip)!.node));
  for (const ip of moved) stopGratuitousArp(had[ip]!.garpPid);
  for (const [node, ips] of byNode((ip) => had[ip]!.node, moved)) await withdrawOnNode(nodeNetns(c.lab, node), ips);
  const garp = new Map<string, number | undefined>();
  for (const [node, ips] of byNode((ip) => want.get(ip)!.node, gained)) {
    await announceOnNode(nodeNetns(c.lab, node), ips);
    for (const ip of ips) garp.set(ip, sendGratuitousArp(nodeNetns(c.lab, node), ip));
  }
  if (moved.length === 0 && gained.length === 0) return;
  const now = new Date().toISOString();
  record.metallbL2 = Object.fromEntries(
    [...want].map(([ip, a]) => [ip, had[ip]?.node === a.node ? { ...had[ip]!, ...(garp.get(ip) ? { garpPid: garp.get(ip) } : {}) } : { node: a.node, service: a.service, since: now, ...(garp.get(ip) ? { garpPid: garp.get(ip) } : {}) }]),
  );
}
