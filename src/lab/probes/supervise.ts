/**
 * The supervisor's probe loop: run the probes that are due (one shell per node), fold the results
 * into the workers, and say whether the lab needs a reconcile; the verdicts that change the record
 * (a startup probe passed, a container to restart) are applied under the lab lock just before it.
 */
import { failingProbeIndexes } from '../../host/probes.js';
import { nodeNetns } from '../../topology/names.js';
import { graceMs, stopContainers } from '../kubelet/exits.js';
import type { LabRecord } from '../state.js';
import { dueProbes, foldResults, newProberState, type ProberState, type ProbeVerdicts } from './prober.js';

export interface SupervisorProbes extends ProberState {
  /** Verdicts waiting for the lock. */
  pending: Pick<ProbeVerdicts, 'started' | 'kill'> & { pids: Map<string, number> };
}

export const newSupervisorProbes = (): SupervisorProbes => ({ ...newProberState(), pending: { started: [], kill: [], pids: new Map() } });

/** Run the due probes; a reason to reconcile when a verdict changed. */
export async function runDueProbes(record: LabRecord, state: SupervisorProbes, now = Date.now()): Promise<string | undefined> {
  const due = dueProbes(record.cluster.pods, record.pods, state, now);
  if (due.length === 0) return undefined;
  const failed = await failingProbeIndexes(due.map((d) => ({ key: d.id, nodeNetns: nodeNetns(record.lab, d.nodeName), ip: d.ip, probe: d.spec })));
  const v = foldResults(due, failed, state, record.pods);
  const pin = (x: { pod: string; container: string }) => state.pending.pids.set(`${x.pod}/${x.container}`, record.pods[x.pod]!.containers[x.container]!.pid);
  for (const x of [...v.started, ...v.kill]) pin(x);
  state.pending.started.push(...v.started);
  state.pending.kill.push(...v.kill);
  if (v.kill.length) return v.kill[0]!.message.replace('Container ', `container ${v.kill[0]!.pod}/`);
  if (v.started.length) return `startup probe of ${v.started[0]!.pod}/${v.started[0]!.container} passed`;
  if (v.readinessChanged.length) return `readiness of ${v.readinessChanged[0]} changed`;
  return undefined;
}

/**
 * Apply the pending verdicts to a fresh record (under the lab lock): mark started containers, stop the
 * ones a probe failed (the reconcile that follows restarts them after the back-off). Verdicts about a
 * container instance that is gone meanwhile are dropped.
 */
export async function applyProbeVerdicts(record: LabRecord, state: SupervisorProbes): Promise<void> {
  const { started, kill, pids } = state.pending;
  state.pending = { started: [], kill: [], pids: new Map() };
  const same = (x: { pod: string; container: string }) => record.pods[x.pod]?.containers[x.container]?.pid === pids.get(`${x.pod}/${x.container}`);
  for (const x of started.filter(same)) record.pods[x.pod]!.containers[x.container]!.started = true;
  const grace = (pod: string) => graceMs(record.store.objects.Pod[pod]?.spec?.terminationGracePeriodSeconds);
  await stopContainers(record, kill.filter(same).map((k) => ({ ...k, graceMs: grace(k.pod) })));
}
