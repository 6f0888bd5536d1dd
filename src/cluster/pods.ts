/** Pods as the node sees them: from the store's Pod objects, with the ports the default server takes. */
import { randomInt } from 'node:crypto';
import type { V1Container, V1PodTemplateSpec, V1Probe } from '@kubernetes/client-node';
import type { ContainerState, PodDnsFields, ProbeSpec } from './types.js';
import { stableJson } from '../util/stable-json.js';
import { programOf } from './programs.js';
import { exitAnnotations } from '../topology/annotations.js';
import { podNetSysctls } from '../topology/sysctls.js';
import { effectiveHostPort } from '../topology/host-ports.js';
import { controllerOf, getObject, isFinished, isTerminating, type Json, type Store, type StoredPod } from './store.js';

/** A pod bound to a node, before it is addressed. */
export interface PodIntent {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  nodeName: string;
  hostname?: string;
  subdomain?: string;
  dns?: PodDnsFields;
  /** The net.* sysctls the runtime writes in the sandbox (securityContext.sysctls). */
  sysctls?: Record<string, string>;
  /** spec.hostNetwork: the pod runs in its node's network namespace, with the node's address. */
  hostNetwork: boolean;
  containers: ContainerState[];
  owner?: { kind: string; name: string };
  terminating: boolean;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  origin: string;
}

export const DEFAULT_SERVER_PORT = 8080;
/** The alphabet Kubernetes uses for generated name suffixes (no vowels, no confusable digits). */
export const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A random 5-character pod name suffix, as the ReplicaSet controller's generateName gets. */
export const randomSuffix = (): string => Array.from({ length: 5 }, () => SAFE_ALPHABET[randomInt(SAFE_ALPHABET.length)]).join('');

/** A Job's pod stands for a process that ends: the default server exits 0 after this long unless annotated otherwise. */
export const JOB_EXIT_AFTER_MS = 1000;

/**
 * Every bound pod of the store that still has a sandbox to run: terminating ones too (they keep it
 * until killed), finished ones not (the kubelet removed theirs; their object stays with its status).
 */
export function podIntents(store: Store, originOf: (pod: StoredPod) => string): PodIntent[] {
  return Object.values(store.objects.Pod)
    .filter((p) => p.spec?.nodeName && !isFinished(p))
    .map((p) => {
      const owner = controllerOf(p.metadata);
      const exit = exitAnnotations(p.metadata.annotations);
      const afterMs = exit.afterMs ?? (owner?.kind === 'Job' ? JOB_EXIT_AFTER_MS : undefined);
      const sysctls = podNetSysctls(p.spec?.securityContext?.sysctls);
      return {
        namespace: p.metadata.namespace ?? 'default',
        name: p.metadata.name,
        labels: p.metadata.labels ?? {},
        annotations: p.metadata.annotations ?? {},
        nodeName: p.spec!.nodeName!,
        ...(p.spec?.hostname ? { hostname: p.spec.hostname } : {}),
        ...(p.spec?.subdomain ? { subdomain: p.spec.subdomain } : {}),
        ...podDnsFields(p),
        ...(Object.keys(sysctls).length ? { sysctls } : {}),
        hostNetwork: p.spec?.hostNetwork === true,
        containers: containersOf((p.spec?.containers ?? []) as V1Container[], afterMs === undefined ? undefined : { afterMs, code: exit.code ?? 0 }, p.spec?.hostNetwork === true),
        ...(owner ? { owner: { kind: owner.kind, name: owner.name } } : {}),
        terminating: isTerminating(p),
        restartPolicy: (p.spec?.restartPolicy ?? 'Always') as PodIntent['restartPolicy'],
        origin: originOf(p),
      };
    });
}

