/** Deleting links and namespaces where some may already be gone. */
import { HostCommandError, run, spawnCounter } from './run.js';

/** `ip -force -batch` in `netns`, tolerating lines that fail only because the object is already gone. */
export async function ipBatchTolerant(netns: string | undefined, lines: string[], gone: RegExp): Promise<void> {
  if (lines.length === 0) return;
  spawnCounter.ip++;
  const args = [...(netns ? ['-n', netns] : []), '-force', '-batch', '-'];
  const r = await run('ip', args, { input: lines.join('\n') + '\n', reject: false });
  if (r.ok) return;
  const errors = r.stderr.split('\n').filter((l) => l.trim() && !/^Command failed/.test(l));
  if (errors.some((l) => !gone.test(l))) throw new HostCommandError(r);
}

export const deleteLinks = (netns: string, names: string[]) =>
  ipBatchTolerant(netns, names.map((n) => `link del dev ${n}`), /Cannot find device|does not exist/);

export const deleteNetns = (names: string[]) =>
  ipBatchTolerant(undefined, names.map((n) => `netns del ${n}`), /No such file|Cannot remove namespace file/);
