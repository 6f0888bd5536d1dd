/** Running the real CLI and looking at the host, for integration tests. */
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'kemu.js');
/** Every lab a test creates starts with this, so the suite can prove it left nothing behind. */
export const TEST_LAB_PREFIX = 'kt-';

export async function kemu(...args: string[]) {
  return execa('node', [BIN, ...args], { reject: false, all: false, env: { PATH: process.env.PATH } });
}

/** kemu up that must succeed. */
export async function mustUp(file: string) {
  const r = await kemu('up', '-q', file);
  if (r.exitCode !== 0) throw new Error(`kemu up ${file} failed (${r.exitCode}):\n${r.stderr}\n${r.stdout}`);
  return r;
}

/** A copy of a topology under another lab name (manifest paths made absolute), in a temp folder. */
export function topologyAs(source: string, lab: string, edit?: (t: any) => void): string {
  const file = resolve(ROOT, source);
  const t = parse(readFileSync(file, 'utf8'));
  t.metadata.name = lab;
  t.spec.workloads = (t.spec.workloads ?? []).map((w: unknown) => (typeof w === 'string' ? resolve(dirname(file), w) : w));
  edit?.(t);
  return writeTopology(lab, t);
}

export function writeTopology(lab: string, t: unknown, text?: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${lab}-`));
  const out = join(dir, 'topology.yaml');
  writeFileSync(out, text ?? stringify(t));
  return out;
}

/** Run a command inside a lab target; returns stdout, throwing with stderr on failure. */
export async function exec(lab: string, target: string, ...cmd: string[]): Promise<string> {
  const r = await kemu('exec', '--lab', lab, target, '--', ...cmd);
  if (r.exitCode !== 0) throw new Error(`kemu exec ${target} -- ${cmd.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout;
}

/** The lab's pods; those of kube-system (cluster DNS, which every lab runs) only with `system`. */
export async function pods(lab: string, opts: { system?: boolean } = {}): Promise<Array<{ name: string; namespace: string; node: string; ip: string; hostIP: string; phase: string; holderPid: number }>> {
  const r = await kemu('get', 'pods', '-o', 'json', '--lab', lab);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  const items = (JSON.parse(r.stdout).items as any[]).filter((p) => opts.system || p.metadata.namespace !== 'kube-system');
  return items.map((p: any) => ({
    name: p.metadata.name,
    namespace: p.metadata.namespace,
    node: p.spec.nodeName,
    ip: p.status.podIP,
    hostIP: p.status.hostIP,
    phase: p.status.phase,
    holderPid: Number(p.metadata.annotations['kemu.dev/holder-pid']),
  }));
}

/** `kemu apply` of manifests (written to a temporary file) that must succeed. */
export async function mustApplyDocs(lab: string, docs: unknown[], ...extra: string[]) {
  const r = await kemu('apply', '--lab', lab, '-f', writeTopology(lab, undefined, docs.map((d) => stringify(d)).join('---\n')), ...extra);
  if (r.exitCode !== 0) throw new Error(`kemu apply failed (${r.exitCode}):\n${r.stderr}\n${r.stdout}`);
  return r;
}

/** `kemu get ARGS -o json` of a lab, parsed; throws with stderr on failure. */
export async function getJson(lab: string, ...args: string[]) {
  const r = await kemu('get', ...args, '-o', 'json', '--lab', lab);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/** Poll `check` every 200 ms until it holds; throws naming `what` after `ms`. */
export async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Live (not zombie) processes whose environment holds `mark`, e.g. `KEMU_LAB=kt-x`. */
export async function markedProcesses(mark: string): Promise<number[]> {
  const out: number[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const env = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1').catch(() => '');
    if (env.split('\0').includes(mark) && !/^\d+ \(.*\) Z/.test(stat)) out.push(Number(pid));
  }
  return out;
}

/** Everything of a lab that could be left on the host. */
export async function leftovers(lab: string) {
  const prefix = `kemu-${lab}.`;
  const netns = (await readdir('/run/netns').catch(() => [] as string[])).filter((n) => n.startsWith(prefix));
  const mounts = (await readFile('/proc/mounts', 'utf8')).split('\n').filter((l) => l.includes(prefix));
  const processes = await markedProcesses(`KEMU_LAB=${lab}`);
  const files = (await readdir('/run/kemu').catch(() => [] as string[])).filter((f) => f === lab || f === `${lab}.lock`);
  const state = (await readdir('/var/lib/kemu').catch(() => [] as string[])).filter((f) => f === lab);
  const rootLinks = (await execa('ip', ['-o', 'link'])).stdout.split('\n').filter((l) => l.includes(lab));
  return { netns, mounts, processes, files, state, rootLinks };
}

export const NOTHING_LEFT = { netns: [], mounts: [], processes: [], files: [], state: [], rootLinks: [] };

/** The root namespace's network, normalised (counters stripped) for before/after comparison. */
export async function rootNetwork(): Promise<{ addr: string; route: string; iptables: string }> {
  const [addr, route, ipt] = await Promise.all([
    execa('ip', ['addr']),
    execa('ip', ['route']),
    execa('iptables-save', [], { reject: false }),
  ]);
  const iptables = String(ipt.stdout)
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/g, '[]'))
    .join('\n');
  return { addr: String(addr.stdout).replace(/valid_lft \S+ sec preferred_lft \S+ sec/g, ''), route: String(route.stdout), iptables };
}

/** tcpdump on a bridge of the lab's fabric while `traffic` runs; returns what it printed. */
export async function captureOnFabric(lab: string, bridge: string, filter: string, traffic: () => Promise<unknown>, count = 6): Promise<string> {
  const cap = execa('ip', ['netns', 'exec', `kemu-${lab}.fabric`, 'tcpdump', '-nni', bridge, '-c', String(count), '-l', filter], { reject: false, timeout: 6000 });
  await new Promise((r) => setTimeout(r, 500));
  await traffic();
  return String((await cap).stdout);
}

/** A regular expression source matching `ip` literally. */
export const re = (ip: string) => ip.replace(/[.]/g, '\\.');
