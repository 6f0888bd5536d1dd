/**
 * bench/churn: how fast the lab follows pod churn with 1,000 services on 3 nodes.
 *
 *   sudo npx tsx bench/churn.ts [--services 1000] [--rounds 5] [--keep]
 *
 * The lab: 999 selector-less services with hand-written Endpoints (3 addresses each), and service
 * `churn` selecting app=churn, served by two steady pods. Figures, medians over the rounds:
 *   apply → first answer   from spawning `kemu apply -f` of a new app=churn pod until a client pod's
 *                          curl loop through the ClusterIP first gets the new pod's hostname;
 *   delete → chains        from the deletion (the instant the store took it, as the API server's
 *                          write; kemu reports it) until the last node's iptables-restore without the pod
 *                          returned — Kubernetes's network-programming latency; also from spawning
 *                          `kemu delete pod`, which adds the CLI's start. Afterwards every node's rules
 *                          are checked to be free of the pod's address.
 * Baseline in the same run: raw `iptables-restore --noflush` of the payloads kemu wrote for the deletion
 * (KEMU_IPTABLES_DUMP), into the 3 node namespaces side by side; and a bare `kemu --version` start.
 */
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BIN, median, numberOption } from './lib.js';

const SERVICES = numberOption('services', 1000);
const ROUNDS = numberOption('rounds', 5);
const LAB = 'bench-churn';
const IPS = ['10.244.0.10', '10.244.0.80', '10.244.0.150'];
const NODES = ['n1', 'n2', 'n3'];
const dir = mkdtempSync(join(tmpdir(), 'bench-churn-')) // not kemu-<lab>-*: `down` sweeps those;
const kemu = (args: string[], env: Record<string, string> = {}) => execa('node', [BIN, ...args], { env, reject: false });

function topology(): string {
  const pod = (name: string, node: string, labels: Record<string, string>, ip?: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels, ...(ip ? { annotations: { 'cni.projectcalico.org/ipAddrs': JSON.stringify([ip]) } } : {}) },
    spec: { nodeName: node, containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 8080 }] }] },
  });
  const servers = NODES.map((n, k) => pod(`srv-${n}`, n, { role: 'srv' }, IPS[k]));
  const steady = [pod('steady-1', 'n2', { app: 'churn' }), pod('steady-2', 'n3', { app: 'churn' })];
  const client = pod('client', 'n1', { role: 'client' });
  const services = Array.from({ length: SERVICES - 1 }, (_, k) => [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: `s${k}` }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: `s${k}` }, subsets: [{ addresses: IPS.map((ip) => ({ ip })), ports: [{ name: 'http', port: 8080 }] }] },
  ]).flat();
  const churn = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'churn' }, spec: { selector: { app: 'churn' }, ports: [{ port: 80, targetPort: 8080 }] } };
  const file = join(dir, 'topology.yaml');
  writeFileSync(file, stringify({ apiVersion: 'kemu.dev/v1alpha1', kind: 'Topology', metadata: { name: LAB }, spec: { network: { serviceCIDR: '10.96.0.0/16' }, nodes: NODES.map((name) => ({ name })), workloads: [...servers, ...steady, client, churn, ...services] } }));
  return file;
}

