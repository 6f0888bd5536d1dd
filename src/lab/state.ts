/** The lab's record on disk: what was asked for and what has been fully built. Written atomically. */
import type { NodePolicyRecord } from './policy/sync.js';
import { link, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import type { ClusterState } from '../cluster/types.js';
import { completeStore, type Store } from '../cluster/store.js';
import type { LabSpec } from '../topology/types.js';
import type { ProxyServicePort } from '../plan/kube-proxy/types.js';
import { STATE_ROOT, isLabName, labPaths } from '../topology/names.js';
import { checkedLabPaths, makeLabDir } from '../host/lab-dirs.js';
import { printable } from '../util/printable.js';

/** How a container instance ended, as the kubelet reports it in state.terminated / lastState.terminated. */
export interface ContainerTermination {
  exitCode: number;
  /** Completed (exit 0) or Error */
  reason: string;
  /** Why kemu stopped it, in the kubelet's words (e.g. a failed liveness probe); absent when it exited on its own. */
  message?: string;
  startedAt?: string;
  finishedAt: string;
}

export interface ContainerRuntime {
  pid: number;
  /** ContainerPlan.hash it was started with */
  hash: string;
  restarts: number;
  /** Its process name (/proc/<pid>/comm) when it is not the default server (a container program). */
  comm?: string;
  /** When this instance started (ISO time): probes count their initialDelaySeconds from here. */
  startedAt?: string;
  /** Its startupProbe passed (set only for containers that have one). */
  started?: boolean;
  /** When the process was found dead (ISO time), until it is restarted. */
  diedAt?: string;
  /** How this instance ended, once it did. */
  exit?: ContainerTermination;
  /** How the previous instance ended (lastState). */
  last?: ContainerTermination;
}

export interface PodRuntime {
  holderPid: number;
  containers: Record<string, ContainerRuntime>;
  /** Containers run and readiness probes pass (as last seen). */
  ready: boolean;
  startedAt: string;
}

export interface NodeProxyRecord {
  /** service-port key → hash of its inputs when its chains were last written */
  hashes: Record<string, string>;
  /** chains the node has, as the last sync left them */
  chains: { nat: string[]; filter: string[] };
  /** table/chain → hash of the rules of each top-level KUBE chain, as last written */
  topChains?: Record<string, string>;
  /** service-port key → hash of its rules in the top-level chains, as last written */
  entries?: Record<string, string>;
  /** hash of the natOutgoing chains last written */
  natOutgoing?: string;
  /** hash of the CNI portmap chains last written (lab/portmap) */
  portmap?: string;
  /** hash of the kube-proxy configuration the node was set up with (a change means a full sync) */
  config?: string;
  /** whether its nfacct counters exist */
  nfacct?: boolean;
  /** `table/chain` → rules written to each chain kube-proxy (and natOutgoing) owns: what `up` reads back */
  ruleCounts?: Record<string, number>;
  /** kube-proxy's health-check server of this node */
  health?: { pid: number; hash: string };
}

import type { L2Record } from './metallb/l2.js';
import type { BgpDaemons } from './metallb/bgp.js';

export interface LabRecord {
  version: 2;
  lab: string;
  topologyFile: string;
  /** The lab without its workloads, as the topology file last described it (what `apply` builds on). */
  spec: LabSpec;
  /** The emulated API server's objects. */
  store: Store;
  cluster: ClusterState;
  /** netns (or `routes:<node>`) → plan hash, only for objects built completely. */
  built: Record<string, string>;
  /** pod key → its processes */
  pods: Record<string, PodRuntime>;
  /** node → its kube-proxy state */
  proxy?: Record<string, NodeProxyRecord>;
  /** node → Felix's chains and ipsets in its filter table (lab/policy) */
  policy?: Record<string, NodePolicyRecord>;
  /** node → its tunl0 (routing: ipip): which datapath, and the userspace one's pid */
  tunnels?: Record<string, { datapath: 'kernel' | 'userspace'; pid?: number; hash: string }>;
  /** node → its BIRD daemon (routing: bgp) */
  bird?: Record<string, { pid: number; hash: string }>;
  /** the service ports of the last sync (for UDP conntrack clean-up) */
  proxyPorts?: ProxyServicePort[];
  /** the ingress controller pods (lab/ingress), and the hash of what each one's nginx has loaded */
  ingress?: { controllers: string[]; loaded: Record<string, string> };
  /** MetalLB layer-2 address → the node answering ARP for it (lab/metallb/l2.ts) */
  metallbL2?: Record<string, L2Record>;
  /** MetalLB BGP: the fabric router's BIRD (`router`) and each node's speaker (lab/metallb/bgp.ts) */
  metallbBgp?: BgpDaemons;
  /** nodes taken down with `kemu node stop` (lab/node-power.ts) */
  stoppedNodes?: string[];
  /** the lab's supervisor process (container restarts, readiness probes, rollouts) */
  supervisor?: { pid: number };
  updatedAt: string;
}

export const stateFile = (lab: string) => labPaths(lab).stateFile;

/** Where a record read from disk came from: the current file, or the previous copy because the current one was damaged. */
export interface RecordSource {
  recovered?: { from: string; damaged: string; reason: string };
}

function parseRecord(text: string): LabRecord {
  const record = JSON.parse(text) as LabRecord;
  if (typeof record !== 'object' || record === null || typeof record.lab !== 'string') throw new Error('not a lab record');
  if (record.version !== 2) throw new Error(`written by an older kemu (version ${printable(record.version)})`);
  completeStore(record.store);
  return record;
}

const reason = (err: unknown) => printable((err as Error).message, 120);

/**
 * The lab's record, or undefined when it has none. A damaged state.json (truncated, garbled) is
 * replaced by the copy kept before the last write, and `source.recovered` says so.
 */
export async function readRecord(lab: string, source: RecordSource = {}): Promise<LabRecord | undefined> {
  const p = await checkedLabPaths(lab);
  let text: string;
  try {
    text = await readFile(p.stateFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // A crash between the two renames of writeRecord leaves only the previous copy.
    text = await readFile(p.stateBackup, 'utf8').catch(() => '');
    if (text === '') return undefined;
  }
  try {
    return parseRecord(text);
  } catch (first) {
    try {
      const previous = parseRecord(await readFile(p.stateBackup, 'utf8'));
      source.recovered = { from: p.stateBackup, damaged: p.stateFile, reason: reason(first) };
      return previous;
    } catch {
      throw new Error(`the state file ${p.stateFile} is unreadable (${reason(first)}) and so is its previous copy; run 'kemu down ${lab}' to remove the lab and start afresh`);
    }
  }
}

/**
 * Write to a temporary file, fsync, keep the current record as the previous copy (a hard link, so
 * state.json never goes missing), rename: a crash leaves the old record or the new one, never half.
 */
export async function writeRecord(record: LabRecord): Promise<void> {
  const p = await checkedLabPaths(record.lab);
  await makeLabDir(p.stateDir);
  record.updatedAt = new Date().toISOString();
  const tmp = `${p.stateFile}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(record));
    await fh.sync();
  } finally {
    await fh.close();
  }
  const prevTmp = `${p.stateBackup}.${process.pid}.tmp`;
  if (await link(p.stateFile, prevTmp).then(() => true, () => false)) await rename(prevTmp, p.stateBackup);
  await rename(tmp, p.stateFile);
}

export async function removeRecord(lab: string): Promise<void> {
  const p = await checkedLabPaths(lab);
  await rm(p.stateDir, { recursive: true, force: true });
}

/** Labs with a record; entries in /var/lib/kemu that cannot be lab names are not kemu's and are left alone. */
export async function listRecordedLabs(): Promise<string[]> {
  try {
    return (await readdir(STATE_ROOT)).filter(isLabName).sort();
  } catch {
    return [];
  }
}
