/**
 * routing: ipip on this kernel, which has no ipip module: tunl0 comes from kemu's userspace datapath,
 * BIRD routes remote blocks through it (onlink), and the underlay carries IP-in-IP between nodes only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTHING_LEFT, captureOnFabric, exec, kemu, leftovers, mustUp, pods, topologyAs } from '../helpers/kemu.js';

const LAB = 'kt-ipip';
const file = topologyAs('topologies/ipip.yaml', LAB, (t) => (t.spec.network.underlay.subnet = '192.168.72.0/24'));
let list: Awaited<ReturnType<typeof pods>>;

beforeAll(async () => {
  const r = await mustUp(file);
  expect(r.exitCode).toBe(0);
  list = await pods(LAB);
});
afterAll(async () => {
  await kemu('down', '-q', LAB);
});

/** Capture IPIP on the underlay bridge while `traffic` runs. */
const captureIpip = (traffic: () => Promise<unknown>) => captureOnFabric(LAB, 'underlay', 'ip proto 4', traffic);

describe('IPIP routing (userspace datapath)', () => {
  it('routes other nodes’ blocks through tunl0 onlink, with tunl0 on the tunnel MTU', async () => {
    const routes = await exec(LAB, 'node/node-1', 'ip', 'route');
    expect(routes).toMatch(/ via 192\.168\.72\.\d+ dev tunl0 proto bird .*onlink/);
    expect(routes).not.toContain('proto static');
    expect(await exec(LAB, 'node/node-1', 'ip', 'link', 'show', 'tunl0')).toContain('mtu 1480');
    expect(await exec(LAB, 'client', 'ip', 'link', 'show', 'eth0')).toContain('mtu 1480');
    expect((await kemu('routes', 'node-1', '--lab', LAB)).stdout).toMatch(/pod block of node-\d, learned via BGP through the IPIP tunnel/);
  });

  it('carries cross-node traffic as IP-in-IP between node addresses, client IP preserved', async () => {
    const client = list.find((p) => p.name === 'client')!;
    const remote = list.find((p) => p.node !== client.node)!;
    let answer = '';
    const seen = await captureIpip(async () => (answer = await exec(LAB, 'client', 'curl', '-sS', '-m', '5', `http://${remote.ip}:8080/clientip`)));
    expect(answer).toMatch(new RegExp(`^${client.ip.replace(/\./g, '\\.')}:`));
    expect(seen).toMatch(new RegExp(`IP ${client.hostIP.replace(/\./g, '\\.')} > ${remote.hostIP.replace(/\./g, '\\.')}: IP ${client.ip.replace(/\./g, '\\.')}\\.\\d+ > ${remote.ip.replace(/\./g, '\\.')}\\.8080`));
  });

  it('does not encapsulate traffic between pods of one node', async () => {
    const client = list.find((p) => p.name === 'client')!;
    const local = list.find((p) => p.name !== 'client' && p.node === client.node)!;
    const seen = await captureIpip(() => exec(LAB, 'client', 'curl', '-sS', '-m', '5', `http://${local.ip}:8080/hostname`));
    expect(seen).not.toContain(local.ip);
  });

  it('handles large packets: a 1,400-byte ping and a 1 MB HTTP transfer across nodes', async () => {
    const client = list.find((p) => p.name === 'client')!;
    const remote = list.find((p) => p.node !== client.node)!;
    expect(await exec(LAB, 'client', 'ping', '-c', '2', '-W', '2', '-s', '1400', remote.ip)).toContain('2 received');
    expect(await exec(LAB, 'client', 'curl', '-sS', '-m', '10', '-o', '/dev/null', '-w', '%{size_download}', `http://${remote.ip}:8080/bytes?n=1048576`)).toBe('1048576');
  });

  it('down removes the datapath processes with the lab', async () => {
    expect((await kemu('down', LAB)).exitCode).toBe(0);
    expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
  });
});
