/**
 * The data-plane steps of a reconcile, each over a batch: remove what the diff says is stale, create
 * machines and pod sandboxes, and (re)start containers. The record marks an object built only once its
 * step completed, so an interrupted run leaves objects the next run sees as incomplete.
 */
import type { LabPlan, PodPlan } from '../plan/types.js';
import { fabricNetns, labPrefix, podLogFile, podNetns } from '../topology/names.js';
import { killInNetns, killRecorded } from '../host/netns.js';
import { programRunner } from './programs.js';
import { ipBatch, mapLimit, setSysctls } from '../host/run.js';
import { serverPortArgs, startHolders, startServers } from '../host/sandbox.js';
import type { LabDiff } from './diff.js';
import type { Observed } from './observe.js';
import type { Reporter } from './progress.js';
import { writeRecord, type LabRecord } from './state.js';
import { clearExitFile, exitFile } from './kubelet/exits.js';
import { removeNamespaces } from './teardown.js';
import { removePodLogs } from '../host/lab-dirs.js';
import { writePodEtcFiles } from './dns/pod-files.js';

/** How many pod processes start at once: enough to overlap spawns on 2 cores, few enough not to thrash. */
export const PARALLEL = 8;

export async function removeStale(diff: LabDiff, record: LabRecord, observed: Observed): Promise<void> {
  const netns = [...diff.removePods.map((p) => p.netns), ...diff.removeMachines.map((m) => m.netns), ...diff.removeOther, ...(diff.removeFabric ? [fabricNetns(record.lab)] : [])];
  const cuts = [
    ...diff.removePods.flatMap((p) => (p.cali ? [{ netns: p.cali.nodeNetns, link: p.cali.name }] : [])),
    ...diff.removeMachines.flatMap((m) => (m.fabricPort ? [{ netns: fabricNetns(record.lab), link: m.fabricPort }] : [])),
  ];
  // Marked processes outside any namespace we keep: leftovers of an interrupted run (not the supervisor).
  const keptInodes = new Set([...observed.netns].filter(([n]) => !netns.includes(n)).map(([, i]) => i));
  const orphans = observed.processes
    .filter((p) => p.marks.KEMU_ROLE !== 'supervisor' && (p.netInode === undefined || !keptInodes.has(p.netInode)))
    .map((p) => p.pid);
  await removeNamespaces(observed, netns, cuts, orphans);
  for (const n of netns) {
    delete record.built[n];
    delete record.built[`routes:${n}`];
  }
  // A removed node takes its tables with it: forget its kube-proxy state too.
  const nodePrefix = `${labPrefix(record.lab)}node.`;
  for (const m of diff.removeMachines) if (record.proxy && m.netns.startsWith(nodePrefix)) delete record.proxy[m.netns.slice(nodePrefix.length)];
  const removedPods = new Set(diff.removePods.map((p) => p.netns));
  const wanted = new Set(record.cluster.pods.map((p) => `${p.namespace}/${p.name}`));
  const gone: Array<{ namespace: string; name: string }> = [];
  for (const key of Object.keys(record.pods)) {
    const [ns, name] = key.split('/') as [string, string];
    if (!wanted.has(key)) gone.push({ namespace: ns, name });
    if (removedPods.has(podNetns(record.lab, ns, name)) || !wanted.has(key)) delete record.pods[key];
  }
  // A pod that is no longer wanted takes its logs with it; a rebuilt one keeps them.
  await removePodLogs(record.lab, gone);
}

export async function createMachines(plan: LabPlan, diff: LabDiff, reporter: Reporter): Promise<void> {
  const fresh = [...(diff.createFabric ? [plan.fabric.netns] : []), ...diff.createMachines.map((m) => m.netns)];
  if (fresh.length === 0) return;
  await ipBatch(undefined, fresh.map((n) => `netns add ${n}`));
  await ipBatch(plan.fabric.netns, [...(diff.createFabric ? plan.fabric.lines : []), ...diff.createMachines.flatMap((m) => m.fabricLines)]);
  if (diff.createFabric) await setSysctls(plan.fabric.netns, plan.fabric.sysctls);
  await mapLimit(diff.createMachines, PARALLEL, async (m) => {
    await ipBatch(m.netns, m.lines);
    await setSysctls(m.netns, m.sysctls);
  });
  reporter.detail(`${fresh.length} namespaces, ${diff.createMachines.length} machines on the underlay`);
}

