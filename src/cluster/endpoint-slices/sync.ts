/**
 * The two EndpointSlice controllers' writes to the store: each owner's desired slices matched to the
 * slices it already manages (by port set, as the reconciler keeps slices stable), updated only when
 * their content changed (so resourceVersions hold still), created as `<owner>-<5 random characters>`
 * (generateName), and the ones no longer wanted deleted. Hand-written slices are never touched.
 */
import { sameJson } from '../../util/stable-json.js';
import { controllerOf, getObject, listObjects, newMeta, objectKey, ownerRef, putObject, removeObject, type Store, type StoredEndpointSlice } from '../store.js';
import type { ClusterState } from '../types.js';
import { MANAGED_BY_LABEL, MIRRORING_CONTROLLER, SLICE_CONTROLLER, mirroredSlices, slicesForService, type DesiredSlice, type MirroredEndpoints } from './desired.js';

const TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
/** names.SimpleNameGenerator: the base is cut so base + 5 characters fit in 63. */
const generateName = (base: string, suffix: string) => `${`${base}-`.slice(0, 58)}${suffix}`;

type SliceContent = { metadata: { labels?: Record<string, string> }; ports?: unknown; endpoints?: unknown; addressType?: unknown };
const content = (s: SliceContent) => ({ labels: s.metadata.labels ?? {}, ports: s.ports ?? [], endpoints: s.endpoints ?? [], addressType: s.addressType });
const sameContent = (a: SliceContent, b: SliceContent) => sameJson(content(a), content(b));

export interface SliceChanges {
  created: number;
  updated: number;
  deleted: number;
}

export function syncEndpointSlices(store: Store, c: ClusterState, isReady: (podKey: string) => boolean, now: string, suffix: () => string): SliceChanges {
  const desired: DesiredSlice[] = [];
  const uidOf = (podKey: string) => getObject(store, 'Pod', podKey)?.metadata.uid;
  const byNamespace = new Map<string, ClusterState['pods']>();
  for (const p of c.pods) {
    const list = byNamespace.get(p.namespace);
    if (list) list.push(p);
    else byNamespace.set(p.namespace, [p]);
  }
  const nodes = new Map(c.nodes.map((n) => [n.name, n]));
  for (const s of c.services) if (s.selector) desired.push(...slicesForService(c, s, isReady, uidOf, (ns) => byNamespace.get(ns) ?? [], nodes));
  const services = new Map(c.services.map((s) => [`${s.namespace}/${s.name}`, s]));
  for (const e of listObjects(store, 'Endpoints')) {
    const key = objectKey('Endpoints', e.metadata);
    const mirrored: MirroredEndpoints = {
      namespace: e.metadata.namespace ?? 'default',
      name: e.metadata.name,
      labels: e.metadata.labels ?? {},
      annotations: e.metadata.annotations ?? {},
      subsets: (e.subsets ?? []).map((sub) => ({ addresses: sub.addresses ?? [], notReadyAddresses: sub.notReadyAddresses ?? [], ports: sub.ports ?? [] })),
    };
    desired.push(...mirroredSlices(mirrored, services.get(key)));
  }

  const changes: SliceChanges = { created: 0, updated: 0, deleted: 0 };
  const managed = listObjects(store, 'EndpointSlice').filter((s) => [SLICE_CONTROLLER, MIRRORING_CONTROLLER].includes(s.metadata.labels?.[MANAGED_BY_LABEL] ?? ''));
  const byOwner = new Map<string, StoredEndpointSlice[]>();
  for (const s of managed) {
    const uid = controllerOf(s.metadata)?.uid ?? '';
    const list = byOwner.get(uid);
    if (list) list.push(s);
    else byOwner.set(uid, [s]);
  }
  const kept = new Set<string>();
  const groups = new Map<string, DesiredSlice[]>();
  for (const d of desired) {
    const k = `${d.owner.kind}/${d.namespace}/${d.owner.name}`;
    const list = groups.get(k);
    if (list) list.push(d);
    else groups.set(k, [d]);
  }
  for (const list of groups.values()) {
    const first = list[0]!;
    const owner = getObject(store, first.owner.kind, `${first.namespace}/${first.owner.name}`);
    if (!owner) continue;
    const existing = [...(byOwner.get(owner.metadata.uid) ?? [])].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    for (const d of list) {
      const free = (s: StoredEndpointSlice) => !kept.has(objectKey('EndpointSlice', s.metadata));
      const match = existing.find((s) => free(s) && sameJson(s.ports ?? [], d.ports)) ?? existing.find(free);
      const body = { addressType: 'IPv4', endpoints: d.endpoints, ports: d.ports };
      const labels = d.labels;
      if (match) {
        kept.add(objectKey('EndpointSlice', match.metadata));
        if (sameContent(match, { metadata: { labels }, ...body })) continue;
        const annotations = { ...d.annotations, [TRIGGER_TIME]: now };
        putObject(store, 'EndpointSlice', { ...match, ...body, metadata: { ...match.metadata, labels, annotations } } as StoredEndpointSlice);
        changes.updated++;
        continue;
      }
      let name = generateName(d.owner.name, suffix());
      while (getObject(store, 'EndpointSlice', `${d.namespace}/${name}`)) name = generateName(d.owner.name, suffix());
      kept.add(`${d.namespace}/${name}`);
      const meta = newMeta({ name, namespace: d.namespace, labels, annotations: { ...d.annotations, [TRIGGER_TIME]: now }, generateName: `${d.owner.name}-`, ownerReferences: [ownerRef(d.owner.kind, owner)] }, now, true);
      putObject(store, 'EndpointSlice', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { ...meta, generation: 1 }, ...body } as StoredEndpointSlice);
      changes.created++;
    }
  }
  for (const s of managed) {
    if (kept.has(objectKey('EndpointSlice', s.metadata))) continue;
    removeObject(store, 'EndpointSlice', objectKey('EndpointSlice', s.metadata));
    changes.deleted++;
  }
  return changes;
}
