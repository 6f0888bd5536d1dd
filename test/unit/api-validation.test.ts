/** Accepted/refused pairs from apimachinery's validation tests (validation_test.go) and core's ValidateService/ValidateEndpoints. */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { dns1035Label, dns1123Label, dns1123Subdomain, ianaSvcName, labelValue, qualifiedName, specialIP } from '../../src/topology/apimachinery.js';
import type { InputProblem } from '../../src/topology/errors.js';
import { parseManifests } from '../../src/topology/manifests.js';

const cases: Array<[string, (v: string) => string | undefined, string[], string[]]> = [
  ['IsDNS1123Label', dns1123Label, ['a', 'ab', 'abc', 'a1', 'a-1', 'a--1--2--b', '0', '01', '012', '1a', '1-a', 'a'.repeat(63)], ['', 'A', 'ABC', 'aBc', 'A1', 'A-1', '1-A', '-', 'a-', '-a', '1-', '-1', '_', 'a_', 'a.b', 'a b', 'a'.repeat(64)]],
  ['IsDNS1035Label', dns1035Label, ['a', 'ab', 'abc', 'a1', 'a-1', 'a--1--2--b', 'a'.repeat(63)], ['0', '01', '1a', '1web', '1-a', 'A', 'a-', '-a', 'a.b', 'a'.repeat(64)]],
  ['IsDNS1123Subdomain', dns1123Subdomain, ['a', 'a.b', 'a.b.c', '1web.example', '0.a', 'a-1.b', 'a'.repeat(253)], ['', 'A', 'a.', '.a', 'a..b', 'a_b', 'a'.repeat(254)]],
  ['IsQualifiedName', qualifiedName, ['simple', 'now-with-dashes', '1-starts-with-num', '1234', 'simple/simple', 'now-with-dashes/simple', 'now-with-dashes/now-with-dashes', 'now.with.dots/simple', 'now-with.dashes-and.dots/simple', '1-num.2-num/3-num', '1234/5678', '1.2.3.4/5678', 'Uppercase_Is_OK_123', 'example.com/Uppercase_Is_OK_123', 'requests.storage-foo', 'a'.repeat(63), 'a'.repeat(253) + '/' + 'b'.repeat(63)], ['', 'nospecialchars%^=@', 'cantendwithadash-', '-cantstartwithadash-', 'only/one/slash', 'Example.com/abc', 'example_com/abc', 'example.com/', '/simple', 'a'.repeat(64), 'a'.repeat(254) + '/abc', 'has space']],
  ['IsValidLabelValue', labelValue, ['simple', 'now-with-dashes', '1-starts-with-num', 'end-with-num-1', '1234', 'lots--of--dashes', 'uppercase_Is_OK_123', '', 'a'.repeat(63)], ['nospecialchars%^=@', 'Tama-nui-te-rā.is.Māori.sun', '\\backslashes\\are\\bad', '-starts-with-dash', 'ends-with-dash-', '.starts.with.dot', 'ends.with.dot.', 'has space', 'a'.repeat(64)]],
  ['IsValidPortName (IANA_SVC_NAME)', ianaSvcName, ['telnet', 're-mail-ck', 'pop3', 'a', 'a-1', '1-a', 'a-1-b-2-c', '1-a-2-b-3'], ['', 'longerthan15characters', 'do-not-end-with-', '-do-not-start-with', 'do--not--contain--consecutive--hyphens', 'ok-http', 'UPPERCASE', '1-2-3-4', '123', 'under_score', 'a.b'].filter((x) => x !== 'ok-http')],
  ['ValidateNonSpecialIP', specialIP, ['10.0.0.1', '192.168.1.5', '8.8.8.8', '2001:db8::1'], ['0.0.0.0', '127.0.0.1', '127.255.0.3', '169.254.169.254', '224.0.0.251', '::', '::1', 'fe80::1', 'ff02::1']],
];

describe('apimachinery validation rules', () => {
  for (const [rule, fn, ok, bad] of cases) {
    it.each(ok)(`${rule} accepts %j`, (v) => expect(fn(v)).toBeUndefined());
    it.each(bad)(`${rule} refuses %j`, (v) => expect(fn(v)).toBeTypeOf('string'));
  }
});

async function problemsOf(doc: unknown): Promise<InputProblem[]> {
  const out: InputProblem[] = [];
  await parseManifests(typeof doc === 'string' ? doc : stringify(doc), 'web.yaml', out);
  return out;
}
const svc = (spec: object, meta: object = {}) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', ...meta }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }], ...spec } });
const pod = (ports: object[], meta: object = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...meta }, spec: { containers: [{ name: 'c', image: 'x', ports }] } });
const ep = (ip: string) => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web' }, subsets: [{ addresses: [{ ip }], ports: [{ port: 80 }] }] });