async function must(args: string[], env: Record<string, string> = {}) {
  const r = await kemu(args, env);
  if (r.exitCode !== 0) throw new Error(`kemu ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

/** The client loops curl through `url` until `hostname` answers; resolves with the epoch ms of that answer. */
function firstAnswer(url: string, hostname: string) {
  const script = `while :; do h=$(curl -s -m 1 ${url}); if [ "$h" = "${hostname}" ]; then date +%s%3N; exit 0; fi; done`;
  return execa('ip', ['netns', 'exec', `kemu-${LAB}.pod.default.client`, 'timeout', '20', 'sh', '-c', script]).then((r) => Number(r.stdout.trim()));
}

async function natRules(node: string): Promise<string> {
  return (await execa('ip', ['netns', 'exec', `kemu-${LAB}.node.${node}`, 'iptables-save', '-t', 'nat'])).stdout;
}

async function rawRestore(payloads: Map<string, string>): Promise<number> {
  const t = performance.now();
  await Promise.all([...payloads].map(([netns, text]) => execa('ip', ['netns', 'exec', netns, 'iptables-restore', '--noflush'], { input: text })));
  return performance.now() - t;
}

await kemu(['down', '-q', LAB]);
try {
  await must(['up', '-q', topology()]);
  const cip = JSON.parse((await must(['get', 'svc', 'churn', '-o', 'json', '--lab', LAB])).stdout).spec.clusterIP as string;
  const applyMs: number[] = [];
  const deleteMs: number[] = [];
  const deleteWallMs: number[] = [];
  const rawMs: number[] = [];
  const cliMs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const name = `churn-${round}`;
    const manifest = join(dir, `${name}.yaml`);
    writeFileSync(manifest, stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'churn' } }, spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 8080 }] }] } }));
    const answered = firstAnswer(`http://${cip}/hostname`, name);
    await new Promise((r) => setTimeout(r, 300)); // the loop runs (answers come from the steady pods)
    const applied = Date.now();
    await must(['apply', '-q', '-f', manifest, '--lab', LAB]);
    applyMs.push((await answered) - applied);

    const ip = JSON.parse((await must(['get', 'pods', name, '-o', 'json', '--lab', LAB])).stdout).status.podIP as string;
    const dump = join(dir, `dump-${round}`);
    mkdirSync(dump);
    const deleted = Date.now();
    const r = await must(['delete', 'pod', name, '-q', '-o', 'json', '--lab', LAB], { KEMU_IPTABLES_DUMP: dump });
    const out = JSON.parse(r.stdout);
    deleteMs.push(out.endpointsProgrammedAt - out.acceptedAt);
    deleteWallMs.push(out.endpointsProgrammedAt - deleted);
    for (const n of NODES) if ((await natRules(n)).includes(`${ip}:8080`)) throw new Error(`node ${n} still has ${ip} in its rules after the delete`);
    // The first payload kemu wrote to each node for this delete, replayed raw.
    const first = new Map<string, string>();
    for (const f of readdirSync(dump).sort()) {
      const netns = NODES.map((n) => `kemu-${LAB}.node.${n}`).find((ns) => f.includes(ns));
      const text = readFileSync(join(dump, f), 'utf8');
      // kube-proxy's (Felix's policy payloads for the removed pod's chains come after it, and are not this figure's)
      if (netns && !first.has(netns) && /^:KUBE-/m.test(text)) first.set(netns, text);
    }
    rawMs.push(await rawRestore(first));
    const c = performance.now();
    await execa('node', [BIN, '--version']);
    cliMs.push(performance.now() - c);
  }
  const raw = median(rawMs);
  const row = (label: string, ms: number, note: string) => console.log(`${label.padEnd(62)} ${ms.toFixed(0).padStart(6)} ms   ${note}`);
  const runs = (xs: number[]) => `runs [${xs.map((x) => x.toFixed(0)).join(', ')}]`;
  console.log(`${SERVICES} services on 3 nodes, ${ROUNDS} rounds (medians)`);
  row('baseline: raw iptables-restore of the deletion payloads, 3 nodes', raw, `1.00×  ${runs(rawMs)}`);
  row('baseline: kemu --version (a bare CLI start)', median(cliMs), `${(median(cliMs) / raw).toFixed(1)}×`);
  row('kemu apply of a new pod → first answer through its service', median(applyMs), `${(median(applyMs) / raw).toFixed(1)}× baseline (target ≤ 500 ms)  ${runs(applyMs)}`);
  row('pod deletion → gone from every node’s chains', median(deleteMs), `${(median(deleteMs) / raw).toFixed(1)}× baseline (target ≤ 1.5×)  ${runs(deleteMs)}`);
  row('  the same from spawning kemu delete (CLI start included)', median(deleteWallMs), `${(median(deleteWallMs) / raw).toFixed(1)}× baseline  ${runs(deleteWallMs)}`);
} finally {
  // --keep leaves the lab up, to profile a command against it.
  if (!process.argv.includes('--keep')) await kemu(['down', '-q', LAB]);
  rmSync(dir, { recursive: true, force: true });
}
