/**
 * Reconcile a lab: the emulated control plane over the store, then the data plane brought to it.
 * `up`, `apply`, `delete`, `scale` and the supervisor all come here, under the lab lock.
 *
 * One pass:
 *   controllers + scheduler → cluster state → plan → observe → diff →
 *   remove stale → namespaces → policy rules and ipsets → sandboxes, containers → container restarts → routes, BGP →
 *   readiness → pod status into the store → kube-proxy sync (terminating pods out) → DNS records → ingress nginx configs →
 *   terminating pods removed (sandbox, then object) → kube-proxy sync again if that changed endpoints.
 * Passes repeat while the control plane still moves (a rollout waiting for new pods to be ready).
 */
import { buildCluster, type Origins } from '../cluster/build.js';
import { runControlPlane } from '../cluster/desired.js';
import { randomSuffix } from '../cluster/pods.js';
import { ownedClosure, unfinishedRollouts } from '../cluster/controllers/rollouts.js';
import { isFinished, isTerminating, listObjects, removeObject, type Store } from '../cluster/store.js';
import type { ClusterState } from '../cluster/types.js';
import { planLab } from '../plan/lab-plan.js';
import type { LabPlan, PodPlan } from '../plan/types.js';
import { syncRoutesIfChanged } from '../host/routes.js';
import { mapLimit, spawnCounter } from '../host/run.js';
import { diffLab, isEmpty, type LabDiff } from './diff.js';
import { createMachines, createPods, PARALLEL, removeStale, startContainers } from './dataplane.js';
import { observeLab, podHealth, type PodHealth } from './observe.js';
import { writePodStatuses } from './pod-status.js';
import type { PhaseTimer, Reporter } from './progress.js';
import { readyPods } from './probes/readiness.js';
import { exitOf, graceMs, restartsAfter, stopContainers } from './kubelet/exits.js';
import { pendingSummary } from './pending.js';
import { syncBird } from './bird/sync.js';
import { syncServices, type ServiceSyncResult } from './kube-proxy/sync.js';
import { syncIngress } from './ingress/sync.js';
import { syncDnsRecords } from './dns/sync.js';
import { syncPortmaps } from './portmap/sync.js';
import { keepHooksFirst, syncPolicies } from './policy/sync.js';
import { writeRecord, type LabRecord } from './state.js';
import { ensureSupervisor } from './supervisor-process.js';
import { removeNamespaces } from './teardown.js';
import { removePodLogs, sweepLabTmp } from '../host/lab-dirs.js';
import { carryRestarts, cutOrphanVeths, keepRestarts, repairVeths } from './kubelet/sandbox-health.js';
import { deadDaemons, restartedDaemons } from './daemons/liveness.js';

/** A terminating pod's containers get SIGTERM this long after it left every node's endpoints (connections still on their way land). */
const DRAIN_MS = 300;
/** A preStop sleep keeps it serving longer, within its grace period, and never longer than this here. */
/** The kubelet's restart back-off: 10 s doubling to 5 min; kemu restarts a container the first time after 1 s. */
export const restartDelayMs = (restarts: number) => (restarts === 0 ? 1000 : Math.min(10_000 * 2 ** (restarts - 1), 300_000));

export interface ReconcileOptions {
  reporter: Reporter;
  timer: PhaseTimer;
  origins?: Origins;
  dryRun?: boolean;
  /** Read back what the record says is in place (routes) instead of trusting it: `up` does. */
  verify?: boolean;
  /** Keep passing until every rollout completed (or `waitMs` passed); otherwise one pass and what it settles. */
  wait?: boolean;
  waitMs?: number;
  /** Wait only for the rollouts of these objects (`Kind/namespace/name`, what the command changed) and what they own. */
  waitFor?: Set<string>;
}

export interface ReconcileResult {
  diff: LabDiff;
  routes: { added: number; removed: number };
  proxySyncs: ServiceSyncResult['synced'];
  passes: number;
  restarted: string[];
  /** What was found broken and repaired in place (`veth cali… of ns/name`). */
  repaired: string[];
  unschedulable: Array<{ pod: string; message: string }>;
  /** Rollouts still running when the command returned. */
  rollouts: string[];
  processesSpawned: number;
  /** When (epoch ms) every node had the endpoint changes of the first pass in its kernel */
  endpointsProgrammedAt?: number;
}