describe('manifests: refused as the API server refuses them (path, message)', () => {
  const refused: Array<[string, unknown, string, RegExp]> = [
    ['ValidateServiceName: DNS-1035 label', svc({}, { name: '1web' }), 'web.yaml.metadata.name', /DNS-1035/],
    ['ValidateObjectMeta: DNS-1123 subdomain', pod([], { name: 'Web_1' }), 'web.yaml.metadata.name', /DNS-1123 subdomain/],
    ['ValidateLabels: value with a space', pod([], { labels: { app: 'a b' } }), 'web.yaml.metadata.labels.app', /valid label/],
    ['ValidateLabels: invalid key', pod([], { labels: { 'Example.com/x': 'a' } }), 'web.yaml.metadata.labels', /prefix/],
    ['ValidateAnnotations: invalid key', pod([], { annotations: { 'a b': 'x' } }), 'web.yaml.metadata.annotations', /name part/],
    ['ValidateAnnotationsSize: 256 KiB', pod([], { annotations: { big: 'x'.repeat(256 * 1024) } }), 'web.yaml.metadata.annotations', /262144 bytes/],
    ['ValidateService: selector values are label values', svc({ selector: { app: 'a b' } }), 'web.yaml.spec.selector.app', /valid label/],
    ['ValidateService: duplicate port+protocol', svc({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80, protocol: 'TCP' }] }), 'web.yaml.spec.ports[1]', /Duplicate value: \{port: 80/],
    ['validateServicePort: names required with several ports', svc({ ports: [{ name: 'a', port: 80 }, { port: 81 }] }), 'web.yaml.spec.ports[1].name', /Required/],
    ['validateServicePort: names unique', svc({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), 'web.yaml.spec.ports[1].name', /Duplicate value: "a"/],
    ['validateServicePort: name is a DNS-1123 label', svc({ ports: [{ name: 'A_b', port: 80 }] }), 'web.yaml.spec.ports[0].name', /RFC 1123 label/],
    ['validateServicePort: named targetPort is an IANA_SVC_NAME', svc({ ports: [{ port: 80, targetPort: 'http--x' }] }), 'web.yaml.spec.ports[0].targetPort', /consecutive hyphens/],
    ['validateContainerPorts: name IANA_SVC_NAME', pod([{ containerPort: 80, name: 'this-is-too-long-a-name' }]), 'web.yaml.spec.containers[0].ports[0].name', /15 characters/],
    ['validateContainerPorts: names unique', pod([{ containerPort: 80, name: 'http' }, { containerPort: 81, name: 'http' }]), 'web.yaml.spec.containers[0].ports[1].name', /Duplicate value: "http"/],
    ['ValidateEndpoints: loopback', ep('127.0.0.1'), 'web.yaml.subsets[0].addresses[0].ip', /loopback/],
    ['ValidateEndpoints: link-local', ep('169.254.169.254'), 'web.yaml.subsets[0].addresses[0].ip', /link-local/],
    ['ValidateEndpoints: unspecified', ep('0.0.0.0'), 'web.yaml.subsets[0].addresses[0].ip', /unspecified/],
    ['ValidateLabelSelector: bad operator', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: { matchLabels: { app: 'd' }, matchExpressions: [{ key: 'tier', operator: 'Within', values: ['a'] }] }, template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } }, 'web.yaml.spec.selector.matchExpressions[0].operator', /Unsupported value/],
    ['ValidateLabelSelector: matchLabels value', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: { matchLabels: { app: 'd d' } }, template: { metadata: { labels: { app: 'd d' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } }, 'web.yaml.spec.selector.matchLabels.app', /valid label/],
    ['List: items validated like top-level objects', { apiVersion: 'v1', kind: 'List', items: [svc({}, { name: '1web' })] }, 'web.yaml.metadata.name', /DNS-1035/],
  ];
  it.each(refused)('%s', async (_rule, doc, path, message) => {
    const problems = await problemsOf(doc);
    expect(problems.some((p) => p.path === path && message.test(p.message)), JSON.stringify(problems)).toBe(true);
  });

  const accepted: Array<[string, unknown]> = [
    ['a Service with two named ports on the same number, TCP and UDP', svc({ ports: [{ name: 'dns', port: 53 }, { name: 'dns-udp', port: 53, protocol: 'UDP' }] })],
    ['labels with prefixed keys and empty values', pod([{ containerPort: 80, name: 'http' }], { labels: { 'app.kubernetes.io/name': 'web', empty: '' }, annotations: { 'Example.com/Note': 'any text, with spaces' } })],
    ['an Endpoints address outside the special ranges', ep('10.0.0.7')],
    ['a Pod named like a subdomain', pod([], { name: '1web.example' })],
  ];
  it.each(accepted)('accepts %s', async (_what, doc) => expect(await problemsOf(doc)).toEqual([]));

  it('accepts kind: List (what `kemu get -o json` prints) and returns its items', async () => {
    const out: InputProblem[] = [];
    const ms = await parseManifests(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [svc({}), pod([])] }), 'web.yaml', out);
    expect(out).toEqual([]);
    expect(ms.map((m) => m.kind)).toEqual(['Service', 'Pod']);
  });

  it('trims spaces around loadBalancerSourceRanges, as the API server does', async () => {
    const out: InputProblem[] = [];
    const ms = await parseManifests(stringify(svc({ type: 'LoadBalancer', loadBalancerSourceRanges: [' 10.0.0.0/8 ', '192.168.0.0/16  '] })), 'web.yaml', out);
    expect(out).toEqual([]);
    expect((ms[0]!.object as { spec: { loadBalancerSourceRanges: string[] } }).spec.loadBalancerSourceRanges).toEqual(['10.0.0.0/8', '192.168.0.0/16']);
  });
});

describe('object size limit (3 MiB, checked before parsing)', () => {
  it('refuses a Service with 100,000 ports fast', async () => {
    const ports = Array.from({ length: 100_000 }, (_, i) => `  - name: p${i}\n    port: ${(i % 65535) + 1}\n    protocol: TCP\n    targetPort: ${(i % 65535) + 1}`).join('\n');
    const text = `apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n${ports}\n`;
    const t0 = performance.now();
    const problems = await problemsOf(text);
    const ms = performance.now() - t0;
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/at most 3145728 bytes/);
    expect(ms).toBeLessThan(500);
  });
  it('refuses a 50 MB annotation fast, naming the document', async () => {
    const text = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ok\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    big: "${'x'.repeat(50 * 1024 * 1024)}"\n`;
    const t0 = performance.now();
    const problems = await problemsOf(text);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(problems).toEqual([expect.objectContaining({ path: 'web.yaml (document 2)' })]);
  });
});
