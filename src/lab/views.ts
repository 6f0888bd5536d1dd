/** Read-only views of a lab: kubectl-shaped objects and table rows. */
import { isAlive } from '../host/netns.js';
import { SERVER_COMM } from '../host/sandbox.js';
import { listObjects, objectKey } from '../cluster/store.js';
import { UNSCHEDULABLE_TAINT } from '../cluster/desired.js';
import { nodeLabels } from '../cluster/nodes.js';
import type { NodeState } from '../cluster/types.js';
import { hostNetns, nodeNetns, podNetns } from '../topology/names.js';
import type { LabRecord } from './state.js';
import { faultText, sandboxFault } from './kubelet/sandbox-health.js';

export interface PodView {
  namespace: string;
  name: string;
  node?: string;
  ip?: string;
  hostIP?: string;
  holderPid?: number;
  ready: number;
  total: number;
  restarts: number;
  /** kubectl's STATUS column: the phase, or Terminating, CrashLoopBackOff, ContainerCreating */
  status: string;
  netns: string;
  /** What is wrong with the pod's sandbox right now (read back from the host), if anything. */
  sandboxFault?: string;
  object: Record<string, unknown>;
}

/** The kubelet's reasons: a dead sandbox is SandboxChanged, a pod without its network NetworkNotReady. */
const FAULT_REASON = { holder: 'SandboxChanged', netns: 'SandboxChanged', veth: 'NetworkNotReady' } as const;

/** Every pod of the store, with what the data plane has of it; container liveness is checked now. */
export async function podViews(r: LabRecord): Promise<PodView[]> {
  const pods = listObjects(r.store, 'Pod').sort((a, b) => objectKey('Pod', a.metadata).localeCompare(objectKey('Pod', b.metadata)));
  return Promise.all(
    pods.map(async (p) => {
      const key = objectKey('Pod', p.metadata);
      const rt = r.pods[key];
      const containers = p.spec?.containers ?? [];
      const netns = podNetns(r.lab, p.metadata.namespace ?? 'default', p.metadata.name);
      // The sandbox as it is now: a dead holder, a lost namespace or a missing veth is not Ready.
      const fault = rt && !p.metadata.deletionTimestamp && p.status?.phase === 'Running' ? sandboxFault(netns, rt) : undefined;
      const statuses = await Promise.all(
        (p.status?.containerStatuses ?? []).map(async (cs) => {
          const c = rt?.containers[cs.name];
          const alive = !fault && c !== undefined && (await isAlive(c.pid, c.comm ?? SERVER_COMM));
          return { ...cs, ready: cs.ready && alive, started: cs.started !== false && alive };
        }),
      );
      const waiting = statuses.find((cs) => !cs.started)?.state?.waiting?.reason;
      // kubectl shows a finished pod by its containers' reason (Completed, Error).
      const ended = p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? statuses.find((cs) => cs.state?.terminated)?.state?.terminated?.reason : undefined;
      const status = p.metadata.deletionTimestamp ? 'Terminating' : !p.spec?.nodeName ? 'Pending' : ended ? ended : fault ? FAULT_REASON[fault] : waiting && rt ? waiting : (p.status?.phase ?? 'Pending');
      const conditions = fault
        ? (p.status?.conditions ?? []).map((c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', reason: FAULT_REASON[fault], message: faultText[fault] } : c))
        : p.status?.conditions;
      const object = {
        ...p,
        metadata: { ...p.metadata, annotations: { ...p.metadata.annotations, ...(rt ? { 'kemu.dev/holder-pid': String(rt.holderPid) } : {}), 'kemu.dev/netns': netns } },
        ...(p.status ? { status: { ...p.status, ...(conditions ? { conditions } : {}), containerStatuses: statuses } } : {}),
      };
      return {
        namespace: p.metadata.namespace ?? 'default',
        name: p.metadata.name,
        node: p.spec?.nodeName,
        ip: p.status?.podIP,
        hostIP: p.status?.hostIP,
        holderPid: rt?.holderPid,
        ready: statuses.filter((cs) => cs.ready).length,
        total: containers.length,
        restarts: statuses.reduce((n, cs) => n + (cs.restartCount ?? 0), 0),
        status,
        netns,
        ...(fault ? { sandboxFault: `${FAULT_REASON[fault]}: ${faultText[fault]}` } : {}),
        object,
      };
    }),
  );
}

export function nodeObjects(r: LabRecord): Array<Record<string, unknown>> {
  return r.cluster.nodes.map((n) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: nodeLabels(n.name, n.labels), annotations: { 'kemu.dev/netns': nodeNetns(r.lab, n.name) } },
    spec: {
      podCIDR: n.blocks[0],
      podCIDRs: n.blocks,
      ...(n.unschedulable ? { unschedulable: true } : {}),
      ...(nodeTaints(n).length ? { taints: nodeTaints(n) } : {}),
    },
    status: {
      addresses: [
        { type: 'InternalIP', address: n.ip },
        { type: 'Hostname', address: n.name },
      ],
      // A node stopped with `kemu node stop` has stopped posting status, as the node controller reports it.
      conditions: [r.stoppedNodes?.includes(n.name) ? { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' } : { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
    },
  }));
}

/** A node's taints as its object shows them (a cordoned node's node.kubernetes.io/unschedulable included). */
export const nodeTaints = (n: NodeState): Array<{ key: string; value?: string; effect: string }> => [...(n.taints ?? []), ...(n.unschedulable ? [UNSCHEDULABLE_TAINT] : [])];

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
