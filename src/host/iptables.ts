/** iptables in a namespace: one `iptables-restore --noflush` per sync, and reading chains back. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NETNS_DIR } from './netns.js';
import { HostCommandError, run, spawnCounter } from './run.js';
import { shellQuote } from '../util/shell.js';

export interface SavedTables {
  chains: { nat: string[]; filter: string[] };
  /** `-A …` rules of the built-in chains, as iptables-save prints them. */
  builtinRules: { nat: string[]; filter: string[] };
  /** `table/chain` → its number of rules, for every chain of every table */
  ruleCounts?: Record<string, number>;
  /** filter chain → its rules as iptables-save prints them, without the `-A <chain> ` prefix */
  filterRules?: Record<string, string[]>;
}

const BUILTIN = /^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) /;

/**
 * Run inside a namespace's network only: `nsenter --net` skips the mount namespace and /sys remount
 * that `ip netns exec` does, a few milliseconds per call that a 50 ms sync budget notices.
 */
const inNetns = (netns: string, ...cmd: string[]) => ['--net=' + `${NETNS_DIR}/${netns}`, '--', ...cmd];

export async function saveTables(netns: string): Promise<SavedTables> {
  spawnCounter.other++;
  const r = await run('nsenter', inNetns(netns, 'iptables-save'));
  const out: SavedTables = { chains: { nat: [], filter: [] }, builtinRules: { nat: [], filter: [] }, ruleCounts: {}, filterRules: {} };
  let table: 'nat' | 'filter' | undefined;
  let name = '';
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('*')) name = line.slice(1);
    else if (line.startsWith(':')) out.ruleCounts![`${name}/${line.slice(1).split(' ')[0]}`] = 0;
    else if (line.startsWith('-A ')) {
      const key = `${name}/${line.split(' ')[1]}`;
      out.ruleCounts![key] = (out.ruleCounts![key] ?? 0) + 1;
    }
    if (line.startsWith('*')) table = line === '*nat' ? 'nat' : line === '*filter' ? 'filter' : undefined;
    else if (!table) continue;
    else if (line.startsWith(':')) out.chains[table].push(line.slice(1).split(' ')[0]!);
    else if (BUILTIN.test(line)) out.builtinRules[table].push(line);
    if (table === 'filter' && line.startsWith('-A ')) {
      const chain = line.split(' ')[1]!;
      (out.filterRules![chain] ??= []).push(line.slice(4 + chain.length));
    }
  }
  return out;
}

/** With KEMU_IPTABLES_DUMP=DIR, every restore payload is also written to DIR (to read, or replay). */
let dumped = 0;

export async function restoreTables(netns: string, payload: string): Promise<void> {
  spawnCounter.other++;
  const dump = process.env.KEMU_IPTABLES_DUMP;
  if (dump) await writeFile(join(dump, `${String(++dumped).padStart(3, '0')}-${netns}.rules`), payload);
  const r = await run('nsenter', inNetns(netns, 'iptables-restore', '--noflush'), { input: payload, reject: false });
  if (r.ok) return;
  // iptables-restore names the failing line: show it with its neighbours.
  const m = /line:? (\d+)/i.exec(r.stderr);
  const lines = payload.split('\n');
  const at = m ? Number(m[1]) - 1 : -1;
  throw new HostCommandError(r, at >= 0 ? lines.slice(Math.max(0, at - 2), at + 3) : []);
}

/** Delete conntrack entries in `netns`, one `conntrack -D` per filter, all in one shell. */
export async function deleteConntrack(netns: string, filters: string[][]): Promise<void> {
  if (filters.length === 0) return;
  spawnCounter.other++;
  const script = filters.map((f) => `conntrack -D ${f.join(' ')} >/dev/null 2>&1`).join('\n') + '\ntrue\n';
  await run('nsenter', inNetns(netns, 'sh', '-s'), { input: script });
}

/**
 * `iptables -t TABLE -S CHAIN` in each namespace, all from one shell (one spawn for the whole list):
 * per listing, whether it succeeded and what it printed.
 */
export async function listChains(items: Array<{ netns: string; table: string; chain: string }>): Promise<Array<{ ok: boolean; text: string }>> {
  if (items.length === 0) return [];
  spawnCounter.other++;
  const script = items
    .map((it, i) => `echo '@@start ${i}'; nsenter ${shellQuote(`--net=${NETNS_DIR}/${it.netns}`)} -- iptables -t ${shellQuote(it.table)} -S ${shellQuote(it.chain)} 2>&1; echo "@@rc ${i} $?"`)
    .join('\n');
  const r = await run('sh', ['-s'], { input: script + '\n', reject: false });
  const out = items.map(() => ({ ok: false, text: '' }));
  let cur = -1;
  for (const line of r.stdout.split('\n')) {
    const start = /^@@start (\d+)$/.exec(line);
    const rc = /^@@rc (\d+) (\d+)$/.exec(line);
    if (start) cur = Number(start[1]);
    else if (rc) {
      out[Number(rc[1])]!.ok = rc[2] === '0';
      cur = -1;
    } else if (cur >= 0) out[cur]!.text += `${line}\n`;
  }
  return out;
}

/** Whether `iptables` here is iptables-nft (its rules are nftables objects, whose changes raise netlink events). */
export async function iptablesIsNft(): Promise<boolean> {
  const r = await run('iptables', ['-V'], { reject: false });
  return r.ok && r.stdout.includes('nf_tables');
}
