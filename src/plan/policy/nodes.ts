/**
 * The policy plan of every node of a cluster: the policies and namespaces of the control plane,
 * every addressed pod (ipset members, cluster-wide) and each node's own pods (its endpoint chains).
 * hostNetwork pods have no workload interface and no address of their own: Calico sees no endpoint.
 */
import type { PolicyPod } from '../../cluster/network-policy.js';
import type { ClusterState, PodState } from '../../cluster/types.js';
import { nodeNetns } from '../../topology/names.js';
import { planPolicy, type PolicyPlan } from './render.js';

export interface NodePolicyPlan {
  node: string;
  netns: string;
  plan: PolicyPlan;
}

export function policyPod(p: PodState): PolicyPod {
  const ports = p.containers.flatMap((c) => c.declaredPorts.map((d) => ({ ...(d.name ? { name: d.name } : {}), containerPort: d.containerPort, protocol: d.protocol })));
  return { namespace: p.namespace, name: p.name, ip: p.ip, labels: p.labels, ports };
}

export function planNodePolicies(c: ClusterState): NodePolicyPlan[] {
  const pods = c.pods.filter((p) => !p.hostNetwork && p.ip).map((p) => ({ state: p, pod: policyPod(p) }));
  const all = pods.map((p) => p.pod);
  const policies = c.networkPolicies ?? [];
  const namespaces = c.namespaceLabels ?? {};
  return c.nodes.map((n) => ({
    node: n.name,
    netns: nodeNetns(c.lab, n.name),
    plan: planPolicy({ policies, namespaces, pods: all, localPods: pods.filter((p) => p.state.nodeName === n.name).map((p) => p.pod) }),
  }));
}
