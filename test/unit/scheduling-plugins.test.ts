/**
 * The scheduler's plugins against cases taken from kube-scheduler's own plugin tests (as data):
 * tainttoleration/taint_toleration_test.go (TestTaintTolerationFilter, TestTaintTolerationScore),
 * nodeaffinity/node_affinity_test.go (TestNodeAffinity), interpodaffinity/filtering_test.go
 * (TestRequiredAffinitySingleNode), plus whole-cycle messages as kube-scheduler prints them.
 */
import { describe, expect, it } from 'vitest';
import type { SchedulingNode } from '../../src/cluster/controllers/types.js';
import { schedule } from '../../src/cluster/scheduler.js';
import { interPodFilter, REASON_AFFINITY, REASON_ANTI_AFFINITY, REASON_EXISTING_ANTI_AFFINITY } from '../../src/cluster/scheduling/inter-pod.js';
import { defaultNormalize, intolerablePreferNoSchedule, nodeAffinityFilter, preFilterNodeNames, REASON_NODE_AFFINITY, taintFilter } from '../../src/cluster/scheduling/node-plugins.js';
import { emptyStore, listObjects, newMeta, putObject, type StoredPod } from '../../src/cluster/store.js';

const NOW = '2024-05-01T12:00:00Z';
type Spec = NonNullable<StoredPod['spec']>;

function pod(spec: Partial<Spec> = {}, labels: Record<string, string> = {}, name = 'p', namespace = 'default'): StoredPod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: newMeta({ name, namespace, labels }, NOW, true), spec: { containers: [{ name: 'c', image: 'x' }], ...spec } as Spec };
}

function node(name: string, labels: Record<string, string> = {}, taints: SchedulingNode['taints'] = [], unschedulable = false): SchedulingNode {
  return { name, labels, taints, unschedulable, allocatable: { cpuMilli: 4000, memoryBytes: 8 * 2 ** 30, pods: 110 } };
}

describe('TaintToleration Filter (taint_toleration_test.go)', () => {
  const cases: Array<{ name: string; tolerations: Spec['tolerations']; taints: SchedulingNode['taints']; want?: string }> = [
    { name: 'no tolerations, a NoSchedule taint', tolerations: [], taints: [{ key: 'dedicated', value: 'user1', effect: 'NoSchedule' }], want: 'node(s) had untolerated taint {dedicated: user1}' },
    { name: 'tolerates the dedicated node of user1', tolerations: [{ key: 'dedicated', value: 'user1', effect: 'NoSchedule' }], taints: [{ key: 'dedicated', value: 'user1', effect: 'NoSchedule' }] },
    { name: 'user2 toleration on user1 node', tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'user2', effect: 'NoSchedule' }], taints: [{ key: 'dedicated', value: 'user1', effect: 'NoSchedule' }], want: 'node(s) had untolerated taint {dedicated: user1}' },
    { name: 'Exists tolerates any value', tolerations: [{ key: 'foo', operator: 'Exists', effect: 'NoSchedule' }], taints: [{ key: 'foo', value: 'bar', effect: 'NoSchedule' }] },
    {
      name: 'several tolerations cover several taints',
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'user2', effect: 'NoSchedule' }, { key: 'foo', operator: 'Exists', effect: 'NoSchedule' }],
      taints: [{ key: 'dedicated', value: 'user2', effect: 'NoSchedule' }, { key: 'foo', value: 'bar', effect: 'NoSchedule' }],
    },
    { name: 'key and value match, effect does not', tolerations: [{ key: 'foo', operator: 'Equal', value: 'bar', effect: 'PreferNoSchedule' }], taints: [{ key: 'foo', value: 'bar', effect: 'NoSchedule' }], want: 'node(s) had untolerated taint {foo: bar}' },
    { name: 'empty toleration effect matches NoSchedule', tolerations: [{ key: 'foo', operator: 'Equal', value: 'bar' }], taints: [{ key: 'foo', value: 'bar', effect: 'NoSchedule' }] },
    { name: 'PreferNoSchedule does not filter (toleration for another key)', tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'user2', effect: 'NoSchedule' }], taints: [{ key: 'dedicated', value: 'user1', effect: 'PreferNoSchedule' }] },
    { name: 'PreferNoSchedule does not filter (no tolerations)', tolerations: [], taints: [{ key: 'dedicated', value: 'user1', effect: 'PreferNoSchedule' }] },
  ];
  for (const c of cases) it(c.name, () => expect(taintFilter(pod({ tolerations: c.tolerations }), node('nodeA', {}, c.taints))).toBe(c.want));
});