export async function createPods(lab: string, pods: PodPlan[], record: LabRecord, reporter: Reporter): Promise<void> {
  const etcDirs = await writePodEtcFiles(lab, pods);
  const holders = await startHolders(
    lab,
    pods.map((p) => ({ key: p.key, netns: p.netns, hostname: p.hostname, lines: p.podLines, ...(p.hostNetwork ? { joinNetns: p.nodeNetns } : {}), ...(etcDirs.has(p.key) ? { etcDir: etcDirs.get(p.key)! } : {}) })),
  );
  const now = new Date().toISOString();
  for (const p of pods) record.pods[p.key] = { holderPid: holders.get(p.key)!, containers: {}, ready: false, startedAt: now };
  // Persist the pids now: an interruption from here on leaves processes `down` can name.
  await writeRecord(record);
  reporter.detail(`${pods.length} sandboxes started`);
  await writePodSysctls(pods, reporter);
  const byNode = new Map<string, PodPlan[]>();
  for (const p of pods) byNode.set(p.nodeNetns, [...(byNode.get(p.nodeNetns) ?? []), p]);
  await mapLimit([...byNode], PARALLEL, ([node, list]) => ipBatch(node, list.flatMap((p) => p.nodeLines)));
  reporter.detail(`${pods.length} host-side veths up with routes`);
  const started = await startContainers(lab, pods.flatMap((p) => p.containers.map((c) => ({ pod: p, container: c.name }))), record);
  for (const p of pods) record.built[p.netns] = p.hash;
  reporter.detail(`${started} containers running`);
  await writeRecord(record);
}

/**
 * Start (or restart) containers inside their pods' holders: the old process, if any, is killed first.
 * `restarted` containers count a restart, as the kubelet counts one after a container died.
 */
export async function startContainers(lab: string, list: Array<{ pod: PodPlan; container: string; restarted?: boolean }>, record: LabRecord): Promise<number> {
  if (list.length === 0) return 0;
  const planOf = (pod: PodPlan, name: string) => pod.containers.find((x) => x.name === name)!;
  await Promise.all(
    list.map(({ pod, container }) => {
      const marks = { KEMU_LAB: lab, KEMU_POD: pod.key, KEMU_CONTAINER: container };
      // A program's every process (nginx's workers outlive a killed master).
      const program = planOf(pod, container).program;
      if (program) return killInNetns(pod.netns, programRunner(program).comm);
      const pid = record.pods[pod.key]?.containers[container]?.pid;
      return pid ? killRecorded([pid], marks) : undefined;
    }),
  );
  await Promise.all(list.map(({ pod, container }) => clearExitFile(lab, pod.key, container)));
  const specs = await Promise.all(
    list.map(async ({ pod, container }) => {
      const c = planOf(pod, container);
      const spec = {
        key: pod.key,
        container,
        enter: { holderPid: record.pods[pod.key]!.holderPid },
        args: [...serverPortArgs(c.tcpPorts, c.udpPorts), ...c.args, '--exit-file', exitFile(lab, pod.key, container)],
        log: podLogFile(lab, pod.namespace, pod.name, container),
      };
      return c.program ? { ...spec, program: await programRunner(c.program).prepare({ lab, pod, container: c, record }) } : spec;
    }),
  );
  const pids = await startServers(lab, specs);
  const now = new Date().toISOString();
  for (const { pod, container, restarted } of list) {
    const rt = record.pods[pod.key]!;
    const before = rt.containers[container];
    const c = planOf(pod, container);
    // The previous instance's end becomes lastState, as the kubelet keeps it.
    const last = before?.exit ?? before?.last;
    rt.containers[container] = {
      pid: pids.get(`${pod.key}/${container}`)!,
      hash: c.hash,
      restarts: (before?.restarts ?? 0) + (restarted ? 1 : 0),
      startedAt: now,
      ...(last ? { last } : {}),
      ...(c.program ? { comm: programRunner(c.program).comm } : {}),
    };
  }
  return list.length;
}

/**
 * The pods' securityContext sysctls, written in their netns before the containers start, as the
 * runtime does. A value the kernel refuses is reported and the pod runs without it (the runtime would
 * fail the sandbox; the values were checked against the form each sysctl takes).
 */
async function writePodSysctls(pods: PodPlan[], reporter: Reporter): Promise<void> {
  const asking = pods.filter((p) => p.sysctls && Object.keys(p.sysctls).length);
  if (asking.length === 0) return;
  await mapLimit(asking, PARALLEL, (p) =>
    setSysctls(p.netns, p.sysctls!).catch((err: Error) => reporter.detail(`pod ${p.key}: the kernel refused its sysctls (${err.message.split('\n')[0]})`)),
  );
  reporter.detail(`sysctls written in ${asking.length} pod${asking.length === 1 ? '' : 's'}`);
}
