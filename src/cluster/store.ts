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
import type {
  V1ControllerRevision,
  V1DaemonSet,
  V1Deployment,
  V1EndpointSlice,
  V1Endpoints,
  V1Ingress,
  V1IngressClass,
  V1Job,
  V1Namespace,
  V1NetworkPolicy,
  V1ObjectMeta,
  V1OwnerReference,
  V1Pod,
  V1ReplicaSet,
  V1ReplicationController,
  V1Secret,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';

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
export type StoredIngress = Stored<V1Ingress>;
export type StoredIngressClass = Stored<V1IngressClass>;
/** Only `kubernetes.io/tls` Secrets (for Ingress TLS); the record holding them is root-only. */
export type StoredSecret = Stored<V1Secret>;
export type StoredStatefulSet = Stored<V1StatefulSet>;
export type StoredDaemonSet = Stored<V1DaemonSet>;
export type StoredJob = Stored<V1Job>;
export type StoredReplicationController = Stored<V1ReplicationController>;
export type StoredControllerRevision = Stored<V1ControllerRevision>;
export type StoredEndpointSlice = Stored<V1EndpointSlice>;
export type StoredNetworkPolicy = Stored<V1NetworkPolicy>;

/** MetalLB's objects (and its legacy ConfigMap), kept as written: spec, or data for the ConfigMap. */
export type StoredMetallb = { apiVersion: string; kind: string; metadata: StoredMeta; spec?: Record<string, unknown>; data?: Record<string, unknown> };

export interface KindMap {
  Namespace: StoredNamespace;
  Pod: StoredPod;
  Deployment: StoredDeployment;
  ReplicaSet: StoredReplicaSet;
  Service: StoredService;
  Endpoints: StoredEndpoints;
  Ingress: StoredIngress;
  IngressClass: StoredIngressClass;
  Secret: StoredSecret;
  StatefulSet: StoredStatefulSet;
  DaemonSet: StoredDaemonSet;
  Job: StoredJob;
  ReplicationController: StoredReplicationController;
  ControllerRevision: StoredControllerRevision;
  EndpointSlice: StoredEndpointSlice;
  NetworkPolicy: StoredNetworkPolicy;
  IPAddressPool: StoredMetallb;
  L2Advertisement: StoredMetallb;
  BGPAdvertisement: StoredMetallb;
  BGPPeer: StoredMetallb;
  ConfigMap: StoredMetallb;
}
export type StoredKind = keyof KindMap;
export type StoredObject = KindMap[StoredKind];

export const STORED_KINDS: StoredKind[] = [
  'Namespace',
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'ReplicationController',
  'ControllerRevision',
  'Pod',
  'Service',
  'Endpoints',
  'EndpointSlice',
  'IngressClass',
  'Secret',
  'Ingress',
  'NetworkPolicy',
  'ConfigMap',
  'IPAddressPool',
  'L2Advertisement',
  'BGPAdvertisement',
  'BGPPeer',
];
/** The API group/version of each stored kind, as owner references and `get -o yaml` name it. */
export const API_VERSION_OF: Record<StoredKind, string> = {
  Namespace: 'v1',
  Pod: 'v1',
  Service: 'v1',
  Endpoints: 'v1',
  ReplicationController: 'v1',
  Secret: 'v1',
  Deployment: 'apps/v1',
  ReplicaSet: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ControllerRevision: 'apps/v1',
  Job: 'batch/v1',
  EndpointSlice: 'discovery.k8s.io/v1',
  Ingress: 'networking.k8s.io/v1',
  IngressClass: 'networking.k8s.io/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  ConfigMap: 'v1',
  IPAddressPool: 'metallb.io/v1beta1',
  L2Advertisement: 'metallb.io/v1beta1',
  BGPAdvertisement: 'metallb.io/v1beta1',
  BGPPeer: 'metallb.io/v1beta2',
};
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
  return { resourceVersion: 0, objects: Object.fromEntries(STORED_KINDS.map((k) => [k, {}])) as Store['objects'] };
}

/** A store read from an older record may lack the maps of kinds added since: they start empty. */
export function completeStore(store: Store): Store {
  for (const k of STORED_KINDS) store.objects[k] ??= {};
  return store;
}

export const isNamespaced = (kind: StoredKind) => kind !== 'Namespace' && kind !== 'IngressClass';

/** `namespace/name` for namespaced kinds, `name` for cluster-scoped ones (namespaces, ingress classes). */
export function objectKey(kind: StoredKind, meta: { name?: string; namespace?: string }): string {
  return isNamespaced(kind) ? `${meta.namespace ?? 'default'}/${meta.name}` : meta.name!;
}

export function getObject<K extends StoredKind>(store: Store, kind: K, key: string): KindMap[K] | undefined {
  return store.objects[kind]?.[key] as KindMap[K] | undefined;
}

export function listObjects<K extends StoredKind>(store: Store, kind: K): KindMap[K][] {
  // A record from before a kind was stored has no table for it.
  return Object.values(store.objects[kind] ?? {}) as KindMap[K][];
}

