/**
 * MetalLB BGP sessions (plan/metallb-bgp.ts): keep the fabric router's BIRD and each node's speaker
 * running with their planned configs. A speaker whose announcements changed is reconfigured in place
 * (`birdc configure`: its session stays up and only the changed routes are sent or withdrawn); a
 * changed router, or one that died, is restarted. A stopped node's speaker is frozen with the node and
 * left alone: the router withdraws its routes when the session's hold timer runs out, as a real router does.
 */
import type { ServiceEndpoints } from '../../cluster/endpoints.js';
import type { ClusterState } from '../../cluster/types.js';
import { startBird } from '../../host/bird.js';
import { isAlive, killRecorded } from '../../host/netns.js';
import { mapLimit, run } from '../../host/run.js';
import { writeFile } from 'node:fs/promises';
import { planLbAnnouncements } from '../../plan/metallb.js';
import { planRouter, planSpeakers, type BirdDaemonPlan } from '../../plan/metallb-bgp.js';
import type { LabRecord } from '../state.js';

export type BgpDaemons = Record<string, { pid: number; hash: string }>;

export async function syncMetallbBgp(c: ClusterState, record: LabRecord, slices: ServiceEndpoints[]): Promise<void> {
  const down = new Set(record.stoppedNodes ?? []);
  const router = planRouter(c);
  const plans: BirdDaemonPlan[] = router ? [router, ...planSpeakers(c, planLbAnnouncements(c, slices, down))] : [];
  const had: BgpDaemons = record.metallbBgp ?? {};
  if (plans.length === 0 && Object.keys(had).length === 0) return;
  const wanted = new Set(plans.map((p) => p.name));
  const stale = Object.entries(had).filter(([name]) => !wanted.has(name));
  await killRecorded(stale.map(([, d]) => d.pid), { KEMU_LAB: c.lab });
  const next: BgpDaemons = Object.fromEntries(Object.entries(had).filter(([name]) => wanted.has(name)));
  await mapLimit(plans, 8, async (p) => {
    const cur = next[p.name];
    if (down.has(p.name)) return; // frozen with its node
    const alive = cur && (await isAlive(cur.pid, 'bird'));
    if (alive && cur.hash === p.hash) return;
    if (alive && p.name !== 'router') {
      await writeFile(p.configFile, p.config);
      const r = await run('birdc', ['-s', p.socket, 'configure'], { reject: false });
      if (r.ok && /Reconfigured|Reconfiguration in progress/.test(r.stdout)) {
        next[p.name] = { pid: cur.pid, hash: p.hash };
        return;
      }
    }
    if (cur) await killRecorded([cur.pid], { KEMU_LAB: c.lab });
    // Marked apart from Calico's BIRD of the same node, so restarting one never kills the other.
    next[p.name] = { pid: await startBird(c.lab, p, `metallb-${p.name}`), hash: p.hash };
  });
  record.metallbBgp = next;
}
