/**
 * MetalLB layer 2 from MetalLB's own objects (topologies/metallb-l2.yaml), with real ARP from an
 * outside host on the underlay: the elected node's MAC in its neighbour table, traffic entering that
 * node only, eTP Local, and failover with gratuitous ARP when the node stops.
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTHING_LEFT, exec, kemu, leftovers, mustUp, topologyAs, writeTopology } from '../helpers/kemu.js';
import { electL2 } from '../../src/plan/metallb.js';

const LAB = 'kt-mlb-l2';
const NODES = ['node-1', 'node-2', 'node-3'];
let ip: Record<string, string>;
let mac: Record<string, string>;

const lbIPs = async () => Object.fromEntries(JSON.parse((await kemu('get', 'svc', '-o', 'json', '--lab', LAB)).stdout).items.map((s: any) => [s.metadata.name, s.status.loadBalancer.ingress?.[0]?.ip]));
const neighMac = async (addr: string) => (await exec(LAB, 'host/outside', 'ip', 'neigh', 'show', addr)).match(/lladdr (\S+)/)?.[1];
const curlCode = async (url: string) => (await kemu('exec', '--lab', LAB, 'host/outside', '--', 'curl', '-s', '-m', '2', '-o', '/dev/null', '-w', '%{http_code}', url)).stdout;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

beforeAll(async () => {
  await mustUp(topologyAs('topologies/metallb-l2.yaml', LAB));
  ip = await lbIPs();
  mac = Object.fromEntries(await Promise.all(NODES.map(async (n) => [n, (await exec(LAB, `node/${n}`, 'cat', '/sys/class/net/eth0/address')).trim()])));
}, 60_000);
afterAll(async () => {
  await kemu('down', '-q', LAB);
  expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
});

describe('layer 2', () => {
  it('the seed example nginx-svc gets the pool’s first address; the node MetalLB’s hash elects answers ARP with its own MAC', async () => {
    expect(ip['nginx-svc']).toBe('192.168.70.240');
    const owner = electL2(NODES, ip['nginx-svc']!)!;
    expect((await kemu('describe', 'svc', 'nginx-svc', '--lab', LAB)).stdout).toMatch(new RegExp(`Announced: +192\\.168\\.70\\.240 layer2 from ${owner}[\\s\\S]*nodeAssigned .*"${owner}" with protocol "layer2"`));
    expect(await curlCode(`http://${ip['nginx-svc']}/hostname`)).toBe('200');
    expect(await neighMac(ip['nginx-svc']!)).toBe(mac[owner]);
    for (const n of NODES) expect((await exec(LAB, `node/${n}`, 'ip', 'neigh', 'show', 'proxy')).includes(ip['nginx-svc']!), n).toBe(n === owner);
  });

  it('traffic for the address enters the announcing node only', async () => {
    const owner = electL2(NODES, ip['nginx-svc']!)!;
    for (let i = 0; i < 5; i++) expect(await curlCode(`http://${ip['nginx-svc']}/hostname`)).toBe('200');
    for (const n of NODES) {
      const r = await kemu('exec', '--lab', LAB, `node/${n}`, '--', 'conntrack', '-L', '-d', ip['nginx-svc']!);
      const flows = r.stdout.split('\n').filter((l) => l.includes('dport=80')).length;
      if (n === owner) expect(flows, n).toBeGreaterThanOrEqual(5);
      else expect(flows, n).toBe(0);
    }
  });

  it('externalTrafficPolicy Local: announced only by the node with the endpoint (not the hash’s first), client address kept', async () => {
    expect(electL2(NODES, ip['local-svc']!)).not.toBe('node-2');
    expect((await kemu('describe', 'svc', 'local-svc', '--lab', LAB)).stdout).toMatch(/layer2 from node-2/);
    const r = await exec(LAB, 'host/outside', 'curl', '-sS', '-m', '2', `http://${ip['local-svc']}/clientip`);
    const outside = (await exec(LAB, 'host/outside', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0')).match(/inet (\S+)\//)![1]!;
    expect(r.split(':')[0]).toBe(outside);
    expect(await neighMac(ip['local-svc']!)).toBe(mac['node-2']);
  });

  it('kemu apply: a pool no advertisement names assigns an address nobody answers for; an L2Advertisement for it makes its node answer', async () => {
    const file = writeTopology(`${LAB}-extra`, undefined, [
      'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: extra, namespace: metallb-system}\nspec: {addresses: [192.168.70.200/30], autoAssign: false}',
      'apiVersion: v1\nkind: Service\nmetadata: {name: extra-svc, annotations: {metallb.universe.tf/address-pool: extra}}\nspec: {type: LoadBalancer, selector: {app: nginx}, ports: [{port: 80}]}',
    ].join('\n---\n'));
    const r = await kemu('apply', '-f', file, '--lab', LAB);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await lbIPs())['extra-svc']).toBe('192.168.70.200');
    expect((await kemu('describe', 'svc', 'extra-svc', '--lab', LAB)).stdout).toMatch(/Address Pool: +extra\n.*Announced: +nowhere/);
    expect((await kemu('exec', '--lab', LAB, 'host/outside', '--', 'arping', '-c', '1', '-w', '1', '-I', 'eth0', '192.168.70.200')).exitCode).not.toBe(0);
    const ad = writeTopology(`${LAB}-ad`, undefined, 'apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: extra, namespace: metallb-system}\nspec: {ipAddressPools: [extra]}');
    expect((await kemu('apply', '-f', ad, '--lab', LAB)).exitCode).toBe(0);
    const owner = electL2(NODES, '192.168.70.200')!;
    expect((await exec(LAB, 'host/outside', 'arping', '-c', '1', '-w', '1', '-I', 'eth0', '192.168.70.200'))).toContain(`[${mac[owner]!.toUpperCase()}]`);
    expect((await kemu('delete', '-f', file, '--lab', LAB)).exitCode).toBe(0);
  });

  it('failover: the next node by the hash takes the address with gratuitous ARP; a curl loop is back within 3 s (median of 5)', async () => {
    const addr = ip['nginx-svc']!;
    const owner = electL2(NODES, addr)!;
    const next = electL2(NODES.filter((n) => n !== owner), addr)!;
    const outages: number[] = [];
    for (let round = 0; round < 5; round++) {
      const loop = execa('node', ['bin/kemu.js', 'exec', '--lab', LAB, 'host/outside', '--', 'sh', '-c', `for i in $(seq 70); do t=$(date +%s%3N); if curl -s -m 0.3 -o /dev/null http://${addr}/hostname; then echo "$t ok"; else echo "$t fail"; fi; sleep 0.05; done`], { reject: false });
      await new Promise((r) => setTimeout(r, 800));
      const stop = await kemu('node', 'stop', owner, '--lab', LAB);
      expect(stop.stdout, stop.stderr).toContain(`${addr} now announced by ${next}`);
      const lines = (await loop).stdout.trim().split('\n').map((l) => l.split(' ')).map(([t, s]) => ({ t: Number(t), ok: s === 'ok' }));
      const firstFail = lines.findIndex((l) => !l.ok);
      const back = firstFail < 0 ? -1 : lines.findIndex((l, i) => i > firstFail && l.ok);
      expect(lines.at(-1)!.ok, 'traffic came back').toBe(true);
      outages.push(firstFail < 0 ? 0 : lines[back]!.t - lines[firstFail]!.t);
      if (round === 0) {
        expect(await neighMac(addr)).toBe(mac[next]);
        expect((await kemu('get', 'nodes', '--lab', LAB)).stdout).toMatch(new RegExp(`${owner} +NotReady`));
      }
      const start = await kemu('node', 'start', owner, '--lab', LAB);
      expect(start.stdout, start.stderr).toContain(`${addr} now announced by ${owner}`);
      for (let i = 0; i < 20 && (await curlCode(`http://${addr}/hostname`)) !== '200'; i++) await new Promise((r) => setTimeout(r, 200));
    }
    console.log(`L2 failover outage (start of the first failed request to the start of the first good one after it, ms): ${outages.join(', ')}; median ${median(outages)}`);
    expect(median(outages)).toBeLessThanOrEqual(3000);
    expect(await neighMac(addr)).toBe(mac[owner]);
  }, 90_000);
});