/**
 * Objects by controller uid, per kind: built on first use and kept in step by putObject/removeObject,
 * so `ownedBy` does not scan every pod (a 10,000-replica Deployment asks thousands of times per sync).
 * Held beside the store (not in it), so it is never serialized or cloned.
 */
const ownerIndexes = new WeakMap<Store, Partial<Record<StoredKind, Map<string, Map<string, StoredObject>>>>>();

function ownerIndex(store: Store, kind: StoredKind): Map<string, Map<string, StoredObject>> {
  let byKind = ownerIndexes.get(store);
  if (!byKind) ownerIndexes.set(store, (byKind = {}));
  let index = byKind[kind];
  if (!index) {
    index = new Map();
    for (const [key, o] of Object.entries(store.objects[kind] ?? {}) as Array<[string, StoredObject]>) indexAdd(index, key, o);
    byKind[kind] = index;
  }
  return index;
}

function indexAdd(index: Map<string, Map<string, StoredObject>>, key: string, o: StoredObject): void {
  const uid = controllerOf(o.metadata)?.uid;
  if (uid === undefined) return;
  let owned = index.get(uid);
  if (!owned) index.set(uid, (owned = new Map()));
  owned.set(key, o);
}

function indexRemove(store: Store, kind: StoredKind, key: string): void {
  const index = ownerIndexes.get(store)?.[kind];
  const old = store.objects[kind]?.[key] as StoredObject | undefined;
  const uid = old && controllerOf(old.metadata)?.uid;
  if (index && uid !== undefined) index.get(uid)?.delete(key);
}

/** Store `obj` (new or changed) under the next resourceVersion. */
export function putObject<K extends StoredKind>(store: Store, kind: K, obj: KindMap[K]): KindMap[K] {
  store.resourceVersion++;
  obj.metadata.resourceVersion = String(store.resourceVersion);
  const key = objectKey(kind, obj.metadata);
  // Remove-then-add would move an updated object to the end; its place is kept, as in store.objects.
  const index = ownerIndexes.get(store)?.[kind];
  store.objects[kind] ??= {};
  const before = store.objects[kind][key] as StoredObject | undefined;
  const sameOwner = index && before && controllerOf(before.metadata)?.uid === controllerOf(obj.metadata)?.uid;
  if (index && !sameOwner) indexRemove(store, kind, key);
  (store.objects[kind] as Record<string, KindMap[K]>)[key] = obj;
  if (index) indexAdd(index, key, obj);
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

export function ownerRef(kind: StoredKind, owner: { metadata: StoredMeta }): Json<V1OwnerReference> {
  return { apiVersion: API_VERSION_OF[kind], kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

/** Objects of `kind` whose controller is `owner`. */
export function ownedBy<K extends StoredKind>(store: Store, kind: K, owner: { metadata: StoredMeta }): KindMap[K][] {
  return [...(ownerIndex(store, kind).get(owner.metadata.uid)?.values() ?? [])] as KindMap[K][];
}

export const isTerminating = (o: { metadata: StoredMeta }) => o.metadata.deletionTimestamp !== undefined;
/** A pod that ran to completion (or failed for good): it keeps its object and status, not its sandbox or resources. */
export const isFinished = (pod: StoredPod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/** Start a pod's graceful deletion: it is terminating until the lab has removed its sandbox. */
export function markDeleted(store: Store, pod: StoredPod, now: string): void {
  if (isTerminating(pod)) return;
  putObject(store, 'Pod', { ...pod, metadata: { ...pod.metadata, deletionTimestamp: now, deletionGracePeriodSeconds: pod.spec?.terminationGracePeriodSeconds ?? 30 } });
}

/** Remove an object for good (pods: once terminated), with no cascade. */
export function removeObject(store: Store, kind: StoredKind, key: string): void {
  if (!store.objects[kind]?.[key]) return;
  store.resourceVersion++;
  indexRemove(store, kind, key);
  delete store.objects[kind][key];
}

/**
 * Delete an object the way the API does: pods become terminating, other kinds go at once with their
 * dependents (a Deployment's ReplicaSets, any controller's pods and ControllerRevisions, everything in a Namespace).
 */
export function deleteObject(store: Store, kind: StoredKind, key: string, now: string): void {
  const obj = store.objects[kind]?.[key] as StoredObject | undefined;
  if (!obj) return;
  if (kind === 'Pod') return markDeleted(store, obj as StoredPod, now);
  if (kind === 'Namespace') {
    for (const k of STORED_KINDS.filter(isNamespaced)) for (const o of listObjects(store, k)) if (o.metadata.namespace === obj.metadata.name) deleteObject(store, k, objectKey(k, o.metadata), now);
  } else {
    for (const k of ['ReplicaSet', 'ControllerRevision'] as const) for (const o of ownedBy(store, k, obj)) deleteObject(store, k, objectKey(k, o.metadata), now);
    for (const pod of ownedBy(store, 'Pod', obj)) markDeleted(store, pod, now);
    // A Service's (or mirrored Endpoints') slices go with it.
    for (const slice of ownedBy(store, 'EndpointSlice', obj)) removeObject(store, 'EndpointSlice', objectKey('EndpointSlice', slice.metadata));
  }
  removeObject(store, kind, key);
}
