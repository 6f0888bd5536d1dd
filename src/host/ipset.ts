/** ipsets in a namespace: one `ipset restore` per sync, and the names of the sets that exist. */
import { NETNS_DIR } from './netns.js';
import { HostCommandError, run, spawnCounter } from './run.js';

const inNetns = (netns: string, ...cmd: string[]) => ['--net=' + `${NETNS_DIR}/${netns}`, '--', ...cmd];

export async function restoreIpsets(netns: string, payload: string): Promise<void> {
  if (payload.trim() === '') return;
  spawnCounter.other++;
  const r = await run('nsenter', inNetns(netns, 'ipset', 'restore'), { input: payload, reject: false });
  if (!r.ok) throw new HostCommandError(r, []);
}

export async function listIpsets(netns: string): Promise<string[]> {
  spawnCounter.other++;
  const r = await run('nsenter', inNetns(netns, 'ipset', 'list', '-n'));
  return r.stdout.split('\n').filter(Boolean);
}
