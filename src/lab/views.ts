/** Read-only views of a lab: kubectl-shaped objects and table rows. */
import { isAlive } from '../host/netns.js';
import { readyPods } from './readiness.js';
import { hostNetns, nodeNetns, podNetns } from '../topology/names.js';
import type { LabRecord } from './state.js';

export interface PodView {
  namespace: string;
  name: string;
  node: string;
  ip: string;
  hostIP: string;
  holderPid?: number;
  ready: number;
  total: number;
  status: 'Running' | 'Failed' | 'Pending';
  netns: string;
  object: Record<string, unknown>;
}

export async function podViews(r: LabRecord): Promise<PodView[]> {
  // Containers with a readiness probe are ready only while their pod passes its probes.
  const running = new Set(r.cluster.pods.map((p) => `${p.namespace}/${p.name}`).filter((k) => r.pods[k]));
  const passing = await readyPods(r.cluster, running);
  return Promise.all(
    r.cluster.pods.map(async (p) => {
      const key = `${p.namespace}/${p.name}`;
      const rt = r.pods[key];
      const holderUp = rt ? await isAlive(rt.holderPid) : false;
      const alive = rt ? await Promise.all(p.containers.map(async (c) => rt.containers[c.name] !== undefined && (await isAlive(rt.containers[c.name]!)))) : [];
      const probed = !passing.has(`${p.namespace}/${p.name}`);
      const readyFlags = p.containers.map((c, i) => (alive[i] ?? false) && !(probed && c.readinessProbe));
      const ready = readyFlags.filter(Boolean).length;
      const status = !rt ? 'Pending' : holderUp && alive.every(Boolean) ? 'Running' : 'Failed';
      const object = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: p.name,
          namespace: p.namespace,
          labels: p.labels,
          annotations: { ...p.annotations, ...(rt ? { 'kemu.dev/holder-pid': String(rt.holderPid) } : {}), 'kemu.dev/netns': podNetns(r.lab, p.namespace, p.name) },
          ...(p.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: p.owner.name, controller: true }] } : {}),
        },
        spec: {
          nodeName: p.nodeName,
          containers: p.containers.map((c) => ({ name: c.name, image: c.image, ...(c.declaredPorts.length ? { ports: c.declaredPorts } : {}) })),
        },
        status: {
          phase: status,
          hostIP: p.hostIP,
          hostIPs: [{ ip: p.hostIP }],
          podIP: p.ip,
          podIPs: [{ ip: p.ip }],
          conditions: [{ type: 'Ready', status: status === 'Running' && ready === p.containers.length ? 'True' : 'False' }],
          containerStatuses: p.containers.map((c, i) => ({ name: c.name, image: c.image, ready: readyFlags[i] ?? false, started: alive[i] ?? false, restartCount: 0 })),
        },
      };
      return { namespace: p.namespace, name: p.name, node: p.nodeName, ip: p.ip, hostIP: p.hostIP, holderPid: rt?.holderPid, ready, total: p.containers.length, status, netns: podNetns(r.lab, p.namespace, p.name), object };
    }),
  );
}

export function nodeObjects(r: LabRecord): Array<Record<string, unknown>> {
  return r.cluster.nodes.map((n) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, ...n.labels }, annotations: { 'kemu.dev/netns': nodeNetns(r.lab, n.name) } },
    spec: { podCIDR: n.blocks[0], podCIDRs: n.blocks },
    status: {
      addresses: [
        { type: 'InternalIP', address: n.ip },
        { type: 'Hostname', address: n.name },
      ],
    },
  }));
}

export const asList = (items: unknown[]) => ({ apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } });

/** Where `kemu exec` runs: a pod's holder (all its namespaces) or a node's/host's namespace. */
export type ExecTarget = { kind: 'pod'; holderPid: number; netns: string } | { kind: 'netns'; netns: string };

export function resolveTarget(r: LabRecord, target: string): ExecTarget {
  const [kind, name] = target.includes('/') ? (target.split('/', 2) as [string, string]) : ['', target];
  if (kind === 'node' || kind === 'host') {
    const list = kind === 'node' ? r.cluster.nodes : r.cluster.externalHosts;
    if (!list.some((m) => m.name === name)) throw new Error(`no ${kind} '${name}' in lab ${r.lab}; ${kind}s: ${list.map((m) => m.name).join(', ') || 'none'}`);
    return { kind: 'netns', netns: kind === 'node' ? nodeNetns(r.lab, name) : hostNetns(r.lab, name) };
  }
  const namespace = kind || 'default';
  const pod = r.cluster.pods.find((p) => p.namespace === namespace && p.name === name);
  if (!pod) throw new Error(`no pod '${namespace}/${name}' in lab ${r.lab}; use [namespace/]pod, node/NAME or host/NAME`);
  const rt = r.pods[`${namespace}/${name}`];
  if (!rt) throw new Error(`pod ${namespace}/${name} has no sandbox yet; run kemu up`);
  return { kind: 'pod', holderPid: rt.holderPid, netns: podNetns(r.lab, namespace, name) };
}
