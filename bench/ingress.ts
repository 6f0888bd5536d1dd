/**
 * bench/ingress: HTTP requests/s through the ingress controller's nginx against straight to the backend
 * pod, with the same client (wrk, from a node namespace) in the same run, and nginx's memory.
 *
 *   sudo npx tsx bench/ingress.ts [--seconds 5] [--connections 32] [--rounds 3]
 *
 * One backend pod (the default server) behind an Ingress; the client is node-1's namespace (it can
 * reach pod IPs directly). Figures, medians of the rounds:
 *   direct         wrk → backend pod IP:8080 /hostname
 *   ingress        wrk → controller pod IP:80 with Host: web.example.com → nginx → the same pod
 *   outside        wrk from the outside host → LoadBalancer IP (kube-proxy, eTP Local, then nginx)
 *   ratio          ingress / direct
 *   nginx RSS      master + workers (kB), idle after the runs
 * The machine may be shared: each round waits for a quieter moment first (as bench/dataplane).
 */
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { nginxRss } from '../src/host/nginx.js';
import { BIN, median, numberOption } from './lib.js';

const SECONDS = numberOption('seconds', 5);
const CONNECTIONS = numberOption('connections', 32);
const ROUNDS = numberOption('rounds', 3);
const LAB = 'bench-ing';

function topology(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kemu-bench-ing-'));
  const file = join(dir, 'topology.yaml');
  writeFileSync(
    file,
    stringify({
      apiVersion: 'kemu.dev/v1alpha1',
      kind: 'Topology',
      metadata: { name: LAB },
      spec: {
        network: { underlay: { subnet: '192.168.79.0/24' }, loadBalancerPool: '172.31.79.0/28' },
        nodes: [{ name: 'node-1' }, { name: 'node-2' }],
        externalHosts: [{ name: 'outside' }],
        ingress: { enabled: true },
        workloads: [
          { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } }, spec: { nodeName: 'node-2', containers: [{ name: 'web', image: 'agnhost', ports: [{ name: 'http', containerPort: 8080 }] }] } },
          { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
          { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web' }, spec: { ingressClassName: 'nginx', rules: [{ host: 'web.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] } },
        ],
      },
    }),
  );
  return file;
}

const kemu = (...args: string[]) => execa('node', [BIN, ...args]);

/** Wait (at most 20 s) until the machine was at least 60 % idle over half a second. */
async function quiet(): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const idle = async () => (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const a = await idle();
    await new Promise((r) => setTimeout(r, 500));
    const b = await idle();
    const d = b.map((x, i) => x - a[i]!);
    if (d[3]! / d.reduce((s, x) => s + x, 0) >= 0.6) return;
  }
}

async function wrk(netns: string, url: string, host?: string): Promise<number> {
  await quiet();
  const r = await execa('ip', ['netns', 'exec', netns, 'wrk', '-t2', `-c${CONNECTIONS}`, `-d${SECONDS}s`, ...(host ? ['-H', `Host: ${host}`] : []), url]);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(r.stdout);
  if (!rps) throw new Error(`wrk printed no rate:\n${r.stdout}\n${r.stderr}`);
  if (errors) throw new Error(`wrk saw errors against ${url}: ${errors[0]}`);
  return Number(rps[1]);
}

async function main(): Promise<void> {
  await kemu('down', '-q', LAB).catch(() => undefined);
  await kemu('up', '-q', topology());
  try {
    const pods = JSON.parse((await kemu('get', 'pods', '-o', 'json', '--lab', LAB)).stdout).items;
    const ip = (ns: string) => pods.find((p: any) => p.metadata.namespace === ns).status.podIP as string;
    const lb = JSON.parse((await kemu('get', 'svc', 'ingress-nginx-controller', '-n', 'ingress-nginx', '-o', 'json', '--lab', LAB)).stdout).status.loadBalancer.ingress[0].ip;
    const node = `kemu-${LAB}.node.node-1`;
    const rounds: Array<{ direct: number; ingress: number; outside: number }> = [];
    for (let k = 0; k < ROUNDS; k++) {
      rounds.push({
        direct: await wrk(node, `http://${ip('default')}:8080/hostname`),
        ingress: await wrk(node, `http://${ip('ingress-nginx')}/hostname`, 'web.example.com'),
        outside: await wrk(`kemu-${LAB}.host.outside`, `http://${lb}/hostname`, 'web.example.com'),
      });
    }
    const master = Number((await execa('pgrep', ['-f', `nginx: master process .*/run/kemu/${LAB}/`])).stdout.trim());
    const rss = await nginxRss(master);
    const m = (k: 'direct' | 'ingress' | 'outside') => median(rounds.map((r) => r[k]));
    const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} req/s`;
    console.log(`wrk -t2 -c${CONNECTIONS} -d${SECONDS}s, medians of ${ROUNDS} rounds (2 cores, possibly shared with other work):`);
    console.log(`  direct to the pod          ${fmt(m('direct'))}`);
    console.log(`  through the ingress nginx  ${fmt(m('ingress'))}  = ${(m('ingress') / m('direct')).toFixed(2)}× direct`);
    console.log(`  from outside via the LB IP ${fmt(m('outside'))}  = ${(m('outside') / m('direct')).toFixed(2)}× direct`);
    console.log(`  nginx RSS: master ${rss.master} kB + ${rss.workers.length} workers ${rss.workers.join(' + ')} kB = ${rss.master + rss.workers.reduce((a, b) => a + b, 0)} kB`);
    console.log(`  rounds: ${rounds.map((r) => `${Math.round(r.direct)}/${Math.round(r.ingress)}/${Math.round(r.outside)}`).join(', ')}`);
  } finally {
    await kemu('down', '-q', LAB);
  }
}

await main();
