/**
 * One contender for the lab lock (test/integration/lock.test.ts): `rounds` times, take the lock, check
 * that nobody else is inside (an O_EXCL marker file), bump a shared counter with a read-modify-write
 * that a second holder would break, and leave. `hold` instead takes the lock once and keeps it forever.
 */
import { openSync, closeSync, readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { withLabLock } from '../../src/lab/lock.js';

const [lab, counter, rounds, mode] = process.argv.slice(2) as [string, string, string, string | undefined];
const inside = `${counter}.inside`;
let violations = 0;

if (mode === 'hold') {
  await withLabLock(lab, async () => {
    process.stdout.write('holding\n');
    await new Promise(() => setInterval(() => undefined, 60_000));
  });
} else {
  for (let i = 0; i < Number(rounds); i++) {
    await withLabLock(lab, async () => {
      try {
        closeSync(openSync(inside, 'wx'));
      } catch {
        violations++;
      }
      const n = Number(readFileSync(counter, 'utf8'));
      await new Promise((r) => setImmediate(r));
      writeFileSync(counter, String(n + 1));
      try {
        unlinkSync(inside);
      } catch {
        violations++;
      }
    });
  }
  process.stdout.write(`violations ${violations}\n`);
}
