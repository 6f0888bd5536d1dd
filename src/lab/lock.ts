/** One kemu command at a time per lab: an exclusive lock file holding the owner's pid. */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { RUN_ROOT } from '../topology/names.js';
import { isAlive } from '../host/netns.js';

const lockFile = (lab: string) => `${RUN_ROOT}/${lab}.lock`;

export async function withLabLock<T>(lab: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  await mkdir(RUN_ROOT, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await open(lockFile(lab), 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(await readFile(lockFile(lab), 'utf8').catch(() => ''));
      // A holder that died (crash, SIGKILL) leaves its lock behind: take it over.
      if (!owner || !(await isAlive(owner))) {
        await rm(lockFile(lab), { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`lab ${lab} is busy: another kemu command (pid ${owner}) holds ${lockFile(lab)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockFile(lab), { force: true });
  }
}
