/**
 * The emulated kube-scheduler: binds each pending pod to a node that passes the filters, in the
 * default profile's order (NodeUnschedulable, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit: pod
 * count, cpu and memory requests, InterPodAffinity), and scores best, or marks it Unschedulable with
 * the message Kubernetes gives. Scores: first the preference plugins as the framework weighs them
 * (TaintToleration ×3, NodeAffinity ×2, InterPodAffinity ×2, each normalised to 0..100), then the
 * spread of a controller's pods, least allocated, fewest pods.
 * Pure: it mutates only the store it is given.
 */
import type { ControllerContext, SchedulingNode } from './controllers/types.js';
import { controllerOf, isFinished, isTerminating, listObjects, objectKey, putObject, type Store, type StoredPod } from './store.js';
import { hasPodAffinity, interPodFilter, interPodScore, type NamespaceLabels, type PlacedPod } from './scheduling/inter-pod.js';
import {
  defaultNormalize,
  intolerablePreferNoSchedule,
  minMaxNormalize,
  nodeAffinityFilter,
  preFilterNodeNames,
  preferredNodeAffinity,
  REASON_PREFILTER_NODE_AFFINITY,
  taintFilter,
  unschedulableFilter,
} from './scheduling/node-plugins.js';
import { nodePortsFilter, wantedHostPorts, type WantedPort } from './scheduling/node-ports.js';
import { parseCpu, parseMemory } from '../util/quantity.js';

export interface ScheduleResult {
  bound: Array<{ pod: string; node: string }>;
  unschedulable: Array<{ pod: string; message: string }>;
}

interface Resources {
  cpuMilli: number;
  memoryBytes: number;
}

// What the scheduler assumes for a container that requests nothing, when scoring only.
const NON_ZERO_CPU_MILLI = 100;
const NON_ZERO_MEMORY_BYTES = 200 * 1024 * 1024;

interface NodeUsage {
  requested: Resources;
  /** requests with the non-zero defaults, for scoring */
  scored: Resources;
  pods: number;
  /** non-terminating pods per controller uid */
  byOwner: Map<string, number>;
  /** host ports its pods hold (NodePorts) */
  hostPorts: WantedPort[];
}

/** A container's request for a resource as defaulted by the API server: the request, else the limit. */
function containerRequest(c: { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }, resource: 'cpu' | 'memory'): string | undefined {
  return c.resources?.requests?.[resource] ?? c.resources?.limits?.[resource];
}

function sumRequests(pod: StoredPod, nonZero: boolean): Resources {
  const total = { cpuMilli: 0, memoryBytes: 0 };
  for (const c of pod.spec?.containers ?? []) {
    const cpu = containerRequest(c, 'cpu');
    const memory = containerRequest(c, 'memory');
    total.cpuMilli += cpu === undefined ? (nonZero ? NON_ZERO_CPU_MILLI : 0) : (parseCpu(cpu) ?? 0);
    total.memoryBytes += memory === undefined ? (nonZero ? NON_ZERO_MEMORY_BYTES : 0) : (parseMemory(memory) ?? 0);
  }
  return total;
}

/** The cpu and memory a pod requests (limits standing in for missing requests). */
export function podRequests(pod: StoredPod): Resources {
  return sumRequests(pod, false);
}

function addPod(usage: NodeUsage, pod: StoredPod): void {
  const req = podRequests(pod);
  const scored = sumRequests(pod, true);
  usage.requested.cpuMilli += req.cpuMilli;
  usage.requested.memoryBytes += req.memoryBytes;
  usage.scored.cpuMilli += scored.cpuMilli;
  usage.scored.memoryBytes += scored.memoryBytes;
  usage.pods++;
  usage.hostPorts.push(...wantedHostPorts(pod));
  const owner = controllerOf(pod.metadata)?.uid;
  if (owner && !isTerminating(pod)) usage.byOwner.set(owner, (usage.byOwner.get(owner) ?? 0) + 1);
}

/** What a scheduling cycle looks at besides the node: its usage, the pods placed so far, namespace labels. */
interface Cycle {
  usage: NodeUsage;
  /** the host ports the pod asks for */
  wanted: WantedPort[];
  placed: PlacedPod[];
  nsLabels: NamespaceLabels;
}

