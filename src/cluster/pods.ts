/** Pods from manifests: Pods as written, Deployments expanded the way the ReplicaSet controller names them. */
import { createHash } from 'node:crypto';
import type { V1Container, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { Manifest } from '../topology/manifests.js';
import type { ContainerState } from './types.js';
import { stableJson } from '../util/stable-json.js';

/** A pod before it is placed and addressed. */
export interface PodIntent {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  nodeName?: string;
  containers: ContainerState[];
  owner?: { kind: 'ReplicaSet'; name: string; deployment: string };
  origin: string;
}

export const DEFAULT_SERVER_PORT = 8080;
/** The alphabet Kubernetes uses for generated name suffixes (no vowels, no confusable digits). */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function podIntents(manifests: Manifest[]): PodIntent[] {
  const out: PodIntent[] = [];
  for (const m of manifests) {
    if (m.kind === 'Pod') {
      const meta = m.object.metadata!;
      out.push({
        namespace: meta.namespace ?? 'default',
        name: meta.name!,
        labels: meta.labels ?? {},
        annotations: meta.annotations ?? {},
        nodeName: m.object.spec?.nodeName,
        containers: containersOf(m.object.spec!.containers),
        origin: m.origin,
      });
    } else if (m.kind === 'Deployment') {
      const dep = m.object;
      const template = dep.spec!.template;
      const rsName = `${dep.metadata!.name}-${podTemplateHash(template)}`;
      const replicas = dep.spec!.replicas ?? 1;
      for (let i = 0; i < replicas; i++) {
        out.push({
          namespace: dep.metadata!.namespace ?? 'default',
          name: `${rsName}-${safeEncode(`${rsName}/${i}`, 5)}`,
          labels: { ...(template.metadata?.labels ?? {}), 'pod-template-hash': rsName.slice(dep.metadata!.name!.length + 1) },
          annotations: template.metadata?.annotations ?? {},
          nodeName: template.spec?.nodeName,
          containers: containersOf(template.spec!.containers),
          owner: { kind: 'ReplicaSet', name: rsName, deployment: dep.metadata!.name! },
          origin: m.origin,
        });
      }
    }
  }
  return out;
}

function containersOf(containers: V1Container[]): ContainerState[] {
  const taken = new Set<number>();
  const declared = containers.map((c) =>
    (c.ports ?? []).map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' })),
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
  if (probe?.httpGet) {
    const n = port(probe.httpGet.port);
    return n ? { kind: 'httpGet', port: n, path: probe.httpGet.path ?? '/' } : undefined;
  }
  if (probe?.tcpSocket) {
    const n = port(probe.tcpSocket.port);
    return n ? { kind: 'tcpSocket', port: n } : undefined;
  }
  return undefined;
}

/** FNV-1a (32 bit) of the template, rendered as Kubernetes renders pod-template-hash. */
export function podTemplateHash(template: V1PodTemplateSpec): string {
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

function safeEncode(seed: string, length: number): string {
  const digest = createHash('sha256').update(seed).digest();
  return [...digest.subarray(0, length)].map((b) => SAFE_ALPHABET[b % SAFE_ALPHABET.length]).join('');
}
