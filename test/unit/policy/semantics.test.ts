import { describe, expect, it } from 'vitest';
import { connectionAllowed, effectivePolicyTypes, isolation, type NetworkPolicyState, type PolicyProtocol } from '../../../src/cluster/network-policy.js';
import { NAMESPACES, PODS, pod } from './fixtures.js';

const ALL = PODS.map((p) => `${p.namespace}/${p.name}`);
const np = (p: Partial<NetworkPolicyState> & { name: string }): NetworkPolicyState => ({ namespace: 'x', podSelector: {}, ingress: [], egress: [], ...p });

/** Denied ordered pairs "from>to" (self pairs not judged, as upstream's ignoreLoopback). */
function denied(policies: NetworkPolicyState[], port: number, protocol: PolicyProtocol): string[] {
  const out: string[] = [];
  for (const f of ALL) for (const t of ALL) if (f !== t && !connectionAllowed(policies, NAMESPACES, { pod: pod(f) }, { pod: pod(t) }, port, protocol)) out.push(`${f}>${t}`);
  return out.sort();
}
/** Upstream-style expectation: pairs matching the wildcard patterns ("x/*", "*", "y/b"), minus self. */
function pairs(from: string, to: string, except: string[] = []): string[] {
  const m = (pat: string, id: string) => pat === '*' || pat === id || (pat.endsWith('/*') && id.startsWith(pat.slice(0, -1)));
  const out: string[] = [];
  for (const f of ALL) for (const t of ALL) if (f !== t && m(from, f) && m(to, t) && !except.includes(`${f}>${t}`)) out.push(`${f}>${t}`);
  return out;
}
const union = (...ls: string[][]) => [...new Set(ls.flat())].sort();

const cases: Array<{ name: string; policies: NetworkPolicyState[]; port: number; protocol: PolicyProtocol; denied: string[] }> = [
  { name: 'default-deny-ingress', policies: [np({ name: 'deny', policyTypes: ['Ingress'] })], port: 80, protocol: 'TCP', denied: union(pairs('*', 'x/*')) },
  { name: 'default-deny-all', policies: [np({ name: 'deny', policyTypes: ['Ingress', 'Egress'] })], port: 80, protocol: 'TCP', denied: union(pairs('*', 'x/*'), pairs('x/*', '*')) },
  { name: 'allow-all', policies: [np({ name: 'all', ingress: [{ peers: [], ports: [] }] })], port: 81, protocol: 'UDP', denied: [] },
  {
    name: 'podSelector within the policy namespace',
    policies: [np({ name: 'p', podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ peers: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [] }] })],
    port: 80, protocol: 'TCP', denied: pairs('*', 'x/a', ['x/b>x/a']),
  },
  {
    name: 'namespaceSelector by the default label',
    policies: [np({ name: 'p', podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ peers: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'y' } } }], ports: [] }] })],
    port: 80, protocol: 'TCP', denied: union(pairs('x/*', 'x/a'), pairs('z/*', 'x/a')),
  },
  {
    name: 'two peers are OR',
    policies: [np({ name: 'p', podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ peers: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] } }, { podSelector: { matchLabels: { pod: 'b' } } }], ports: [] }] })],
    port: 80, protocol: 'TCP', denied: ['x/c>x/a'],
  },
  {
    name: 'one peer with both selectors is AND',
    policies: [np({ name: 'p', podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ peers: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] }, podSelector: { matchLabels: { pod: 'b' } } }], ports: [] }] })],
    port: 80, protocol: 'TCP', denied: pairs('*', 'x/a', ['y/b>x/a', 'z/b>x/a']),
  },
  { name: 'named ingress port: 81 open', policies: [np({ name: 'p', ingress: [{ peers: [], ports: [{ protocol: 'TCP', port: 'serve-81-tcp' }] }] })], port: 81, protocol: 'TCP', denied: [] },
  { name: 'named ingress port: 80 closed', policies: [np({ name: 'p', ingress: [{ peers: [], ports: [{ protocol: 'TCP', port: 'serve-81-tcp' }] }] })], port: 80, protocol: 'TCP', denied: pairs('*', 'x/*') },
  { name: 'named port with the wrong protocol', policies: [np({ name: 'p', ingress: [{ peers: [], ports: [{ protocol: 'UDP', port: 'serve-81-tcp' }] }] })], port: 81, protocol: 'UDP', denied: pairs('*', 'x/*') },
  { name: 'endPort range covers 81', policies: [np({ name: 'p', ingress: [{ peers: [], ports: [{ protocol: 'TCP', port: 81, endPort: 90 }] }] })], port: 81, protocol: 'TCP', denied: [] },
  { name: 'endPort range excludes 80', policies: [np({ name: 'p', ingress: [{ peers: [], ports: [{ protocol: 'TCP', port: 81, endPort: 90 }] }] })], port: 80, protocol: 'TCP', denied: pairs('*', 'x/*') },
  {
    name: 'egress ipBlock with except',
    policies: [np({ name: 'p', podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ peers: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.1.11/32'] } }], ports: [] }] })],
    port: 80, protocol: 'TCP', denied: ['x/a>x/b'],
  },
  { name: 'any port of one protocol: UDP denied', policies: [np({ name: 'p', podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ peers: [], ports: [{ protocol: 'TCP' }] }] })], port: 80, protocol: 'UDP', denied: pairs('*', 'x/a') },
  { name: 'policies are unioned', policies: [np({ name: 'p80', ingress: [{ peers: [], ports: [{ protocol: 'TCP', port: 80 }] }] }), np({ name: 'all', ingress: [{ peers: [], ports: [] }] })], port: 81, protocol: 'TCP', denied: [] },
  {
    name: 'egress deny-all with DNS allowed: TCP denied',
    policies: [np({ name: 'p', policyTypes: ['Egress'], egress: [{ peers: [], ports: [{ protocol: 'UDP', port: 53 }] }] })],
    port: 80, protocol: 'TCP', denied: pairs('x/*', '*'),
  },
];

