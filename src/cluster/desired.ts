/**
 * The emulated control plane in one pure step: controllers (Deployments, ReplicaSets) then the
 * scheduler, over the store. `up`, `apply` and the supervisor run it before every data-plane pass;
 * tests use `clusterFromTopology` to get a topology's cluster state without a lab.
 */
import type { LabSpec, Topology } from '../topology/types.js';
import { applyManifests, checkBatch, implicitNamespaces } from './apply.js';
import { InputError } from '../topology/errors.js';
import { buildCluster, type Origins } from './build.js';
import { runControllers } from './controllers/index.js';
import type { ControllerContext, SchedulingNode } from './controllers/types.js';
import { nodeLabels } from './nodes.js';
import { schedule } from './scheduler.js';
import { SAFE_ALPHABET } from './pods.js';
import { emptyStore, objectKey, type Store, type StoredKind } from './store.js';
import type { ClusterState } from './types.js';

/** The taint the node lifecycle controller puts on a cordoned node. */
export const UNSCHEDULABLE_TAINT = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' } as const;

export function schedulingNodes(t: LabSpec): SchedulingNode[] {
  return t.nodes.map((n) => ({
    name: n.name,
    labels: nodeLabels(n.name, n.labels),
    unschedulable: n.unschedulable,
    taints: [...(n.taints ?? []), ...(n.unschedulable ? [UNSCHEDULABLE_TAINT] : [])],
    allocatable: n.capacity,
  }));
}

/** Controllers, then the scheduler for the pods they made; returns the scheduler's verdicts. */
export function runControlPlane(store: Store, t: LabSpec, ctx: ControllerContext): ReturnType<typeof schedule> {
  const nodes = schedulingNodes(t);
  runControllers(store, { ...ctx, nodes });
  return schedule(store, nodes, ctx);
}

/** Where each of the topology's workloads came from, for messages. */
export function topologyOrigins(t: Topology): Origins {
  return new Map(t.manifests.map((m) => [`${m.kind}/${objectKey(m.kind as StoredKind, m.object.metadata ?? {})}`, m.origin]));
}

/** A topology's cluster state as a fresh lab would get it, every pod counted ready. */
export function clusterFromTopology(t: Topology, previous?: ClusterState, opts: { suffix?: () => string; store?: Store } = {}): ClusterState {
  const store = opts.store ?? emptyStore();
  const now = new Date(0).toISOString();
  let n = 0;
  const suffix = opts.suffix ?? (() => countingSuffix(n++));
  const manifests = [...implicitNamespaces(t.manifests), ...t.manifests];
  const problems = checkBatch(store, manifests);
  if (problems.length) throw new InputError(t.file, problems);
  applyManifests(store, manifests, 'topology', now);
  runControlPlane(store, t, { now, suffix, isReady: () => true });
  return buildCluster(t, store, previous, topologyOrigins(t));
}

/** The n-th 5-character name in the safe alphabet: predictable suffixes where nothing random is wanted. */
export function countingSuffix(n: number): string {
  let s = '';
  for (let i = 0; i < 5; i++, n = Math.floor(n / SAFE_ALPHABET.length)) s = SAFE_ALPHABET[n % SAFE_ALPHABET.length] + s;
  return s;
}
