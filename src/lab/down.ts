/** `kemu down`: remove every namespace, veth, mount, process and file of a lab, whatever state it is in. */
import { rm } from 'node:fs/promises';
import { checkedLabPaths, sweepLabTmp } from '../host/lab-dirs.js';
import { listNetns } from '../host/netns.js';
import { withLabLock } from './lock.js';
import { observeLab } from './observe.js';
import { PhaseTimer, type Reporter } from './progress.js';
import { removeRecord } from './state.js';
import { removeNamespaces } from './teardown.js';

export interface DownResult {
  lab: string;
  namespaces: number;
  processes: number;
  timings: Array<{ phase: string; ms: number }>;
}

export async function down(lab: string, reporter: Reporter): Promise<DownResult> {
  const timer = new PhaseTimer(reporter);
  return withLabLock(lab, async () => {
    timer.start('observe');
    const observed = await observeLab(lab);
    timer.start('remove');
    const netns = [...observed.netns.keys()];
    // Namespaces go with their veths; no veth of a lab lives outside the lab's namespaces.
    await removeNamespaces(observed, netns, [], observed.processes.map((p) => p.pid));
    const left = await listNetns(`kemu-${lab}.`);
    if (left.length) throw new Error(`could not remove namespaces: ${left.join(', ')}`);
    await sweepLabTmp(lab, { legacy: true });
    await rm((await checkedLabPaths(lab)).runDir, { recursive: true, force: true });
    await removeRecord(lab);
    timer.end();
    return { lab, namespaces: netns.length, processes: observed.processes.length, timings: timer.timings };
  });
}
