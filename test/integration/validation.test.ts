/** An invalid batch changes nothing (state byte-identical, no namespace, no process); a huge object is refused fast. */
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kemu, leftovers, mustUp, NOTHING_LEFT, topologyAs, writeTopology } from '../helpers/kemu.js';

const LAB = 'kt-val-batch';
const STATE = `/var/lib/kemu/${LAB}/state.json`;
const netns = async () => (await execa('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(`kemu-${LAB}.`)).sort();

describe('kemu apply with an invalid batch', () => {
  beforeAll(async () => {
    await mustUp(topologyAs('topologies/quickstart.yaml', LAB, (t) => (t.spec.workloads = [])));
  }, 120_000);
  afterAll(async () => {
    await kemu('down', '-q', LAB);
    expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
  }, 120_000);

  it('refuses the whole batch when one object is invalid, changing nothing', async () => {
    const before = readFileSync(STATE);
    const nsBefore = await netns();
    const good = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'good' }, spec: { containers: [{ name: 'c', image: 'x' }] } };
    const bad = { apiVersion: 'v1', kind: 'Service', metadata: { name: '1web' }, spec: { ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] } };
    const r = await kemu('apply', '--lab', LAB, '-f', writeTopology(LAB, undefined, [good, bad].map((d) => stringify(d)).join('---\n')));
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('nothing was changed');
    expect(r.stderr).toMatch(/metadata\.name: .*DNS-1035/);
    expect(r.stderr).toMatch(/spec\.ports\[1\]: Duplicate value/);
    expect(readFileSync(STATE).equals(before)).toBe(true);
    expect(await netns()).toEqual(nsBefore);
  });

  it('refuses a Service with 100,000 ports in well under a second', async () => {
    const ports = Array.from({ length: 100_000 }, (_, i) => `  - name: p${i}\n    port: ${(i % 65535) + 1}`).join('\n');
    const file = writeTopology(LAB, undefined, `apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n${ports}\n`);
    const before = readFileSync(STATE);
    const t0 = Date.now();
    const r = await kemu('apply', '--lab', LAB, '-f', file);
    const ms = Date.now() - t0;
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/at most 3145728 bytes/);
    expect(readFileSync(STATE).equals(before)).toBe(true);
    console.log(`100,000-port Service refused by the CLI in ${ms} ms`);
    expect(ms).toBeLessThan(3000);
  });
});
