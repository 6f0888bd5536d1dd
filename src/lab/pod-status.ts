/**
 * The kubelet's status updates: each bound pod's phase, addresses, conditions and container statuses
 * (state, lastState, restartCount, started, ready) as the data plane has them, written into the store
 * only when they changed. A pod whose containers all ended for good (restartPolicy Never, or
 * OnFailure with every exit 0) is Succeeded or Failed; the next pass removes its sandbox.
 */
import type { ClusterState, PodState } from '../cluster/types.js';
import { getObject, putObject, type Store, type StoredPod } from '../cluster/store.js';
import { restartsAfter } from './kubelet/exits.js';
import type { ContainerTermination, LabRecord, PodRuntime } from './state.js';

type PodStatus = NonNullable<StoredPod['status']>;
type Condition = NonNullable<PodStatus['conditions']>[number];
type ContainerStatus = NonNullable<PodStatus['containerStatuses']>[number];

const terminated = (t: ContainerTermination) => ({ terminated: { exitCode: t.exitCode, reason: t.reason, ...(t.message ? { message: t.message } : {}), ...(t.startedAt ? { startedAt: t.startedAt } : {}), finishedAt: t.finishedAt } });

function containerStatus(p: PodState, ct: PodState['containers'][number], rt: PodRuntime): ContainerStatus & { ended: boolean } {
  const r = rt.containers[ct.name];
  const running = r !== undefined && !r.diedAt;
  const ended = r !== undefined && r.diedAt !== undefined && !restartsAfter(p.restartPolicy, r.exit);
  const started = running && (!ct.startupProbe || r.started === true);
  const state = running
    ? { running: { startedAt: r.startedAt ?? rt.startedAt } }
    : ended
      ? terminated(r.exit!)
      : { waiting: { reason: r ? 'CrashLoopBackOff' : 'ContainerCreating' } };
  // lastState: the previous instance; while waiting for a restart, the one that just ended.
  const last = running || ended ? r.last : r?.exit;
  return {
    name: ct.name,
    image: ct.image,
    imageID: '',
    ready: started && rt.ready,
    started,
    restartCount: r?.restarts ?? 0,
    state,
    lastState: last ? terminated(last) : {},
    ended,
  };
}

/** The kubelet's phase: Pending until a container ran; Succeeded/Failed once every container ended for good; else Running. */
function phaseOf(statuses: Array<ContainerStatus & { ended: boolean }>): string {
  if (statuses.length === 0 || statuses.every((s) => s.state?.waiting?.reason === 'ContainerCreating')) return 'Pending';
  if (statuses.every((s) => s.ended)) return statuses.every((s) => s.state?.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed';
  return 'Running';
}

export function writePodStatuses(store: Store, c: ClusterState, record: LabRecord, now: string): void {
  for (const p of c.pods) {
    const key = `${p.namespace}/${p.name}`;
    const obj = getObject(store, 'Pod', key);
    const rt = record.pods[key];
    if (!obj || !rt) continue;
    const prev = obj.status ?? {};
    const all = p.containers.map((ct) => containerStatus(p, ct, rt));
    const phase = phaseOf(all);
    const done = phase === 'Succeeded' || phase === 'Failed';
    const allReady = !done && rt.ready && all.every((x) => x.ready);
    const cond = (type: string, ok: boolean, reason?: string): Condition => {
      const was = prev.conditions?.find((x) => x.type === type);
      const status = ok ? 'True' : 'False';
      return { type, status, ...(reason ? { reason } : {}), lastTransitionTime: was?.status === status ? was.lastTransitionTime : now };
    };
    const completed = done ? 'PodCompleted' : undefined;
    const status: PodStatus = {
      phase,
      hostIP: p.hostIP,
      hostIPs: [{ ip: p.hostIP }],
      podIP: p.ip,
      podIPs: [{ ip: p.ip }],
      startTime: rt.startedAt,
      conditions: [cond('PodScheduled', true), cond('Initialized', true, completed), cond('ContainersReady', allReady, completed), cond('Ready', allReady, completed)],
      containerStatuses: all.map(({ ended: _e, ...s }) => s),
    };
    // Both sides are built here with the same key order (the stored one came back through JSON), so plain JSON compares.
    if (JSON.stringify(status) !== JSON.stringify(prev)) putObject(store, 'Pod', { ...obj, status });
  }
}
