/** routing: bgp — BIRD on every node, full iBGP mesh, pod blocks learned as `proto bird` routes. */
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTHING_LEFT, exec, kemu, leftovers, mustUp, pods, topologyAs, until } from '../helpers/kemu.js';

const LAB = 'kt-bgp';
const file = topologyAs('topologies/bgp.yaml', LAB);

beforeAll(async () => {
  await mustUp(file); // returns once every session is Established
});
afterAll(async () => {
  await kemu('down', '-q', LAB);
});

describe('BGP routing with BIRD', () => {
  it('has every session Established on every node', async () => {
    for (const node of ['node-1', 'node-2', 'node-3']) {
      const out = (await execa('birdc', ['-s', `/run/kemu/${LAB}/bird/${node}.ctl`, 'show', 'protocols'])).stdout;
      const bgp = out.split('\n').filter((l) => /\sBGP\s/.test(l));
      expect(bgp, out).toHaveLength(2);
      for (const l of bgp) expect(l).toContain('Established');
    }
  });

  it('kemu bgp shows every session with its peer node and routes exchanged', async () => {
    const view = JSON.parse((await kemu('bgp', '-o', 'json', '--lab', LAB)).stdout) as Array<{ node: string; sessions: Array<{ peerNode: string; state: string; imported: number; exported: number }> }>;
    expect(view.map((n) => n.node)).toEqual(['node-1', 'node-2', 'node-3']);
    for (const n of view) {
      expect(n.sessions.map((s) => s.peerNode).sort()).toEqual(['node-1', 'node-2', 'node-3'].filter((x) => x !== n.node));
      for (const s of n.sessions) expect(s).toMatchObject({ state: 'Established', imported: 1, exported: 1 });
    }
    const routes = (await kemu('routes', 'node-1', '--lab', LAB)).stdout;
    expect(routes).toMatch(/pod block of node-2, learned via BGP/);
    expect(routes).toMatch(/own IPAM block/);
    expect(routes).toMatch(/local pod default\/client/);
  });

  it('learns the other nodes’ blocks as proto bird routes, with no static leftovers', async () => {
    const nodes = JSON.parse((await kemu('get', 'nodes', '-o', 'json', '--lab', LAB)).stdout).items;
    for (const n of nodes) {
      const routes = await exec(LAB, `node/${n.metadata.name}`, 'ip', 'route');
      expect(routes).not.toContain('proto static');
      expect(routes).toContain(`blackhole ${n.spec.podCIDR} proto bird`);
      for (const other of nodes.filter((o: any) => o !== n))
        expect(routes).toMatch(new RegExp(`^${other.spec.podCIDR.replace(/[./]/g, '\\$&')} via ${other.status.addresses[0].address.replace(/\./g, '\\.')} dev eth0 proto bird`, 'm'));
    }
  });

  it('carries pod-to-pod traffic across nodes with the client IP preserved', async () => {
    const list = await pods(LAB);
    const client = list.find((p) => p.name === 'client')!;
    for (const server of list.filter((p) => p.name !== 'client' && p.node !== client.node)) {
      expect(await exec(LAB, 'client', 'curl', '-sS', '-m', '5', `http://${server.ip}:8080/hostname`)).toBe(server.name);
      expect(await exec(LAB, 'client', 'curl', '-sS', '-m', '5', `http://${server.ip}:8080/clientip`)).toMatch(new RegExp(`^${client.ip.replace(/\./g, '\\.')}:`));
    }
  });

  it('a killed BIRD’s routes are withdrawn from the others within the hold time, and up brings it back', async () => {
    const state = JSON.parse(readFileSync(`/var/lib/kemu/${LAB}/state.json`, 'utf8'));
    const node2 = state.cluster.nodes.find((n: any) => n.name === 'node-2');
    const block = node2.blocks[0] as string;
    const hasRoute = async () => (await exec(LAB, 'node/node-1', 'ip', 'route')).split('\n').some((l) => l.startsWith(`${block} via ${node2.ip}`));
    expect(await hasRoute()).toBe(true);
    // The supervisor would restart BIRD within a second (heal-daemons.test.ts): hold it while the peers' timers run.
    process.kill(state.supervisor.pid, 'SIGSTOP');
    process.kill(state.bird['node-2'].pid, 'SIGKILL');
    // Calico's BIRD peers with graceful restart: the others keep the routes as stale for the restart
    // time (120 s), then withdraw them — inside BIRD's hold time (240 s).
    const started = Date.now();
    while ((await hasRoute()) && Date.now() - started < 240_000) await new Promise((r) => setTimeout(r, 1000));
    const withdrawnAfter = (Date.now() - started) / 1000;
    expect(withdrawnAfter).toBeLessThan(240);
    expect(await hasRoute()).toBe(false);
    const up = await kemu('up', file).finally(() => process.kill(state.supervisor.pid, 'SIGCONT'));
    expect(up.stdout + up.stderr).toContain('BIRD started on node-2');
    // Restarted with -R (as Calico runs it), node-2's BIRD announces its block once graceful-restart recovery ends.
    const t0 = Date.now();
    await until('node-1 to learn node-2’s block again', 15_000, hasRoute);
    console.log(`BIRD restarted by up → node-1 has the route again after ${Date.now() - t0} ms`);
  }, 300_000);

  it('a second up changes nothing; down removes BIRD with the lab', async () => {
    expect((await kemu('up', file)).stdout).toContain('nothing changed');
    expect((await kemu('down', LAB)).exitCode).toBe(0);
    expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
  });
});
