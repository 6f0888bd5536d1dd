/**
 * EndpointSlices: API validation (pkg/apis/discovery/validation, validation_test.go's cases), the
 * EndpointSlice controller (reconciler_test.go / utils_test.go podToEndpoint expectations), the
 * mirroring controller (endpointslicemirroring: skip rules, labels), topology hints (trafficdist,
 * topologycache as KEP-2433's table), and kube-proxy's reading (endpointslicecache, topology.go).
 */
import { describe, expect, it } from 'vitest';
import { clusterFromTopology, countingSuffix } from '../../src/cluster/desired.js';
import { emptyStore, listObjects, type Store } from '../../src/cluster/store.js';
import { syncEndpointSlices } from '../../src/cluster/endpoint-slices/sync.js';
import { serviceEndpoints } from '../../src/cluster/endpoint-slices/views.js';
import { parseTopology } from '../../src/topology/load.js';
import { parseManifests } from '../../src/topology/manifests.js';
import { proxyServicePorts } from '../../src/plan/kube-proxy/nodes.js';
import { categorizeEndpoints, normalizeEndpoints } from '../../src/plan/kube-proxy/endpoints.js';
import { renderProxyRules } from '../../src/plan/kube-proxy/render.js';
import { NODE, ep, svc } from './kube-proxy/helpers.js';

const topo = (nodes: string, workloads: string) => `apiVersion: kemu.dev/v1alpha1
kind: Topology
metadata: {name: t}
spec:
  dns: {enabled: false}
  nodes: ${nodes}
  workloads:
${workloads}`;

async function lab(nodes: string, workloads: string, ready = (_k: string) => true) {
  const store: Store = emptyStore();
  const c = clusterFromTopology(await parseTopology(topo(nodes, workloads), '/x/t.yaml'), undefined, { store });
  let n = 100;
  const changes = syncEndpointSlices(store, c, ready, '2025-01-01T00:00:00Z', () => countingSuffix(n++));
  return { store, c, changes, slices: listObjects(store, 'EndpointSlice') };
}

const pod = (name: string, node: string, labels = '{app: web}') => `    - {apiVersion: v1, kind: Pod, metadata: {name: ${name}, labels: ${labels}}, spec: {nodeName: ${node}, containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}}`;
const service = (extra = '') => `    - {apiVersion: v1, kind: Service, metadata: {name: web, labels: {tier: front}}, spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}]${extra}}}`;

