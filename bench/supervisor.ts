/**
 * bench/supervisor: what the lab's supervisor costs while the lab is idle, at scale, against a
 * baseline in the same run.
 *
 *   sudo npx tsx bench/supervisor.ts [--nodes 5] [--pods 500] [--seconds 30]
 *
 * Two labs with the same nodes and Services: one with `--pods` pods, one with none (the baseline: the
 * supervisor's fixed cost — Node itself, the record, the canary polls of every node). Over the same
 * window it reads each supervisor's /proc/<pid>/stat: its own CPU (utime + stime) and its reaped
 * children's (cutime + cstime: the canary shell, nsenter, iptables), as % of one core, and its RSS. The
 * CPU of its helpers (native/kemu-pidwatch and native/kemu-spawner, children that are not reaped, and
 * the commands the spawner ran and reaped) counts as its own.
 */
import { execa } from 'execa';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BIN, numberOption } from './lib.js';

const NODES = numberOption('nodes', 5);
const PODS = numberOption('pods', 500);
const SECONDS = numberOption('seconds', 30);
const TICKS = 100; // USER_HZ

async function kemu(...args: string[]): Promise<void> {
  const r = await execa('node', [BIN, ...args], { reject: false });
  if (r.exitCode !== 0) throw new Error(`kemu ${args.join(' ')}: ${r.stderr}`);
}

function topology(lab: string, pods: number): string {
  const file = join(mkdtempSync(join(tmpdir(), 'kemu-bench-')), 'topology.yaml');
  const nodes = Array.from({ length: NODES }, (_, i) => ({ name: `n${i + 1}` }));
  const workloads = nodes.flatMap((n, i) => {
    const replicas = Math.floor(pods / NODES) + (i < pods % NODES ? 1 : 0);
    return [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: `app-${n.name}` },
        spec: { replicas, selector: { matchLabels: { app: n.name } }, template: { metadata: { labels: { app: n.name } }, spec: { nodeName: n.name, containers: [{ name: 'c', image: 'x' }] } } },
      },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: `app-${n.name}` }, spec: { selector: { app: n.name }, ports: [{ port: 80, targetPort: 8080 }] } },
    ];
  });
  writeFileSync(file, stringify({ apiVersion: 'kemu.dev/v1alpha1', kind: 'Topology', metadata: { name: lab }, spec: { nodes, workloads } }));
  return file;
}

const supervisorPid = (lab: string): number => JSON.parse(readFileSync(`/var/lib/kemu/${lab}/state.json`, 'utf8')).supervisor.pid;

/**
 * The supervisor's long-lived helpers (native/kemu-pidwatch, native/kemu-spawner: children it does not
 * reap): their CPU counts as the supervisor's, and so does that of the commands the spawner reaped.
 */
function helperPids(parent: number): number[] {
  const out: number[] = [];
  for (const t of readdirSync(`/proc/${parent}/task`))
    for (const c of readFileSync(`/proc/${parent}/task/${t}/children`, 'latin1').split(' ').filter(Boolean).map(Number))
      if (['kemu-pidwatch', 'kemu-spawner'].includes(readFileSync(`/proc/${c}/comm`, 'latin1').trim())) out.push(c);
  return out;
}

/** utime+stime and cutime+cstime in ticks (fields 14–17 of /proc/<pid>/stat). */
function cpu(pid: number): { own: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return { own: f[11]! + f[12]!, children: f[13]! + f[14]! };
}
const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))![1]) / 1024;

async function main(): Promise<void> {
  const labs = { busy: 'kt-hl-bench-sup', idle: 'kt-hl-bench-sup0' };
  try {
    const t0 = performance.now();
    await kemu('up', '-q', topology(labs.busy, PODS));
    console.log(`up: ${NODES} nodes, ${PODS} pods, ${NODES} Services in ${Math.round(performance.now() - t0)} ms`);
    await kemu('up', '-q', topology(labs.idle, 0));
    // Let both settle (rollouts done, first reads of the record), then measure the same window.
    await new Promise((r) => setTimeout(r, 5000));
    const pids = { busy: supervisorPid(labs.busy), idle: supervisorPid(labs.idle) };
    // The spawner starts with the supervisor's first command: both are running after the settling time.
    const helpers = { busy: helperPids(pids.busy), idle: helperPids(pids.idle) };
    const helperCpu = (k: 'busy' | 'idle') =>
      helpers[k].reduce((sum, pid) => {
        const c = cpu(pid);
        return sum + c.own + c.children;
      }, 0);
    const before = { busy: cpu(pids.busy), idle: cpu(pids.idle) };
    const helpersBefore = { busy: helperCpu('busy'), idle: helperCpu('idle') };
    const started = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const secs = (performance.now() - started) / 1000;
    const pct = (ticks: number) => (100 * ticks) / TICKS / secs;
    const rows = (['busy', 'idle'] as const).map((k) => {
      const after = cpu(pids[k]);
      const own = pct(after.own - before[k].own + helperCpu(k) - helpersBefore[k]);
      const children = pct(after.children - before[k].children);
      return { k, own, children, total: own + children, rss: rssMb(pids[k]) };
    });
    for (const r of rows) console.log(`${r.k === 'busy' ? `${PODS} pods` : '0 pods (baseline)'}: supervisor ${r.own.toFixed(2)} % of a core + ${r.children.toFixed(2)} % in its children (canary polls) = ${r.total.toFixed(2)} %; RSS ${r.rss.toFixed(1)} MB`);
    const [busy, idle] = rows as [(typeof rows)[0], (typeof rows)[0]];
    console.log(`ratio to the 0-pod baseline: CPU ${(busy.total / Math.max(idle.total, 0.01)).toFixed(2)}×, RSS ${(busy.rss / idle.rss).toFixed(2)}× (${(busy.rss - idle.rss).toFixed(1)} MB for ${PODS} pods)`);
  } finally {
    await kemu('down', '-q', labs.busy).catch(() => undefined);
    await kemu('down', '-q', labs.idle).catch(() => undefined);
  }
}

await main();
