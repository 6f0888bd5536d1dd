/** The lab's record on disk: what was asked for and what has been fully built. Written atomically. */
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import type { ClusterState } from '../cluster/types.js';
import type { Store } from '../cluster/store.js';
import type { LabSpec } from '../topology/types.js';
import type { ProxyServicePort } from '../plan/kube-proxy/types.js';
import { STATE_ROOT, labStateDir } from '../topology/names.js';

export interface ContainerRuntime {
  pid: number;
  /** ContainerPlan.hash it was started with */
  hash: string;
  restarts: number;
  /** When the process was found dead (ISO time), until it is restarted. */
  diedAt?: string;
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
  /** kube-proxy's health-check server of this node */
  health?: { pid: number; hash: string };
}

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
  /** node → its tunl0 (routing: ipip): which datapath, and the userspace one's pid */
  tunnels?: Record<string, { datapath: 'kernel' | 'userspace'; pid?: number; hash: string }>;
  /** node → its BIRD daemon (routing: bgp) */
  bird?: Record<string, { pid: number; hash: string }>;
  /** the service ports of the last sync (for UDP conntrack clean-up) */
  proxyPorts?: ProxyServicePort[];
  /** the lab's supervisor process (container restarts, readiness probes, rollouts) */
  supervisor?: { pid: number };
  updatedAt: string;
}

export const stateFile = (lab: string) => `${labStateDir(lab)}/state.json`;

export async function readRecord(lab: string): Promise<LabRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(stateFile(lab), 'utf8')) as LabRecord;
    if (record.version !== 2) throw new Error(`written by an older kemu (version ${record.version})`);
    return record;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`the state file ${stateFile(lab)} is unreadable (${(err as Error).message}); run 'kemu down ${lab}' to start afresh`);
  }
}

/** Write to a temporary file, fsync, rename: a crash leaves the old record or the new one, never half. */
export async function writeRecord(record: LabRecord): Promise<void> {
  const dir = labStateDir(record.lab);
  await mkdir(dir, { recursive: true });
  record.updatedAt = new Date().toISOString();
  const tmp = `${stateFile(record.lab)}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(record));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, stateFile(record.lab));
}

export async function removeRecord(lab: string): Promise<void> {
  await rm(labStateDir(lab), { recursive: true, force: true });
}

export async function listRecordedLabs(): Promise<string[]> {
  try {
    return (await readdir(STATE_ROOT)).sort();
  } catch {
    return [];
  }
}