describe('EndpointSlice validation (ValidateEndpointSlice)', () => {
  const check = async (yaml: string) => {
    const problems: Array<{ path: string; message: string }> = [];
    await parseManifests(`apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s, labels: {kubernetes.io/service-name: x}}\n${yaml}`, 'f.yaml', problems);
    return problems;
  };
  const cases: Array<[string, string, string, RegExp]> = [
    ['no addressType', 'endpoints: []', 'f.yaml.addressType', /Required value/],
    ['bad addressType', 'addressType: IP', 'f.yaml.addressType', /Unsupported value: "IP"/],
    ['endpoint without address', 'addressType: IPv4\nendpoints: [{addresses: []}]', 'f.yaml.endpoints[0].addresses', /at least 1 address/],
    ['not an IPv4 address', 'addressType: IPv4\nendpoints: [{addresses: [fd00::1]}]', 'f.yaml.endpoints[0].addresses[0]', /valid IPv4 address/],
    ['a loopback address (ValidateEndpointIP)', 'addressType: IPv4\nendpoints: [{addresses: [127.0.0.1]}]', 'f.yaml.endpoints[0].addresses[0]', /loopback/],
    ['a link-local address', 'addressType: IPv4\nendpoints: [{addresses: [169.254.1.1]}]', 'f.yaml.endpoints[0].addresses[0]', /link-local/],
    ['bad nodeName', 'addressType: IPv4\nendpoints: [{addresses: [10.1.1.1], nodeName: Node_1}]', 'f.yaml.endpoints[0].nodeName', /valid node name/],
    ['bad hostname', 'addressType: IPv4\nendpoints: [{addresses: [10.1.1.1], hostname: a.b}]', 'f.yaml.endpoints[0].hostname', /DNS-1123 label/],
    ['duplicate zone hints', 'addressType: IPv4\nendpoints: [{addresses: [10.1.1.1], hints: {forZones: [{name: a}, {name: a}]}}]', 'f.yaml.endpoints[0].hints.forZones[1].name', /Duplicate value/],
    ['too many zone hints', `addressType: IPv4\nendpoints: [{addresses: [10.1.1.1], hints: {forZones: [${[...'abcdefghi'].map((z) => `{name: ${z}}`).join(', ')}]}}]`, 'f.yaml.endpoints[0].hints.forZones', /at most 8/],
    ['bad port name', 'addressType: IPv4\nports: [{name: HTTP, port: 80}]', 'f.yaml.ports[0].name', /DNS-1123 label/],
    ['duplicate port names', 'addressType: IPv4\nports: [{name: a, port: 80}, {name: a, port: 81}]', 'f.yaml.ports[1].name', /Duplicate value/],
    ['bad protocol', 'addressType: IPv4\nports: [{name: a, port: 80, protocol: ICMP}]', 'f.yaml.ports[0].protocol', /Unsupported value: "ICMP"/],
  ];
  for (const [name, yaml, path, message] of cases) {
    it(`refuses ${name}`, async () => {
      const problems = await check(yaml);
      expect(problems.some((p) => p.path === path && message.test(p.message)), JSON.stringify(problems)).toBe(true);
    });
  }
  it('accepts a full slice (SCTP, FQDN type, hints, conditions)', async () => {
    expect(await check('addressType: IPv4\nendpoints: [{addresses: [10.1.1.1], conditions: {ready: false, serving: true, terminating: true}, nodeName: n1, zone: zone-a, hints: {forZones: [{name: zone-a}], forNodes: [{name: n1}]}}]\nports: [{name: a, port: 80, protocol: SCTP, appProtocol: kubernetes.io/h2c}]')).toEqual([]);
    expect(await check('addressType: FQDN\nendpoints: [{addresses: [example.com]}]')).toEqual([]);
  });
});

