/**
 * bench/services: kube-proxy sync cost for 1,000 services × 3 endpoints on 3 nodes, against a raw
 * `iptables-restore` of the same rules measured in the same run.
 *
 *   sudo npx tsx bench/services.ts [--services 1000] [--keep]
 *
 * Services are selector-less with hand-written Endpoints naming the 3 pods, so the lab stays small
 * while every node holds 1,000 KUBE-SVC and 3,000 KUBE-SEP chains. Figures:
 *   full sync      kemu's first sync of the 3 nodes (render + restore each, side by side; the slowest
 *                  node counts), vs raw restores of the same payloads (kemu writes them out with
 *                  KEMU_IPTABLES_DUMP) into 3 empty namespaces, side by side;
 *   one change     one Endpoints object loses an address, `up` again: kemu's partial sync, slowest node
 *                  (target: 50 ms per node), against a raw replay of the payloads it wrote for it.
 */
import { execa } from 'execa';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BIN, median, numberOption } from './lib.js';

const SERVICES = numberOption('services', 1000);
const LAB = 'bench-svc';
const KEEP = process.argv.includes('--keep');
const IPS = ['10.244.0.10', '10.244.0.80', '10.244.0.150'];

function topology(dropOne: boolean): string {
  const nodes = ['n1', 'n2', 'n3'].map((name) => ({ name }));
  const pods = nodes.map((n, k) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `srv-${n.name}`, annotations: { 'cni.projectcalico.org/ipAddrs': JSON.stringify([IPS[k]]) } },
    spec: { nodeName: n.name, containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 8080 }] }] },
  }));
  const services = Array.from({ length: SERVICES }, (_, k) => [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: `s${k}` }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: `s${k}` },
      subsets: [{ addresses: (dropOne && k === 0 ? IPS.slice(0, 2) : IPS).map((ip) => ({ ip })), ports: [{ name: 'http', port: 8080 }] }],
    },
  ]).flat();
  const dir = mkdtempSync(join(tmpdir(), 'kemu-bench-svc-'));
  const file = join(dir, 'topology.yaml');
  writeFileSync(file, stringify({ apiVersion: 'kemu.dev/v1alpha1', kind: 'Topology', metadata: { name: LAB }, spec: { network: { serviceCIDR: '10.96.0.0/16' }, nodes, workloads: [...pods, ...services] } }));
  return file;
}

interface Sync { node: string; mode: string; services: number; ms: number }
async function up(file: string, dump?: string): Promise<Sync[]> {
  const r = await execa('node', [BIN, 'up', '-o', 'json', file], { reject: false, env: dump ? { KEMU_IPTABLES_DUMP: dump } : {} });
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout).proxySyncs as Sync[];
}

/** Raw restores of each node's rules into fresh namespaces, side by side: median of 3 rounds. */
async function rawRestore(rules: string[]): Promise<number> {
  const times: number[] = [];
  const names = rules.map((_, k) => `kemu-benchraw.ipt${k}`);
  try {
    for (let round = 0; round < 3; round++) {
      // kube-proxy's INVALID-drop rule counts into an nfacct object, which kemu creates in each node first.
      for (const n of names) await execa('ip', ['netns', 'add', n]).then(() => execa('ip', ['netns', 'exec', n, 'nfacct', 'add', 'ct_state_invalid_dropped_pkts']));
      const t = performance.now();
      await Promise.all(rules.map((r, k) => execa('ip', ['netns', 'exec', names[k]!, 'iptables-restore', '--noflush'], { input: r })));
      times.push(performance.now() - t);
      for (const n of names) await execa('ip', ['netns', 'del', n]);
    }
  } finally {
    for (const n of names) await execa('ip', ['netns', 'del', n], { reject: false });
  }
  return times.sort((a, b) => a - b)[1]!;
}

/** The partial-sync payloads kemu wrote, replayed raw into the same nodes side by side (idempotent); slowest node, median of 5. */
async function replayPartial(dump: string): Promise<number> {
  const byNode = new Map<string, string>();
  for (const f of readdirSync(dump).sort()) {
    const netns = /-(kemu-.*\.node\.[^.]+)\.rules$/.exec(f)?.[1];
    const rules = readFileSync(join(dump, f), 'utf8');
    if (netns && !byNode.has(netns) && isProxyPayload(rules)) byNode.set(netns, rules);
  }
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const each = await Promise.all(
      [...byNode].map(async ([netns, rules]) => {
        const t = performance.now();
        await execa('ip', ['netns', 'exec', netns, 'iptables-restore', '--noflush'], { input: rules });
        return performance.now() - t;
      }),
    );
    rounds.push(Math.max(...each));
  }
  return median(rounds);
}

/** kube-proxy's payloads (the nodes' other restores, Felix's policy chains, are not this bench's subject). */
function isProxyPayload(rules: string): boolean {
  return /^:KUBE-/m.test(rules);
}

await execa('node', [BIN, 'down', '-q', LAB], { reject: false });
try {
  const dump = process.env.KEEP_DUMP ?? mkdtempSync(join(tmpdir(), 'kemu-bench-rules-'));
  const full = await up(topology(false), dump);
  const payloads = readdirSync(dump).filter((f) => f.includes('.node.')).map((f) => readFileSync(join(dump, f), 'utf8')).filter(isProxyPayload);
  const base = await rawRestore(payloads);
  const saved = [(await execa('ip', ['netns', 'exec', `kemu-${LAB}.node.n1`, 'iptables-save'])).stdout];
  const changeDump = process.env.KEEP_DUMP ? process.env.KEEP_DUMP + '/change' : mkdtempSync(join(tmpdir(), 'kemu-bench-rules-'));
  const change = await up(topology(true), changeDump);
  const partialRaw = await replayPartial(changeDump);
  const rules = saved[0]!.split('\n').filter((l) => l.startsWith('-A')).length;
  const fullMs = Math.max(...full.map((s) => s.ms));
  const changeMs = Math.max(...change.map((s) => s.ms));
  const row = (label: string, ms: number, note: string) => console.log(`${label.padEnd(64)} ${ms.toFixed(0).padStart(6)} ms   ${note}`);
  console.log(`${SERVICES} services × 3 endpoints, 3 nodes; each node holds ${rules} rules (iptables-save)`);
  row('baseline: raw iptables-restore of the same 3 payloads, side by side', base, '1.00×');
  row('full sync, slowest node (render + restore, 3 nodes side by side)', fullMs, `${(fullMs / base).toFixed(2)}× baseline (target ≤ 1.5×)`);
  row('baseline: raw iptables-restore --noflush of that change\'s payloads into the nodes', partialRaw, 'median of 5, slowest node');
  row(`one endpoint change, slowest node (${change.map((s) => `${s.node} ${s.mode}`).join(', ')})`, changeMs, `target ≤ 50 ms per node; per node: ${change.map((s) => `${s.ms} ms`).join(', ')}; ${(changeMs / partialRaw).toFixed(2)}× the raw restore`);
} finally {
  if (!KEEP) await execa('node', [BIN, 'down', '-q', LAB], { reject: false });
  for (const f of readdirSync(tmpdir())) if (f.startsWith('kemu-bench-rules-') || f.startsWith('kemu-bench-svc-')) rmSync(join(tmpdir(), f), { recursive: true, force: true });
}
