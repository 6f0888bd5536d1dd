/** The lab lock is exclusive under contention and is free the moment its holder is killed. */
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NOTHING_LEFT, ROOT, leftovers } from '../helpers/kemu.js';
import { withLabLock } from '../../src/lab/lock.js';

const LAB = 'kt-lock';
const contender = (counter: string, rounds: number, mode?: string) =>
  // One process each (node with tsx's loader, not npx's wrapper), so a SIGKILL reaches the holder itself.
  execa('node', ['--import', 'tsx', join(ROOT, 'test/helpers/lock-contender.ts'), LAB, counter, String(rounds), ...(mode ? [mode] : [])], { cwd: ROOT, reject: false });

let holder: ReturnType<typeof contender> | undefined;
afterAll(() => {
  holder?.kill('SIGKILL');
});

describe('the lab lock', () => {
  it('8 contenders × 200 acquisitions: no update lost, never two holders', async () => {
    const counter = join(mkdtempSync(join(tmpdir(), 'kt-lock-')), 'counter');
    writeFileSync(counter, '0');
    const runs = await Promise.all(Array.from({ length: 8 }, () => contender(counter, 200)));
    for (const r of runs) expect(r.stdout.trim(), r.stderr).toBe('violations 0');
    expect(Number(readFileSync(counter, 'utf8'))).toBe(1600);
    expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
  }, 180_000);

  it('is free at once when its holder is SIGKILLed', async () => {
    const counter = join(mkdtempSync(join(tmpdir(), 'kt-lock-')), 'counter');
    holder = contender(counter, 1, 'hold');
    await new Promise<void>((resolve) => holder!.stdout!.on('data', (d: Buffer) => d.toString().includes('holding') && resolve()));
    // While it holds the lock, a waiter with a short timeout gives up with a clear message.
    await expect(withLabLock(LAB, async () => undefined, { timeoutMs: 300 })).rejects.toThrow(/lab kt-lock is busy: pid \d+ \(kt-lock .*\) has held its lock/);
    holder.kill('SIGKILL');
    await holder;
    const started = performance.now();
    await withLabLock(LAB, async () => undefined, { timeoutMs: 5000 });
    expect(performance.now() - started).toBeLessThan(200);
  });
});
