/**
 * The lab's supervisor (`kemu supervise LAB`, started by the first reconcile, stopped by `down`, brought
 * back by its watchdog when killed): the kubelet's, calico-node's, kube-proxy's and controller manager's
 * loops for a running lab. Every 250 ms it looks at the recorded container processes and node daemons
 * (BIRD, the IPIP datapath, health-check servers); every second at the pod sandboxes and kube-proxy's canaries
 * (src/lab/kube-proxy/canary.ts); every probe period it runs the due startup, liveness and readiness probes from
 * the pods' nodes (src/lab/probes). When a container died, a back-off expired, a probe changed its
 * verdict (a failed liveness probe: the container is stopped first), a pod is terminating, a
 * controller timer is due (a Job's back-off or deadline) or a controller has work (a rollout waiting
 * for readiness), it reconciles the lab under the lab lock.
 */
import { stat } from 'node:fs/promises';
import { runControlPlane } from '../cluster/desired.js';
import { listObjects, isTerminating } from '../cluster/store.js';
import { controllerWakeAt } from '../cluster/controllers/index.js';
import { isAliveSync } from '../host/netns.js';
import { SERVER_COMM } from '../host/sandbox.js';
import { checkedLabPaths } from '../host/lab-dirs.js';
import { restartsAfter } from './kubelet/exits.js';
import { sandboxTrouble } from './kubelet/sandbox-health.js';
import { deadDaemon } from './daemons/liveness.js';
import { CanaryWatch } from './kube-proxy/canary.js';
import { applyProbeVerdicts, newSupervisorProbes, runDueProbes, type SupervisorProbes } from './probes/supervise.js';
import { withLabLock } from './lock.js';
import { PhaseTimer, type Reporter } from './progress.js';
import { reconcile, restartDelayMs } from './reconcile.js';
import { readRecord, stateFile, writeRecord, type LabRecord } from './state.js';
import { becomeSupervisor, startWatchdog, supervisorRuns, WATCHDOG_BIN } from './supervisor-process.js';
import type { ChildProcess } from 'node:child_process';

const TICK_MS = 250;
const SANDBOX_POLL_MS = 1000;
let sandboxCheckedAt = 0;
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
  let mtime = -1;
  let record: LabRecord | undefined;
  let checked = -1;
  const probes = newSupervisorProbes();
  const canary = new CanaryWatch();
  for (;;) {
    await everyTick();
    const st = await stat(stateFile(lab)).catch(() => undefined);
    if (!st) return log('the lab is gone; exiting');
    if (st.mtimeMs !== mtime) {
      record = await readRecord(lab).catch(() => undefined);
      mtime = st.mtimeMs;
    }
    if (!record) return log('no readable record; exiting');
    if (record.supervisor?.pid !== process.pid) {
      if (!(await claim(lab))) return;
      mtime = -1;
      continue;
    }
    try {
      // The controllers read only the record: look at them again only when it changed.
      const why = await workToDo(record, probes, canary, checked !== mtime);
      checked = mtime;
      if (why) {
        log(`reconciling: ${why}`);
        await withLabLock(lab, async () => {
          const current = await readRecord(lab);
          if (!current) return;
          await applyProbeVerdicts(current, probes);
          canary.apply(current);
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
async function workToDo(record: LabRecord, probes: SupervisorProbes, canary: CanaryWatch, recordChanged: boolean): Promise<string | undefined> {
  const now = Date.now();
  // Sandboxes once a second (three /proc reads per pod: 500 pods cost ~9 ms), containers every tick.
  if (now - sandboxCheckedAt >= SANDBOX_POLL_MS) {
    sandboxCheckedAt = now;
    const sandbox = sandboxTrouble(record);
    if (sandbox) return sandbox;
  }
  const daemon = deadDaemon(record);
  if (daemon) return daemon;
  const flushed = await canary.poll(record, now);
  if (flushed) return flushed;
  for (const p of record.cluster.pods) {
    const key = `${p.namespace}/${p.name}`;
    const rt = record.pods[key];
    if (!rt || p.terminating) continue;
    for (const c of p.containers) {
      const cur = rt.containers[c.name];
      if (!cur) continue;
      if (!cur.diedAt && !isAliveSync(cur.pid, cur.comm ?? SERVER_COMM)) return `container ${key}/${c.name} (pid ${cur.pid}) died`;
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