export async function reconcile(record: LabRecord, store: Store, opts: ReconcileOptions): Promise<ReconcileResult> {
  const spawnsBefore = spawnCounter.ip + spawnCounter.other;
  const result: ReconcileResult = { diff: emptyDiff(), routes: { added: 0, removed: 0 }, proxySyncs: [], passes: 0, restarted: [], repaired: [], unschedulable: [], rollouts: [], processesSpawned: 0 };
  const started = Date.now();
  const deadline = started + (opts.waitMs ?? 120_000);
  let shown = '';
  let shownAt = 0;
  // Under the lab lock: a temp folder left here is a killed command's.
  if (!opts.dryRun) await sweepLabTmp(record.lab);
  for (;;) {
    const p = await pass(record, store, opts, result.passes === 0);
    result.passes++;
    if (result.passes === 1) {
      result.diff = p.diff;
      result.endpointsProgrammedAt = p.endpointsAt;
    }
    result.routes = { added: result.routes.added + p.routes.added, removed: result.routes.removed + p.routes.removed };
    result.proxySyncs.push(...p.proxySyncs);
    result.restarted.push(...p.restarted);
    result.repaired.push(...p.repaired);
    result.unschedulable = p.unschedulable;
    if (opts.dryRun) break; // nothing ran: there is no rollout to report
    // Another pass only when the control plane, fed this pass's readiness, wants other pods.
    runControlPlane(store, record.spec, { now: new Date().toISOString(), suffix: randomSuffix, isReady: (k) => record.pods[k]?.ready === true });
    const waited = opts.waitFor && ownedClosure(store, opts.waitFor);
    result.rollouts = unfinishedRollouts(store, (k) => record.pods[k]?.ready === true, waited);
    if (p.terminated > 0 || boundPods(store) !== p.boundPods) continue;
    if (!opts.wait || result.rollouts.length === 0 || Date.now() > deadline || !awaitingReadiness(record, waited)) break;
    // Progress when it changes, and every 5 s while it does not.
    const progress = result.rollouts.join('; ');
    if (progress !== shown || Date.now() - shownAt >= 5000) {
      opts.reporter.detail(`waiting ${Math.round((Date.now() - started) / 1000)} s for ${progress}`);
      shown = progress;
      shownAt = Date.now();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!opts.dryRun) {
    await ensureSupervisor(record);
    await writeRecord(record);
  }
  result.processesSpawned = spawnCounter.ip + spawnCounter.other - spawnsBefore;
  return result;
}

/**
 * A rollout can still move on its own only while some pod (of the objects waited for) runs but is not
 * ready yet (its startup or readiness probe may pass). Pending pods no node takes, or containers in
 * back-off, do not end by waiting here.
 */
function awaitingReadiness(record: LabRecord, waited: Set<string> | undefined): boolean {
  return record.cluster.pods.some((p) => {
    const key = `${p.namespace}/${p.name}`;
    const rt = record.pods[key];
    if (!rt || p.terminating || rt.ready || (waited && !waited.has(`Pod/${key}`))) return false;
    return Object.values(rt.containers).every((c) => !c.diedAt) && p.containers.some((c) => c.readinessProbe || c.startupProbe);
  });
}

/** Which pods are bound where, and which are terminating: what the data plane follows. */
const boundPods = (store: Store) =>
  listObjects(store, 'Pod')
    .filter((p) => p.spec?.nodeName && !isFinished(p))
    .map((p) => `${p.metadata.namespace}/${p.metadata.name}@${p.spec!.nodeName}${isTerminating(p) ? '-' : ''}`)
    .sort()
    .join(' ');

interface PassResult {
  /** boundPods() of the store this pass built */
  boundPods: string;
  diff: LabDiff;
  routes: { added: number; removed: number };
  proxySyncs: ServiceSyncResult['synced'];
  restarted: string[];
  terminated: number;
  unschedulable: Array<{ pod: string; message: string }>;
  endpointsAt?: number;
  repaired: string[];
}

async function pass(record: LabRecord, store: Store, opts: ReconcileOptions, first: boolean): Promise<PassResult> {
  const { timer, reporter } = opts;
  const lab = record.lab;
  const isReady = (key: string) => record.pods[key]?.ready === true;
  const now = new Date().toISOString();
  const scheduling = runControlPlane(store, record.spec, { now, suffix: randomSuffix, isReady });
  if (first) for (const line of pendingSummary(scheduling.unschedulable)) reporter.detail(line);
  const cluster = buildCluster(record.spec, store, record.cluster, opts.origins);
  const planned = planLab(cluster);
  timer.start('observe');
  const observed = await observeLab(lab);
  const podNetnsOf = new Map(planned.pods.map((p) => [p.key, p.netns]));
  const health = await podHealth(record, observed, (key) => podNetnsOf.get(key) ?? '');
  const sandboxOk = new Set([...health].filter(([, h]) => h.sandbox).map(([k]) => k));
  // A terminating pod whose sandbox is gone has nothing left to drain: it is not rebuilt.
  const plan: LabPlan = { ...planned, pods: planned.pods.filter((p) => !p.terminating || sandboxOk.has(p.key)) };
  const diff = diffLab(plan, record, new Set(observed.netns.keys()), sandboxOk);
  const out: PassResult = { boundPods: boundPods(store), diff, routes: { added: 0, removed: 0 }, proxySyncs: [], restarted: [], terminated: 0, unschedulable: scheduling.unschedulable, repaired: [] };
  if (opts.dryRun) return out;
  // calico-node's part: a kept pod whose veth went missing gets it back in place.
  out.repaired = await repairVeths(record, plan.pods.filter((p) => sandboxOk.has(p.key) && !diff.createPods.some((c) => c.key === p.key)));
  for (const r of out.repaired) reporter.detail(`repaired: ${r}`);
  // The kubelet's part: a sandbox that died under running pods is rebuilt and its containers count a restart.
  const changedSandboxes = keepRestarts(record, diff.createPods.filter((p) => record.pods[p.key] && !sandboxOk.has(p.key)).map((p) => p.key));

  // From here on the record describes the new desired state; an interruption is finished by the next run.
  record.store = store;
  record.cluster = cluster;
  if (!isEmpty(diff)) {
    timer.start('remove');
    await removeStale(diff, record, observed);
    await writeRecord(record);
    timer.start('namespaces');
    await createMachines(plan, diff, reporter);
    for (const m of diff.createMachines) {
      record.built[m.netns] = m.hash;
      // A fresh node has empty tables: its next kube-proxy sync must be a full one.
      if (record.proxy) delete record.proxy[m.name];
    }
    if (diff.createFabric) record.built[plan.fabric.netns] = plan.fabric.hash;
    if (diff.createMachines.length || diff.createFabric) await writeRecord(record);
  }
  // Felix's part before any new sandbox: a new pod is in every node's ipsets (and its endpoint chains are in place) before its containers serve.
  timer.start('policy');
  const policies = await syncPolicies(cluster, record, { fresh: new Set(diff.createMachines.filter((m) => m.role === 'node').map((m) => m.name)), verify: opts.verify });
  out.repaired.push(...policies.repaired);
  for (const r of policies.repaired) reporter.detail(`repaired: ${r}`);
  if (policies.written.length) reporter.detail(`policy rules written on ${policies.written.join('; ')}`);
  if (!isEmpty(diff)) {
    if (diff.createPods.length) {
      timer.start('pods');
      await cutOrphanVeths(diff.createPods.filter((p) => changedSandboxes.has(p.key)), new Set(observed.netns.keys()));
      await createPods(lab, diff.createPods, record, reporter);
      carryRestarts(record, changedSandboxes, new Date().toISOString());
    }
  }
  timer.start('containers');
  out.restarted = await syncContainers(lab, plan, diff, health, record, reporter);
  timer.start('routes');
  const deadBefore = deadDaemons(record);
  const fresh = new Set(diff.createMachines.map((m) => m.netns));
  // `up` reads every node's routes back; other commands trust the record for nodes whose routes did not change.
  const counts = await mapLimit(plan.routes, PARALLEL, (r) => syncRoutesIfChanged(record.built, r.netns, r.routes, { fresh: fresh.has(r.netns), verify: opts.verify }));
  out.routes = counts.reduce((a, c) => ({ added: a.added + c.added, removed: a.removed + c.removed }), { added: 0, removed: 0 });
  if (cluster.network.routing !== 'static' || record.bird) {
    timer.start('bgp');
    const bgp = await syncBird(cluster, record);
    if (bgp.tunnels.length) reporter.detail(`tunl0 up on ${bgp.tunnels.join(', ')}`);
    if (bgp.restarted.length) reporter.detail(`BIRD started on ${bgp.restarted.join(', ')}; all BGP sessions Established after ${bgp.establishedMs} ms`);
    await writeRecord(record);
  }

  timer.start('services');
  await updateReadiness(cluster, plan, record);
  writePodStatuses(store, cluster, record, now);
  const freshness = { freshNodes: new Set(diff.createMachines.filter((m) => m.role === 'node').map((m) => m.name)), freshFabric: diff.createFabric, verify: opts.verify };
  const services = await syncServices(cluster, record, readySet(cluster, record), freshness);
  out.endpointsAt = Date.now();
  out.proxySyncs.push(...services.synced);
  const repaired = [...restartedDaemons(deadBefore, record), ...services.repaired];
  out.repaired.push(...repaired);
  for (const r of repaired) reporter.detail(`repaired: ${r}`);
  for (const s of services.synced) reporter.detail(`node ${s.node}: ${s.mode} sync, ${s.services} service ports written in ${s.ms} ms${s.notes ? `; ${s.notes.join('; ')}` : ''}`);
  await keepHooksFirst(record, services.synced.filter((s) => s.mode === 'full').map((s) => s.node));
  for (const n of await syncPortmaps(cluster, record)) reporter.detail(`portmap on ${n}`);
  await syncDnsRecords(cluster, services.slices);
  await syncIngress(plan, cluster, store, record, services.slices, reporter);
  await writeRecord(record);

  out.terminated = await finishTerminating(plan, cluster, record, store, observed);
  if (out.terminated) {
    reporter.detail(`${out.terminated} terminated pod${out.terminated === 1 ? '' : 's'} removed`);
    const after = await syncServices(record.cluster, record, readySet(record.cluster, record));
    out.proxySyncs.push(...after.synced);
    await keepHooksFirst(record, after.synced.filter((s) => s.mode === 'full').map((s) => s.node));
    // The removed pods' endpoint chains and set memberships go now, as Felix drops a deleted workload.
    const policiesAfter = await syncPolicies(record.cluster, record);
    if (policiesAfter.written.length) reporter.detail(`policy rules written on ${policiesAfter.written.join('; ')}`);
    for (const n of await syncPortmaps(record.cluster, record)) reporter.detail(`portmap on ${n}`);
    await syncDnsRecords(record.cluster, after.slices);
    await writeRecord(record);
  }
  return out;
}

// A pod on a node stopped with `kemu node stop` is not ready (its node is NotReady).
const readySet = (c: ClusterState, record: LabRecord) => {
  const stopped = new Set(record.stoppedNodes ?? []);
  return new Set(c.pods.filter((p) => !stopped.has(p.nodeName)).map((p) => `${p.namespace}/${p.name}`).filter((k) => record.pods[k]?.ready === true));
};

/**
 * Containers of kept pods: restart the ones whose arguments changed, and the dead ones once their
 * back-off passed (restartPolicy Never leaves them dead). A container just found dead is only marked.
 */
async function syncContainers(lab: string, plan: LabPlan, diff: LabDiff, health: Map<string, PodHealth>, record: LabRecord, reporter: Reporter): Promise<string[]> {
  const created = new Set(diff.createPods.map((p) => p.key));
  const policies = new Map(record.cluster.pods.map((p) => [`${p.namespace}/${p.name}`, p.restartPolicy]));
  const now = Date.now();
  const todo: Array<{ pod: PodPlan; container: string; restarted?: boolean }> = [];
  for (const pod of plan.pods) {
    const rt = record.pods[pod.key];
    if (created.has(pod.key) || !rt || pod.terminating) continue;
    const policy = policies.get(pod.key) ?? 'Always';
    for (const c of pod.containers) {
      const cur = rt.containers[c.name];
      const alive = health.get(pod.key)?.alive[c.name] === true;
      if (!cur) todo.push({ pod, container: c.name });
      else if (alive && cur.hash !== c.hash) todo.push({ pod, container: c.name });
      else if (!alive) {
        cur.diedAt ??= new Date(now).toISOString();
        cur.exit ??= await exitOf(lab, pod.key, c.name, cur, cur.diedAt);
        if (restartsAfter(policy, cur.exit) && now - Date.parse(cur.diedAt) >= restartDelayMs(cur.restarts)) todo.push({ pod, container: c.name, restarted: true });
      }
    }
  }
  await startContainers(lab, todo, record);
  const restarted = todo.filter((t) => t.restarted).map((t) => `${t.pod.key}/${t.container}`);
  if (todo.length) reporter.detail(`${todo.length} containers (re)started${restarted.length ? `: ${restarted.join(', ')}` : ''}`);
  return restarted;
}

/** Ready: every container runs (and has not died since), every readiness probe passes; terminating pods keep their last readiness. */
async function updateReadiness(c: ClusterState, plan: LabPlan, record: LabRecord): Promise<void> {
  const running = new Set(
    plan.pods
      .filter((p) => {
        const rt = record.pods[p.key];
        return rt && !p.terminating && p.containers.every((ct) => rt.containers[ct.name] && !rt.containers[ct.name]!.diedAt);
      })
      .map((p) => p.key),
  );
  const ready = await readyPods(c, running, record);
  for (const p of plan.pods) {
    const rt = record.pods[p.key];
    if (rt && !p.terminating) rt.ready = ready.has(p.key);
  }
}

/** Terminating pods, out of every node's endpoints now: drain, remove their sandboxes, then their objects. */
async function finishTerminating(plan: LabPlan, cluster: ClusterState, record: LabRecord, store: Store, observed: Awaited<ReturnType<typeof observeLab>>): Promise<number> {
  const leaving = listObjects(store, 'Pod').filter(isTerminating);
  if (leaving.length === 0) return 0;
  const keys = new Set(leaving.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
  const pods = plan.pods.filter((p) => keys.has(p.key));
  // As the kubelet: a preStop hook first (the pod keeps serving, as a terminating endpoint), then SIGTERM;
  // what still runs after the grace period (bounded in a lab) is killed with the sandbox.
  const keyOf = (p: (typeof leaving)[number]) => `${p.metadata.namespace}/${p.metadata.name}`;
  const grace = new Map(leaving.map((p) => [keyOf(p), graceMs(p.metadata.deletionGracePeriodSeconds)]));
  const hold = new Map(leaving.map((p) => [keyOf(p), Math.min(grace.get(keyOf(p))!, Math.max(DRAIN_MS, preStopMs(p)))]));
  // Pods deleted together drain together, as long as the longest of them.
  const drain = Math.max(0, ...pods.map((p) => hold.get(p.key)!));
  if (pods.length && drain > 0) await new Promise((r) => setTimeout(r, drain));
  await stopContainers(record, pods.flatMap((p) => p.containers.map((c) => ({ pod: p.key, container: c.name, message: '', graceMs: Math.max(0, grace.get(p.key)! - drain) }))));
  const netns = pods.map((p) => p.netns);
  // Their processes live in their namespaces: removeNamespaces finds them there (no pid from the record is trusted).
  await removeNamespaces(observed, netns, pods.map((p) => ({ netns: p.nodeNetns, link: p.caliName })));
  for (const n of netns) delete record.built[n];
  for (const key of keys) {
    delete record.pods[key];
    removeObject(store, 'Pod', key);
  }
  await removePodLogs(record.lab, leaving.map((p) => ({ namespace: p.metadata.namespace ?? 'default', name: p.metadata.name })));
  record.cluster = { ...cluster, pods: cluster.pods.filter((p) => !keys.has(`${p.namespace}/${p.name}`)) };
  return keys.size;
}

/** The longest preStop sleep of a pod's containers (`sleep: {seconds}`, or an exec of `sleep N`), in ms. */
function preStopMs(pod: ReturnType<typeof listObjects<'Pod'>>[number]): number {
  const secs = (pod.spec?.containers ?? []).map((c) => {
    const hook = c.lifecycle?.preStop;
    if (hook?.sleep?.seconds !== undefined) return hook.sleep.seconds;
    const cmd = (hook?.exec?.command ?? []).join(' ');
    const m = /^(?:\/bin\/|\/usr\/bin\/)?sleep (\d+(?:\.\d+)?)$/.exec(cmd) ?? /^(?:\/bin\/)?sh -c sleep (\d+(?:\.\d+)?)$/.exec(cmd);
    return m ? Number(m[1]) : 0;
  });
  return Math.max(0, ...secs) * 1000;
}

function emptyDiff(): LabDiff {
  return { createFabric: false, createMachines: [], createPods: [], removePods: [], removeMachines: [], removeFabric: false, removeOther: [], reasons: [] };
}

