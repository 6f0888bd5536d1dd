/**
 * Ingress, IngressClass and Secret checks against the API server's rules (pkg/apis/networking/validation:
 * validateIngressRules, validateHTTPIngressPath, validateIngressBackend, ValidateIngressCreate), and the
 * v1beta1 → v1 conversion. Cases are upstream's, as data: input → the field path and message expected.
 */
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../../src/topology/manifests.js';
import type { InputProblem } from '../../../src/topology/errors.js';
import { stringify } from 'yaml';

async function check(doc: Record<string, unknown>): Promise<{ problems: InputProblem[]; object?: any }> {
  const problems: InputProblem[] = [];
  const out = await parseManifests(stringify(doc), 'f.yaml', problems);
  return { problems, object: out[0]?.object };
}
const ing = (spec: unknown, annotations?: Record<string, string>, apiVersion = 'networking.k8s.io/v1') => ({ apiVersion, kind: 'Ingress', metadata: { name: 'i', ...(annotations ? { annotations } : {}) }, spec });
const path = (p: Record<string, unknown>) => ({ rules: [{ host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } }, ...p }] } }] });
const P = 'f.yaml.spec.rules[0].http.paths[0]';

describe('Ingress validation', () => {
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['neither rules nor defaultBackend', ing({}), 'f.yaml.spec', /either `defaultBackend` or `rules` must be specified/],
    ['an IP as host', ing({ rules: [{ host: '1.2.3.4' }] }), 'f.yaml.spec.rules[0].host', /must be a DNS name, not an IP address/],
    ['a bare wildcard', ing({ rules: [{ host: '*' }] }), 'f.yaml.spec.rules[0].host', /one leading wildcard label/],
    ['a wildcard in the middle', ing({ rules: [{ host: 'a.*.com' }] }), 'f.yaml.spec.rules[0].host', /wildcard/],
    ['upper case host', ing({ rules: [{ host: 'A.example.com' }] }), 'f.yaml.spec.rules[0].host', /DNS-1123 subdomain/],
    ['http without paths', ing({ rules: [{ host: 'a.example.com', http: { paths: [] } }] }), 'f.yaml.spec.rules[0].http.paths', /Required value/],
    ['no pathType', ing(path({ pathType: undefined })), `${P}.pathType`, /Required value: pathType must be specified/],
    ['an unknown pathType', ing(path({ pathType: 'Regex' })), `${P}.pathType`, /Unsupported value: 'Regex': supported values: "Exact", "ImplementationSpecific", "Prefix"/],
    ['a relative Prefix path', ing(path({ path: 'foo' })), `${P}.path`, /'foo': must be an absolute path/],
    ['an Exact path with //', ing(path({ pathType: 'Exact', path: '/a//b' })), `${P}.path`, /must not contain '\/\/'/],
    ['a Prefix path with /../', ing(path({ path: '/a/../b' })), `${P}.path`, /must not contain '\/\.\.\/'/],
    ['a Prefix path with %2f', ing(path({ path: '/a%2fb' })), `${P}.path`, /must not contain '%2f'/],
    ['a Prefix path ending in /.', ing(path({ path: '/a/.' })), `${P}.path`, /cannot end with '\/\.'/],
    ['a relative ImplementationSpecific path', ing(path({ pathType: 'ImplementationSpecific', path: 'x' })), `${P}.path`, /must be an absolute path/],
    ['port name and number', ing(path({ backend: { service: { name: 'web', port: { number: 80, name: 'http' } } } })), `${P}.backend`, /cannot set both port name & port number/],
    ['no port', ing(path({ backend: { service: { name: 'web' } } })), `${P}.backend.service.port`, /port name or number is required/],
    ['port 0 is no port', ing(path({ backend: { service: { name: 'web', port: { number: 0 } } } })), `${P}.backend.service.port`, /port name or number is required/],
    ['port 70000', ing(path({ backend: { service: { name: 'web', port: { number: 70000 } } } })), `${P}.backend.service.port.number`, /between 1 and 65535/],
    ['a bad port name', ing(path({ backend: { service: { name: 'web', port: { name: 'HTTP_1' } } } })), `${P}.backend.service.port.name`, /IANA_SVC_NAME/],
    ['a service name not a DNS-1035 label', ing(path({ backend: { service: { name: '1web', port: { number: 80 } } } })), `${P}.backend.service.name`, /DNS-1035 label/],
    ['no backend', ing(path({ backend: {} })), `${P}.backend`, /resource or service backend is required/],
    ['resource and service', ing(path({ backend: { resource: { kind: 'Bucket', name: 'b' }, service: { name: 'web', port: { number: 80 } } } })), `${P}.backend`, /cannot set both resource and service backends/],
    ['a resource backend', ing(path({ backend: { resource: { kind: 'Bucket', name: 'b' } } })), `${P}.backend.resource`, /kemu emulates only Service backends/],
    ['a bad tls host', ing({ ...path({}), tls: [{ hosts: ['*'] }] }), 'f.yaml.spec.tls[0].hosts[0]', /DNS-1123 subdomain/],
    ['a bad secretName', ing({ ...path({}), tls: [{ secretName: 'Bad_Name' }] }), 'f.yaml.spec.tls[0].secretName', /DNS-1123 subdomain/],
    ['class field and annotation differ', ing({ ...path({}), ingressClassName: 'a' }, { 'kubernetes.io/ingress.class': 'b' }), "f.yaml.metadata.annotations['kubernetes.io/ingress.class']", /must match `ingressClassName` \('a'\) when both are specified/],
    ['an annotation kemu does not emulate', ing(path({}), { 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' }), "f.yaml.metadata.annotations['nginx.ingress.kubernetes.io/proxy-body-size']", /kemu does not emulate this ingress-nginx annotation; emulated: rewrite-target, use-regex/],
    ['ssl-redirect not a boolean', ing(path({}), { 'nginx.ingress.kubernetes.io/ssl-redirect': 'yes' }), "f.yaml.metadata.annotations['nginx.ingress.kubernetes.io/ssl-redirect']", /not a boolean/],
    ['gRPC backends', ing(path({}), { 'nginx.ingress.kubernetes.io/backend-protocol': 'GRPC' }), "f.yaml.metadata.annotations['nginx.ingress.kubernetes.io/backend-protocol']", /HTTP\/1\.1 only/],
    ['an unknown apiVersion', { ...ing(path({})), apiVersion: 'networking.k8s.io/v2' }, 'f.yaml.apiVersion', /use networking\.k8s\.io\/v1 or networking\.k8s\.io\/v1beta1 or extensions\/v1beta1/],
  ];
  it.each(cases)('refuses %s', async (_name, doc, where, message) => {
    const { problems } = await check(doc);
    expect(problems.map((p) => p.path)).toContain(where);
    expect(problems.find((p) => p.path === where)!.message).toMatch(message);
  });

  it('accepts what the API accepts: a wildcard host, no host, an empty ImplementationSpecific path, a port name, booleans as ParseBool reads them', async () => {
    const { problems } = await check(
      ing(
        { rules: [{ host: '*.example.com', http: { paths: [{ pathType: 'ImplementationSpecific', backend: { service: { name: 'web', port: { name: 'http' } } } }] } }, { http: { paths: [{ path: '/x', pathType: 'Exact', backend: { service: { name: 'web', port: { number: 8080 } } } }] } }] },
        { 'nginx.ingress.kubernetes.io/ssl-redirect': 'False', 'nginx.ingress.kubernetes.io/rewrite-target': '/$2', 'kubernetes.io/ingress.class': 'nginx' },
      ),
    );
    expect(problems).toEqual([]);
  });
});

describe('v1beta1 → v1', () => {
  it('maps backend/serviceName/servicePort and defaults pathType, for networking.k8s.io/v1beta1 and extensions/v1beta1', async () => {
    for (const apiVersion of ['networking.k8s.io/v1beta1', 'extensions/v1beta1']) {
      const { problems, object } = await check(ing({ backend: { serviceName: 'def', servicePort: 'http' }, rules: [{ host: 'a.example.com', http: { paths: [{ path: '/p', backend: { serviceName: 'web', servicePort: 80 } }] } }] }, undefined, apiVersion));
      expect(problems).toEqual([]);
      expect(object.apiVersion).toBe('networking.k8s.io/v1');
      expect(object.spec.backend).toBeUndefined();
      expect(object.spec.defaultBackend).toEqual({ service: { name: 'def', port: { name: 'http' } } });
      expect(object.spec.rules[0].http.paths[0]).toEqual({ path: '/p', pathType: 'ImplementationSpecific', backend: { service: { name: 'web', port: { number: 80 } } } });
    }
  });

  it('names the v1beta1 fields in its messages', async () => {
    const { problems } = await check(ing({ rules: [{ http: { paths: [{ path: '/', backend: { serviceName: 'web' } }] } }] }, undefined, 'networking.k8s.io/v1beta1'));
    expect(problems).toEqual([{ path: `${P}.backend.servicePort`, message: 'Required value: port name or number is required' }]);
  });
});

describe('IngressClass and Secret', () => {
  it('needs a domain-prefixed controller; is cluster-scoped', async () => {
    expect((await check({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'c' }, spec: {} })).problems).toEqual([{ path: 'f.yaml.spec.controller', message: 'Required value' }]);
    expect((await check({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'c' }, spec: { controller: 'nginx' } })).problems[0]!.message).toMatch(/domain-prefixed path/);
    expect((await check({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'c', namespace: 'x' }, spec: { controller: 'k8s.io/ingress-nginx' } })).problems[0]!.path).toBe('f.yaml.metadata.namespace');
  });

  it('stores only kubernetes.io/tls Secrets, with tls.crt and tls.key, base64; stringData is merged into data', async () => {
    expect((await check({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: 'eA==' } })).problems[0]!.message).toMatch(/kemu stores only Secrets of type kubernetes\.io\/tls/);
    const missing = await check({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 's' }, data: { 'tls.crt': 'eA==' } });
    expect(missing.problems).toEqual([{ path: 'f.yaml.data[tls.key]', message: 'Required value' }]);
    expect((await check({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 's' }, data: { 'tls.crt': 'not base64!', 'tls.key': 'eA==' } })).problems[0]!.path).toBe('f.yaml.data[tls.crt]');
    const merged = await check({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 's' }, data: { 'tls.crt': 'eA==' }, stringData: { 'tls.key': 'k' } });
    expect(merged.problems).toEqual([]);
    expect(merged.object.data).toEqual({ 'tls.crt': 'eA==', 'tls.key': 'aw==' });
    expect(merged.object.stringData).toBeUndefined();
  });
});