describe('TaintToleration Score (taint_toleration_test.go)', () => {
  const score = (tolerations: Spec['tolerations'], nodes: SchedulingNode[]) => defaultNormalize(nodes.map((n) => intolerablePreferNoSchedule(pod({ tolerations }), n)), true);
  const pns = (key: string, value: string) => ({ key, value, effect: 'PreferNoSchedule' });
  it('a tolerated node scores higher than one with an intolerable taint', () => {
    expect(score([{ key: 'foo', operator: 'Equal', value: 'bar', effect: 'PreferNoSchedule' }], [node('A', {}, [pns('foo', 'bar')]), node('B', {}, [pns('foo', 'blah')])])).toEqual([100, 0]);
  });
  it('how many tolerated taints a node has does not matter', () => {
    const t = [{ key: 'cpu-type', operator: 'Equal', value: 'arm64', effect: 'PreferNoSchedule' }, { key: 'disk-type', operator: 'Equal', value: 'ssd', effect: 'PreferNoSchedule' }];
    expect(score(t, [node('A'), node('B', {}, [pns('cpu-type', 'arm64')]), node('C', {}, [pns('cpu-type', 'arm64'), pns('disk-type', 'ssd')])])).toEqual([100, 100, 100]);
  });
  it('the more intolerable taints, the lower the score', () => {
    expect(score([{ key: 'foo', operator: 'Equal', value: 'bar', effect: 'PreferNoSchedule' }], [node('A'), node('B', {}, [pns('cpu-type', 'arm64')]), node('C', {}, [pns('cpu-type', 'arm64'), pns('disk-type', 'ssd')])])).toEqual([100, 50, 0]);
  });
  it('only PreferNoSchedule taints and tolerations count', () => {
    const t = [{ key: 'cpu-type', operator: 'Equal', value: 'arm64', effect: 'NoSchedule' }, { key: 'disk-type', operator: 'Equal', value: 'ssd', effect: 'NoSchedule' }];
    expect(score(t, [node('A'), node('B', {}, [{ key: 'cpu-type', value: 'arm64', effect: 'NoSchedule' }]), node('C', {}, [pns('cpu-type', 'arm64'), pns('disk-type', 'ssd')])])).toEqual([100, 100, 0]);
  });
});

