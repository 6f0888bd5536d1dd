/**
 * Pods bound to one node that want the same host port. The scheduler's NodePorts filter keeps the pods
 * it places apart; a pod pinned with spec.nodeName skips it, and the kubelet's admission would reject
 * the later one. kemu refuses it by name instead of starting a server that cannot bind.
 */
import type { InputProblem } from '../topology/errors.js';
import { nodePortsFilter, wantedHostPorts, type WantedPort } from './scheduling/node-ports.js';
import { isFinished, objectKey, type StoredPod } from './store.js';

/** `pods` in the order they hold their ports (the ones running before first). */
export function hostPortConflicts(pods: StoredPod[], originOf: (pod: StoredPod) => string): InputProblem[] {
  const held = new Map<string, Array<{ key: string; ports: WantedPort[] }>>();
  const problems: InputProblem[] = [];
  for (const pod of pods) {
    const node = pod.spec?.nodeName;
    if (!node || isFinished(pod)) continue;
    const ports = wantedHostPorts(pod);
    if (ports.length === 0) continue;
    const key = objectKey('Pod', pod.metadata);
    const on = held.get(node) ?? [];
    const other = on.find((o) => nodePortsFilter(ports, o.ports));
    if (other) {
      const port = ports.find((p) => nodePortsFilter([p], other.ports))!;
      problems.push({
        path: `${originOf(pod)}.spec.nodeName`,
        message: `pod ${key} is pinned to node ${node}, where pod ${other.key} already holds host port ${port.protocol}/${port.hostPort}: the kubelet would reject it (node(s) didn't have free ports for the requested pod ports); pin it to another node, or leave nodeName out and let the scheduler place it`,
      });
      continue;
    }
    held.set(node, [...on, { key, ports }]);
  }
  return problems;
}
