/** Pods as the node sees them: from the store's Pod objects, with the ports the default server takes. */
import { randomInt } from 'node:crypto';
import type { V1Container, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { ContainerState } from './types.js';
import { stableJson } from '../util/stable-json.js';
import { controllerOf, getObject, isTerminating, type Json, type Store, type StoredPod } from './store.js';

/** A pod bound to a node, before it is addressed. */
export interface PodIntent {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  nodeName: string;
  containers: ContainerState[];
  owner?: { kind: 'ReplicaSet'; name: string; deployment: string };
  terminating: boolean;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  origin: string;
}

export const DEFAULT_SERVER_PORT = 8080;
/** The alphabet Kubernetes uses for generated name suffixes (no vowels, no confusable digits). */
export const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A random 5-character pod name suffix, as the ReplicaSet controller's generateName gets. */
export const randomSuffix = (): string => Array.from({ length: 5 }, () => SAFE_ALPHABET[randomInt(SAFE_ALPHABET.length)]).join('');

/** Every bound pod of the store (terminating ones too: they keep their sandbox and address until killed). */
export function podIntents(store: Store, originOf: (pod: StoredPod) => string): PodIntent[] {
  return Object.values(store.objects.Pod)
    .filter((p) => p.spec?.nodeName)
    .map((p) => {
      const rs = controllerOf(p.metadata);
      const rsObj = rs?.kind === 'ReplicaSet' ? getObject(store, 'ReplicaSet', `${p.metadata.namespace}/${rs.name}`) : undefined;
      return {
        namespace: p.metadata.namespace ?? 'default',
        name: p.metadata.name,
        labels: p.metadata.labels ?? {},
        annotations: p.metadata.annotations ?? {},
        nodeName: p.spec!.nodeName!,
        containers: containersOf((p.spec?.containers ?? []) as V1Container[]),
        ...(rs?.kind === 'ReplicaSet' ? { owner: { kind: 'ReplicaSet' as const, name: rs.name, deployment: (rsObj && controllerOf(rsObj.metadata)?.name) ?? '' } } : {}),
        terminating: isTerminating(p),
        restartPolicy: (p.spec?.restartPolicy ?? 'Always') as PodIntent['restartPolicy'],
        origin: originOf(p),
      };
    });
}

/** Real images listen whether or not they declare a port: the default server also takes the numeric targetPorts of the services that select the pod. */
export function addServicePorts(containers: ContainerState[], extra: Array<{ port: number; protocol: 'TCP' | 'UDP' }>): ContainerState[] {
  if (containers.length === 0 || extra.length === 0) return containers;
  const served = (proto: 'TCP' | 'UDP', port: number) => containers.some((c) => (proto === 'TCP' ? c.tcpPorts : c.udpPorts).includes(port));
  const tcp = unique(extra.filter((e) => e.protocol === 'TCP' && !served('TCP', e.port)).map((e) => e.port));
  const udp = unique(extra.filter((e) => e.protocol === 'UDP' && !served('UDP', e.port)).map((e) => e.port));
  if (tcp.length === 0 && udp.length === 0) return containers;
  const [first, ...rest] = containers;
  return [{ ...first!, tcpPorts: [...first!.tcpPorts, ...tcp], udpPorts: [...first!.udpPorts, ...udp] }, ...rest];
}

function containersOf(containers: V1Container[]): ContainerState[] {
  const taken = new Set<number>();
  const declared = containers.map((c) =>
    (c.ports ?? []).map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' | 'SCTP' })),
  );
  for (const ports of declared) for (const p of ports) if (p.protocol === 'TCP') taken.add(p.containerPort);
  return containers.map((c, i) => {
    const ports = declared[i]!;
    let tcpPorts = unique(ports.filter((p) => p.protocol === 'TCP').map((p) => p.containerPort));
    const udpPorts = unique(ports.filter((p) => p.protocol === 'UDP').map((p) => p.containerPort));
    // Like agnhost netexec, a container that declares nothing still serves HTTP on 8080 (once per pod).
    if (ports.length === 0 && !taken.has(DEFAULT_SERVER_PORT)) {
      tcpPorts = [DEFAULT_SERVER_PORT];
      taken.add(DEFAULT_SERVER_PORT);
    }
    const readinessProbe = probeOf(c, ports);
    return { name: c.name, image: c.image ?? '', tcpPorts, udpPorts, declaredPorts: ports, ...(readinessProbe ? { readinessProbe } : {}) };
  });
}

const unique = (xs: number[]) => [...new Set(xs)];

function probeOf(c: V1Container, ports: ContainerState['declaredPorts']): ContainerState['readinessProbe'] {
  const probe = c.readinessProbe;
  const port = (p: unknown) => (typeof p === 'number' ? p : ports.find((d) => d.name === p)?.containerPort);
  const timing = { periodSeconds: probe?.periodSeconds ?? 10, failureThreshold: probe?.failureThreshold ?? 3 };
  if (probe?.httpGet) {
    const n = port(probe.httpGet.port);
    return n ? { kind: 'httpGet', port: n, path: probe.httpGet.path ?? '/', ...timing } : undefined;
  }
  if (probe?.tcpSocket) {
    const n = port(probe.tcpSocket.port);
    return n ? { kind: 'tcpSocket', port: n, ...timing } : undefined;
  }
  return undefined;
}

/** FNV-1a (32 bit) of the template, rendered as Kubernetes renders pod-template-hash. */
export function podTemplateHash(template: V1PodTemplateSpec | Json<V1PodTemplateSpec>): string {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(stableJson(template))) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return encodeNumber(h);
}

function encodeNumber(n: number): string {
  // As rand.SafeEncodeString: each character of the decimal text, by its code point.
  return [...String(n)].map((d) => SAFE_ALPHABET[d.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}
