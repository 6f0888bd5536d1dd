/** What kube-proxy sets up in a node besides its rules: nfacct counters, and reading host-wide conntrack limits. */
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { NETNS_DIR } from './netns.js';
import { run, spawnCounter } from './run.js';

/** kube-proxy's nfacct counters (pkg/proxy/metrics): the INVALID drop and localhost NodePorts. */
export const NFACCT_COUNTERS = ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts'];

/**
 * Ensure the counters exist in the node's namespace (nfnetlink_acct objects are per namespace and go
 * with it), as kube-proxy's nfacct.Ensure does on every full sync. False when any is missing (no
 * `nfacct` tool, no kernel support): kube-proxy then writes its rules without the nfacct matches.
 */
export async function ensureNfacct(netns: string): Promise<boolean> {
  spawnCounter.other++;
  const script = [...NFACCT_COUNTERS.map((n) => `nfacct add ${n} >/dev/null 2>&1`), 'nfacct list 2>/dev/null', 'true'].join('\n');
  const r = await run('nsenter', [`--net=${NETNS_DIR}/${netns}`, '--', 'sh', '-s'], { input: script, reject: false });
  return r.ok && NFACCT_COUNTERS.every((n) => new RegExp(`= ${n};`).test(r.stdout));
}

/** nf_conntrack_max: host-wide (read-only inside a network namespace). */
export async function conntrackMaxNow(): Promise<number | undefined> {
  const text = await readFile('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8').catch(() => '');
  return text ? Number(text.trim()) : undefined;
}

/** The CPU count kube-proxy sizes nf_conntrack_max by (cpuset.NumCPU: the machine's online CPUs). */
export const hostCpus = (): number => cpus().length;
