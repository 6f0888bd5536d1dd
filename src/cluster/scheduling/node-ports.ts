/**
 * kube-scheduler's NodePorts filter: a node whose pods already hold one of the host ports the pod
 * asks for (same protocol and port, and the same host IP or either one 0.0.0.0) cannot take it. A
 * hostNetwork pod's container ports are host ports (the API server defaults hostPort to containerPort).
 *
 * kemu's default server stands in for a hostNetwork pod's image and listens in the node's namespace on
 * the ports it would serve (8080 when nothing is declared, probed ports): those count here too, so two
 * such pods on one node are a Pending pod, not a second server that cannot bind.
 */
import { hostPortsOf, type HostPortMapping } from '../../topology/host-ports.js';
import { listeningPorts } from '../pods.js';
import type { StoredPod } from '../store.js';

export const REASON_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";

export type WantedPort = Pick<HostPortMapping, 'hostPort' | 'protocol' | 'hostIP'>;

/** The host ports a pod takes on its node. */
export function wantedHostPorts(pod: StoredPod): WantedPort[] {
  const declared: WantedPort[] = hostPortsOf(pod.spec as Parameters<typeof hostPortsOf>[0]).map((m) => ({ hostPort: m.hostPort, protocol: m.protocol, hostIP: m.hostIP }));
  if (pod.spec?.hostNetwork !== true) return declared;
  const served = listeningPorts(pod.spec as Parameters<typeof listeningPorts>[0]).filter((l) => !declared.some((d) => d.protocol === l.protocol && d.hostPort === l.port));
  return [...declared, ...served.map((l) => ({ hostPort: l.port, protocol: l.protocol, hostIP: '' }))];
}

const conflicts = (a: WantedPort, b: WantedPort) => a.protocol === b.protocol && a.hostPort === b.hostPort && (a.hostIP === '' || b.hostIP === '' || a.hostIP === b.hostIP);

/** NodePorts' Filter over the ports the node's pods hold. */
export function nodePortsFilter(wanted: WantedPort[], used: WantedPort[]): string | undefined {
  return wanted.some((w) => used.some((u) => conflicts(w, u))) ? REASON_NODE_PORTS : undefined;
}
