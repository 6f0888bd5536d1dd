/** What `up` must change: plan vs. what exists and what the record says was fully built. Pure. */
import type { LabPlan, MachinePlan, PodPlan } from '../plan/types.js';
import { caliName, labPrefix } from '../topology/names.js';
import type { LabRecord } from './state.js';

export interface PodRemoval {
  netns: string;
  /** Host-side veth to delete from the node first (synchronous, so the name can be reused at once). */
  cali?: { nodeNetns: string; name: string };
}

export interface LabDiff {
  createFabric: boolean;
  createMachines: MachinePlan[];
  createPods: PodPlan[];
  /** Namespaces to remove, pods first, each with the veth to cut beforehand. */
  removePods: PodRemoval[];
  removeMachines: Array<{ netns: string; fabricPort?: string }>;
  removeFabric: boolean;
  /** Other lab namespaces nobody wants (leftovers of a crash). */
  removeOther: string[];
  reasons: string[];
}

export function isEmpty(d: LabDiff): boolean {
  return !d.createFabric && !d.removeFabric && [d.createMachines, d.createPods, d.removePods, d.removeMachines, d.removeOther].every((l) => l.length === 0);
}

export function diffLab(plan: LabPlan, record: LabRecord | undefined, existing: Set<string>, healthyPods: Set<string>): LabDiff {
  const built = record?.built ?? {};
  const reasons: string[] = [];
  const ok = (netns: string, hash: string) => existing.has(netns) && built[netns] === hash;

  const fabricOk = ok(plan.fabric.netns, plan.fabric.hash);
  if (!fabricOk) reasons.push(existing.has(plan.fabric.netns) ? 'fabric: changed or incomplete, rebuilt' : 'fabric: created');
  const keptMachines = new Set<string>();
  const createMachines: MachinePlan[] = [];
  for (const m of plan.machines) {
    if (fabricOk && ok(m.netns, m.hash)) keptMachines.add(m.netns);
    else {
      createMachines.push(m);
      reasons.push(`${m.role} ${m.name}: ${existing.has(m.netns) ? 'changed or incomplete, rebuilt' : 'created'}`);
    }
  }
  const keptPods = new Set<string>();
  const createPods: PodPlan[] = [];
  for (const p of plan.pods) {
    if (keptMachines.has(p.nodeNetns) && ok(p.netns, p.hash) && healthyPods.has(p.key)) keptPods.add(p.netns);
    else {
      createPods.push(p);
      reasons.push(`pod ${p.key}: ${!existing.has(p.netns) ? 'created' : healthyPods.has(p.key) ? 'changed, recreated' : 'not running, recreated'}`);
    }
  }

  const prefix = labPrefix(plan.lab);
  const machineByNetns = new Map(plan.machines.map((m) => [m.netns, m]));
  const removePods: PodRemoval[] = [];
  const removeMachines: LabDiff['removeMachines'] = [];
  const removeOther: string[] = [];
  for (const netns of existing) {
    if (keptPods.has(netns) || keptMachines.has(netns) || (fabricOk && netns === plan.fabric.netns)) continue;
    const rest = netns.slice(prefix.length);
    if (rest.startsWith('pod.')) {
      const [namespace, ...name] = rest.slice(4).split('.');
      const previous = record?.cluster.pods.find((p) => p.namespace === namespace && p.name === name.join('.'));
      const nodeNetns = previous && `${prefix}node.${previous.nodeName}`;
      // The veth can be cut from the node side only while that node stays.
      const cali = nodeNetns && keptMachines.has(nodeNetns) ? { nodeNetns, name: caliName(namespace!, name.join('.')) } : undefined;
      removePods.push({ netns, cali });
      if (!plan.pods.some((p) => p.netns === netns)) reasons.push(`pod ${namespace}/${name.join('.')}: removed`);
    } else if (rest.startsWith('node.') || rest.startsWith('host.')) {
      removeMachines.push({ netns, fabricPort: fabricOk ? rest.slice(5) : undefined });
      if (!machineByNetns.has(netns)) reasons.push(`${rest.slice(0, 4)} ${rest.slice(5)}: removed`);
    } else if (netns !== plan.fabric.netns) removeOther.push(netns);
  }
  return {
    createFabric: !fabricOk,
    createMachines,
    createPods,
    removePods,
    removeMachines,
    removeFabric: !fabricOk && existing.has(plan.fabric.netns),
    removeOther,
    reasons,
  };
}