describe('NetworkPolicy semantics (upstream e2e matrices)', () => {
  for (const t of cases) it(t.name, () => expect(denied(t.policies, t.port, t.protocol)).toEqual([...t.denied].sort()));

  it('policyTypes default: Ingress always, Egress only with egress rules', () => {
    expect(effectivePolicyTypes(np({ name: 'a' }))).toEqual(['Ingress']);
    expect(effectivePolicyTypes(np({ name: 'a', egress: [{ peers: [], ports: [] }] }))).toEqual(['Ingress', 'Egress']);
    expect(effectivePolicyTypes(np({ name: 'a', policyTypes: ['Egress'] }))).toEqual(['Egress']);
  });
  it('egress DNS rule allows UDP 53 to a non-pod address', () => {
    const p = [np({ name: 'p', policyTypes: ['Egress'], egress: [{ peers: [], ports: [{ protocol: 'UDP', port: 53 }] }] })];
    expect(connectionAllowed(p, NAMESPACES, { pod: pod('x/a') }, { ip: '10.96.0.10' }, 53, 'UDP')).toBe(true);
    expect(connectionAllowed(p, NAMESPACES, { pod: pod('x/a') }, { ip: '10.96.0.10' }, 53, 'TCP')).toBe(false);
  });
  it('isolation per direction names the policies', () => {
    const p = [np({ name: 'deny-in' }), np({ name: 'eg', podSelector: { matchLabels: { pod: 'b' } }, policyTypes: ['Egress'] })];
    expect(isolation(p, pod('x/b'))).toEqual({ Ingress: ['deny-in'], Egress: ['eg'] });
    expect(isolation(p, pod('y/b'))).toEqual({ Ingress: [], Egress: [] });
  });
  it('a label change moves a pod out of a policy', () => {
    const p = [np({ name: 'deny', podSelector: { matchLabels: { target: 'isolated' } } })];
    const a = { ...pod('x/a'), labels: { pod: 'a', target: 'isolated' } };
    expect(connectionAllowed(p, NAMESPACES, { pod: pod('x/b') }, { pod: a }, 80, 'TCP')).toBe(false);
    expect(connectionAllowed(p, NAMESPACES, { pod: pod('x/b') }, { pod: pod('x/a') }, 80, 'TCP')).toBe(true);
  });
});
