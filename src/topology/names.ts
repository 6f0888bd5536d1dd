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
 */
import { createHash } from 'node:crypto';

export const NETNS_PREFIX = 'kemu-';
export const UNDERLAY_BRIDGE = 'underlay';
/** A file name in /run/netns. */
export const MAX_NETNS_NAME = 255;
/** sun_path is 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 107;

export const RUN_ROOT = '/run/kemu';
export const STATE_ROOT = '/var/lib/kemu';

export const labPrefix = (lab: string) => `${NETNS_PREFIX}${lab}.`;
export const fabricNetns = (lab: string) => `${labPrefix(lab)}fabric`;
export const nodeNetns = (lab: string, node: string) => `${labPrefix(lab)}node.${node}`;
export const hostNetns = (lab: string, host: string) => `${labPrefix(lab)}host.${host}`;
export const podNetns = (lab: string, namespace: string, pod: string) => `${labPrefix(lab)}pod.${namespace}.${pod}`;

export const labRunDir = (lab: string) => `${RUN_ROOT}/${lab}`;
export const labStateDir = (lab: string) => `${STATE_ROOT}/${lab}`;
/** BIRD's control socket of a node (the longest path kemu derives from a lab). */
export const birdSocketPath = (lab: string, node: string) => `${labRunDir(lab)}/bird/${node}.ctl`;

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

/** Which lab a kemu namespace belongs to, or undefined when it is not kemu's. */
export function labOfNetns(netns: string): string | undefined {
  if (!netns.startsWith(NETNS_PREFIX)) return undefined;
  const dot = netns.indexOf('.', NETNS_PREFIX.length);
  return dot < 0 ? undefined : netns.slice(NETNS_PREFIX.length, dot);
}
