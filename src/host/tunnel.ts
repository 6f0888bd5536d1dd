/** Bring up a node's tunl0 on the datapath this kernel allows, and give it its address. */
import type { TunnelPlan } from '../plan/tunnels.js';
import { ipipDatapath } from '../plan/tunnels.js';
import { nodeLogFile } from '../topology/names.js';
import { ipBatch, run, spawnCounter } from './run.js';
import { IPIP_BIN, startServers } from './sandbox.js';

export async function startTunnel(lab: string, t: TunnelPlan): Promise<{ datapath: 'kernel' | 'userspace'; pid?: number }> {
  spawnCounter.ip++;
  const probe = await run('ip', ['-n', t.netns, 'link', 'add', 'name', 'tunl0', 'type', 'ipip'], { reject: false });
  const datapath = ipipDatapath(probe);
  let pid: number | undefined;
  if (datapath === 'kernel') await ipBatch(t.netns, [`link set dev tunl0 mtu ${t.mtu} up`]);
  else {
    const pids = await startServers(lab, [
      { key: `node/${t.node}`, container: 'ipip', enter: { netns: t.netns }, bin: IPIP_BIN, args: ['--dev', 'tunl0', '--local', t.local, '--mtu', String(t.mtu)], log: nodeLogFile(lab, t.node, 'ipip') },
    ]);
    pid = pids.get(`node/${t.node}/ipip`);
  }
  await ipBatch(t.netns, [`addr replace ${t.address}/32 dev tunl0`]);
  return { datapath, ...(pid ? { pid } : {}) };
}
