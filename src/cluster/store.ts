/**
 * The lab's desired-state store: the emulated API server's objects, as JSON. Every write takes the
 * store's next resourceVersion; objects carry uid, creationTimestamp, generation and owner references
 * as the API server sets them. Pure: callers hold a copy and persist it with the lab record.
 *
 * Deletion follows the API's two steps for pods: `markDeleted` sets deletionTimestamp (the pod is
 * terminating: it leaves the endpoints but keeps its sandbox and address), and the lab removes the
 * object once the sandbox is gone. Other kinds go at once; their dependents go with them (foreground
 * cascade, as the garbage collector does for owner references).
 */
import { randomUUID } from 'node:crypto';
import type { V1Deployment, V1EndpointSlice, V1Endpoints, V1Namespace, V1ObjectMeta, V1OwnerReference, V1Pod, V1ReplicaSet, V1Service } from '@kubernetes/client-node';

/** The JSON form of a client-node type: timestamps are RFC 3339 strings, as on the wire. */
export type Json<T> = T extends Date ? string : T extends Array<infer U> ? Array<Json<U>> : T extends object ? { [K in keyof T]: Json<T[K]> } : T;

export type StoredMeta = Json<V1ObjectMeta> & { name: string; uid: string; resourceVersion: string; creationTimestamp: string };
type Stored<T extends { metadata?: V1ObjectMeta }> = Omit<Json<T>, 'metadata'> & { metadata: StoredMeta };

export type StoredNamespace = Stored<V1Namespace>;
export type StoredPod = Stored<V1Pod>;
export type StoredDeployment = Stored<V1Deployment>;
export type StoredReplicaSet = Stored<V1ReplicaSet>;
export type StoredService = Stored<V1Service>;
export type StoredEndpoints = Stored<V1Endpoints>;
export type StoredEndpointSlice = Stored<V1EndpointSlice>;

export interface KindMap {
  Namespace: StoredNamespace;
  Pod: StoredPod;
  Deployment: StoredDeployment;
  ReplicaSet: StoredReplicaSet;
  Service: StoredService;
  Endpoints: StoredEndpoints;
  EndpointSlice: StoredEndpointSlice;
}
export type StoredKind = keyof KindMap;
export type StoredObject = KindMap[StoredKind];

export const STORED_KINDS: StoredKind[] = ['Namespace', 'Deployment', 'ReplicaSet', 'Pod', 'Service', 'Endpoints', 'EndpointSlice'];
/** Namespaces that exist in every cluster. */
export const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Who wrote an object: the topology file (`up`), `kemu apply`, or a controller. */
export const SOURCE_ANNOTATION = 'kemu.dev/applied-by';
/** Hash of the configuration last applied by a user, to tell "unchanged" from "configured". */
export const APPLIED_ANNOTATION = 'kemu.dev/last-applied-hash';

export interface Store {
  /** the last resourceVersion handed out */
  resourceVersion: number;
  objects: { [K in StoredKind]: Record<string, KindMap[K]> };
}

export function emptyStore(): Store {
  return { resourceVersion: 0, objects: { Namespace: {}, Pod: {}, Deployment: {}, ReplicaSet: {}, Service: {}, Endpoints: {}, EndpointSlice: {} } };
}

export const isNamespaced = (kind: StoredKind) => kind !== 'Namespace';

/** `namespace/name` for namespaced kinds, `name` for namespaces. */
export function objectKey(kind: StoredKind, meta: { name?: string; namespace?: string }): string {
  return isNamespaced(kind) ? `${meta.namespace ?? 'default'}/${meta.name}` : meta.name!;
}

export function getObject<K extends StoredKind>(store: Store, kind: K, key: string): KindMap[K] | undefined {
  return store.objects[kind]?.[key] as KindMap[K] | undefined;
}

export function listObjects<K extends StoredKind>(store: Store, kind: K): KindMap[K][] {
  return Object.values(store.objects[kind] ?? {}) as KindMap[K][];
}