/**
 * Why a node cannot take the pod, or [] when it can. Like the scheduler framework, a node is reported
 * under its first failing filter; the resource fit filter reports every resource that is short.
 */
function filterReasons(node: SchedulingNode, cycle: Cycle, pod: StoredPod, req: Resources): string[] {
  const { usage } = cycle;
  const early = unschedulableFilter(pod, node) ?? taintFilter(pod, node) ?? nodeAffinityFilter(pod, node) ?? nodePortsFilter(cycle.wanted, usage.hostPorts);
  if (early) return [early];
  const reasons: string[] = [];
  if (usage.pods + 1 > node.allocatable.pods) reasons.push('Too many pods');
  if (req.cpuMilli > 0 && usage.requested.cpuMilli + req.cpuMilli > node.allocatable.cpuMilli) reasons.push('Insufficient cpu');
  if (req.memoryBytes > 0 && usage.requested.memoryBytes + req.memoryBytes > node.allocatable.memoryBytes) reasons.push('Insufficient memory');
  if (reasons.length) return reasons;
  const affinity = interPodFilter(pod, node, cycle.placed, cycle.nsLabels);
  return affinity ? [affinity] : [];
}

/** The preference plugins' weighted, normalised sum per feasible node (the framework's default weights). */
function preferenceScores(pod: StoredPod, feasible: SchedulingNode[], placed: PlacedPod[], nsLabels: NamespaceLabels): number[] {
  const taints = defaultNormalize(feasible.map((n) => intolerablePreferNoSchedule(pod, n)), true);
  const nodeAffinity = defaultNormalize(feasible.map((n) => preferredNodeAffinity(pod, n)), false);
  const interPod = placed.some((e) => hasPodAffinity(e.pod)) || hasPodAffinity(pod) ? minMaxNormalize(feasible.map((n) => interPodScore(pod, n, placed, nsLabels))) : feasible.map(() => 0);
  return feasible.map((_, i) => 3 * taints[i]! + 2 * nodeAffinity[i]! + 2 * interPod[i]!);
}

const freeFraction = (allocatable: number, used: number) => (allocatable > 0 ? Math.max(0, allocatable - used) / allocatable : 0);

/** Scores to compare in order, higher better. */
function scores(node: SchedulingNode, usage: NodeUsage, owner: string | undefined, scored: Resources): number[] {
  const spread = owner ? -(usage.byOwner.get(owner) ?? 0) : 0;
  const leastAllocated =
    (freeFraction(node.allocatable.cpuMilli, usage.scored.cpuMilli + scored.cpuMilli) +
      freeFraction(node.allocatable.memoryBytes, usage.scored.memoryBytes + scored.memoryBytes)) /
    2;
  return [spread, leastAllocated, -usage.pods];
}

function isBetter(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! > b[i]!;
  return false;
}

