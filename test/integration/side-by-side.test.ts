/** Two labs with the same address plan run at once without seeing each other. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTHING_LEFT, exec, kemu, leftovers, mustUp, pods, topologyAs } from '../helpers/kemu.js';

const LABS = ['kt-side-a', 'kt-side-b'];
const files = LABS.map((lab) => topologyAs('topologies/quickstart.yaml', lab));

beforeAll(async () => {
  await Promise.all(files.map(mustUp));
});
afterAll(async () => {
  for (const lab of LABS) await kemu('down', '-q', lab);
});

describe('two labs side by side', () => {
  it('both carry traffic with identical addresses', async () => {
    const [a, b] = await Promise.all(LABS.map((lab) => pods(lab)));
    expect(a!.map((p) => p.ip).sort()).toEqual(b!.map((p) => p.ip).sort());
    for (const lab of LABS) {
      const list = await pods(lab);
      const web = list.filter((p) => p.name.startsWith('web-'));
      for (const w of web) expect(await exec(lab, 'client', 'curl', '-sS', '-m', '5', `http://${w.ip}:8080/hostname`)).toBe(w.name);
    }
  });

  it('removing one leaves the other running', async () => {
    expect((await kemu('down', LABS[0]!)).exitCode).toBe(0);
    expect(await leftovers(LABS[0]!)).toEqual(NOTHING_LEFT);
    const list = await pods(LABS[1]!);
    expect(list.every((p) => p.phase === 'Running')).toBe(true);
    const w = list.find((p) => p.name.startsWith('web-'))!;
    expect(await exec(LABS[1]!, 'client', 'curl', '-sS', '-m', '5', `http://${w.ip}:8080/hostname`)).toBe(w.name);
    const ls = JSON.parse((await kemu('ls', '-o', 'json')).stdout) as Array<{ lab: string }>;
    expect(ls.map((l) => l.lab)).toContain(LABS[1]);
    expect(ls.map((l) => l.lab)).not.toContain(LABS[0]);
  });
});
