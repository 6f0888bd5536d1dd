/**
 * The lab's supervisor (`kemu supervise LAB`, started by the first reconcile, stopped by `down`, brought
 * back by its watchdog when killed): the kubelet's, calico-node's, kube-proxy's and controller manager's
 * loops for a running lab. It reads the recorded container processes, node daemons (BIRD, the IPIP
 * datapath, health-check servers) and pod sandboxes back when something happened to them — a watched
 * process ended, a link was deleted in a node namespace, a namespace was unlinked (events from
 * native/kemu-pidwatch and inotify: src/host/pid-watch.ts), the record changed — and every 30 s anyway;
 * without the helper it polls them (every 250 ms, sandboxes every second). It reads kube-proxy's
 * canaries (src/lab/kube-proxy/canary.ts) and Felix's rules (src/lab/policy/canary.ts) back on a node
 * whose nftables changed (or every 1 and 3 s without those events: src/lab/daemons/rule-checks.ts);
 * every probe period it runs the due startup, liveness and readiness probes from
 * the pods' nodes (src/lab/probes). When a container died, a back-off expired, a probe changed its
 * verdict (a failed liveness probe: the container is stopped first), a pod is terminating, a
 * controller timer is due (a Job's back-off or deadline) or a controller has work (a rollout waiting
 * for readiness), it reconciles the lab under the lab lock.
 */
import { stat } from 'node:fs/promises';
import { runControlPlane } from '../cluster/desired.js';
import { listObjects, isTerminating } from '../cluster/store.js';
import { controllerWakeAt } from '../cluster/controllers/index.js';
import { isAliveSync, NETNS_DIR } from '../host/netns.js';
import { PidWatch } from '../host/pid-watch.js';
import { iptablesIsNft } from '../host/iptables.js';
import { nodeNetns } from '../topology/names.js';
import { SERVER_COMM } from '../host/sandbox.js';
import { checkedLabPaths } from '../host/lab-dirs.js';
import { restartsAfter } from './kubelet/exits.js';
import { sandboxTrouble } from './kubelet/sandbox-health.js';
import { deadDaemon } from './daemons/liveness.js';
import { CanaryWatch } from './kube-proxy/canary.js';
import { PolicyWatch } from './policy/canary.js';
import { applyProbeVerdicts, newSupervisorProbes, runDueProbes, type SupervisorProbes } from './probes/supervise.js';
import { labLockHeld, withLabLock } from './lock.js';
import { PhaseTimer, type Reporter } from './progress.js';
import { reconcile, restartDelayMs } from './reconcile.js';
import { readRecord, stateFile, writeRecord, type LabRecord } from './state.js';
import { becomeSupervisor, startWatchdog, supervisorRuns, WATCHDOG_BIN } from './supervisor-process.js';
import type { ChildProcess } from 'node:child_process';

const TICK_MS = 250;
const SANDBOX_POLL_MS = 1000;
/** With events, the full read-back still runs this often: a safety net for what no event reports (a pid reused before its pidfd was opened, a process that exec'd another program). */
const SWEEP_MS = 30_000;
let sandboxCheckedAt = 0;
let sweptAt = 0;
/** The last tick found work: look again at the next one (a reconcile that failed leaves it unrepaired). */
let troubleSeen = false;
const quiet: Reporter = { phase: () => undefined, detail: () => undefined };
const log = (text: string): void => void process.stdout.write(`${new Date().toISOString()} ${text}\n`);

export async function supervise(lab: string): Promise<void> {
  await checkedLabPaths(lab);
  becomeSupervisor(lab);
  log(`supervising lab ${lab} (pid ${process.pid})`);
  if (!(await claim(lab))) return;
  let watchdog: ChildProcess | undefined;
  let watched = false;
  const watch = async () => {
    watched = true;
    watchdog = await startWatchdog(lab, () => void (watched = false));
    if (!watchdog) log(`no watchdog (${WATCHDOG_BIN} is missing): a killed supervisor comes back with the next command only`);
  };
  try {
    await watch();
    await loop(lab, async () => {
      if (!watched) {
        log('the watchdog died; starting another');
        await watch();
      }
    });
  } finally {
    // A supervisor that leaves on purpose takes its watchdog along.
    watched = true;
    watchdog?.kill('SIGKILL');
  }
}

/**
 * Take the record over, unless it names another living process with the supervisor's marks (any pid
 * can be written into the state file): at the start (a supervisor started by its watchdog after the
 * previous one was killed) and whenever the record stops naming this one. False: nothing to do here.
 */
async function claim(lab: string): Promise<boolean> {
  const why = await withLabLock(lab, async () => {
    const record = await readRecord(lab).catch(() => undefined);
    if (!record) return 'no readable record';
    if (record.supervisor?.pid === process.pid) return undefined;
    if (record.supervisor && (await supervisorRuns(record))) return `pid ${record.supervisor.pid} supervises the lab now`;
    log(`the record names pid ${record.supervisor?.pid ?? '(none)'}, which is not this lab's supervisor; recording pid ${process.pid}`);
    record.supervisor = { pid: process.pid };
    await writeRecord(record);
    return undefined;
  }).catch((err: Error) => err.message);
  if (why) log(`${why}; exiting`);
  return why === undefined;
}

async function loop(lab: string, everyTick: () => Promise<void>): Promise<void> {
  const probes = newSupervisorProbes();
  const canary = new CanaryWatch();
  const events = new PidWatch();
  // Unmarked: it cannot outlive the supervisor (it dies with its parent, and when its stdin closes), so `down` and `up`'s clean-up have nothing to find.
  // Rule change events only where kemu's rules are nftables objects (iptables-nft, not legacy).
  const rules = process.env.KEMU_RULE_EVENTS !== 'off' && (await iptablesIsNft());
  if (!rules) log('no nftables change events: reading the nodes\' rules back on a period');
  if (!events.start({ PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }, { rules })) log('no event helper (kemu-pidwatch is missing): polling processes and sandboxes');
  try {
    await watchLoop(lab, everyTick, probes, canary, events);
  } finally {
    events.stop();
  }
}