describe('the EndpointSlice controller', () => {
  it('writes <service>-<5 chars> slices with the controller’s labels, owner, conditions, nodeName, zone, targetRef, ports', async () => {
    const { slices, store } = await lab('[{name: n1, labels: {topology.kubernetes.io/zone: zone-a}}, {name: n2}]', [pod('a', 'n1'), pod('b', 'n2'), service()].join('\n'));
    expect(slices).toHaveLength(1);
    const s = slices[0]!;
    expect(s.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(s.metadata.generateName).toBe('web-');
    expect(s.metadata.labels).toEqual({ tier: 'front', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
    const svcObj = listObjects(store, 'Service')[0]!;
    expect(s.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: svcObj.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(s.metadata.uid).toBeTruthy();
    expect(s.addressType).toBe('IPv4');
    expect(s.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(s.endpoints!.map((e) => ({ node: e.nodeName, zone: e.zone, ref: e.targetRef?.name, cond: e.conditions }))).toEqual([
      { node: 'n1', zone: 'zone-a', ref: 'a', cond: { ready: true, serving: true, terminating: false } },
      { node: 'n2', zone: undefined, ref: 'b', cond: { ready: true, serving: true, terminating: false } },
    ]);
    expect(s.endpoints![0]!.targetRef!.uid).toBe(listObjects(store, 'Pod').find((p) => p.metadata.name === 'a')!.metadata.uid);
  });

  it('keeps a slice and its resourceVersion when nothing changed; updates it in place when a pod’s readiness does', async () => {
    const { store, c, slices } = await lab('[{name: n1}]', [pod('a', 'n1'), service()].join('\n'));
    const rv = slices[0]!.metadata.resourceVersion;
    expect(syncEndpointSlices(store, c, () => true, 'later', () => 'zzzzz')).toEqual({ created: 0, updated: 0, deleted: 0 });
    expect(listObjects(store, 'EndpointSlice')[0]!.metadata.resourceVersion).toBe(rv);
    expect(syncEndpointSlices(store, c, () => false, 'later', () => 'zzzzz')).toEqual({ created: 0, updated: 1, deleted: 0 });
    const after = listObjects(store, 'EndpointSlice');
    expect(after.map((s) => s.metadata.name)).toEqual([slices[0]!.metadata.name]);
    expect(after[0]!.endpoints![0]!.conditions).toEqual({ ready: false, serving: false, terminating: false });
    expect(after[0]!.metadata.annotations!['endpoints.kubernetes.io/last-change-trigger-time']).toBe('later');
  });

  it('a terminating pod: not ready, serving while it passes readiness, terminating; publishNotReadyAddresses makes every endpoint ready', async () => {
    const { store, c } = await lab('[{name: n1}]', [pod('a', 'n1'), service(', publishNotReadyAddresses: true')].join('\n'), () => false);
    expect(listObjects(store, 'EndpointSlice')[0]!.endpoints![0]!.conditions).toEqual({ ready: true, serving: false, terminating: false });
    const term = { ...c, pods: c.pods.map((p) => ({ ...p, terminating: true as const })), services: c.services.map((s) => ({ ...s, publishNotReadyAddresses: false })) };
    syncEndpointSlices(store, term, () => true, 'now', () => 'zzzzz');
    expect(listObjects(store, 'EndpointSlice')[0]!.endpoints![0]!.conditions).toEqual({ ready: false, serving: true, terminating: true });
  });

  it('keeps a placeholder slice (no ports, no endpoints) for a service that selects nothing, and deletes slices of a gone service', async () => {
    const { store, c, slices } = await lab('[{name: n1}]', service());
    expect(slices.map((s) => ({ ports: s.ports, endpoints: s.endpoints }))).toEqual([{ ports: [], endpoints: [] }]);
    store.objects.Service = {};
    expect(syncEndpointSlices(store, { ...c, services: [] }, () => true, 'now', () => 'zzzzz').deleted).toBe(1);
  });

  it('one slice per distinct port set; at most 100 endpoints per slice', async () => {
    const pods = Array.from({ length: 101 }, (_, i) => pod(`p${i}`, 'n1')).join('\n');
    const other = '    - {apiVersion: v1, kind: Pod, metadata: {name: odd, labels: {app: web}}, spec: {nodeName: n1, containers: [{name: c, image: x, ports: [{name: http, containerPort: 9090}]}]}}';
    const { slices } = await lab('[{name: n1}]', [pods, other, service()].join('\n'));
    expect(slices.map((s) => `${s.ports![0]!.port}:${s.endpoints!.length}`).sort()).toEqual(['8080:1', '8080:100', '9090:1']);
  });
});

describe('the EndpointSliceMirroring controller', () => {
  const manual = (labels = '{}') => `    - {apiVersion: v1, kind: Service, metadata: {name: ext}, spec: {ports: [{name: http, port: 80}]}}
    - {apiVersion: v1, kind: Endpoints, metadata: {name: ext, labels: ${labels}}, subsets: [{addresses: [{ip: 10.9.9.1}], notReadyAddresses: [{ip: 10.9.9.2}], ports: [{name: http, port: 8080}]}]}`;
  it('mirrors hand-written Endpoints of a selector-less service', async () => {
    const { slices, store } = await lab('[{name: n1}]', manual('{team: x}'));
    expect(slices).toHaveLength(1);
    const s = slices[0]!;
    expect(s.metadata.name).toMatch(/^ext-.{5}$/);
    expect(s.metadata.labels).toEqual({ team: 'x', 'kubernetes.io/service-name': 'ext', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' });
    expect(s.metadata.ownerReferences![0]).toMatchObject({ kind: 'Endpoints', name: 'ext', uid: listObjects(store, 'Endpoints')[0]!.metadata.uid });
    expect(s.endpoints).toEqual([
      { addresses: ['10.9.9.1'], conditions: { ready: true } },
      { addresses: ['10.9.9.2'], conditions: { ready: false } },
    ]);
    expect(s.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
  });
  it('skips Endpoints labelled skip-mirror, and Endpoints of services with a selector or no service', async () => {
    expect((await lab('[{name: n1}]', manual('{endpointslice.kubernetes.io/skip-mirror: "true"}'))).slices).toHaveLength(0);
    const withSelector = '    - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: none}, ports: [{port: 80}]}}\n    - {apiVersion: v1, kind: Endpoints, metadata: {name: web}, subsets: [{addresses: [{ip: 10.9.9.1}], ports: [{port: 80}]}]}';
    const r = await lab('[{name: n1}]', withSelector);
    expect(r.slices.map((s) => s.metadata.labels!['endpointslice.kubernetes.io/managed-by'])).toEqual(['endpointslice-controller.k8s.io']); // its own placeholder only
    expect((await lab('[{name: n1}]', '    - {apiVersion: v1, kind: Endpoints, metadata: {name: lone}, subsets: [{addresses: [{ip: 10.9.9.1}], ports: [{port: 80}]}]}')).slices).toHaveLength(0);
  });
});

describe('topology hints', () => {
  const zones = '[{name: n1, labels: {topology.kubernetes.io/zone: a}}, {name: n2, labels: {topology.kubernetes.io/zone: b}}, {name: n3, labels: {topology.kubernetes.io/zone: c}}]';
  const hints = (slices: Awaited<ReturnType<typeof lab>>['slices']) => slices.flatMap((s) => s.endpoints!.map((e) => `${e.targetRef!.name}:${(e.hints?.forZones ?? []).map((z) => z.name).join('')}${(e.hints?.forNodes ?? []).map((z) => `@${z.name}`).join('')}`)).sort();
  it('trafficDistribution PreferClose / PreferSameZone: each ready endpoint hinted for its zone; PreferSameNode adds its node', async () => {
    const w = (td: string) => [pod('x1', 'n1'), pod('x2', 'n2'), service(`, trafficDistribution: ${td}`)].join('\n');
    expect(hints((await lab(zones, w('PreferClose'))).slices)).toEqual(['x1:a', 'x2:b']);
    expect(hints((await lab(zones, w('PreferSameZone'))).slices)).toEqual(['x1:a', 'x2:b']);
    expect(hints((await lab(zones, w('PreferSameNode'))).slices)).toEqual(['x1:a@n1', 'x2:b@n2']);
    expect(hints((await lab(zones, [pod('x1', 'n1'), service()].join('\n'))).slices)).toEqual(['x1:']);
  });
  it('topology-mode Auto follows KEP-2433’s table: 2 endpoints/3 zones none, 3/3 set, 4/3 none, 4 all in one zone of 2 lent out', async () => {
    const auto = (pods: string[]) => [...pods, `    - {apiVersion: v1, kind: Service, metadata: {name: web, annotations: {service.kubernetes.io/topology-mode: Auto}}, spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}], trafficDistribution: PreferSameNode}}`].join('\n');
    expect(hints((await lab(zones, auto([pod('x1', 'n1'), pod('x2', 'n2')]))).slices)).toEqual(['x1:', 'x2:']);
    expect(hints((await lab(zones, auto([pod('x1', 'n1'), pod('x2', 'n2'), pod('x3', 'n3')]))).slices)).toEqual(['x1:a', 'x2:b', 'x3:c']);
    expect(hints((await lab(zones, auto([pod('x1', 'n1'), pod('x2', 'n2'), pod('x3', 'n3'), pod('x4', 'n3')]))).slices)).toEqual(['x1:', 'x2:', 'x3:', 'x4:']);
    const two = '[{name: n1, labels: {topology.kubernetes.io/zone: a}}, {name: n2, labels: {topology.kubernetes.io/zone: b}}]';
    const lent = hints((await lab(two, auto(['p1', 'p2', 'p3', 'p4'].map((p) => pod(p, 'n1'))))).slices);
    expect(lent.filter((h) => h.endsWith(':a'))).toHaveLength(2);
    expect(lent.filter((h) => h.endsWith(':b'))).toHaveLength(2);
  });
});

describe('kube-proxy reads the store’s slices', () => {
  it('any slice labelled with the service name counts (hand-written ones too); ports by name and protocol; unset conditions', async () => {
    const w = `    - {apiVersion: v1, kind: Service, metadata: {name: ext}, spec: {ports: [{name: http, port: 80}, {name: dns, port: 53, protocol: UDP}]}}
    - apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata: {name: ext-1, labels: {kubernetes.io/service-name: ext}}
      addressType: IPv4
      endpoints: [{addresses: [10.9.9.1], nodeName: n1}, {addresses: [10.9.9.2], conditions: {ready: false, serving: true, terminating: true}}]
      ports: [{name: http, port: 8080}, {name: dns, port: 5353, protocol: TCP}]`;
    const { store, c } = await lab('[{name: n1}]', w);
    const ports = proxyServicePorts(c, serviceEndpoints(c, store));
    const http = ports.find((p) => p.portName === 'http')!;
    expect(http.endpoints).toEqual([
      { ip: '10.9.9.1', port: 8080, nodeName: 'n1', ready: true, serving: true, terminating: false },
      { ip: '10.9.9.2', port: 8080, nodeName: '', ready: false, serving: true, terminating: true },
    ]);
    // The slice's dns port is TCP, the service's UDP: no endpoint for it.
    expect(ports.find((p) => p.portName === 'dns')!.endpoints).toEqual([]);
  });

  it('CategorizeEndpoints with hints (topology_test.go): zone hints narrow the cluster set only when every ready endpoint has one and one matches', () => {
    const eps = normalizeEndpoints([ep('10.1.0.1', { zoneHints: ['a'] }), ep('10.1.0.2', { zoneHints: ['b'] }), ep('10.1.0.3', { zoneHints: ['a'], ready: false, serving: false })]);
    const opts = { nodeName: 'n', internalLocal: false, externalLocal: false, externallyAccessible: false };
    expect(categorizeEndpoints(eps, { ...opts, zone: 'a' }).cluster.map((e) => e.ip)).toEqual(['10.1.0.1']);
    expect(categorizeEndpoints(eps, { ...opts, zone: 'c' }).cluster.map((e) => e.ip)).toEqual(['10.1.0.1', '10.1.0.2']); // no hint for zone c
    expect(categorizeEndpoints(eps, { ...opts }).cluster.map((e) => e.ip)).toEqual(['10.1.0.1', '10.1.0.2']); // node has no zone label
    const missing = normalizeEndpoints([ep('10.1.0.1', { zoneHints: ['a'] }), ep('10.1.0.2')]);
    expect(categorizeEndpoints(missing, { ...opts, zone: 'a' }).cluster).toHaveLength(2); // one ready endpoint lacks a hint
    const node = normalizeEndpoints([ep('10.1.0.1', { zoneHints: ['a'], nodeHints: ['n'] }), ep('10.1.0.2', { zoneHints: ['a'], nodeHints: ['m'] })]);
    expect(categorizeEndpoints(node, { ...opts, zone: 'a' }).cluster.map((e) => e.ip)).toEqual(['10.1.0.1']); // PreferSameNode first
  });

  it('renders SCTP service ports where the kernel has SCTP (-m sctp -p sctp)', () => {
    const sctp = svc('ns1', 'svc1', { protocol: 'SCTP', endpoints: [ep('10.180.0.1')] });
    const payload = renderProxyRules(NODE, [sctp]).payload;
    expect(payload).toContain('-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m sctp -p sctp -d 172.30.0.41 --dport 80 -j KUBE-SVC-');
    expect(payload).toMatch(/-A KUBE-SEP-\w+ -m comment --comment ns1\/svc1:p80 -m sctp -p sctp -j DNAT --to-destination 10\.180\.0\.1:80/);
  });
});
