/**
 * Topology hints on the endpoints of a Service's slices, as the EndpointSlice controller writes them:
 *
 *  - `service.kubernetes.io/topology-mode: Auto` (or the older `topology-aware-hints` annotation):
 *    endpoints allocated to zones in proportion to the zones' allocatable CPU (KEP-2433 and
 *    pkg/controller/endpointslice/topologycache: each zone needs at least ceil(share / 1.2) endpoints,
 *    own-zone endpoints first, others lent from zones with a surplus; no hints at all when that is
 *    impossible, an endpoint has no zone, or nodes span fewer than two zones). The annotation wins over
 *    trafficDistribution.
 *  - `spec.trafficDistribution` PreferClose / PreferSameZone: each ready endpoint hinted for its own zone;
 *    PreferSameNode: for its own node and zone (trafficdist heuristics).
 */
import type { NodeState, ServiceState } from '../types.js';
import type { SliceEndpoint } from './desired.js';

export const TOPOLOGY_MODE = 'service.kubernetes.io/topology-mode';
export const TOPOLOGY_HINTS = 'service.kubernetes.io/topology-aware-hints';
const ZONE = 'topology.kubernetes.io/zone';
const OVERLOAD = 0.2;
const CONTROL_PLANE = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'];

const isReady = (ep: SliceEndpoint) => ep.conditions?.ready === true;
const strip = (eps: SliceEndpoint[]) => eps.map(({ hints: _h, ...ep }) => ep);

export function topologyAuto(s: ServiceState): boolean {
  const v = s.annotations[TOPOLOGY_MODE] ?? s.annotations[TOPOLOGY_HINTS];
  return v === 'Auto' || v === 'auto';
}

export function hintsFor(s: ServiceState, endpoints: SliceEndpoint[], nodes: NodeState[]): SliceEndpoint[] {
  if (topologyAuto(s)) return autoHints(strip(endpoints), nodes);
  const td = s.trafficDistribution;
  if (td !== 'PreferClose' && td !== 'PreferSameZone' && td !== 'PreferSameNode') return strip(endpoints);
  return strip(endpoints).map((ep) => {
    if (!isReady(ep)) return ep;
    const forZones = ep.zone ? [{ name: ep.zone }] : undefined;
    const forNodes = td === 'PreferSameNode' && ep.nodeName ? [{ name: ep.nodeName }] : undefined;
    return forZones || forNodes ? { ...ep, hints: { ...(forZones ? { forZones } : {}), ...(forNodes ? { forNodes } : {}) } } : ep;
  });
}

function autoHints(endpoints: SliceEndpoint[], nodes: NodeState[]): SliceEndpoint[] {
  const cpu = new Map<string, number>();
  for (const n of nodes) {
    if (CONTROL_PLANE.some((l) => l in n.labels)) continue;
    const zone = n.labels[ZONE];
    if (!zone) return endpoints; // a node whose zone is unknown: no hints
    cpu.set(zone, (cpu.get(zone) ?? 0) + (n.capacity.cpuMilli || 1000));
  }
  const ready = endpoints.filter(isReady);
  if (cpu.size < 2 || ready.length === 0 || ready.some((ep) => !ep.zone || !cpu.has(ep.zone))) return endpoints;
  const total = [...cpu.values()].reduce((a, b) => a + b, 0);
  const minimum = new Map([...cpu].map(([z, c]) => [z, Math.ceil(((c / total) * ready.length) / (1 + OVERLOAD))]));
  if ([...minimum.values()].reduce((a, b) => a + b, 0) > ready.length) return endpoints; // insufficient endpoints
  // Own zone first; zones short of their minimum borrow from the zone with the largest surplus.
  const assigned = new Map<SliceEndpoint, string>(ready.map((ep) => [ep, ep.zone!]));
  const count = (z: string) => [...assigned.values()].filter((x) => x === z).length;
  for (const [zone, min] of [...minimum].sort(([a], [b]) => a.localeCompare(b))) {
    while (count(zone) < min) {
      const donor = [...minimum.keys()].filter((z) => count(z) > minimum.get(z)!).sort((a, b) => count(b) - minimum.get(b)! - (count(a) - minimum.get(a)!) || a.localeCompare(b))[0]!;
      const lent = ready.filter((ep) => assigned.get(ep) === donor).at(-1)!;
      assigned.set(lent, zone);
    }
  }
  return endpoints.map((ep) => (assigned.has(ep) ? { ...ep, hints: { forZones: [{ name: assigned.get(ep)! }] } } : ep));
}
