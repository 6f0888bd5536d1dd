/** BGP with a route reflector: clients hold one session each, with the reflector, and learn every block. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTHING_LEFT, exec, kemu, leftovers, mustUp, pods, topologyAs } from '../helpers/kemu.js';

const LAB = 'kt-rr';
const file = topologyAs('topologies/route-reflector.yaml', LAB, (t) => (t.spec.network.underlay.subnet = '192.168.74.0/24'));

beforeAll(async () => {
  await mustUp(file);
});
afterAll(async () => {
  await kemu('down', '-q', LAB);
});

describe('route reflector', () => {
  it('clients peer only with the reflector; the reflector peers with every client', async () => {
    const view = JSON.parse((await kemu('bgp', '-o', 'json', '--lab', LAB)).stdout) as Array<{ node: string; sessions: Array<{ peerNode: string; state: string }> }>;
    const of = (node: string) => view.find((n) => n.node === node)!.sessions;
    expect(of('node-1').map((s) => s.peerNode).sort()).toEqual(['node-2', 'node-3', 'node-4']);
    for (const client of ['node-2', 'node-3', 'node-4']) expect(of(client).map((s) => [s.peerNode, s.state])).toEqual([['node-1', 'Established']]);
  });

  it('every client still learns every other block, with the owner as next hop', async () => {
    const nodes = JSON.parse((await kemu('get', 'nodes', '-o', 'json', '--lab', LAB)).stdout).items;
    const routes = await exec(LAB, 'node/node-3', 'ip', 'route');
    for (const n of nodes.filter((x: any) => x.metadata.name !== 'node-3'))
      expect(routes).toContain(`${n.spec.podCIDR} via ${n.status.addresses[0].address} dev eth0 proto bird`);
  });

  it('carries traffic between pods on two clients', async () => {
    const list = await pods(LAB);
    const client = list.find((p) => p.name === 'client')!;
    const target = list.find((p) => p.node !== client.node && p.node !== 'node-1')!;
    expect(await exec(LAB, 'client', 'curl', '-sS', '-m', '5', `http://${target.ip}:8080/hostname`)).toBe(target.name);
  });

  it('down leaves nothing', async () => {
    expect((await kemu('down', LAB)).exitCode).toBe(0);
    expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
  });
});
