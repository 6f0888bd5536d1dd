/**
 * A damaged state.json (issue 10): truncated or garbled, the copy kept before the last write is used
 * and every command keeps working; with both copies damaged the error names the files and the way
 * out, and no byte of the garbage reaches the terminal unescaped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { NOTHING_LEFT, getJson, kemu, leftovers, mustUp, writeTopology } from '../helpers/kemu.js';

const LAB = 'kt-state-rec';
const STATE = `/var/lib/kemu/${LAB}/state.json`;
const PREV = `/var/lib/kemu/${LAB}/state.prev.json`;
const file = writeTopology(LAB, {
  apiVersion: 'kemu.dev/v1alpha1',
  kind: 'Topology',
  metadata: { name: LAB },
  spec: {
    network: { underlay: { subnet: '192.168.86.0/24' } },
    nodes: [{ name: 'n1' }],
    workloads: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1' }, spec: { containers: [{ name: 'web', image: 'nginx' }] } }],
  },
});
// Control characters (ESC, BEL, a newline, C1 CSI) that would move the cursor or forge a line if printed raw.
const GARBAGE = '{"version":2,"lab":\u001b[2J\u0007\nkemu: all good\u009b31m';
const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

beforeAll(async () => {
  await mustUp(file);
  // A second write, so the previous copy holds a complete record too.
  expect((await kemu('up', '-q', file)).exitCode).toBe(0);
});
afterAll(async () => {
  await kemu('down', '-q', LAB);
  expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
});

describe('a damaged state.json', () => {
  it('truncated: get uses the previous copy and shows the pod', async () => {
    await truncate(STATE, 100);
    const r = await kemu('get', 'pods', '--lab', LAB);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('web-1');
  });

  it('garbled with control characters: get and up still work; up writes a good record again', async () => {
    await writeFile(STATE, GARBAGE);
    expect((await getJson(LAB, 'pods', 'web-1')).status.phase).toBe('Running');
    const up = await kemu('up', '-q', file);
    expect(up.exitCode).toBe(0);
    expect(raw.test(up.stdout + up.stderr)).toBe(false);
    expect(JSON.parse(await readFile(STATE, 'utf8')).lab).toBe(LAB);
  });

  it('both copies damaged: a clear error naming the file and `kemu down`, garbage escaped, exit 1; down still removes the lab', async () => {
    await writeFile(STATE, GARBAGE);
    await writeFile(PREV, GARBAGE);
    const r = await kemu('get', 'pods', '--lab', LAB);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(STATE);
    expect(r.stderr).toContain(`kemu down ${LAB}`);
    expect(raw.test(r.stderr)).toBe(false);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
