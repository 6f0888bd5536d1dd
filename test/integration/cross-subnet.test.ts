/**
 * ipipMode CrossSubnet across two racks joined by the fabric's router: node-1 and node-2 (rack-a)
 * route each other's blocks over plain eth0, and reach node-3 (rack-b) through tunl0. The capture on
 * rack-a's bridge shows both: pod IPs bare within the rack, IP-in-IP between node IPs across it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTHING_LEFT, captureOnFabric, exec, kemu, leftovers, mustUp, pods, re, topologyAs } from '../helpers/kemu.js';

const LAB = 'kt-cross';
const file = topologyAs('topologies/cross-subnet.yaml', LAB);
let list: Awaited<ReturnType<typeof pods>>;
const client = () => list.find((p) => p.name === 'client')!;
const on = (node: string) => list.find((p) => p.name !== 'client' && p.node === node)!;

beforeAll(async () => {
  await mustUp(file);
  list = await pods(LAB);
});
afterAll(async () => {
  await kemu('down', '-q', LAB);
});

describe('IPIP CrossSubnet across racks', () => {
  it('puts a pod on every node, the nodes on their racks’ subnets', () => {
    expect(client().node).toBe('node-1');
    for (const n of ['node-1', 'node-2', 'node-3']) expect(on(n), n).toBeDefined();
    expect(on('node-2').hostIP).toMatch(/^192\.168\.80\./);
    expect(on('node-3').hostIP).toMatch(/^192\.168\.81\./);
  });

  it('routes same-rack blocks via eth0 and other-rack blocks through tunl0 onlink', async () => {
    const routes = await exec(LAB, 'node/node-1', 'ip', 'route');
    expect(routes).toMatch(new RegExp(`^\\S+ via ${re(on('node-2').hostIP)} dev eth0 proto bird`, 'm'));
    expect(routes).toMatch(new RegExp(`^\\S+ via ${re(on('node-3').hostIP)} dev tunl0 proto bird .*onlink`, 'm'));
    const far = await exec(LAB, 'node/node-3', 'ip', 'route');
    for (const n of ['node-1', 'node-2']) expect(far).toMatch(new RegExp(`^\\S+ via ${re(on(n).hostIP)} dev tunl0 proto bird .*onlink`, 'm'));
  });

  it('holds BGP sessions across the router', async () => {
    const view = JSON.parse((await kemu('bgp', '-o', 'json', '--lab', LAB)).stdout) as Array<{ node: string; sessions: Array<{ state: string; peerNode: string }> }>;
    const n3 = view.find((n) => n.node === 'node-3')!;
    expect(n3.sessions.map((s) => [s.peerNode, s.state]).sort()).toEqual([['node-1', 'Established'], ['node-2', 'Established']]);
  });

  it('carries same-rack pod traffic unencapsulated', async () => {
    const target = on('node-2');
    let answer = '';
    const seen = await captureOnFabric(LAB, 'rack-a', 'ip proto 4 or tcp port 8080', async () => (answer = await exec(LAB, 'client', 'curl', '-sS', '-m', '5', `http://${target.ip}:8080/clientip`)));
    expect(answer).toMatch(new RegExp(`^${re(client().ip)}:`));
    expect(seen).toMatch(new RegExp(`^\\S+ IP ${re(client().ip)}\\.\\d+ > ${re(target.ip)}\\.8080:`, 'm'));
    expect(seen).not.toMatch(/: IP /); // no inner header
  });

  it('carries cross-rack pod traffic as IP-in-IP between node addresses, client IP preserved', async () => {
    const target = on('node-3');
    let answer = '';
    const seen = await captureOnFabric(LAB, 'rack-a', 'ip proto 4 or tcp port 8080', async () => (answer = await exec(LAB, 'client', 'curl', '-sS', '-m', '5', `http://${target.ip}:8080/clientip`)));
    expect(answer).toMatch(new RegExp(`^${re(client().ip)}:`));
    expect(seen).toMatch(new RegExp(`IP ${re(client().hostIP)} > ${re(target.hostIP)}: IP ${re(client().ip)}\\.\\d+ > ${re(target.ip)}\\.8080`));
    expect(seen).not.toMatch(new RegExp(`^\\S+ IP ${re(client().ip)}\\.\\d+ >`, 'm')); // never bare on the wire
  });

  it('down leaves nothing', async () => {
    expect((await kemu('down', LAB)).exitCode).toBe(0);
    expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
  });
});
