/**
 * bench/policy: what NetworkPolicy enforcement costs in a lab of 2 nodes.
 *
 *   sudo npx tsx bench/policy.ts [--rounds 5] [--policies 100] [--seconds 4]
 *
 * The lab: srv-1 on n1 and srv-2 on n2 (app=srv), client on n1 (role=client), all in namespace
 * bench. Figures, medians over the rounds:
 *   apply → enforced   from spawning `kemu apply -f` of a deny-all-ingress policy until both probe
 *                      loops (client→srv-2 across nodes, srv-2→srv-1 back) see their first refused
 *                      connection: enforcement on every node; also the apply command's own time.
 *                      Baseline in the same run: `kemu apply` of a policy that selects no pod
 *                      (the same command, control plane and sync, no rule in any kernel changes).
 *   requests/s         wrk from the client to srv-2 with a new TCP connection per request
 *                      (`Connection: close`, so every request's SYN goes through the policy chains),
 *                      with no policy against 100 policies that all select srv-2 (each allowing a
 *                      different peer selector, the client's last by name order).
 * Every address is inside namespaces this script creates.
 */
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BIN, median, numberOption } from './lib.js';

const ROUNDS = numberOption('rounds', 5);
const POLICIES = numberOption('policies', 100);
const SECONDS = numberOption('seconds', 4);
const LAB = 'bench-policy';
const dir = mkdtempSync(join(tmpdir(), 'bench-policy-'));
const kemu = (...args: string[]) => execa('node', [BIN, ...args], { reject: false });

async function must(...args: string[]) {
  const r = await kemu(...args);
  if (r.exitCode !== 0) throw new Error(`kemu ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

function write(name: string, docs: unknown[]): string {
  const f = join(dir, name);
  writeFileSync(f, docs.map((d) => stringify(d)).join('---\n'));
  return f;
}

const pod = (name: string, node: string, labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'bench', labels }, spec: { nodeName: node, containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80 }] }] } });
const policy = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'bench' }, spec });

/**
 * A loop of TCP connects (100 ms timeout, every 5 ms) from `src` to ip:80, printing the epoch ms of
 * the first of two refusals in a row (one slow connect on a loaded machine is not the policy).
 */
function firstRefusal(src: string, ip: string) {
  const py = `import socket,time\nfirst=None\nwhile True:\n s=socket.socket();s.settimeout(0.1);t=time.time()\n try:\n  s.connect(("${ip}",80));s.close();first=None\n except Exception:\n  if first: print(int(first*1000));break\n  first=t\n time.sleep(0.005)`;
  return execa('node', [BIN, 'exec', '--lab', LAB, src, '--', 'timeout', '20', '/usr/bin/python3', '-c', py], { reject: false });
}

async function rps(ip: string): Promise<number> {
  const r = await must('exec', '--lab', LAB, 'bench/client', '--', 'wrk', '-t', '1', '-c', '8', '-d', `${SECONDS}s`, '-H', 'Connection: close', `http://${ip}/hostname`);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)![1]);
}

async function main() {
  const topology = join(dir, 'topology.yaml');
  writeFileSync(topology, stringify({ apiVersion: 'kemu.dev/v1alpha1', kind: 'Topology', metadata: { name: LAB }, spec: { network: { underlay: { subnet: '192.168.91.0/24' } }, nodes: [{ name: 'n1' }, { name: 'n2' }], workloads: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } }, pod('srv-1', 'n1', { app: 'srv' }), pod('srv-2', 'n2', { app: 'srv' }), pod('client', 'n1', { role: 'client' })] } }));
  await must('up', '-q', topology);
  try {
    const ips = Object.fromEntries(JSON.parse((await must('get', 'pods', '-n', 'bench', '-o', 'json', '--lab', LAB)).stdout).items.map((p: any) => [p.metadata.name, p.status.podIP]));
    const deny = write('deny.yaml', [policy('deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] })]);
    const noop = write('noop.yaml', [policy('selects-nothing', { podSelector: { matchLabels: { app: 'nothing' } }, policyTypes: ['Ingress'] })]);
    const enforced: number[] = [];
    const applyMs: number[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const loops = [firstRefusal('bench/client', ips['srv-2']), firstRefusal('bench/srv-2', ips['srv-1'])];
      await new Promise((r) => setTimeout(r, 1500)); // both loops connecting
      const t0 = Date.now();
      await must('apply', '-q', '--lab', LAB, '-f', deny);
      applyMs.push(Date.now() - t0);
      const firsts = (await Promise.all(loops)).map((l) => Number(l.stdout.trim()));
      if (firsts.some((t) => !Number.isFinite(t) || t < t0)) throw new Error(`a probe loop saw no refusal after the apply (${firsts.join(', ')} vs ${t0})`);
      enforced.push(Math.max(...firsts) - t0);
      await must('delete', '-q', '--lab', LAB, '-f', deny);
      const b0 = Date.now();
      await must('apply', '-q', '--lab', LAB, '-f', noop);
      baseline.push(Date.now() - b0);
      await must('delete', '-q', '--lab', LAB, '-f', noop);
    }
    // A new connection per request leaves a TIME_WAIT socket per request in the client: without reuse,
    // the ephemeral ports run out within a round and later rounds measure that instead of the rules.
    await must('exec', '--lab', LAB, 'bench/client', '--', 'sysctl', '-q', '-w', 'net.ipv4.tcp_tw_reuse=1', 'net.ipv4.ip_local_port_range=1024 65000');
    const none: number[] = [];
    const many: number[] = [];
    const peers = Array.from({ length: POLICIES }, (_, k) => policy(`p${String(k).padStart(3, '0')}`, { podSelector: { matchLabels: { app: 'srv' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: k === POLICIES - 1 ? 'client' : `peer-${k}` } } }], ports: [{ port: 80 }] }] }));
    const hundred = write('many.yaml', peers);
    for (let i = 0; i < ROUNDS; i++) {
      none.push(await rps(ips['srv-2']));
      await must('apply', '-q', '--lab', LAB, '-f', hundred);
      many.push(await rps(ips['srv-2']));
      await must('delete', '-q', '--lab', LAB, '-f', hundred);
    }
    const m = { enforced: median(enforced), apply: median(applyMs), baseline: median(baseline), none: median(none), many: median(many) };
    console.log(`apply → enforced on both nodes: median ${m.enforced} ms over ${ROUNDS} (${enforced.join(', ')}); the apply command ${m.apply} ms`);
    console.log(`baseline, apply of a policy selecting no pod: median ${m.baseline} ms (${baseline.join(', ')}); ratio enforced/baseline ${(m.enforced / m.baseline).toFixed(2)}`);
    console.log(`requests/s, new connection each: no policy ${m.none.toFixed(0)} (${none.map((x) => x.toFixed(0)).join(', ')}); ${POLICIES} policies ${m.many.toFixed(0)} (${many.map((x) => x.toFixed(0)).join(', ')}); ratio ${(m.many / m.none).toFixed(3)}`);
  } finally {
    await kemu('down', '-q', LAB);
  }
}

await main();
