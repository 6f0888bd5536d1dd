/**
 * Readiness as one reconcile pass finds it (`up`, `apply`, the supervisor's reconciles): each running
 * container's startupProbe once, if it has not passed yet and its initialDelaySeconds are over (a pass
 * marks the container started), then the readiness probes of started containers whose delay is over.
 * A pod is ready when every container runs, has started, and passes its readiness probe.
 */
import type { ClusterState, ProbeSpec } from '../../cluster/types.js';
import { failingProbes, type Probe } from '../../host/probes.js';
import { nodeNetns } from '../../topology/names.js';
import type { ContainerRuntime, LabRecord } from '../state.js';

const delayOver = (rt: ContainerRuntime, podStarted: string, spec: ProbeSpec, now: number) => now >= (Date.parse(rt.startedAt ?? podStarted) || 0) + spec.initialDelaySeconds * 1000;

export async function readyPods(c: ClusterState, running: Set<string>, record: LabRecord, now = Date.now()): Promise<Set<string>> {
  const pods = c.pods.filter((p) => running.has(`${p.namespace}/${p.name}`));
  const probe = (p: (typeof pods)[number], spec: ProbeSpec, key: string): Probe => ({ key, nodeNetns: nodeNetns(c.lab, p.nodeName), ip: p.ip, probe: spec });

  const startup: Array<Probe & { rt: ContainerRuntime }> = [];
  for (const p of pods) {
    const rt = record.pods[`${p.namespace}/${p.name}`]!;
    for (const ct of p.containers) {
      const cr = rt.containers[ct.name];
      if (ct.startupProbe && cr && !cr.started && delayOver(cr, rt.startedAt, ct.startupProbe, now)) startup.push({ ...probe(p, ct.startupProbe, `${startup.length}`), rt: cr });
    }
  }
  const startFailed = startup.length ? await failingProbes(startup) : new Set<string>();
  for (const s of startup) if (!startFailed.has(s.key)) s.rt.started = true;

  const ready = new Set<string>();
  const readiness: Probe[] = [];
  for (const p of pods) {
    const key = `${p.namespace}/${p.name}`;
    const rt = record.pods[key]!;
    const started = p.containers.every((ct) => !ct.startupProbe || rt.containers[ct.name]?.started);
    const delayed = p.containers.some((ct) => ct.readinessProbe && !delayOver(rt.containers[ct.name]!, rt.startedAt, ct.readinessProbe, now));
    if (!started || delayed) continue;
    ready.add(key);
    for (const ct of p.containers) if (ct.readinessProbe) readiness.push(probe(p, ct.readinessProbe, key));
  }
  const failing = readiness.length ? await failingProbes(readiness) : new Set<string>();
  for (const k of failing) ready.delete(k);
  return ready;
}
