/** From a topology to each node's policy plan: the kind through the API's defaulting, the cluster state, the per-node inputs, kubectl's printing. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { clusterFromTopology } from '../../../src/cluster/desired.js';
import { parseTopology } from '../../../src/topology/load.js';
import { planNodePolicies } from '../../../src/plan/policy/nodes.js';
import { formatSelector, policySpecLines } from '../../../src/cli/describe-policy.js';
import { toNetworkPolicyState } from '../../../src/topology/network-policy.js';
import { caliName } from '../../../src/topology/names.js';

const topology = readFileSync(new URL('../../../topologies/network-policy.yaml', import.meta.url), 'utf8');
const policy = `
    - apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: a-from-b, namespace: x}
      spec:
        podSelector: {matchLabels: {pod: a}}
        ingress:
          - from: [{podSelector: {matchLabels: {pod: b}}}]
            ports: [{port: serve-80-tcp}]
    - apiVersion: v1
      kind: Pod
      metadata: {name: h, namespace: x, labels: {pod: b}}
      spec: {nodeName: node-2, hostNetwork: true, containers: [{name: c, image: x}]}
`;

describe('NetworkPolicy from the topology to each node', async () => {
  const c = clusterFromTopology(await parseTopology(topology + policy, '/x/network-policy.yaml'));

  it('the cluster holds the policy as the control plane sees it, and the namespaces with their labels', () => {
    expect(c.networkPolicies).toEqual([{ namespace: 'x', name: 'a-from-b', podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'], ingress: [{ peers: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ protocol: 'TCP', port: 'serve-80-tcp' }] }], egress: [] }]);
    expect(c.namespaceLabels).toMatchObject({ x: { ns: 'x' }, y: { ns: 'y' }, z: { ns: 'z' } });
  });

  it('each node gets its own pods’ endpoint chains; the selector set holds every pod=b of x cluster-wide, never a hostNetwork pod', () => {
    const plans = planNodePolicies(c);
    expect(plans.map((p) => p.node)).toEqual(['node-1', 'node-2']);
    const [n1, n2] = plans;
    const local = (node: string) => c.pods.filter((p) => p.nodeName === node && !p.hostNetwork);
    for (const [np, node] of [[n1!, 'node-1'], [n2!, 'node-2']] as const)
      expect([...np.plan.chains.keys()].filter((k) => k.startsWith('cali-tw-')).sort()).toEqual(local(node).map((p) => `cali-tw-${caliName(p.namespace, p.name)}`).sort());
    // x/a runs on node-1: only there is the policy chain and its sets.
    expect(n1!.plan.chains.has('cali-pi-knp/x/a-from-b')).toBe(true);
    expect(n2!.plan.chains.has('cali-pi-knp/x/a-from-b')).toBe(false);
    const sel = n1!.plan.ipsets.find((s) => s.name.startsWith('cali40s:'))!;
    expect(sel.members).toEqual([`${c.pods.find((p) => p.namespace === 'x' && p.name === 'b')!.ip}/32`]);
    const named = n1!.plan.ipsets.find((s) => s.name.startsWith('cali40n:'))!;
    expect(named.members).toEqual([`${c.pods.find((p) => p.namespace === 'x' && p.name === 'a')!.ip},tcp:80`]);
  });
});

describe("kubectl's printing", () => {
  it('formats selectors as metav1.FormatLabelSelector', () => {
    expect(formatSelector({})).toBe('<none>');
    expect(formatSelector({ matchLabels: { pod: 'a' }, matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['y', 'x'] }, { key: 'e', operator: 'Exists' }, { key: 'd', operator: 'DoesNotExist' }] })).toBe('pod=a,ns notin (x,y),e,!d');
  });
  it('describes an isolating policy with no rules and the egress it does not affect', () => {
    const p = toNetworkPolicyState({ metadata: { name: 'deny', namespace: 'x' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }] } });
    expect(policySpecLines(p)).toEqual([
      'Spec:',
      '  PodSelector:     <none> (Allowing the specific traffic to all pods in this namespace)',
      '  Allowing ingress traffic:',
      '    <none> (Selected pods are isolated for ingress connectivity)',
      '  Allowing egress traffic:',
      '    To Port: <any> (traffic allowed to all ports)',
      '    To:',
      '      IPBlock:',
      '        CIDR: 10.0.0.0/8',
      '        Except: 10.1.0.0/16',
      '  Policy Types: Ingress, Egress',
    ]);
  });
});
