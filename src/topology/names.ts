/**
 * Every kernel-visible name kemu derives, in one place.
 *
 *   namespace of the underlay bridge   kemu-<lab>.fabric
 *   namespace of a node                kemu-<lab>.node.<node>
 *   namespace of an external host      kemu-<lab>.host.<host>
 *   namespace of a pod                 kemu-<lab>.pod.<k8s namespace>.<pod>
 *   underlay bridge (in fabric)        underlay
 *   node/host port on the bridge       <node or host name>   (in fabric; the other end is eth0)
 *   pod's host-side veth (in node)     cali + 11 hex of sha1("<k8s namespace>.<pod>")   (Calico's name)
 *
 * Lab names are DNS-1123 labels (no dots), so `kemu-<lab>.` is an unambiguous ownership prefix.
 *
 * Files: every path kemu builds from a lab name comes from `labPaths`, which refuses any name that is
 * not a lab name before a path exists (kemu runs as root: `..` or `a/b` must never reach the disk).
 *
 *   state (record)        /var/lib/kemu/<lab>/state.json   (+ state.prev.json, the last good copy)
 *   run files             /run/kemu/<lab>/                  logs/, bird/, ingress/, tmp/
 *   an ingress pod's nginx /run/kemu/<lab>/ingress/<ns>_<pod>/  nginx.conf, nginx.pid, tls/, temp/
 *   lock                  /run/kemu/<lab>.lock
 */
import { createHash } from 'node:crypto';
import { printable } from '../util/printable.js';

export const NETNS_PREFIX = 'kemu-';
export const UNDERLAY_BRIDGE = 'underlay';
/** A file name in /run/netns. */
export const MAX_NETNS_NAME = 255;
/** sun_path is 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 107;

export const RUN_ROOT = '/run/kemu';
export const STATE_ROOT = '/var/lib/kemu';
/** A lab name is a DNS-1123 label; 63 characters also keep every derived socket path within sun_path. */
export const MAX_LAB_NAME = 63;
const LAB_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A string that cannot be a lab name (and so must never become a path). */
export class LabNameError extends Error {
  constructor(name: unknown) {
    super(
      `${typeof name === 'string' ? `'${printable(name)}'` : 'that'} is not a lab name: a lab name is a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most ${MAX_LAB_NAME} characters)`,
    );
    this.name = 'LabNameError';
  }
}

export const isLabName = (name: unknown): name is string => typeof name === 'string' && name.length <= MAX_LAB_NAME && LAB_NAME.test(name);

export function checkLabName(name: unknown): string {
  if (!isLabName(name)) throw new LabNameError(name);
  return name;
}

export interface LabPaths {
  stateDir: string;
  stateFile: string;
  /** The previous good record, kept by every write so a damaged state.json can be recovered. */
  stateBackup: string;
  runDir: string;
  logsDir: string;
  birdDir: string;
  /** nginx's files of the lab's ingress controller pods, one folder per pod. */
  ingressDir: string;
  /** The kubelet's files of each pod (resolv.conf, hosts), one folder per pod, and the DNS records file. */
  dnsDir: string;
  /** Scratch files of a running command; `down` removes them with the rest of runDir. */
  tmpDir: string;
  lockFile: string;
}

/** The lab's files. Throws LabNameError for anything that is not a lab name. */
export function labPaths(lab: string): LabPaths {
  checkLabName(lab);
  const stateDir = `${STATE_ROOT}/${lab}`;
  const runDir = `${RUN_ROOT}/${lab}`;
  return {
    stateDir,
    stateFile: `${stateDir}/state.json`,
    stateBackup: `${stateDir}/state.prev.json`,
    runDir,
    logsDir: `${runDir}/logs`,
    birdDir: `${runDir}/bird`,
    ingressDir: `${runDir}/ingress`,
    dnsDir: `${runDir}/dns`,
    tmpDir: `${runDir}/tmp`,
    lockFile: `${RUN_ROOT}/${lab}.lock`,
  };
}

export const labPrefix = (lab: string) => `${NETNS_PREFIX}${checkLabName(lab)}.`;
export const fabricNetns = (lab: string) => `${labPrefix(lab)}fabric`;
export const nodeNetns = (lab: string, node: string) => `${labPrefix(lab)}node.${node}`;
export const hostNetns = (lab: string, host: string) => `${labPrefix(lab)}host.${host}`;
export const podNetns = (lab: string, namespace: string, pod: string) => `${labPrefix(lab)}pod.${namespace}.${pod}`;
/** The lab and `namespace/name` a pod namespace name stands for (Kubernetes namespaces have no dots), or undefined. */
export function podOfNetns(netns: string): { lab: string; key: string } | undefined {
  const m = /^kemu-([^.]+)\.pod\.([^.]+)\.(.+)$/.exec(netns);
  return m ? { lab: m[1]!, key: `${m[2]}/${m[3]}` } : undefined;
}

export const labRunDir = (lab: string) => labPaths(lab).runDir;
export const labStateDir = (lab: string) => labPaths(lab).stateDir;
export const labLogsDir = (lab: string) => labPaths(lab).logsDir;
/** A container's log: one file per pod container (removed with the pod), one per node-level helper. */
export const podLogFile = (lab: string, namespace: string, pod: string, container: string) => `${labPaths(lab).logsDir}/pod_${namespace}_${pod}_${container}.log`;
export const nodeLogFile = (lab: string, node: string, helper: string) => `${labPaths(lab).logsDir}/node_${node}_${helper}.log`;
/** An ingress controller pod's nginx folder (pod names never hold '_'). */
export const ingressPodDir = (lab: string, namespace: string, pod: string) => `${labPaths(lab).ingressDir}/${namespace}_${pod}`;
/** A pod's resolv.conf and hosts, bound over /etc in its mount namespace (pod names never hold '_'). */
export const podEtcDir = (lab: string, namespace: string, pod: string) => `${labPaths(lab).dnsDir}/${namespace}_${pod}`;
/** The records the lab's DNS server answers from, rewritten on every reconcile. */
export const dnsRecordsFile = (lab: string) => `${labPaths(lab).dnsDir}/records.json`;
/** BIRD's control socket of a node (the longest path kemu derives from a lab). */
export const birdSocketPath = (lab: string, node: string) => `${labPaths(lab).birdDir}/${node}.ctl`;

/** Calico's host-side interface name for a pod (cni-plugin VethNameForWorkload). */
export function caliName(namespace: string, pod: string): string {
  return 'cali' + createHash('sha1').update(`${namespace}.${pod}`).digest('hex').slice(0, 11);
}

/** A stable, locally administered unicast MAC for a pod's eth0, so the node can hold a permanent neighbour entry. */
export function podMac(namespace: string, pod: string): string {
  const h = createHash('sha1').update(`mac:${namespace}.${pod}`).digest();
  const bytes = [0x0e, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Which lab a kemu namespace belongs to, or undefined when it is not kemu's (or names no valid lab). */
export function labOfNetns(netns: string): string | undefined {
  if (!netns.startsWith(NETNS_PREFIX)) return undefined;
  const dot = netns.indexOf('.', NETNS_PREFIX.length);
  const lab = dot < 0 ? undefined : netns.slice(NETNS_PREFIX.length, dot);
  return isLabName(lab) ? lab : undefined;
}