describe('NodeAffinity Filter (node_affinity_test.go)', () => {
  const required = (...terms: unknown[]) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } }) as Partial<Spec>;
  const expr = (key: string, operator: string, values?: string[]) => ({ matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] });
  const cases: Array<{ name: string; spec: Partial<Spec>; labels?: Record<string, string>; nodeName?: string; match: boolean }> = [
    { name: 'missing labels', spec: { nodeSelector: { foo: 'bar' } }, match: false },
    { name: 'same labels', spec: { nodeSelector: { foo: 'bar' } }, labels: { foo: 'bar' }, match: true },
    { name: 'node labels are superset', spec: { nodeSelector: { foo: 'bar' } }, labels: { foo: 'bar', baz: 'blah' }, match: true },
    { name: 'node labels are subset', spec: { nodeSelector: { foo: 'bar', baz: 'blah' } }, labels: { foo: 'bar' }, match: false },
    { name: 'In matches', spec: required(expr('foo', 'In', ['bar', 'value2'])), labels: { foo: 'bar' }, match: true },
    { name: 'Gt matches', spec: required(expr('kernel-version', 'Gt', ['0204'])), labels: { 'kernel-version': '0206' }, match: true },
    { name: 'NotIn matches', spec: required(expr('mem-type', 'NotIn', ['DDR', 'DDR2'])), labels: { 'mem-type': 'DDR3' }, match: true },
    { name: 'Exists matches', spec: required(expr('GPU', 'Exists')), labels: { GPU: 'NVIDIA-GRID-K1' }, match: true },
    { name: "affinity that doesn't match", spec: required(expr('foo', 'In', ['value1', 'value2'])), labels: { foo: 'bar' }, match: false },
    { name: 'empty matchExpressions match nothing', spec: required({ matchExpressions: [] }), labels: { foo: 'bar' }, match: false },
    { name: 'no affinity', spec: {}, labels: { foo: 'bar' }, match: true },
    { name: 'affinity with no required node selector', spec: { affinity: { nodeAffinity: {} } }, labels: { foo: 'bar' }, match: true },
    { name: 'ANDed expressions that match', spec: required({ matchExpressions: [{ key: 'GPU', operator: 'Exists' }, { key: 'GPU', operator: 'NotIn', values: ['AMD', 'INTER'] }] }), labels: { GPU: 'NVIDIA-GRID-K1' }, match: true },
    { name: "ANDed expressions that don't", spec: required({ matchExpressions: [{ key: 'GPU', operator: 'Exists' }, { key: 'GPU', operator: 'In', values: ['AMD', 'INTER'] }] }), labels: { GPU: 'NVIDIA-GRID-K1' }, match: false },
    { name: 'ORed terms, one matches', spec: required(expr('foo', 'In', ['bar', 'value2']), expr('diffkey', 'In', ['wrong', 'value2'])), labels: { foo: 'bar' }, match: true },
    { name: 'affinity and nodeSelector both satisfied', spec: { nodeSelector: { foo: 'bar' }, ...required(expr('foo', 'Exists')) }, labels: { foo: 'bar' }, match: true },
    { name: 'affinity satisfied, nodeSelector not', spec: { nodeSelector: { foo: 'bar' }, ...required(expr('foo', 'Exists')) }, labels: { foo: 'barrrrrr' }, match: false },
    { name: 'an invalid value in a term matches nothing', spec: required(expr('foo', 'NotIn', ['invalid value: ___@#$%^'])), labels: { foo: 'bar' }, match: false },
    { name: 'matchFields In on the node', spec: required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node1'] }] }), nodeName: 'node1', match: true },
    { name: 'matchFields In on another node', spec: required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node1'] }] }), nodeName: 'node2', match: false },
    {
      name: 'two terms: matchFields fails, matchExpressions matches',
      spec: required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node1'] }, { key: 'metadata.name', operator: 'In', values: ['node2'] }] }, expr('foo', 'In', ['bar'])),
      labels: { foo: 'bar' },
      nodeName: 'node2',
      match: true,
    },
  ];
  for (const c of cases) {
    it(c.name, () => expect(nodeAffinityFilter(pod(c.spec), node(c.nodeName ?? 'node1', c.labels ?? {}))).toBe(c.match ? undefined : REASON_NODE_AFFINITY));
  }
  it('PreFilter narrows to the nodes named by matchFields, unless a term names none', () => {
    expect(preFilterNodeNames(pod(required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node1'] }] })))).toEqual(new Set(['node1']));
    expect(preFilterNodeNames(pod(required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node1'] }] }, expr('foo', 'In', ['bar']))))).toBeUndefined();
    expect(preFilterNodeNames(pod({}))).toBeUndefined();
  });
});

describe('InterPodAffinity Filter (filtering_test.go TestRequiredAffinitySingleNode)', () => {
  const node1 = node('node1', { region: 'r1', zone: 'z11' });
  const term = (key: string, operator: string, topologyKey: string, values?: string[]) => ({ labelSelector: { matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] }, topologyKey });
  const withAffinity = (labels: Record<string, string>, affinity: unknown[] = [], anti: unknown[] = [], name = 'incoming') =>
    pod({ affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: affinity }, podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: anti } } } as Partial<Spec>, labels, name);
  const existing = pod({ nodeName: 'node1' }, { service: 'securityscan' }, 'existing');
  const cases: Array<{ name: string; pod: StoredPod; pods: StoredPod[]; want?: string }> = [
    { name: 'no required rules, no pods', pod: pod(), pods: [] },
    { name: 'affinity In matches the existing pod', pod: withAffinity({ security: 'S1' }, [term('service', 'In', 'region', ['securityscan', 'value2'])]), pods: [existing] },
    { name: 'affinity NotIn matches the existing pod', pod: withAffinity({ security: 'S1' }, [term('service', 'NotIn', 'region', ['securityscan3', 'value3'])]), pods: [existing] },
    {
      name: 'affinity in another namespace',
      pod: withAffinity({ security: 'S1' }, [{ ...term('service', 'In', 'region', ['securityscan', 'value2']), namespaces: ['DiffNameSpace'] }]),
      pods: [pod({ nodeName: 'node1' }, { service: 'securityscan' }, 'x', 'ns')],
      want: REASON_AFFINITY,
    },
    { name: 'affinity selector matches no pod', pod: withAffinity({ service: 'securityscan' }, [term('service', 'In', '', ['antivirusscan', 'value2'])]), pods: [existing], want: REASON_AFFINITY },
    {
      name: 'several terms with different operators all match',
      pod: withAffinity({ security: 'S1' }, [
        { labelSelector: { matchExpressions: [{ key: 'service', operator: 'Exists' }, { key: 'wrongkey', operator: 'DoesNotExist' }] }, topologyKey: 'region' },
        { labelSelector: { matchExpressions: [{ key: 'service', operator: 'In', values: ['securityscan'] }, { key: 'service', operator: 'NotIn', values: ['WrongValue'] }] }, topologyKey: 'region' },
      ]),
      pods: [existing],
    },
    {
      name: 'requirements are ANDed: one does not match',
      pod: withAffinity({ security: 'S1' }, [
        { labelSelector: { matchExpressions: [{ key: 'service', operator: 'Exists' }, { key: 'wrongkey', operator: 'DoesNotExist' }] }, topologyKey: 'region' },
        { labelSelector: { matchExpressions: [{ key: 'service', operator: 'In', values: ['securityscan2'] }, { key: 'service', operator: 'NotIn', values: ['WrongValue'] }] }, topologyKey: 'region' },
      ]),
      pods: [existing],
      want: REASON_AFFINITY,
    },
    { name: 'affinity and anti-affinity both satisfied', pod: withAffinity({ security: 'S1' }, [term('service', 'In', 'region', ['securityscan', 'value2'])], [term('service', 'In', 'node', ['antivirusscan', 'value2'])]), pods: [existing] },
    {
      name: "affinity satisfied, anti-affinity not",
      pod: withAffinity({ security: 'S1' }, [term('service', 'In', 'region', ['securityscan', 'value2'])], [term('service', 'In', 'zone', ['securityscan', 'value2'])]),
      pods: [existing],
      want: REASON_ANTI_AFFINITY,
    },
    {
      name: "the existing pod's anti-affinity rejects the incoming pod",
      pod: withAffinity({ service: 'securityscan' }, [term('service', 'In', 'region', ['securityscan', 'value2'])], [term('service', 'In', 'node', ['antivirusscan', 'value2'])]),
      pods: [withAffinity({ service: 'securityscan' }, [], [term('service', 'In', 'zone', ['securityscan', 'value2'])], 'e')].map((p) => ({ ...p, spec: { ...p.spec!, nodeName: 'node1' } })),
      want: REASON_EXISTING_ANTI_AFFINITY,
    },
    {
      name: 'matching its own labels does not help when another pod could match elsewhere',
      pod: withAffinity({ service: 'securityscan' }, [term('service', 'NotIn', 'region', ['securityscan', 'value2'])]),
      pods: [pod({ nodeName: 'node2' }, { service: 'securityscan' }, 'elsewhere')],
      want: REASON_AFFINITY,
    },
    {
      name: 'symmetry a1: incoming anti-affinity matches the existing pod',
      pod: withAffinity({ service: 'securityscan' }, [], [term('service', 'Exists', 'zone'), term('security', 'Exists', 'zone')]),
      pods: [withAffinity({ security: 'S1' }, [], [term('security', 'Exists', 'zone')], 'e')].map((p) => ({ ...p, spec: { ...p.spec!, nodeName: 'node1' } })),
      want: REASON_ANTI_AFFINITY,
    },
    {
      name: "symmetry a2: the existing pod's anti-affinity matches the incoming pod",
      pod: withAffinity({ security: 'S1' }, [], [term('security', 'Exists', 'zone')]),
      pods: [withAffinity({ service: 'securityscan' }, [], [term('service', 'Exists', 'zone'), term('security', 'Exists', 'zone')], 'e')].map((p) => ({ ...p, spec: { ...p.spec!, nodeName: 'node1' } })),
      want: REASON_EXISTING_ANTI_AFFINITY,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const nodes = [node1];
      const placed = c.pods.filter((p) => p.spec?.nodeName === 'node1').map((p) => ({ pod: p, node: node1 }));
      expect(interPodFilter(c.pod, nodes[0]!, placed, (ns) => ({ 'kubernetes.io/metadata.name': ns }))).toBe(c.want);
    });
  }
});

describe('a whole scheduling cycle', () => {
  const hostnames = (names: string[]) => names.map((n) => node(n, { 'kubernetes.io/hostname': n }));
  const antiAffine = (i: number) =>
    pod(
      { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' }] } } } as Partial<Spec>,
      { app: 'web' },
      `web-${i}`,
    );

  it('anti-affinity by hostname spreads 3 replicas over 3 nodes; the 4th stays Pending with the message kube-scheduler writes', () => {
    const store = emptyStore();
    for (let i = 0; i < 4; i++) putObject(store, 'Pod', antiAffine(i));
    const r = schedule(store, hostnames(['n1', 'n2', 'n3']), { now: NOW });
    expect(new Set(r.bound.map((b) => b.node))).toEqual(new Set(['n1', 'n2', 'n3']));
    expect(r.unschedulable).toEqual([{ pod: 'default/web-3', message: "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules." }]);
  });

  it('taints come before anti-affinity in the message, sorted as kube-scheduler sorts the histogram', () => {
    const store = emptyStore();
    for (let i = 0; i < 3; i++) putObject(store, 'Pod', antiAffine(i));
    const nodes = hostnames(['n1', 'n2', 'n3']);
    nodes[2]!.taints = [{ key: 'key', value: 'value', effect: 'NoSchedule' }];
    const r = schedule(store, nodes, { now: NOW });
    expect(r.unschedulable[0]?.message).toBe("0/3 nodes are available: 1 node(s) had untolerated taint {key: value}, 2 node(s) didn't match pod anti-affinity rules.");
  });

  it('a pod pinned by matchFields reports the other nodes under the NodeAffinity PreFilter', () => {
    const store = emptyStore();
    const nodes = hostnames(['n1', 'n2', 'n3']);
    nodes[0]!.taints = [{ key: 'gpu', effect: 'NoExecute' }];
    putObject(store, 'Pod', pod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }] } } } } as Partial<Spec>));
    expect(schedule(store, nodes, { now: NOW }).unschedulable[0]?.message).toBe("0/3 nodes are available: 1 node(s) had untolerated taint {gpu: }, 2 node(s) didn't satisfy plugin(s) [NodeAffinity].");
  });

  it('preferred node affinity and PreferNoSchedule steer a pod; a cordoned node takes only pods tolerating node.kubernetes.io/unschedulable', () => {
    const store = emptyStore();
    const nodes = [node('n1', { disk: 'hdd' }), node('n2', { disk: 'ssd' }, [{ key: 'spot', effect: 'PreferNoSchedule' }]), node('n3', { disk: 'ssd' }), node('n4', {}, [], true)];
    putObject(store, 'Pod', pod({ affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } }] } } } as Partial<Spec>, {}, 'ssd'));
    putObject(store, 'Pod', pod({ nodeSelector: { 'kubernetes.io/hostname': 'n4' }, tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] } as Partial<Spec>, {}, 'daemon'));
    nodes[3]!.labels['kubernetes.io/hostname'] = 'n4';
    nodes[3]!.taints = [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }];
    const r = schedule(store, nodes, { now: NOW });
    expect(Object.fromEntries(r.bound.map((b) => [b.pod, b.node]))).toEqual({ 'default/ssd': 'n3', 'default/daemon': 'n4' });
  });

  it('preferred pod affinity draws a pod to the node of the pods it likes', () => {
    const store = emptyStore();
    putObject(store, 'Pod', pod({ nodeName: 'n2' }, { app: 'cache' }, 'cache'));
    putObject(store, 'Pod', pod({ affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'kubernetes.io/hostname' } }] } } } as Partial<Spec>, {}, 'web'));
    schedule(store, hostnames(['n1', 'n2', 'n3']), { now: NOW });
    expect(listObjects(store, 'Pod').find((p) => p.metadata.name === 'web')?.spec?.nodeName).toBe('n2');
  });
});
