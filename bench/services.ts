/**
 * bench/services: kube-proxy sync cost for 1,000 services × 3 endpoints on 3 nodes, against a raw
 * `iptables-restore` of the same rules measured in the same run.
 *
 *   sudo npx tsx bench/services.ts [--services 1000]
 *
 * Services are selector-less with hand-written Endpoints naming the 3 pods, so the lab stays small
 * while every node holds 1,000 KUBE-SVC and 3,000 KUBE-SEP chains. Figures:
 *   full sync      kemu's first sync of a node (render + restore), vs a raw restore of that node's
 *                  resulting `iptables-save` into an empty namespace;
 *   one change     one Endpoints object loses an address, `up` again: kemu's partial sync per node,
 *                  vs the same raw restore (what rewriting everything would cost).
 */
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

const i = process.argv.indexOf('--services');
const SERVICES = i > 0 ? Number(process.argv[i + 1]) : 1000;
const BIN = join(resolve(import.meta.dirname, '..'), 'bin', 'kemu.js');
const LAB = 'bench-svc';
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
async function up(file: string): Promise<Sync[]> {
  const r = await execa('node', [BIN, 'up', '-o', 'json', file], { reject: false });
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout).proxySyncs as Sync[];
}

/** Raw restore of `rules` into a fresh namespace, median of 3. */
async function rawRestore(rules: string): Promise<number> {
  const times: number[] = [];
  for (let k = 0; k < 3; k++) {
    await execa('ip', ['netns', 'add', 'kemu-benchraw.ipt']);
    const t = performance.now();
    await execa('ip', ['netns', 'exec', 'kemu-benchraw.ipt', 'iptables-restore', '--noflush'], { input: rules });
    times.push(performance.now() - t);
    await execa('ip', ['netns', 'del', 'kemu-benchraw.ipt']);
  }
  return times.sort((a, b) => a - b)[1]!;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await execa('node', [BIN, 'down', '-q', LAB], { reject: false });
try {
  const full = await up(topology(false));
  const saved = (await execa('ip', ['netns', 'exec', `kemu-${LAB}.node.n1`, 'iptables-save'])).stdout;
  const base = await rawRestore(saved + '\n');
  const change = await up(topology(true));
  const rules = saved.split('\n').filter((l) => l.startsWith('-A')).length;
  const fullMs = median(full.map((s) => s.ms));
  const changeMs = Math.max(...change.map((s) => s.ms));
  console.log(`${SERVICES} services × 3 endpoints, 3 nodes; node n1 holds ${rules} rules (iptables-save)`);
  console.log(`baseline: raw iptables-restore of n1's rules into an empty namespace   ${base.toFixed(0).padStart(6)} ms   1.00×`);
  console.log(`full sync per node (render + restore), median of ${full.length}           ${String(fullMs).padStart(6)} ms   ${(fullMs / base).toFixed(2)}× baseline (target ≤ 1.5×)`);
  console.log(`one endpoint change, slowest node (${change.map((s) => `${s.node} ${s.mode} ${s.services} port`).join(', ')})   ${String(changeMs).padStart(6)} ms   ${(changeMs / base).toFixed(2)}× baseline (target ≤ 50 ms)`);
} finally {
  await execa('node', [BIN, 'down', '-q', LAB], { reject: false });
}