/** The pod's own resolver and hosts fields, only those it sets. */
function podDnsFields(p: StoredPod): { dns?: PodDnsFields } {
  const s = p.spec;
  const dns: PodDnsFields = {
    ...(s?.dnsPolicy ? { dnsPolicy: s.dnsPolicy as PodDnsFields['dnsPolicy'] } : {}),
    ...(s?.dnsConfig ? { dnsConfig: { ...(s.dnsConfig.nameservers ? { nameservers: s.dnsConfig.nameservers } : {}), ...(s.dnsConfig.searches ? { searches: s.dnsConfig.searches } : {}), ...(s.dnsConfig.options ? { options: s.dnsConfig.options.map((o) => ({ name: o.name ?? '', ...(o.value !== undefined ? { value: o.value } : {}) })) } : {}) } } : {}),
    ...(s?.hostAliases?.length ? { hostAliases: s.hostAliases.map((a) => ({ ip: a.ip, ...(a.hostnames ? { hostnames: a.hostnames } : {}) })) } : {}),
  };
  return Object.keys(dns).length ? { dns } : {};
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

/** The TCP and UDP ports a pod's containers listen on (declared, the default server's 8080, probed ones), before services add theirs. */
export function listeningPorts(spec: { containers?: unknown[]; hostNetwork?: boolean } | undefined): Array<{ port: number; protocol: 'TCP' | 'UDP' }> {
  return containersOf((spec?.containers ?? []) as V1Container[], undefined, spec?.hostNetwork === true).flatMap((c) => [
    ...c.tcpPorts.map((port) => ({ port, protocol: 'TCP' as const })),
    ...c.udpPorts.map((port) => ({ port, protocol: 'UDP' as const })),
  ]);
}

function containersOf(containers: V1Container[], exit: ContainerState['exit'], hostNetwork: boolean): ContainerState[] {
  const taken = new Set<number>();
  const declared = containers.map((c) =>
    (c.ports ?? []).map((p) => {
      const hostPort = effectiveHostPort(hostNetwork, p);
      return {
        name: p.name,
        containerPort: p.containerPort,
        protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' | 'SCTP',
        ...(hostPort ? { hostPort } : {}),
        ...(p.hostIP ? { hostIP: p.hostIP } : {}),
      };
    }),
  );
  for (const ports of declared) for (const p of ports) if (p.protocol === 'TCP') taken.add(p.containerPort);
  const withProbes = containers.map((c, i) => {
    const ports = declared[i]!;
    const probes = {
      readinessProbe: probeOf(c.readinessProbe, ports),
      livenessProbe: probeOf(c.livenessProbe, ports),
      startupProbe: probeOf(c.startupProbe, ports),
    };
    return { c, ports, probes: Object.fromEntries(Object.entries(probes).filter(([, v]) => v)) as Partial<typeof probes> };
  });
  for (const { probes } of withProbes) for (const p of Object.values(probes)) if (p && 'port' in p && p.port > 0) taken.add(p.port);
  return withProbes.map(({ c, ports, probes }) => {
    let tcpPorts = unique(ports.filter((p) => p.protocol === 'TCP').map((p) => p.containerPort));
    const udpPorts = unique(ports.filter((p) => p.protocol === 'UDP').map((p) => p.containerPort));
    // Like agnhost netexec, a container that declares nothing still serves HTTP on 8080 (once per pod).
    if (ports.length === 0 && !taken.has(DEFAULT_SERVER_PORT)) {
      tcpPorts = [DEFAULT_SERVER_PORT];
      taken.add(DEFAULT_SERVER_PORT);
    }
    // The image listens where its own probes look, declared or not.
    const probed = Object.values(probes).flatMap((p) => (p && 'port' in p && p.port > 0 ? [p.port] : []));
    tcpPorts = unique([...tcpPorts, ...probed.filter((n) => !declared.flat().some((d) => d.protocol === 'TCP' && d.containerPort === n))]);
    const probePaths = unique(Object.values(probes).flatMap((p) => (p?.kind === 'httpGet' ? [p.path] : [])));
    const program = programOf(c.image ?? '');
    return { name: c.name, image: c.image ?? '', tcpPorts, udpPorts, declaredPorts: ports, ...(program ? { program } : {}), ...probes, probePaths, ...(exit ? { exit } : {}) };
  });
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

/** A probe's handler (named ports resolved against the container's own; an unknown name is port 0, which fails) and its timing, defaulted. */
function probeOf(probe: V1Probe | undefined, ports: ContainerState['declaredPorts']): ProbeSpec | undefined {
  if (!probe) return undefined;
  const port = (p: unknown) => (typeof p === 'number' ? p : /^\d+$/.test(String(p)) ? Number(p) : (ports.find((d) => d.name === p)?.containerPort ?? 0));
  const timing = {
    initialDelaySeconds: probe.initialDelaySeconds ?? 0,
    periodSeconds: probe.periodSeconds ?? 10,
    timeoutSeconds: probe.timeoutSeconds ?? 1,
    successThreshold: probe.successThreshold ?? 1,
    failureThreshold: probe.failureThreshold ?? 3,
  };
  if (probe.httpGet) {
    const path = probe.httpGet.path ?? '/';
    return { kind: 'httpGet', port: port(probe.httpGet.port), path: path.startsWith('/') ? path : `/${path}`, ...(probe.httpGet.scheme === 'HTTPS' ? { scheme: 'HTTPS' as const } : {}), ...timing };
  }
  if (probe.tcpSocket) return { kind: 'tcpSocket', port: port(probe.tcpSocket.port), ...timing };
  if (probe.grpc) return { kind: 'grpc', port: probe.grpc.port, ...timing };
  if (probe.exec) return { kind: 'exec', command: probe.exec.command ?? [], ...timing };
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
