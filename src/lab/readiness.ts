/** Which running pods are ready: all their containers run and every readiness probe passes. */
import type { ClusterState } from '../cluster/types.js';
import { failingProbes } from '../host/probes.js';
import { nodeNetns } from '../topology/names.js';

export async function readyPods(c: ClusterState, running: Set<string>): Promise<Set<string>> {
  const probes = c.pods.flatMap((p) => {
    const key = `${p.namespace}/${p.name}`;
    if (!running.has(key)) return [];
    return p.containers.flatMap((ct) => (ct.readinessProbe ? [{ key, nodeNetns: nodeNetns(c.lab, p.nodeName), ip: p.ip, probe: ct.readinessProbe }] : []));
  });
  const failing = probes.length ? await failingProbes(probes) : new Set<string>();
  return new Set([...running].filter((k) => !failing.has(k)));
}
