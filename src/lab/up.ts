/**
 * `kemu up`: bring a lab to its topology, idempotently.
 *
 * Order of work (deletes run first, in reverse):
 *   validate → plan → observe → diff →
 *   remove stale pods, machines, fabric →
 *   namespaces (one root `ip -batch`) → fabric bridge and ports → machine addresses and sysctls →
 *   pod holders → node-side veths and routes → pod-side addresses → containers →
 *   inter-node routes.
 * The record marks an object built only after its phase completes, so an interrupted run leaves objects
 * the next run sees as incomplete and rebuilds.
 */
import { buildCluster } from '../cluster/build.js';
import { planLab } from '../plan/lab-plan.js';
import type { LabPlan, PodPlan } from '../plan/types.js';
import { loadTopology } from '../topology/load.js';
import { fabricNetns, labPrefix, labRunDir, podNetns } from '../topology/names.js';
import { preflight } from '../host/preflight.js';
import { syncRoutes } from '../host/routes.js';
import { ipBatch, mapLimit, setSysctls, spawnCounter } from '../host/run.js';
import { serverPortArgs, startHolders, startServers } from '../host/sandbox.js';
import { diffLab, isEmpty, type LabDiff } from './diff.js';
import { withLabLock } from './lock.js';
import { healthyPods, observeLab } from './observe.js';
import { PhaseTimer, type Reporter } from './progress.js';
import { readRecord, writeRecord, type LabRecord } from './state.js';
import { removeNamespaces } from './teardown.js';
import { readyPods } from './readiness.js';
import { syncBird } from './routing.js';
import { syncServices, type ServiceSyncResult } from './services.js';

/** How many pod processes start at once: enough to overlap spawns on 2 cores, few enough not to thrash. */
const PARALLEL = 8;

export interface UpResult {
  lab: string;
  diff: LabDiff;
  applied: boolean;
  routes: { added: number; removed: number };
  /** nodes whose kube-proxy rules were written */
  proxySyncs: ServiceSyncResult['synced'];
  timings: Array<{ phase: string; ms: number }>;
  processesSpawned: number;
}

export async function up(file: string, reporter: Reporter, opts: { dryRun?: boolean } = {}): Promise<UpResult> {
  const timer = new PhaseTimer(reporter);
  timer.start('validate');
  const topology = await loadTopology(file);
  const lab = topology.name;
  if (!opts.dryRun) await preflight();
  return withLabLock(lab, async () => {
    const previous = await readRecord(lab);
    const cluster = buildCluster(topology, previous?.cluster);
    const plan = planLab(cluster);
    timer.start('observe');
    const observed = await observeLab(lab);
    const healthy = await healthyPods(previous, observed, (key) => plan.pods.find((p) => p.key === key)?.netns ?? '');
    const diff = diffLab(plan, previous, new Set(observed.netns.keys()), healthy);
    const spawnsBefore = spawnCounter.ip + spawnCounter.other;
    const result = (applied: boolean, routes = { added: 0, removed: 0 }, proxySyncs: UpResult['proxySyncs'] = []): UpResult => {
      timer.end();
      return { lab, diff, applied, routes, proxySyncs, timings: timer.timings, processesSpawned: spawnCounter.ip + spawnCounter.other - spawnsBefore };
    };
    if (opts.dryRun) return result(false);

    const record: LabRecord = previous ?? { version: 1, lab, topologyFile: topology.file, cluster, built: {}, pods: {}, updatedAt: '' };
    record.topologyFile = topology.file;
    record.cluster = cluster;
    if (!isEmpty(diff)) {
      timer.start('remove');
      await remove(diff, record, observed);
      await writeRecord(record);
      timer.start('namespaces');
      await createMachines(plan, diff, reporter);
      for (const m of diff.createMachines) {
        record.built[m.netns] = m.hash;
        // A fresh node has empty tables: its next kube-proxy sync must be a full one.
        if (record.proxy) delete record.proxy[m.name];
      }
      if (diff.createFabric) record.built[plan.fabric.netns] = plan.fabric.hash;
      await writeRecord(record);
      if (diff.createPods.length) {
        timer.start('pods');
        await createPods(lab, diff.createPods, record, reporter);
      }
    }
    timer.start('routes');
    const fresh = new Set(diff.createMachines.map((m) => m.netns));
    const counts = await mapLimit(plan.routes, PARALLEL, (r) => syncRoutes(r.netns, r.routes, fresh.has(r.netns)));
    const routes = counts.reduce((a, c) => ({ added: a.added + c.added, removed: a.removed + c.removed }), { added: 0, removed: 0 });
    if (cluster.network.routing !== 'static' || record.bird) {
      timer.start('bgp');
      const bgp = await syncBird(cluster, record);
      if (bgp.tunnels.length) reporter.detail(`tunl0 up on ${bgp.tunnels.join(', ')}`);
      if (bgp.restarted.length) reporter.detail(`BIRD started on ${bgp.restarted.join(', ')}; all BGP sessions Established after ${bgp.establishedMs} ms`);
      await writeRecord(record);
    }
    timer.start('services');
    // Running: pods found healthy at the start and kept, plus pods started (and listening) just now.
    const running = new Set([...plan.pods.filter((p) => !diff.createPods.includes(p) && healthy.has(p.key)).map((p) => p.key), ...diff.createPods.map((p) => p.key)]);
    const ready = await readyPods(cluster, running);
    const services = await syncServices(cluster, record, ready, { freshNodes: new Set(diff.createMachines.filter((m) => m.role === 'node').map((m) => m.name)), freshFabric: diff.createFabric });
    for (const s of services.synced) reporter.detail(`node ${s.node}: ${s.mode} sync, ${s.services} service ports written in ${s.ms} ms`);
    await writeRecord(record);
    return result(true, routes, services.synced);
  });
}

