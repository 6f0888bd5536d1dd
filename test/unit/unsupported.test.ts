/** Fields kemu does not emulate: refused by object, field path and fix; with --skip-unsupported dropped with a warning. */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { InputProblem } from '../../src/topology/errors.js';
import { parseManifests, type Manifest } from '../../src/topology/manifests.js';
import { buildServices } from '../../src/cluster/services.js';
import { proxyServicePorts } from '../../src/plan/kube-proxy/nodes.js';
import type { ClusterState } from '../../src/cluster/types.js';
import { UNSUPPORTED_POD_FIELDS, UNSUPPORTED_SERVICE_FIELDS } from '../../src/topology/unsupported.js';

async function parse(doc: unknown, skipUnsupported = false) {
  const problems: InputProblem[] = [];
  const skipped: string[] = [];
  const manifests = await parseManifests(stringify(doc), 'f.yaml', problems, { skipUnsupported, skipped });
  return { problems, skipped, manifests };
}

const podSpec = (extra: object = {}) => ({ containers: [{ name: 'c', image: 'x' }], ...extra });
const pod = (spec: object = {}, annotations?: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', ...(annotations ? { annotations } : {}) }, spec: podSpec(spec) });
const deployment = (spec: object) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: podSpec(spec) } },
});
const svc = (spec: object, labels?: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', ...(labels ? { labels } : {}) }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }], ...spec } });

const cases: Array<[string, unknown, string, (m: Manifest) => unknown]> = [
  ['readinessGates', pod({ readinessGates: [{ conditionType: 'example.com/lb' }] }), 'f.yaml.spec.readinessGates', (m) => (m.object as { spec: object }).spec],
  ['readinessGates in a Deployment template', deployment({ readinessGates: [{ conditionType: 'x' }] }), 'f.yaml.spec.template.spec.readinessGates', (m) => (m.object as { spec: { template: { spec: object } } }).spec.template.spec],
  ['an unsafe net.* sysctl', pod({ securityContext: { sysctls: [{ name: 'net.ipv4.ip_local_port_range', value: '1024 2048' }, { name: 'net.core.somaxconn', value: '1024' }] } }), 'f.yaml.spec.securityContext.sysctls[1]', (m) => (m.object as { spec: object }).spec],
  ['the bandwidth annotation', pod({}, { 'kubernetes.io/egress-bandwidth': '1M' }), "f.yaml.metadata.annotations['kubernetes.io/egress-bandwidth']", (m) => m.object.metadata],
  ['a Calico pool annotation', pod({}, { 'cni.projectcalico.org/ipv4pools': '["default"]' }), "f.yaml.metadata.annotations['cni.projectcalico.org/ipv4pools']", (m) => m.object.metadata],
  ['an IPv6 family', svc({ ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' }), 'f.yaml.spec.ipFamilies[1]', (m) => (m.object as { spec: object }).spec],
  ['the ingress bandwidth annotation', pod({}, { 'kubernetes.io/ingress-bandwidth': '10M' }), "f.yaml.metadata.annotations['kubernetes.io/ingress-bandwidth']", (m) => m.object.metadata],
  ['a Calico IPAM-less address', pod({}, { 'cni.projectcalico.org/ipAddrsNoIpam': '["10.0.0.1"]' }), "f.yaml.metadata.annotations['cni.projectcalico.org/ipAddrsNoIpam']", (m) => m.object.metadata],
  ['a Calico floating IP', pod({}, { 'cni.projectcalico.org/floatingIPs': '["1.2.3.4"]' }), "f.yaml.metadata.annotations['cni.projectcalico.org/floatingIPs']", (m) => m.object.metadata],
  ['RequireDualStack', svc({ ipFamilyPolicy: 'RequireDualStack' }), 'f.yaml.spec.ipFamilyPolicy', (m) => (m.object as { spec: object }).spec],
];

describe('unsupported fields', () => {
  it('every entry of the table has a case below', () => {
    const covered = (f: string) => cases.some(([, , path]) => path.includes(f.replace(/ \(.*\)$/, '').replace(/^spec\.securityContext\.sysctls$/, 'sysctls')));
    expect([...UNSUPPORTED_POD_FIELDS, ...UNSUPPORTED_SERVICE_FIELDS].map((f) => f.field).filter((f) => !covered(f))).toEqual([]);
  });

  it.each(cases)('%s: refused with its path, the object and the fix', async (_n, doc, path) => {
    const { problems, manifests } = await parse(doc);
    expect(manifests).toEqual([]);
    expect(problems.map((p) => p.path)).toEqual([path]);
    expect(problems[0]!.message).toMatch(/^(Pod shop\/web|Deployment default\/web|Service default\/web): this field is not emulated by kemu: .+; remove it, or pass --skip-unsupported to drop it with a warning$/);
  });

  it.each(cases)('%s: with --skip-unsupported, removed from the object and named in a warning', async (_n, doc, path, part) => {
    const { problems, manifests, skipped } = await parse(doc, true);
    expect(problems).toEqual([]);
    expect(manifests).toHaveLength(1);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toContain(`field ${path} of `);
    const leaf = path.replace(/^f\.yaml\./, '').replace(/\[\d+\]$/, '');
    const text = JSON.stringify(part(manifests[0]!));
    if (leaf.includes('annotations')) expect(text).not.toContain(leaf.split("'")[1]);
    else if (leaf.endsWith('sysctls')) expect(text).toContain('net.ipv4.ip_local_port_range'), expect(text).not.toContain('somaxconn');
    else if (leaf.endsWith('ipFamilies')) expect(text).toContain('"ipFamilies":["IPv4"]');
    else expect(text).not.toContain(leaf.split('.').pop()!);
  });

  it('accepts what kemu emulates or what does not change packets: PreferDualStack, IPv4 family, safe sysctls, sessionAffinity, trafficDistribution', async () => {
    for (const doc of [
      svc({ ipFamilies: ['IPv4'], ipFamilyPolicy: 'PreferDualStack', sessionAffinity: 'ClientIP', trafficDistribution: 'PreferClose', externalIPs: ['203.0.113.9'], internalTrafficPolicy: 'Local' }),
      pod({ securityContext: { sysctls: [{ name: 'kernel.shm_rmid_forced', value: '1' }, { name: 'net/ipv4/tcp_keepalive_time', value: '600' }, { name: 'net.ipv4.ip_local_reserved_ports', value: '8080,9000-9100' }] } }),
    ]) {
      const { problems, manifests } = await parse(doc);
      expect(problems).toEqual([]);
      expect(manifests).toHaveLength(1);
    }
  });

  it('NetworkPolicy is accepted (its from peers kept under their wire name); projectcalico.org/v3 policy kinds are refused by name', async () => {
    const np = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny' }, spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] } };
    const ok = await parse(np);
    expect(ok.problems).toEqual([]);
    expect((ok.manifests[0]!.object as any).spec.ingress[0].from).toEqual([{ podSelector: { matchLabels: { pod: 'b' } } }]);
    const bad = await parse({ ...np, spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] } });
    expect(bad.problems).toEqual([{ path: 'f.yaml.spec.ingress[0].from[0]', message: 'Forbidden: may not specify more than 1 peer type' }]);
    for (const kind of ['NetworkPolicy', 'GlobalNetworkPolicy']) {
      const calico = await parse({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name: 'p' }, spec: {} });
      expect(calico.problems).toEqual([{ path: 'f.yaml.kind', message: `projectcalico.org/v3 ${kind} is not emulated yet: use networking.k8s.io/v1 NetworkPolicy` }]);
      const skipped = await parse({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name: 'p' }, spec: {} }, true);
      expect(skipped.problems).toEqual([]);
      expect(skipped.skipped).toEqual([`${kind} p (f.yaml): kind not emulated`]);
    }
  });
});