/** `0/3 nodes are available: 1 Insufficient cpu, 2 Insufficient memory.` */
function fitErrorMessage(nodeCount: number, reasons: Map<string, number>): string {
  if (nodeCount === 0) return 'no nodes available to schedule pods';
  // Kubernetes sorts the "count reason" strings as a whole (byte order), not the reasons alone.
  const histogram = [...reasons].map(([reason, n]) => `${n} ${reason}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `0/${nodeCount} nodes are available: ${histogram.join(', ')}.`;
}

/** Oldest first, then by key: the scheduling queue's order (times parsed once, not per comparison). */
function byCreation(pods: StoredPod[]): StoredPod[] {
  const rows = pods.map((p) => ({ p, t: Date.parse(p.metadata.creationTimestamp), k: objectKey('Pod', p.metadata) }));
  rows.sort((a, b) => (a.t !== b.t && !Number.isNaN(a.t) && !Number.isNaN(b.t) ? a.t - b.t : a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return rows.map((r) => r.p);
}

type PodCondition = NonNullable<NonNullable<StoredPod['status']>['conditions']>[number];

/** The pod's status with its PodScheduled condition replaced (transition time kept if the status is the same). */
function withScheduled(pod: StoredPod, cond: Omit<PodCondition, 'type' | 'lastTransitionTime'>, now: string): NonNullable<StoredPod['status']> {
  const conditions = pod.status?.conditions ?? [];
  const old = conditions.find((c) => c.type === 'PodScheduled');
  const next: PodCondition = { type: 'PodScheduled', ...cond, lastTransitionTime: old?.status === cond.status ? (old.lastTransitionTime ?? now) : now };
  return { ...pod.status, phase: 'Pending', conditions: [...conditions.filter((c) => c.type !== 'PodScheduled'), next] };
}

/** A namespace's labels: its object's, plus kubernetes.io/metadata.name as the API server sets it on every namespace. */
const namespaceLabels = (store: Store): NamespaceLabels => (ns) => ({ ...(store.objects.Namespace[ns]?.metadata.labels ?? {}), 'kubernetes.io/metadata.name': ns });

export function schedule(store: Store, nodes: SchedulingNode[], ctx: Pick<ControllerContext, 'now'>): ScheduleResult {
  const usage = new Map<string, NodeUsage>(
    nodes.map((n) => [n.name, { requested: { cpuMilli: 0, memoryBytes: 0 }, scored: { cpuMilli: 0, memoryBytes: 0 }, pods: 0, byOwner: new Map(), hostPorts: [] }]),
  );
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const placed: PlacedPod[] = [];
  const pods = listObjects(store, 'Pod');
  for (const pod of pods) {
    // Pods that have finished no longer hold resources (the scheduler's cache drops them); terminating ones do.
    const node = pod.spec?.nodeName ? byName.get(pod.spec.nodeName) : undefined;
    if (!node || isFinished(pod)) continue;
    addPod(usage.get(node.name)!, pod);
    placed.push({ pod, node });
  }
  const nsLabels = namespaceLabels(store);

  const result: ScheduleResult = { bound: [], unschedulable: [] };
  const pending = byCreation(pods.filter((p) => !p.spec?.nodeName && !isTerminating(p) && !isFinished(p)));
  for (const pod of pending) {
    const key = objectKey('Pod', pod.metadata);
    const req = podRequests(pod);
    const scored = sumRequests(pod, true);
    const owner = controllerOf(pod.metadata)?.uid;
    const reasons = new Map<string, number>();
    const count = (r: string) => reasons.set(r, (reasons.get(r) ?? 0) + 1);
    const only = preFilterNodeNames(pod);
    const wanted = wantedHostPorts(pod);
    const feasible: SchedulingNode[] = [];
    for (const node of nodes) {
      if (only && !only.has(node.name)) {
        count(REASON_PREFILTER_NODE_AFFINITY);
        continue;
      }
      const failed = filterReasons(node, { usage: usage.get(node.name)!, wanted, placed, nsLabels }, pod, req);
      for (const r of failed) count(r);
      if (failed.length === 0) feasible.push(node);
    }
    const preferences = feasible.length > 1 ? preferenceScores(pod, feasible, placed, nsLabels) : [0];
    let best: { node: SchedulingNode; scores: number[] } | undefined;
    feasible.forEach((node, i) => {
      const s = [preferences[i]!, ...scores(node, usage.get(node.name)!, owner, scored)];
      if (!best || isBetter(s, best.scores)) best = { node, scores: s };
    });

    if (best) {
      const bound: StoredPod = {
        ...pod,
        spec: { containers: [], ...pod.spec, nodeName: best.node.name },
        status: withScheduled(pod, { status: 'True' }, ctx.now),
      };
      putObject(store, 'Pod', bound);
      addPod(usage.get(best.node.name)!, bound);
      placed.push({ pod: bound, node: best.node });
      result.bound.push({ pod: key, node: best.node.name });
      continue;
    }

    const message = fitErrorMessage(nodes.length, reasons);
    const old = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    const unchanged = pod.status?.phase === 'Pending' && old?.status === 'False' && old.reason === 'Unschedulable' && old.message === message;
    if (!unchanged) putObject(store, 'Pod', { ...pod, status: withScheduled(pod, { status: 'False', reason: 'Unschedulable', message }, ctx.now) });
    result.unschedulable.push({ pod: key, message });
  }
  return result;
}