async function remove(diff: LabDiff, record: LabRecord, observed: Awaited<ReturnType<typeof observeLab>>): Promise<void> {
  const netns = [...diff.removePods.map((p) => p.netns), ...diff.removeMachines.map((m) => m.netns), ...diff.removeOther, ...(diff.removeFabric ? [fabricNetns(record.lab)] : [])];
  const cuts = [
    ...diff.removePods.flatMap((p) => (p.cali ? [{ netns: p.cali.nodeNetns, link: p.cali.name }] : [])),
    ...diff.removeMachines.flatMap((m) => (m.fabricPort ? [{ netns: fabricNetns(record.lab), link: m.fabricPort }] : [])),
  ];
  // Marked processes outside any namespace we keep: leftovers of an interrupted run.
  const keptInodes = new Set([...observed.netns].filter(([n]) => !netns.includes(n)).map(([, i]) => i));
  const orphans = observed.processes.filter((p) => p.netInode === undefined || !keptInodes.has(p.netInode)).map((p) => p.pid);
  await removeNamespaces(observed, netns, cuts, orphans);
  for (const n of netns) delete record.built[n];
  // A removed node takes its tables with it: forget its kube-proxy state too.
  const nodePrefix = `${labPrefix(record.lab)}node.`;
  for (const m of diff.removeMachines) if (record.proxy && m.netns.startsWith(nodePrefix)) delete record.proxy[m.netns.slice(nodePrefix.length)];
  const removedPods = new Set(diff.removePods.map((p) => p.netns));
  for (const key of Object.keys(record.pods)) {
    const [ns, name] = key.split('/') as [string, string];
    if (removedPods.has(podNetns(record.lab, ns, name)) || !record.cluster.pods.some((p) => `${p.namespace}/${p.name}` === key)) delete record.pods[key];
  }
}

async function createMachines(plan: LabPlan, diff: LabDiff, reporter: Reporter): Promise<void> {
  const fresh = [...(diff.createFabric ? [plan.fabric.netns] : []), ...diff.createMachines.map((m) => m.netns)];
  await ipBatch(undefined, fresh.map((n) => `netns add ${n}`));
  await ipBatch(plan.fabric.netns, [...(diff.createFabric ? plan.fabric.lines : []), ...diff.createMachines.flatMap((m) => m.fabricLines)]);
  if (diff.createFabric) await setSysctls(plan.fabric.netns, plan.fabric.sysctls);
  await mapLimit(diff.createMachines, PARALLEL, async (m) => {
    await ipBatch(m.netns, m.lines);
    await setSysctls(m.netns, m.sysctls);
  });
  reporter.detail(`${fresh.length} namespaces, ${diff.createMachines.length} machines on the underlay`);
}

async function createPods(lab: string, pods: PodPlan[], record: LabRecord, reporter: Reporter): Promise<void> {
  const holders = await startHolders(
    lab,
    pods.map((p) => ({ key: p.key, netns: p.netns, hostname: p.hostname, lines: p.podLines })),
  );
  for (const p of pods) record.pods[p.key] = { holderPid: holders.get(p.key)!, containers: {} };
  // Persist the pids now: an interruption from here on leaves processes `down` can name.
  await writeRecord(record);
  reporter.detail(`${pods.length} sandboxes started`);
  const byNode = new Map<string, PodPlan[]>();
  for (const p of pods) byNode.set(p.nodeNetns, [...(byNode.get(p.nodeNetns) ?? []), p]);
  await mapLimit([...byNode], PARALLEL, ([node, list]) => ipBatch(node, list.flatMap((p) => p.nodeLines)));
  reporter.detail(`${pods.length} host-side veths up with routes`);
  const containers = await startServers(
    lab,
    pods.flatMap((p) =>
      p.containers.map((c) => ({
        key: p.key,
        container: c.name,
        enter: { holderPid: record.pods[p.key]!.holderPid },
        args: serverPortArgs(c.tcpPorts, c.udpPorts),
        log: `${labRunDir(lab)}/logs/${p.namespace}_${p.name}_${c.name}.log`,
      })),
    ),
  );
  for (const p of pods) {
    for (const c of p.containers) record.pods[p.key]!.containers[c.name] = containers.get(`${p.key}/${c.name}`)!;
    record.built[p.netns] = p.hash;
  }
  reporter.detail(`${containers.size} containers running`);
  await writeRecord(record);
}
