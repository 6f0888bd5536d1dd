/**
 * The kubelet's status updates: each bound pod's phase, addresses, conditions and container statuses
 * as the data plane has them, written into the store only when they changed.
 */
import type { ClusterState } from '../cluster/types.js';
import { getObject, putObject, type Store, type StoredPod } from '../cluster/store.js';
import type { LabRecord } from './state.js';

type PodStatus = NonNullable<StoredPod['status']>;
type Condition = NonNullable<PodStatus['conditions']>[number];

export function writePodStatuses(store: Store, c: ClusterState, record: LabRecord, now: string): void {
  for (const p of c.pods) {
    const key = `${p.namespace}/${p.name}`;
    const obj = getObject(store, 'Pod', key);
    const rt = record.pods[key];
    if (!obj || !rt) continue;
    const prev = obj.status ?? {};
    const containers = p.containers.map((ct) => {
      const r = rt.containers[ct.name];
      const running = r !== undefined && !r.diedAt;
      return {
        name: ct.name,
        image: ct.image,
        imageID: '',
        ready: running && rt.ready,
        started: running,
        restartCount: r?.restarts ?? 0,
        state: running ? { running: { startedAt: rt.startedAt } } : { waiting: { reason: r ? (p.restartPolicy === 'Never' ? 'Error' : 'CrashLoopBackOff') : 'ContainerCreating' } },
      };
    });
    const anyRunning = containers.some((x) => x.started);
    const phase = anyRunning ? 'Running' : p.restartPolicy === 'Never' && containers.length ? 'Failed' : 'Pending';
    const allReady = rt.ready && containers.every((x) => x.ready);
    const cond = (type: string, ok: boolean): Condition => {
      const was = prev.conditions?.find((x) => x.type === type);
      const status = ok ? 'True' : 'False';
      return { type, status, lastTransitionTime: was?.status === status ? was.lastTransitionTime : now };
    };
    const status: PodStatus = {
      phase,
      hostIP: p.hostIP,
      hostIPs: [{ ip: p.hostIP }],
      podIP: p.ip,
      podIPs: [{ ip: p.ip }],
      startTime: rt.startedAt,
      conditions: [cond('PodScheduled', true), cond('Initialized', true), cond('ContainersReady', allReady), cond('Ready', allReady)],
      containerStatuses: containers,
    };
    // Both sides are built here with the same key order (the stored one came back through JSON), so plain JSON compares.
    if (JSON.stringify(status) !== JSON.stringify(prev)) putObject(store, 'Pod', { ...obj, status });
  }
}