describe('Service fields kemu emulates instead', () => {
  const net = { podCIDR: '10.244.0.0/16', blockSize: 26, serviceCIDR: '10.96.0.0/12', underlay: { racks: [], mtu: 1500 }, routing: 'static', natOutgoing: true, routeReflectors: [], asNumber: 64512, nodePortRange: { min: 30000, max: 32767 }, loadBalancerPool: ['192.168.60.0/24'], serviceClusterIPs: [] } as never;
  const build = async (spec: object, labels?: Record<string, string>) => {
    const { manifests, problems } = await parse(svc(spec, labels));
    expect(problems).toEqual([]);
    const out: InputProblem[] = [];
    const s = buildServices(net, manifests, [], [], out);
    expect(out).toEqual([]);
    return s[0]!;
  };

  it('loadBalancerClass: no controller of that class here, so EXTERNAL-IP stays pending while node ports are allocated', async () => {
    const s = await build({ type: 'LoadBalancer', loadBalancerClass: 'example.com/other-lb' });
    expect(s.loadBalancerIPs).toEqual([]);
    expect(s.ports[0]!.nodePort).toBeGreaterThanOrEqual(30000);
    expect((await build({ type: 'LoadBalancer' })).loadBalancerIPs).toEqual(['192.168.60.0']);
  });

  it('MetalLB address requests under both prefixes (metallb.io/ and the deprecated metallb.universe.tf/)', async () => {
    const meta = (k: string) => ({ ...svc({ type: 'LoadBalancer' }), metadata: { name: 'web', annotations: { [k]: '192.168.60.9' } } });
    for (const k of ['metallb.io/loadBalancerIPs', 'metallb.universe.tf/loadBalancerIPs']) {
      const { manifests } = await parse(meta(k));
      const out: InputProblem[] = [];
      expect(buildServices(net, manifests, [], [], out)[0]!.loadBalancerIPs).toEqual(['192.168.60.9']);
    }
  });

  it('allocateLoadBalancerNodePorts: false allocates no node port (a given one stays)', async () => {
    const s = await build({ type: 'LoadBalancer', allocateLoadBalancerNodePorts: false });
    expect(s.ports[0]!.nodePort).toBeUndefined();
    const given = await build({ type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ port: 80, nodePort: 31000 }] });
    expect(given.ports[0]!.nodePort).toBe(31000);
  });

  it('clusterIPs[0] becomes the clusterIP', async () => {
    expect((await build({ clusterIPs: ['10.96.0.77'] })).clusterIP).toBe('10.96.0.77');
  });

  it.each([
    ['loadBalancerClass on a ClusterIP Service', { loadBalancerClass: 'x.io/lb' }, 'f.yaml.spec.loadBalancerClass', /may only be used when `type` is 'LoadBalancer'/],
    ['allocateLoadBalancerNodePorts on a NodePort Service', { type: 'NodePort', allocateLoadBalancerNodePorts: false }, 'f.yaml.spec.allocateLoadBalancerNodePorts', /may only be used/],
    ['two clusterIPs', { clusterIPs: ['10.96.0.7', '10.96.0.8'] }, 'f.yaml.spec.clusterIPs', /dual-stack/],
    ['clusterIPs[0] unlike clusterIP', { clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.8'] }, 'f.yaml.spec.clusterIPs[0]', /must match `clusterIP`/],
    ['an unknown family', { ipFamilies: ['IPv5'] }, 'f.yaml.spec.ipFamilies[0]', /Unsupported value/],
    ['an unknown family policy', { ipFamilyPolicy: 'Dual' }, 'f.yaml.spec.ipFamilyPolicy', /Unsupported value/],
  ])('refused as the API server refuses it: %s', async (_n, spec, path, message) => {
    const { problems } = await parse(svc(spec));
    expect(problems).toEqual([{ path, message: expect.stringMatching(message) }]);
  });

  it('kube-proxy ignores Services labelled service-proxy-name or headless', async () => {
    const plain = await build({});
    const other = { ...(await build({})), name: 'other', labels: { 'service.kubernetes.io/service-proxy-name': 'foo-bar' } };
    const headless = { ...(await build({})), name: 'hl', labels: { 'service.kubernetes.io/headless': '' } };
    const ports = proxyServicePorts({ services: [plain, other, headless] } as unknown as ClusterState, []);
    expect(ports.map((p) => p.name)).toEqual(['web']);
  });
});

