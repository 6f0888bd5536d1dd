/**
 * What the EndpointSlice controller and the EndpointSliceMirroring controller want to exist, as pure
 * data: slices from the pods a Service selects (pkg/controller/endpointslice: podToEndpoint, one slice
 * per distinct port set, at most 100 endpoints each, a placeholder when there are none) and from
 * hand-written Endpoints of selector-less Services (pkg/controller/endpointslicemirroring).
 */
import type { Json } from '../store.js';
import type { DiscoveryV1EndpointPort, V1Endpoint } from '@kubernetes/client-node';
import type { ClusterState, NodeState, PodState, ServiceState } from '../types.js';
import { resolveTargetPort, selects } from '../endpoints.js';
import { hintsFor } from './hints.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const SLICE_CONTROLLER = 'endpointslice-controller.k8s.io';
export const MIRRORING_CONTROLLER = 'endpointslicemirroring-controller.k8s.io';
export const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
/** --max-endpoints-per-slice (kube-controller-manager default) and the mirroring controller's limit per subset. */
export const MAX_ENDPOINTS_PER_SLICE = 100;
export const MAX_MIRRORED_PER_SUBSET = 1000;

export type SliceEndpoint = Json<V1Endpoint>;
export type SlicePort = Json<DiscoveryV1EndpointPort>;

export interface DesiredSlice {
  namespace: string;
  /** The Service (or Endpoints) the slice belongs to: its name, and the controller's owner. */
  owner: { kind: 'Service' | 'Endpoints'; name: string };
  managedBy: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
}

const chunks = <T>(xs: T[], n: number): T[][] => (xs.length === 0 ? [[]] : Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n)));

/** setEndpointSliceLabels: the Service's labels, then the two the controller owns. */
function sliceLabels(s: ServiceState): Record<string, string> {
  const { [SERVICE_NAME_LABEL]: _n, [MANAGED_BY_LABEL]: _m, ...rest } = s.labels;
  return { ...rest, [SERVICE_NAME_LABEL]: s.name, [MANAGED_BY_LABEL]: SLICE_CONTROLLER };
}

export function podEndpoint(s: ServiceState, p: PodState, node: NodeState | undefined, podReady: boolean, uid: string | undefined): SliceEndpoint {
  const terminating = p.terminating === true;
  const zone = node?.labels[ZONE_LABEL];
  return {
    addresses: [p.ip],
    // ShouldSetHostname: a pod whose subdomain names this Service is published under its hostname.
    ...(p.hostname && p.subdomain === s.name && p.namespace === s.namespace ? { hostname: p.hostname } : {}),
    // A terminating pod is never ready, unless publishNotReadyAddresses; it keeps serving while its probe passes.
    conditions: { ready: s.publishNotReadyAddresses || (podReady && !terminating), serving: podReady, terminating },
    nodeName: p.nodeName,
    ...(zone ? { zone } : {}),
    targetRef: { kind: 'Pod', namespace: p.namespace, name: p.name, ...(uid ? { uid } : {}) },
  };
}

/** The slices the EndpointSlice controller wants for a Service with a selector. */
export function slicesForService(
  c: ClusterState,
  s: ServiceState,
  isReady: (podKey: string) => boolean,
  uidOf: (podKey: string) => string | undefined,
  podsIn: (namespace: string) => PodState[] = (ns) => c.pods.filter((p) => p.namespace === ns),
  nodes: Map<string, NodeState> = new Map(c.nodes.map((n) => [n.name, n])),
): DesiredSlice[] {
  const groups = new Map<string, { ports: SlicePort[]; endpoints: SliceEndpoint[] }>();
  const pods = podsIn(s.namespace).filter((p) => selects(s, p)).sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }));
  for (const p of pods) {
    const ports: SlicePort[] = s.ports.flatMap((sp) => {
      const port = resolveTargetPort(p, sp);
      return port === undefined ? [] : [{ name: sp.name, port, protocol: sp.protocol }];
    });
    const key = JSON.stringify(ports);
    const g = groups.get(key) ?? { ports, endpoints: [] };
    const podKey = `${p.namespace}/${p.name}`;
    g.endpoints.push(podEndpoint(s, p, nodes.get(p.nodeName), isReady(podKey), uidOf(podKey)));
    groups.set(key, g);
  }
  const base = { namespace: s.namespace, owner: { kind: 'Service' as const, name: s.name }, managedBy: SLICE_CONTROLLER, labels: sliceLabels(s), annotations: {} };
  // No endpoints at all: one placeholder slice without ports, as the controller keeps.
  if (groups.size === 0) return [{ ...base, ports: [], endpoints: [] }];
  return [...groups.values()].flatMap((g) => chunks(hintsFor(s, g.endpoints, c.nodes), MAX_ENDPOINTS_PER_SLICE).map((endpoints) => ({ ...base, ports: g.ports, endpoints })));
}

export interface MirroredEndpoints {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  subsets: Array<{
    addresses: Array<{ ip: string; nodeName?: string; hostname?: string; targetRef?: unknown }>;
    notReadyAddresses: Array<{ ip: string; nodeName?: string; hostname?: string; targetRef?: unknown }>;
    ports: Array<{ name?: string; port: number; protocol?: string; appProtocol?: string }>;
  }>;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * The EndpointSliceMirroring controller for one hand-written Endpoints: mirrored only when its Service
 * exists without a selector and the Endpoints is not labelled skip-mirror; subsets with the same ports
 * share slices; at most 1000 addresses per subset; labels copied, annotations copied but the two it drops.
 */
export function mirroredSlices(e: MirroredEndpoints, service: ServiceState | undefined): DesiredSlice[] {
  if (!service || service.selector || e.labels[SKIP_MIRROR_LABEL] === 'true') return [];
  const groups = new Map<string, { ports: SlicePort[]; endpoints: SliceEndpoint[] }>();
  for (const sub of e.subsets) {
    const ports: SlicePort[] = sub.ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) }));
    const key = JSON.stringify(ports);
    const g = groups.get(key) ?? { ports, endpoints: [] };
    const all = [...sub.addresses.map((a) => ({ a, ready: true })), ...sub.notReadyAddresses.map((a) => ({ a, ready: false }))].filter(({ a }) => IPV4.test(a.ip)).slice(0, MAX_MIRRORED_PER_SUBSET);
    for (const { a, ready } of all)
      g.endpoints.push({
        addresses: [a.ip],
        conditions: { ready },
        ...(a.hostname ? { hostname: a.hostname } : {}),
        ...(a.nodeName ? { nodeName: a.nodeName } : {}),
        ...(a.targetRef ? { targetRef: a.targetRef as SliceEndpoint['targetRef'] } : {}),
      });
    groups.set(key, g);
  }
  const { [SKIP_MIRROR_LABEL]: _s, ...labels } = e.labels;
  const annotations = Object.fromEntries(Object.entries(e.annotations).filter(([k]) => k !== 'kubectl.kubernetes.io/last-applied-configuration' && k !== 'endpoints.kubernetes.io/last-change-trigger-time' && !k.startsWith('kemu.dev/')));
  const base = { namespace: e.namespace, owner: { kind: 'Endpoints' as const, name: e.name }, managedBy: MIRRORING_CONTROLLER, labels: { ...labels, [SERVICE_NAME_LABEL]: e.name, [MANAGED_BY_LABEL]: MIRRORING_CONTROLLER }, annotations };
  return [...groups.values()].flatMap((g) => chunks(g.endpoints, MAX_ENDPOINTS_PER_SLICE).map((endpoints) => ({ ...base, ports: g.ports, endpoints })));
}
