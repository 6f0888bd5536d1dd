/**
 * Pod sandboxes read back, cheaply, as the kubelet and calico-node notice them: the holder still runs,
 * the pod's network namespace is still named, and its eth0 (the pod end of the cali veth; deleting
 * either end removes both) still exists. No process is spawned: /proc/<holder>/net/dev lists the
 * interfaces of the holder's namespace. A missing veth is repaired in place (veth, /32 route, proxy
 * ARP settings come from the node's defaults); a dead holder or a lost namespace is a changed sandbox.
 */
import { existsSync } from 'node:fs';
import { HOLDER_BIN } from '../../host/sandbox.js';
import { isAliveSync, NETNS_DIR, readProcSync } from '../../host/netns.js';
import { ipBatch } from '../../host/run.js';
import type { PodPlan } from '../../plan/types.js';
import { podNetns } from '../../topology/names.js';
import type { LabRecord, PodRuntime } from '../state.js';
import { getObject, isFinished } from '../../cluster/store.js';

export type SandboxFault = 'holder' | 'netns' | 'veth';

export function sandboxFault(netns: string, rt: PodRuntime): SandboxFault | undefined {
  if (!isAliveSync(rt.holderPid, HOLDER_BIN)) return 'holder';
  if (!existsSync(`${NETNS_DIR}/${netns}`)) return 'netns';
  const dev = readProcSync(`/proc/${rt.holderPid}/net/dev`);
  if (dev === undefined) return 'holder';
  if (!/^\s*eth0:/m.test(dev)) return 'veth';
  return undefined;
}

export const faultText: Record<SandboxFault, string> = {
  holder: 'the pod sandbox (holder process) died',
  netns: "the pod's network namespace is gone",
  veth: "the pod's veth is gone",
};

/** The supervisor's check: the first pod whose sandbox needs the kubelet, as a reason, or undefined. */
export function sandboxTrouble(record: LabRecord): string | undefined {
  for (const p of record.cluster.pods) {
    const key = `${p.namespace}/${p.name}`;
    const rt = record.pods[key];
    if (!rt || p.terminating) continue;
    // A finished pod's sandbox is removed by the next pass anyway: nothing to heal.
    const obj = getObject(record.store, 'Pod', key);
    if (!obj || isFinished(obj)) continue;
    const f = sandboxFault(podNetns(record.lab, p.namespace, p.name), rt);
    if (f) return `pod ${key}: ${faultText[f]}`;
  }
  return undefined;
}

/** Recreate the veth pair (pod side, then node side) of pods whose holder runs but whose eth0 is gone. */
export async function repairVeths(record: LabRecord, pods: PodPlan[]): Promise<string[]> {
  const repaired: string[] = [];
  for (const p of pods) {
    const rt = record.pods[p.key];
    if (!rt || p.terminating || sandboxFault(p.netns, rt) !== 'veth') continue;
    await ipBatch(p.netns, p.podLines.filter((l) => l !== 'link set lo up'));
    await ipBatch(p.nodeNetns, p.nodeLines);
    repaired.push(`veth ${p.caliName} of ${p.key}`);
  }
  return repaired;
}

export const SANDBOX_CHANGED = 'Pod sandbox changed, it will be killed and re-created.';

/** Before a changed sandbox is rebuilt: its containers' restart counts, to carry over (+1, as the kubelet counts a sandbox change). */
export function keepRestarts(record: LabRecord, keys: string[]): Map<string, PodRuntime['containers']> {
  const out = new Map<string, PodRuntime['containers']>();
  for (const k of keys) if (record.pods[k]) out.set(k, structuredClone(record.pods[k]!.containers));
  return out;
}

/** After the rebuild: restartCount + 1 and lastState saying why. */
export function carryRestarts(record: LabRecord, kept: Map<string, PodRuntime['containers']>, now: string): void {
  for (const [k, before] of kept) {
    const rt = record.pods[k];
    if (!rt) continue;
    for (const [name, c] of Object.entries(rt.containers)) {
      const b = before[name];
      if (!b) continue;
      c.restarts = b.restarts + 1;
      c.last = { exitCode: 137, reason: 'SandboxChanged', message: SANDBOX_CHANGED, ...(b.startedAt ? { startedAt: b.startedAt } : {}), finishedAt: now };
    }
  }
}

/**
 * A pod netns removed by name (`ip netns del`) lives on while its holder does, with its veth still in
 * the node: cut that veth before the sandbox is rebuilt under the same names.
 */
export async function cutOrphanVeths(pods: PodPlan[], named: Set<string>): Promise<void> {
  // Rare (one per lost namespace): one small batch each, a veth already gone is fine.
  await Promise.all(pods.filter((p) => !named.has(p.netns)).map((p) => ipBatch(p.nodeNetns, [`link del ${p.caliName}`]).catch(() => undefined)));
}
