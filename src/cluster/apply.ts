/**
 * `kubectl apply` and `kubectl delete` against the store, pure. Applying an object whose configuration
 * is the one last applied changes nothing (not even its resourceVersion); otherwise the object takes
 * the new labels, annotations and spec and keeps its uid, creation time and status (generation goes up
 * when the spec changed). Problems are reported for the whole batch before anything is written.
 */
import type { InputProblem } from '../topology/errors.js';
import type { Manifest } from '../topology/manifests.js';
import { planHash } from '../plan/hash.js';
import { applyDefaults, applyGenerated } from './defaults.js';
import { admitIngress, checkDefaultClass } from './ingress-admission.js';
import { stableJson } from '../util/stable-json.js';
import {
  APPLIED_ANNOTATION,
  BUILTIN_NAMESPACES,
  controllerOf,
  SOURCE_ANNOTATION,
  deleteObject,
  getObject,
  isNamespaced,
  listObjects,
  newMeta,
  objectKey,
  putObject,
  STORED_KINDS,
  type Store,
  type StoredKind,
  type StoredObject,
} from './store.js';

export type Applier = 'topology' | 'kubectl';

export interface ApplyResult {
  kind: StoredKind;
  key: string;
  action: 'created' | 'configured' | 'unchanged' | 'deleted';
}

/** The object as JSON (client-node instances carry Dates), with the fields the API server owns dropped. */
function userConfig(m: Manifest): Record<string, unknown> {
  const obj = JSON.parse(JSON.stringify(m.object)) as Record<string, unknown> & { metadata?: Record<string, unknown> };
  const { uid: _u, resourceVersion: _r, creationTimestamp: _c, generation: _g, managedFields: _m, ...meta } = obj.metadata ?? {};
  const { status: _s, ...rest } = obj;
  return { ...rest, metadata: meta };
}

/** A batch is refused whole when it names one object twice or needs a namespace that neither exists nor comes with it. */
export function checkBatch(store: Store, manifests: Manifest[]): InputProblem[] {
  const seen = new Map<string, string>();
  const problems: InputProblem[] = [];
  for (const m of manifests) {
    const key = `${m.kind}/${objectKey(m.kind as StoredKind, m.object.metadata ?? {})}`;
    const other = seen.get(key);
    if (other) problems.push({ path: `${m.origin}.metadata.name`, message: `duplicate ${m.kind.toLowerCase()} name '${key.slice(m.kind.length + 1)}' (also in ${other})` });
    seen.set(key, m.origin);
  }
  return [...problems, ...missingNamespaces(store, manifests), ...checkDefaultClass(store, manifests)];
}

function missingNamespaces(store: Store, manifests: Manifest[]): InputProblem[] {
  const creating = new Set(manifests.filter((m) => m.kind === 'Namespace').map((m) => m.object.metadata!.name!));
  return manifests.flatMap((m) => {
    if (!isNamespaced(m.kind as StoredKind)) return [];
    const ns = m.object.metadata?.namespace ?? 'default';
    if (BUILTIN_NAMESPACES.includes(ns) || creating.has(ns) || getObject(store, 'Namespace', ns)) return [];
    return [{ path: `${m.origin}.metadata.namespace`, message: `namespace '${ns}' not found; create it first (kind: Namespace) or put it in the same apply` }];
  });
}

/** Namespaces the topology's workloads use, as objects the topology owns (its manifests need not declare them). */
export function implicitNamespaces(manifests: Manifest[]): Manifest[] {
  const declared = new Set(manifests.filter((m) => m.kind === 'Namespace').map((m) => m.object.metadata!.name!));
  const used = [...new Set(manifests.filter((m) => isNamespaced(m.kind as StoredKind)).map((m) => m.object.metadata?.namespace ?? 'default'))];
  return used
    .filter((ns) => !BUILTIN_NAMESPACES.includes(ns) && !declared.has(ns))
    .map((ns) => ({ kind: 'Namespace', object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, origin: `namespace ${ns}` }) as Manifest);
}

