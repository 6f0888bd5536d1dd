/** `up` killed with SIGKILL part-way: the next `up` completes the lab, and `down` leaves nothing. */
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, NOTHING_LEFT, exec, kemu, leftovers, mustUp, pods, writeTopology } from '../helpers/kemu.js';

const LAB = 'kt-crash';
const podsPerNode = 15;
const file = writeTopology(LAB, {
  apiVersion: 'kemu.dev/v1alpha1',
  kind: 'Topology',
  metadata: { name: LAB },
  spec: {
    network: { podCIDR: '172.30.0.0/16', underlay: { subnet: '10.0.0.0/16' } },
    nodes: [{ name: 'a' }, { name: 'b' }],
    workloads: [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'many' },
        spec: { replicas: podsPerNode * 2, selector: { matchLabels: { app: 'many' } }, template: { metadata: { labels: { app: 'many' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
      },
    ],
  },
});

/** Start `up` and SIGKILL it while pods are being built: after the sandboxes started, before the lab is complete. */
async function upKilledPartWay(): Promise<void> {
  const child = execa('node', [BIN, 'up', file], { reject: false });
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stderr!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('sandboxes started')) resolve();
    });
    child.on('exit', () => reject(new Error(`up finished before it could be interrupted:\n${seen}`)));
  });
  child.kill('SIGKILL');
  await child;
}

afterAll(async () => {
  await kemu('down', '-q', LAB);
});

describe('an interrupted up', () => {
  it('is completed by the next up and removed by down', async () => {
    await upKilledPartWay();
    expect((await kemu('get', 'pods', '--lab', LAB)).stdout).toMatch(/0\/1|Failed|Pending/);

    await mustUp(file);
    const list = await pods(LAB);
    expect(list).toHaveLength(podsPerNode * 2);
    expect(list.every((p) => p.phase === 'Running')).toBe(true);
    const a = list.find((p) => p.node === 'a')!;
    const b = list.find((p) => p.node === 'b')!;
    expect(await exec(LAB, a.name, 'curl', '-sS', '-m', '5', `http://${b.ip}:8080/hostname`)).toBe(b.name);

    expect((await kemu('down', LAB)).exitCode).toBe(0);
    expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
  });

  it('down alone also removes a half-built lab', async () => {
    await upKilledPartWay();
    expect((await leftovers(LAB)).netns.length).toBeGreaterThan(0);
    expect((await kemu('down', LAB)).exitCode).toBe(0);
    expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
  });
});
