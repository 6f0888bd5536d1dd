/**
 * Felix-layout rendering for one node holding x/a and y/b, with an ingress policy (podSelector +
 * namespaceSelector peers, numbered and named ports) and an egress ipBlock-with-except policy.
 * The golden file is the iptables-restore text; the assertions name the layout rules it must keep.
 */
import { describe, expect, it } from 'vitest';
import { filterRestore, ipsetRestore, planPolicy } from '../../../src/plan/policy/render.js';
import type { NetworkPolicyState } from '../../../src/cluster/network-policy.js';
import { caliName } from '../../../src/topology/names.js';
import { NAMESPACES, PODS, pod } from './fixtures.js';

const policies: NetworkPolicyState[] = [
  {
    namespace: 'x', name: 'allow-b', podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'], egress: [],
    ingress: [{ peers: [{ podSelector: { matchLabels: { pod: 'b' } } }, { namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ protocol: 'TCP', port: 80 }, { protocol: 'TCP', port: 'serve-81-tcp' }, { protocol: 'UDP', port: 81, endPort: 82 }] }],
  },
  {
    namespace: 'x', name: 'egress-cidr', podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], ingress: [],
    egress: [{ peers: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.1.11/32'] } }], ports: [] }, { peers: [], ports: [{ protocol: 'UDP', port: 53 }] }],
  },
  { namespace: 'z', name: 'deny-all', podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] },
];
const plan = planPolicy({ policies, namespaces: NAMESPACES, pods: PODS, localPods: [pod('x/a'), pod('y/b')] });
const xa = caliName('x', 'a');
const yb = caliName('y', 'b');

describe('Felix filter layout (v3.32)', () => {
  it('matches the golden restore text', async () => {
    await expect(filterRestore(plan)).toMatchFileSnapshot('./golden/node-filter.txt');
    await expect(ipsetRestore(plan)).toMatchFileSnapshot('./golden/node-ipsets.txt');
  });
  it('dispatch chains goto the endpoint chains and end with DROP', () => {
    expect(plan.chains.get('cali-to-wl-dispatch')).toEqual([`-o ${xa} -g cali-tw-${xa}`, `-o ${yb} -g cali-tw-${yb}`, '-m comment --comment "Unknown interface" -j DROP'].sort((a, b) => (a.startsWith('-m') ? 1 : b.startsWith('-m') ? -1 : a.localeCompare(b))));
  });
  it('an isolated workload has the tier with its policy and the end-of-tier drop; a free one goes straight to its profile', () => {
    const tw = plan.chains.get(`cali-tw-${xa}`)!;
    expect(tw.slice(0, 3)).toEqual(['-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-m conntrack --ctstate INVALID -j DROP', '-j MARK --set-xmark 0x0/0x30000']);
    expect(tw).toContain('-m mark --mark 0x0/0x20000 -j cali-pi-knp/x/allow-b');
    expect(tw.some((r) => r.includes('End of tier default'))).toBe(true);
    const twB = plan.chains.get(`cali-tw-${yb}`)!;
    expect(twB.some((r) => r.includes('Start of tier'))).toBe(false);
    expect(twB).toContain('-j cali-pri-kns.y');
    expect(plan.chains.get('cali-pri-kns.y')).toEqual(['-j MARK --set-xmark 0x10000/0x10000']);
  });
  it('only policies selecting a local pod get chains; egress policy only in its direction', () => {
    expect([...plan.chains.keys()].filter((k) => k.startsWith('cali-p')).sort()).toEqual(['cali-pi-knp/x/allow-b', 'cali-po-knp/x/egress-cidr', 'cali-pri-kns.x', 'cali-pri-kns.y', 'cali-pro-kns.x', 'cali-pro-kns.y']);
  });
  it('ipsets hold the selected pods and named-port members', () => {
    const sets = Object.fromEntries(plan.ipsets.map((s) => [s.type + ':' + s.members.length, s]));
    expect(plan.ipsets.map((s) => s.type).sort()).toEqual(['hash:ip,port', 'hash:net', 'hash:net']);
    const named = plan.ipsets.find((s) => s.type === 'hash:ip,port')!;
    expect(named.members).toEqual(['10.244.1.10,tcp:81']);
    expect(Object.keys(sets).length).toBe(3);
    const ns = plan.ipsets.find((s) => s.type === 'hash:net' && s.members.includes('10.244.2.10/32'))!;
    expect(ns.members).toEqual(['10.244.2.10/32', '10.244.2.11/32', '10.244.2.12/32']);
  });
  it('ipBlock except is a match block on scratch0', () => {
    const po = plan.chains.get('cali-po-knp/x/egress-cidr')!;
    expect(po).toContain('-d 10.244.1.11/32 -j MARK --set-xmark 0x0/0x80000');
    expect(po).toContain('-d 10.244.0.0/16 -m mark --mark 0x80000/0x80000 -j MARK --set-xmark 0x10000/0x10000');
    expect(po[po.length - 1]).toBe('-p udp -m multiport --destination-ports 53 -j MARK --set-xmark 0x10000/0x10000');
  });
});