export function applyManifests(store: Store, manifests: Manifest[], by: Applier, now: string): ApplyResult[] {
  // Namespaces first, so the objects in them find them, whatever the order in the file; IngressClasses
  // before Ingresses, so a default class applied with them is there when they are admitted.
  const rank = (m: Manifest) => (m.kind === 'Namespace' ? 0 : m.kind === 'IngressClass' ? 1 : 2);
  const ordered = [...manifests].sort((a, b) => rank(a) - rank(b));
  return ordered.map((m) => applyOne(store, m, by, now));
}

function applyOne(store: Store, m: Manifest, by: Applier, now: string): ApplyResult {
  const kind = m.kind as StoredKind;
  const config = userConfig(m);
  const hash = planHash(stableJson(config));
  const meta = config.metadata as Record<string, unknown> & { name: string; namespace?: string; annotations?: Record<string, string> };
  const key = objectKey(kind, meta);
  const annotations = { ...(meta.annotations ?? {}), [SOURCE_ANNOTATION]: by, [APPLIED_ANNOTATION]: hash };
  const existing = getObject(store, kind, key) as StoredObject | undefined;
  if (existing?.metadata.annotations?.[APPLIED_ANNOTATION] === hash && existing.metadata.annotations[SOURCE_ANNOTATION] === by) return { kind, key, action: 'unchanged' };
  const { metadata: _meta, ...body } = config;
  applyDefaults(kind, body);
  if (kind === 'Ingress') admitIngress(store, body as never, meta, existing as never);
  if (!existing) {
    const obj = { ...body, metadata: { ...newMeta({ ...meta, annotations }, now, isNamespaced(kind)), generation: 1 } } as StoredObject;
    applyGenerated(kind, obj as never);
    putObject(store, kind, obj as never);
    return { kind, key, action: 'created' };
  }
  applyGenerated(kind, { ...body, metadata: existing.metadata } as never);
  const specChanged = stableJson((existing as { spec?: unknown }).spec ?? null) !== stableJson((body as { spec?: unknown }).spec ?? null);
  const { status } = existing as { status?: unknown };
  const updated = {
    ...body,
    metadata: {
      ...existing.metadata,
      labels: meta.labels as Record<string, string> | undefined,
      annotations,
      generation: (existing.metadata.generation ?? 1) + (specChanged ? 1 : 0),
    },
    ...(status !== undefined ? { status } : {}),
  } as StoredObject;
  putObject(store, kind, updated as never);
  return { kind, key, action: 'configured' };
}

/** Delete what `manifests` name; `missing` collects the ones that are not there. */
export function deleteManifests(store: Store, manifests: Manifest[], now: string, missing: InputProblem[]): ApplyResult[] {
  const out: ApplyResult[] = [];
  for (const m of manifests) {
    const kind = m.kind as StoredKind;
    const key = objectKey(kind, m.object.metadata ?? {});
    if (!getObject(store, kind, key)) {
      missing.push({ path: m.origin, message: `${kind} '${key}' not found` });
      continue;
    }
    deleteObject(store, kind, key, now);
    out.push({ kind, key, action: 'deleted' });
  }
  return out;
}

/** `up`'s prune: objects the topology applied before and no longer lists are deleted. */
export function pruneTopologyObjects(store: Store, keep: ApplyResult[], now: string): ApplyResult[] {
  const kept = new Set(keep.map((r) => `${r.kind}/${r.key}`));
  const out: ApplyResult[] = [];
  for (const kind of STORED_KINDS) {
    for (const o of listObjects(store, kind)) {
      const key = objectKey(kind, o.metadata);
      // Objects a controller owns go with their owner, never by themselves.
      if (controllerOf(o.metadata) || o.metadata.annotations?.[SOURCE_ANNOTATION] !== 'topology' || kept.has(`${kind}/${key}`) || o.metadata.deletionTimestamp) continue;
      if (!getObject(store, kind, key)) continue; // gone with its namespace already
      deleteObject(store, kind, key, now);
      out.push({ kind, key, action: 'deleted' });
    }
  }
  return out;
}