/** Store `obj` (new or changed) under the next resourceVersion. */
export function putObject<K extends StoredKind>(store: Store, kind: K, obj: KindMap[K]): KindMap[K] {
  store.resourceVersion++;
  obj.metadata.resourceVersion = String(store.resourceVersion);
  // A store written before this kind existed has no map for it yet.
  (store.objects as Record<string, Record<string, unknown>>)[kind] ??= {};
  (store.objects[kind] as Record<string, KindMap[K]>)[objectKey(kind, obj.metadata)] = obj;
  return obj;
}

/** Metadata of a new object, as the API server completes it on create. */
export function newMeta(meta: Json<V1ObjectMeta> & { name: string }, now: string, namespaced: boolean): StoredMeta {
  return {
    ...meta,
    ...(namespaced ? { namespace: meta.namespace ?? 'default' } : {}),
    uid: randomUUID(),
    resourceVersion: '0',
    creationTimestamp: now,
  };
}

/** The controller owner reference of an object, if any. */
export function controllerOf(meta: Json<V1ObjectMeta>): Json<V1OwnerReference> | undefined {
  return meta.ownerReferences?.find((o) => o.controller);
}

export function ownerRef(kind: 'Deployment' | 'ReplicaSet' | 'Service' | 'Endpoints', owner: { metadata: StoredMeta }): Json<V1OwnerReference> {
  const apiVersion = kind === 'Service' || kind === 'Endpoints' ? 'v1' : 'apps/v1';
  return { apiVersion, kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

/** Objects of `kind` whose controller is `owner`. */
export function ownedBy<K extends StoredKind>(store: Store, kind: K, owner: { metadata: StoredMeta }): KindMap[K][] {
  return listObjects(store, kind).filter((o) => controllerOf(o.metadata)?.uid === owner.metadata.uid);
}

export const isTerminating = (o: { metadata: StoredMeta }) => o.metadata.deletionTimestamp !== undefined;

/** Start a pod's graceful deletion: it is terminating until the lab has removed its sandbox. */
export function markDeleted(store: Store, pod: StoredPod, now: string): void {
  if (isTerminating(pod)) return;
  putObject(store, 'Pod', { ...pod, metadata: { ...pod.metadata, deletionTimestamp: now, deletionGracePeriodSeconds: pod.spec?.terminationGracePeriodSeconds ?? 30 } });
}

/** Remove an object for good (pods: once terminated), with no cascade. */
export function removeObject(store: Store, kind: StoredKind, key: string): void {
  if (!store.objects[kind]?.[key]) return;
  store.resourceVersion++;
  delete store.objects[kind][key];
}

/**
 * Delete an object the way the API does: pods become terminating, other kinds go at once with their
 * dependents (a Deployment's ReplicaSets, a ReplicaSet's pods, everything in a Namespace).
 */
export function deleteObject(store: Store, kind: StoredKind, key: string, now: string): void {
  const obj = store.objects[kind]?.[key] as StoredObject | undefined;
  if (!obj) return;
  if (kind === 'Pod') return markDeleted(store, obj as StoredPod, now);
  if (kind === 'Namespace') {
    for (const k of STORED_KINDS.filter(isNamespaced)) for (const o of listObjects(store, k)) if (o.metadata.namespace === obj.metadata.name) deleteObject(store, k, objectKey(k, o.metadata), now);
  } else if (kind === 'Deployment') {
    for (const rs of ownedBy(store, 'ReplicaSet', obj)) deleteObject(store, 'ReplicaSet', objectKey('ReplicaSet', rs.metadata), now);
  } else if (kind === 'ReplicaSet') {
    for (const pod of ownedBy(store, 'Pod', obj)) markDeleted(store, pod, now);
  } else if (kind === 'Service' || kind === 'Endpoints') {
    for (const slice of ownedBy(store, 'EndpointSlice', obj)) removeObject(store, 'EndpointSlice', objectKey('EndpointSlice', slice.metadata));
  }
  removeObject(store, kind, key);
}
