/**
 * The store's EndpointSlices as kube-proxy's EndpointSliceCache reads them: every IPv4 slice labelled
 * `kubernetes.io/service-name` (whoever wrote it), the first address of each endpoint, unset `ready` and
 * `serving` meaning true and unset `terminating` false, ports by name and protocol, zone and node hints.
 */
import { listObjects, type Store } from '../store.js';
import type { ClusterState } from '../types.js';
import { portKey, type EndpointView, type ServiceEndpoints } from '../endpoints.js';
import { SERVICE_NAME_LABEL } from './desired.js';

export function serviceEndpoints(c: ClusterState, store: Store): ServiceEndpoints[] {
  const bySvc = new Map<string, Map<string, EndpointView>>();
  for (const slice of listObjects(store, 'EndpointSlice')) {
    const svc = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svc || slice.addressType !== 'IPv4') continue;
    const key = `${slice.metadata.namespace ?? 'default'}/${svc}`;
    const views = bySvc.get(key) ?? new Map<string, EndpointView>();
    bySvc.set(key, views);
    const ports = (slice.ports ?? []).filter((p) => p.port !== undefined && p.port !== null);
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses?.[0];
      if (!ip) continue;
      const ready = ep.conditions?.ready !== false;
      const view: EndpointView = views.get(ip) ?? {
        ip,
        ...(ep.nodeName ? { nodeName: ep.nodeName } : {}),
        ...(ep.targetRef?.kind === 'Pod' && ep.targetRef.name ? { pod: `${ep.targetRef.namespace ?? slice.metadata.namespace ?? 'default'}/${ep.targetRef.name}` } : {}),
        ...(ep.hostname ? { hostname: ep.hostname } : {}),
        ready,
        serving: ep.conditions?.serving !== false,
        terminating: ep.conditions?.terminating === true,
        ...(ep.zone ? { zone: ep.zone } : {}),
        ...(ep.hints?.forZones?.length ? { zoneHints: ep.hints.forZones.map((z) => z.name) } : {}),
        ...(ep.hints?.forNodes?.length ? { nodeHints: ep.hints.forNodes.map((n) => n.name) } : {}),
        ports: {},
      };
      for (const p of ports) view.ports[portKey(p.name ?? '', p.protocol ?? 'TCP')] = p.port!;
      views.set(ip, view);
    }
  }
  return c.services.map((s) => ({ namespace: s.namespace, name: s.name, endpoints: [...(bySvc.get(`${s.namespace}/${s.name}`)?.values() ?? [])] }));
}
