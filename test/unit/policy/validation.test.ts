import { describe, expect, it } from 'vitest';
import { checkNetworkPolicy, toNetworkPolicyState } from '../../../src/topology/network-policy.js';
import { parseManifests } from '../../../src/topology/manifests.js';
import type { InputProblem } from '../../../src/topology/errors.js';

function problems(spec: unknown): string[] {
  const out: string[] = [];
  checkNetworkPolicy({ metadata: { name: 'p', namespace: 'x' }, spec }, 'np', (path, message) => out.push(`${path}: ${message}`));
  return out;
}

describe('NetworkPolicy validation (as the API server)', () => {
  it('accepts the upstream shapes', () => {
    expect(problems({ podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ port: 'serve-81-tcp' }, { protocol: 'UDP', port: 80, endPort: 81 }] }], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }] })).toEqual([]);
  });
  it('names each bad field', () => {
    expect(problems({ policyTypes: ['Ingres'] })).toEqual(['np.spec.podSelector: Required value: use {} to select every pod of the namespace', 'np.spec.policyTypes[0]: Unsupported value: "Ingres": supported values: "Egress", "Ingress"']);
    expect(problems({ podSelector: {}, ingress: [{ ports: [{ protocol: 'ICMP' }, { endPort: 90 }, { port: 'http', endPort: 90 }, { port: 90, endPort: 80 }] }] })).toEqual([
      'np.spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
      'np.spec.ingress[0].ports[1].endPort: Required value: may not be specified when `port` is not specified',
      'np.spec.ingress[0].ports[2].endPort: Invalid value: may not be specified when `port` is non-numeric',
      'np.spec.ingress[0].ports[3].endPort: Invalid value: 80: must be greater than or equal to `port`',
    ]);
    expect(problems({ podSelector: {}, egress: [{ to: [{}, { ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }, { ipBlock: { cidr: '10.0.0.0/33' } }, { ipBlock: { cidr: '10.0.0.0/16', except: ['10.2.0.0/24', '10.0.0.0/16'] } }] }] })).toEqual([
      'np.spec.egress[0].to[0]: Required value: must specify a peer',
      'np.spec.egress[0].to[1]: Forbidden: may not specify more than 1 peer type',
      'np.spec.egress[0].to[2].ipBlock.cidr: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
      'np.spec.egress[0].to[3].ipBlock.except[0]: Invalid value: "10.2.0.0/24": must be a strict subset of `cidr`',
      'np.spec.egress[0].to[3].ipBlock.except[1]: Invalid value: "10.0.0.0/16": must be a strict subset of `cidr`',
    ]);
    expect(problems({ podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } })).toEqual(["np.spec.podSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"]);
  });
  it('converts with the API defaults (protocol TCP, namespace default)', () => {
    const s = toNetworkPolicyState({ metadata: { name: 'p' }, spec: { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] } });
    expect(s).toEqual({ namespace: 'default', name: 'p', podSelector: {}, ingress: [{ ports: [{ protocol: 'TCP', port: 80 }], peers: [] }], egress: [] });
  });
  it("refuses Calico's own policy kinds by name", async () => {
    const out: InputProblem[] = [];
    await parseManifests('apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec: {}\n', 'f.yaml', out);
    expect(out).toEqual([{ path: 'f.yaml.kind', message: 'projectcalico.org/v3 GlobalNetworkPolicy is not emulated yet: use networking.k8s.io/v1 NetworkPolicy' }]);
  });
});
