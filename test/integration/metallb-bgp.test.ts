/**
 * MetalLB BGP mode from MetalLB's own objects (topologies/metallb-bgp.yaml): the fabric router's BIRD
 * learns a /32 per service from each node's speaker and installs ECMP `proto bird` routes; traffic
 * from an outside host; withdrawal when the endpoints go or a node stops (timed; the BGPPeer's hold
 * time is 3 s).
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTHING_LEFT, exec, kemu, leftovers, mustUp, topologyAs } from '../helpers/kemu.js';

const LAB = 'kt-mlb-bgp';
const FABRIC = `kemu-${LAB}.fabric`;
let ip: Record<string, string>;
let nodeIP: Record<string, string>;
let topo: string;

const lbIPs = async () => Object.fromEntries(JSON.parse((await kemu('get', 'svc', '-o', 'json', '--lab', LAB)).stdout).items.map((s: any) => [s.metadata.name, s.status.loadBalancer.ingress?.[0]?.ip]));
const hops = async (addr: string) => {
  const { execa } = await import('execa');
  const out = (await execa('ip', ['-n', FABRIC, 'route', 'show', addr, 'proto', 'bird'])).stdout;
  return [...out.matchAll(/via (\S+)/g)].map((m) => m[1]!).sort();
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** ms from `action` starting until the fabric's route to `addr` has exactly `want` next hops. */
async function timeUntil(addr: string, want: string[], action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  const done = action();
  for (;;) {
    if (JSON.stringify(await hops(addr)) === JSON.stringify([...want].sort())) break;
    if (performance.now() - started > 15_000) throw new Error(`route to ${addr} never became ${want.join(', ')}: ${(await hops(addr)).join(', ')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const ms = Math.round(performance.now() - started);
  await done;
  return ms;
}

beforeAll(async () => {
  topo = topologyAs('topologies/metallb-bgp.yaml', LAB);
  await mustUp(topo);
  ip = await lbIPs();
  const nodes = JSON.parse((await kemu('get', 'nodes', '-o', 'json', '--lab', LAB)).stdout).items;
  nodeIP = Object.fromEntries(nodes.map((n: any) => [n.metadata.name, n.status.addresses[0].address]));
  // up returns before the speakers' sessions are Established (BIRD connects within a second or two).
  const established = await timeUntil(ip['nginx-svc']!, Object.values(nodeIP), async () => undefined);
  console.log(`BGP: routes in the fabric ${established} ms after up returned`);
}, 60_000);
afterAll(async () => {
  await kemu('down', '-q', LAB);
  expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
});

describe('BGP', () => {
  it('eTP Cluster (the seed nginx-svc): every node announces; the fabric has one next hop per node; the outside host is served', async () => {
    expect(await hops(ip['nginx-svc']!)).toEqual(Object.values(nodeIP).sort());
    const { execa } = await import('execa');
    expect((await execa('ip', ['-n', FABRIC, 'route', 'show', ip['nginx-svc']!])).stdout).toMatch(/proto bird[\s\S]*nexthop via[\s\S]*nexthop via[\s\S]*nexthop via/);
    const sessions = (await kemu('bgp', '--lab', LAB)).stdout;
    for (const n of Object.keys(nodeIP)) expect(sessions).toMatch(new RegExp(`fabric +${nodeIP[n]!.replace(/\./g, '\\.')} +${n} +64512 +Established`));
    expect((await exec(LAB, 'host/outside', 'curl', '-sS', '-m', '2', `http://${ip['nginx-svc']}/hostname`))).toMatch(/^demo-/);
    expect((await kemu('describe', 'svc', 'nginx-svc', '--lab', LAB)).stdout).toMatch(/bgp from node-1, node-2, node-3 to fabric/);
  });

  it('eTP Local: ECMP over the nodes with a ready local endpoint only', async () => {
    expect(await hops(ip['local-svc']!)).toEqual([nodeIP['node-1']!, nodeIP['node-2']!].sort());
    expect((await exec(LAB, `host/outside`, 'curl', '-sS', '-m', '2', `http://${ip['local-svc']}/hostname`))).toMatch(/^local-[12]$/);
  });

  it('withdrawal when the local endpoint goes and when a node stops (median of 5 each)', async () => {
    const addr = ip['local-svc']!;
    const podFile = `${topo}.local-1.yaml`;
    writeFileSync(podFile, 'apiVersion: v1\nkind: Pod\nmetadata: {name: local-1, labels: {app: local-web}}\nspec: {nodeName: node-1, containers: [{name: web, image: agnhost, ports: [{containerPort: 8080}]}]}\n');
    const endpointLoss: number[] = [];
    const nodeStop: number[] = [];
    for (let i = 0; i < 5; i++) {
      endpointLoss.push(await timeUntil(addr, [nodeIP['node-2']!], () => kemu('delete', 'pod', 'local-1', '--lab', LAB)));
      await timeUntil(addr, [nodeIP['node-1']!, nodeIP['node-2']!], () => kemu('apply', '-f', podFile, '--lab', LAB));
      nodeStop.push(await timeUntil(addr, [nodeIP['node-1']!], () => kemu('node', 'stop', 'node-2', '--lab', LAB)));
      await timeUntil(addr, [nodeIP['node-1']!, nodeIP['node-2']!], () => kemu('node', 'start', 'node-2', '--lab', LAB));
    }
    console.log(`BGP withdrawal (command start → fabric's proto bird route changed, ms; node stop waits for the 3 s hold time): endpoint loss ${endpointLoss.join(', ')}, median ${median(endpointLoss)}; node stop ${nodeStop.join(', ')}, median ${median(nodeStop)}`);
    expect(await hops(ip['nginx-svc']!)).toEqual(Object.values(nodeIP).sort());
    expect((await exec(LAB, 'host/outside', 'curl', '-sS', '-m', '2', `http://${addr}/hostname`))).toMatch(/^local-[12]$/);
  }, 100_000);
});