/** What the supervisor reads back: every recorded process, and the node namespaces (where pod veths have their node end). */
function watchRecord(record: LabRecord, events: PidWatch): void {
  const pids: number[] = [];
  for (const rt of Object.values(record.pods)) {
    pids.push(rt.holderPid);
    for (const c of Object.values(rt.containers)) if (!c.diedAt) pids.push(c.pid);
  }
  for (const b of Object.values(record.bird ?? {})) pids.push(b.pid);
  for (const t of Object.values(record.tunnels ?? {})) if (t.pid) pids.push(t.pid);
  for (const p of Object.values(record.proxy ?? {})) if (p.health) pids.push(p.health.pid);
  events.set(
    pids.filter((p) => p > 0),
    record.cluster.nodes.map((n) => `${NETNS_DIR}/${nodeNetns(record.lab, n.name)}`),
  );
}

async function watchLoop(lab: string, everyTick: () => Promise<void>, probes: SupervisorProbes, canary: CanaryWatch, events: PidWatch): Promise<void> {
  let mtime = -1;
  let record: LabRecord | undefined;
  let checked = -1;
  const policyWatch = new PolicyWatch();
  for (;;) {
    await everyTick();
    const st = await stat(stateFile(lab)).catch(() => undefined);
    if (!st) return log('the lab is gone; exiting');
    // A command holding the lock writes the record several times: read it once that command is done
    // (each read parses megabytes, taking a core from the command on a small machine).
    if (st.mtimeMs !== mtime && !(record && (await labLockHeld(lab)))) {
      record = await readRecord(lab).catch(() => undefined);
      mtime = st.mtimeMs;
      if (record) watchRecord(record, events);
    }
    if (!record) return log('no readable record; exiting');
    if (record.supervisor?.pid !== process.pid) {
      if (!(await claim(lab))) return;
      mtime = -1;
      continue;
    }
    try {
      // The controllers read only the record: look at them again only when it changed.
      const why = await workToDo(record, probes, canary, policyWatch, checked !== mtime, events);
      checked = mtime;
      troubleSeen = why !== undefined;
      if (why) {
        log(`reconciling: ${why}`);
        await withLabLock(lab, async () => {
          const current = await readRecord(lab);
          if (!current) return;
          await applyProbeVerdicts(current, probes);
          canary.apply(current);
          policyWatch.apply(current);
          const r = await reconcile(current, structuredClone(current.store), { reporter: quiet, timer: new PhaseTimer(quiet) });
          if (r.restarted.length) log(`restarted ${r.restarted.join(', ')}`);
        });
        mtime = -1;
      }
    } catch (err) {
      log(`reconcile failed: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
}

/** Why the lab needs a reconcile now, or undefined. */
async function workToDo(record: LabRecord, probes: SupervisorProbes, canary: CanaryWatch, policyWatch: PolicyWatch, recordChanged: boolean, events: PidWatch): Promise<string | undefined> {
  const now = Date.now();
  // With events: read everything back only when something happened (or the record changed, or the
  // safety sweep is due). Polling: sandboxes once a second (three /proc reads per pod), containers every tick.
  const polling = !events.running;
  const happened = events.takeChanged() || recordChanged || troubleSeen || now - sweptAt >= SWEEP_MS;
  const look = polling || happened;
  if (!polling && happened) sweptAt = now;
  if (polling ? now - sandboxCheckedAt >= SANDBOX_POLL_MS : look) {
    sandboxCheckedAt = now;
    const sandbox = sandboxTrouble(record);
    if (sandbox) return sandbox;
  }
  if (look) {
    const daemon = deadDaemon(record);
    if (daemon) return daemon;
  }
  const ticks = { changed: events.takeRulesChanged(), locked: await labLockHeld(record.lab) };
  const flushed = await canary.poll(record, now, ticks);
  if (flushed) return flushed;
  const drifted = await policyWatch.poll(record, now, ticks);
  if (drifted) return drifted;
  for (const p of record.cluster.pods) {
    const key = `${p.namespace}/${p.name}`;
    const rt = record.pods[key];
    if (!rt || p.terminating) continue;
    for (const c of p.containers) {
      const cur = rt.containers[c.name];
      if (!cur) continue;
      if (look && !cur.diedAt && !isAliveSync(cur.pid, cur.comm ?? SERVER_COMM)) return `container ${key}/${c.name} (pid ${cur.pid}) died`;
      if (cur.diedAt && restartsAfter(p.restartPolicy, cur.exit) && now - Date.parse(cur.diedAt) >= restartDelayMs(cur.restarts)) return `container ${key}/${c.name} is due for a restart`;
    }
  }
  // Liveness, readiness and startup probes, each on its period (src/lab/probes).
  const probed = await runDueProbes(record, probes, now);
  if (probed) return probed;
  if (now >= controllerWakeAt(record.store)) return 'a controller timer is due';
  if (!recordChanged) return undefined;
  if (listObjects(record.store, 'Pod').some(isTerminating)) return 'pods are terminating';
  const store = structuredClone(record.store);
  runControlPlane(store, record.spec, { now: new Date().toISOString(), suffix: () => 'xxxxx', isReady: (k) => record.pods[k]?.ready === true });
  if (store.resourceVersion !== record.store.resourceVersion) return 'the controllers have work';
  return undefined;
}
