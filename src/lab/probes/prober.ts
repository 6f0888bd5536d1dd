/**
 * The kubelet's probe workers, pure: one per container and probe kind, due every periodSeconds from
 * initialDelaySeconds after the container started; a startupProbe gates the other two until it passes;
 * successThreshold / failureThreshold consecutive results flip a verdict. A restarted container
 * (another pid) gets fresh workers, as the kubelet's do.
 */
import type { PodState, ProbeSpec } from '../../cluster/types.js';
import type { PodRuntime } from '../state.js';

export type ProbeKind = 'startup' | 'liveness' | 'readiness';

interface Worker {
  pod: string;
  kind: ProbeKind;
  next: number;
  successes: number;
  failures: number;
  /** readiness: the current verdict (starts at what the record says) */
  ready?: boolean;
}

/** Probe workers by `pod/container/kind/pid`; the supervisor keeps one across ticks. */
export interface ProberState {
  workers: Map<string, Worker>;
}

export const newProberState = (): ProberState => ({ workers: new Map() });

export interface DueProbe {
  id: string;
  pod: string;
  container: string;
  kind: ProbeKind;
  spec: ProbeSpec;
  nodeName: string;
  ip: string;
}

export interface ProbeVerdicts {
  /** Containers whose startupProbe passed. */
  started: Array<{ pod: string; container: string }>;
  /** Containers to kill and restart, with the kubelet's message. */
  kill: Array<{ pod: string; container: string; message: string }>;
  /** Pods whose readiness, by the probes' thresholds, differs from the record's. */
  readinessChanged: string[];
}

const KIND_FIELD = { startup: 'startupProbe', liveness: 'livenessProbe', readiness: 'readinessProbe' } as const;

/** The probes due at `now` (workers of containers that are gone are dropped). */
export function dueProbes(pods: PodState[], runtimes: Record<string, PodRuntime>, state: ProberState, now: number): DueProbe[] {
  const due: DueProbe[] = [];
  const live = new Set<string>();
  for (const p of pods) {
    const key = `${p.namespace}/${p.name}`;
    const rt = runtimes[key];
    if (!rt || p.terminating) continue;
    for (const c of p.containers) {
      const cur = rt.containers[c.name];
      if (!cur || cur.diedAt) continue;
      const gated = c.startupProbe !== undefined && !cur.started;
      const kinds: ProbeKind[] = gated ? ['startup'] : ['liveness', 'readiness'];
      for (const kind of kinds) {
        const spec = c[KIND_FIELD[kind]];
        if (!spec) continue;
        const id = `${key}/${c.name}/${kind}/${cur.pid}`;
        live.add(id);
        let w = state.workers.get(id);
        if (!w) {
          const started = Date.parse(cur.startedAt ?? rt.startedAt) || now;
          w = { pod: key, kind, next: Math.max(now, started + spec.initialDelaySeconds * 1000), successes: 0, failures: 0, ...(kind === 'readiness' ? { ready: rt.ready } : {}) };
          state.workers.set(id, w);
        }
        if (now < w.next) continue;
        w.next = now + spec.periodSeconds * 1000;
        due.push({ id, pod: key, container: c.name, kind, spec, nodeName: p.nodeName, ip: p.ip });
      }
    }
  }
  for (const id of state.workers.keys()) if (!live.has(id)) state.workers.delete(id);
  return due;
}

/** Fold the results of `due` (indexes in `failed` failed) into the workers; what the kubelet would now do. */
export function foldResults(due: DueProbe[], failed: Set<number>, state: ProberState, runtimes: Record<string, PodRuntime>): ProbeVerdicts {
  const out: ProbeVerdicts = { started: [], kill: [], readinessChanged: [] };
  due.forEach((d, i) => {
    const w = state.workers.get(d.id);
    if (!w) return;
    const ok = !failed.has(i);
    w.successes = ok ? w.successes + 1 : 0;
    w.failures = ok ? 0 : w.failures + 1;
    if (d.kind === 'startup') {
      if (ok) out.started.push({ pod: d.pod, container: d.container });
      else if (w.failures >= d.spec.failureThreshold) out.kill.push({ pod: d.pod, container: d.container, message: `Container ${d.container} failed startup probe, will be restarted` });
    } else if (d.kind === 'liveness') {
      if (w.failures >= d.spec.failureThreshold) out.kill.push({ pod: d.pod, container: d.container, message: `Container ${d.container} failed liveness probe, will be restarted` });
    } else if (ok ? w.successes >= d.spec.successThreshold : w.failures >= d.spec.failureThreshold) {
      w.ready = ok;
    }
  });
  for (const pod of new Set(due.filter((d) => d.kind === 'readiness').map((d) => d.pod))) {
    const rt = runtimes[pod];
    if (!rt) continue;
    const verdicts = [...state.workers.values()].filter((w) => w.pod === pod && w.kind === 'readiness').map((w) => w.ready);
    const ready = verdicts.every((v) => v === true);
    if (ready !== rt.ready) out.readinessChanged.push(pod);
  }
  return out;
}
