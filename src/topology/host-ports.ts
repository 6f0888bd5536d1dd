/**
 * hostNetwork and hostPort, checked as the API server checks them (pkg/apis/core/validation:
 * validateContainerPorts, validateHostNetwork, AccumulateUniqueHostPorts) and defaulted as it defaults
 * them (SetDefaults_Pod: a hostNetwork pod's hostPort is its containerPort). The pod-spec parts kemu
 * needs to run a pod in its node's network namespace or to map its host ports (plan/portmap).
 */
import type { V1PodSpec } from '@kubernetes/client-node';
import { isIP } from 'node:net';
import { programOf } from '../cluster/programs.js';

type Add = (path: string, message: string) => void;

/** A container port the node maps (hostPort set), as the kubelet hands it to the CNI portmap plugin. */
export interface HostPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  /** '' for every local address (0.0.0.0 as the CNI plugin treats it). */
  hostIP: string;
}

/** The hostPort a container port ends up with: its own, or (hostNetwork) its containerPort. */
export const effectiveHostPort = (hostNetwork: boolean, p: { containerPort: number; hostPort?: number }): number => (p.hostPort ? p.hostPort : hostNetwork ? p.containerPort : 0);

/** Every port of the pod's containers that takes a port of the node (the NodePorts filter's input). */
export function hostPortsOf(spec: V1PodSpec | undefined): HostPortMapping[] {
  const hostNetwork = spec?.hostNetwork === true;
  return (spec?.containers ?? []).flatMap((c) =>
    (c.ports ?? []).flatMap((p) => {
      const hostPort = effectiveHostPort(hostNetwork, p);
      return hostPort ? [{ hostPort, containerPort: p.containerPort, protocol: (p.protocol ?? 'TCP') as HostPortMapping['protocol'], hostIP: p.hostIP && p.hostIP !== '0.0.0.0' ? p.hostIP : '' }] : [];
    }),
  );
}

export function checkHostPorts(spec: V1PodSpec | undefined, specPath: string, add: Add): void {
  const hostNetwork = spec?.hostNetwork === true;
  if (spec?.hostNetwork !== undefined && typeof spec.hostNetwork !== 'boolean') add(`${specPath}.hostNetwork`, `${JSON.stringify(spec.hostNetwork)} must be true or false`);
  if (hostNetwork)
    (spec?.containers ?? []).forEach((c, i) => {
      const program = programOf(c.image ?? '');
      if (program) add(`${specPath}.hostNetwork`, `true is not emulated for a pod that runs ${program} (containers[${i}].image ${c.image}): kemu runs that program in a pod network namespace only; leave hostNetwork out`);
    });
  const seen = new Set<string>();
  (spec?.containers ?? []).forEach((c, i) =>
    (c.ports ?? []).forEach((p, j) => {
      const path = `${specPath}.containers[${i}].ports[${j}]`;
      if (p.hostPort !== undefined && p.hostPort !== 0 && !(Number.isInteger(p.hostPort) && p.hostPort >= 1 && p.hostPort <= 65535)) {
        add(`${path}.hostPort`, `Invalid value: ${JSON.stringify(p.hostPort)}: must be between 1 and 65535, inclusive`);
        return;
      }
      if (hostNetwork && p.hostPort && p.hostPort !== p.containerPort) add(`${path}.hostPort`, `Invalid value: ${p.hostPort}: must match \`containerPort\` when \`hostNetwork\` is true`);
      // The API server takes any string here; the portmap plugin cannot DNAT for one that is not an address.
      if (p.hostIP !== undefined && p.hostIP !== '' && isIP(p.hostIP) !== 4)
        add(`${path}.hostIP`, `'${p.hostIP}' is not an IPv4 address: kemu maps host ports on the node's IPv4 addresses only; give one of them, or leave hostIP out for all of them`);
      const hostPort = effectiveHostPort(hostNetwork, p);
      if (!hostPort) return;
      const key = `${p.protocol ?? 'TCP'}/${p.hostIP ?? ''}/${hostPort}`;
      if (seen.has(key)) add(`${path}.hostPort`, `Duplicate value: "${key}"`);
      seen.add(key);
    }),
  );
}
