/** After the whole suite: no test lab may have left anything behind. */
import { execa } from 'execa';
import { readdir } from 'node:fs/promises';
import { BIN, TEST_LAB_PREFIX } from './kemu.js';

async function testLabs(): Promise<string[]> {
  const netns = (await readdir('/run/netns').catch(() => [] as string[])).filter((n) => n.startsWith(`kemu-${TEST_LAB_PREFIX}`));
  const state = (await readdir('/var/lib/kemu').catch(() => [] as string[])).filter((n) => n.startsWith(TEST_LAB_PREFIX));
  return [...new Set([...netns.map((n) => n.slice(5, n.indexOf('.'))), ...state])];
}

/**
 * The sweep (remove every `kt-` lab first, fail if one is left at the end) runs for the whole suite:
 * scripts/test.sh sets KEMU_TEST_SWEEP=1, as does CI. A single test file run by hand leaves other labs
 * alone (several checkouts may run tests on one machine); KEMU_TEST_NO_SWEEP=1 always turns it off.
 */
const sweep = process.env.KEMU_TEST_NO_SWEEP !== '1' && (process.env.KEMU_TEST_SWEEP === '1' || process.env.CI === 'true');

export async function setup(): Promise<void> {
  if (!sweep) return;
  // Leftovers of an earlier, killed run would make tests collide: clear them first.
  for (const lab of await testLabs()) await execa('node', [BIN, 'down', '-q', lab], { reject: false });
}

export async function teardown(): Promise<void> {
  if (!sweep) return;
  const left = await testLabs();
  for (const lab of left) await execa('node', [BIN, 'down', '-q', lab], { reject: false });
  if (left.length) throw new Error(`test labs left behind after the suite: ${left.join(', ')}`);
}