describe('pod sysctls (validateSysctls, the kubelet\'s safe set)', () => {
  const withSysctls = (sysctls: unknown) => pod({ securityContext: { sysctls } });
  it.each([
    ['a bad name', [{ name: 'kernel..x', value: '1' }], 'f.yaml.spec.securityContext.sysctls[0].name', /must have at most 253 characters and match regex/],
    ['a duplicate (slashes and dots are one name)', [{ name: 'net.ipv4.tcp_fin_timeout', value: '30' }, { name: 'net/ipv4/tcp_fin_timeout', value: '30' }], 'f.yaml.spec.securityContext.sysctls[1].name', /Duplicate value/],
    ['an unsafe non-net sysctl', [{ name: 'kernel.msgmax', value: '1' }], 'f.yaml.spec.securityContext.sysctls[0].name', /SysctlForbidden/],
    ['a value the sysctl does not take', [{ name: 'net.ipv4.ip_local_port_range', value: 'low high' }], 'f.yaml.spec.securityContext.sysctls[0].value', /numbers separated by blanks/],
  ])('refused: %s', async (_n, sysctls, path, message) => {
    const { problems } = await parse(withSysctls(sysctls));
    expect(problems).toEqual([{ path, message: expect.stringMatching(message) }]);
  });

  it('the safe net.* ones reach the pod state (dotted names, trimmed values), the others do not', async () => {
    const { podIntents } = await import('../../src/cluster/pods.js');
    const { manifests } = await parse({ ...withSysctls([{ name: 'net/ipv4/ip_local_port_range', value: ' 20000 20100 ' }, { name: 'kernel.shm_rmid_forced', value: '1' }]), spec: { nodeName: 'n1', ...podSpec({ securityContext: { sysctls: [{ name: 'net/ipv4/ip_local_port_range', value: ' 20000 20100 ' }, { name: 'kernel.shm_rmid_forced', value: '1' }] } }) } });
    const obj = { ...(manifests[0]!.object as object), metadata: { name: 'web', namespace: 'shop' } };
    const [intent] = podIntents({ objects: { Pod: { 'shop/web': obj } } } as never, () => 'f.yaml');
    expect(intent!.sysctls).toEqual({ 'net.ipv4.ip_local_port_range': '20000 20100' });
  });
});

it('a refused field is reported with the object\'s other problems, all at once', async () => {
  const { problems, manifests } = await parse({ ...pod({ readinessGates: [{ conditionType: 'x' }] }), metadata: { name: 'Bad_Name' } });
  expect(manifests).toEqual([]);
  expect(problems.map((p) => p.path)).toEqual(['f.yaml.spec.readinessGates', 'f.yaml.metadata.name']);
});
