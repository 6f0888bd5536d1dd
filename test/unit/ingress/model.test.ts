/**
 * The ingress-nginx model and nginx.conf: expectations from ingress-nginx's controller (createServers,
 * getBackendServers), location.go (updateServerLocations) and its docs (ingress-path-matching.md,
 * rewrite/README.md, multiple-ingress.md), as data; a golden nginx.conf that real nginx accepts (`nginx -t`).
 */
import { execaSync } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { applyManifests } from '../../../src/cluster/apply.js';
import type { ServiceEndpoints } from '../../../src/cluster/endpoints.js';
import { emptyStore, listObjects, type Store } from '../../../src/cluster/store.js';
import type { ServiceState } from '../../../src/cluster/types.js';
import { portKey } from '../../../src/cluster/endpoints.js';
import { servedIngresses } from '../../../src/plan/ingress/classes.js';
import { buildIngressModel } from '../../../src/plan/ingress/model.js';
import { renderNginxConf } from '../../../src/plan/ingress/render.js';
import { parseManifests } from '../../../src/topology/manifests.js';

const GOLDEN = join(import.meta.dirname, 'golden.nginx.conf');
const tmp = mkdtempSync(join(tmpdir(), 'kemu-ingress-unit-'));
execaSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=secure.example.com', '-addext', 'subjectAltName=DNS:secure.example.com', '-keyout', `${tmp}/k`, '-out', `${tmp}/c`]);

const svc = (name: string, ports: Array<[string, number]>, clusterIP: string): ServiceState => ({
  namespace: 'default', name, type: 'ClusterIP', clusterIP, ports: ports.map(([n, p]) => ({ name: n, protocol: 'TCP', port: p, targetPort: 8080 })),
  selector: { app: name }, externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], labels: {}, annotations: {}, publishNotReadyAddresses: false, origin: name,
});
const eps = (name: string, ips: Array<[string, boolean]>, port = 'http'): ServiceEndpoints => ({ namespace: 'default', name, endpoints: ips.map(([ip, ready]) => ({ ip, ready, serving: ready, terminating: false, ports: { [portKey(port, 'TCP')]: 8080 } })) });
const SERVICES = [svc('web', [['http', 80]], '10.96.0.10'), svc('api', [['http', 8080]], '10.96.0.11'), svc('idle', [['http', 80]], '10.96.0.12')];
const ENDPOINTS = [eps('web', [['10.244.0.5', true], ['10.244.1.7', true], ['10.244.1.8', false]]), eps('api', [['10.244.0.9', true]]), eps('idle', [])];

const backend = (name: string, port: number | string = 80) => ({ service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } });
const ingress = (name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}, cls: string | null = 'nginx') => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, annotations }, spec: { ...(cls ? { ingressClassName: cls } : {}), ...spec },
});
const rule = (host: string | undefined, paths: Array<[string, string, unknown]>) => ({ ...(host ? { host } : {}), http: { paths: paths.map(([path, pathType, b]) => ({ path, pathType, backend: b })) } });
const NGINX_CLASS = { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } };

/** Apply the docs one by one (one second apart, so creation order is age order) and model what nginx gets. */
async function storeOf(docs: unknown[]): Promise<Store> {
  const store = emptyStore();
  let t = Date.parse('2026-01-01T00:00:00Z');
  for (const d of docs) {
    const problems: never[] = [];
    const ms = await parseManifests(stringify(d), 'test', problems);
    expect(problems).toEqual([]);
    applyManifests(store, ms, 'kubectl', new Date((t += 1000)).toISOString());
  }
  return store;
}
const model = (store: Store) => buildIngressModel({ ingresses: servedIngresses(store), services: SERVICES, endpoints: ENDPOINTS, secrets: listObjects(store, 'Secret') });
const locs = (m: ReturnType<typeof model>, host: string) => m.servers.find((s) => s.host === host)!.locations.map((l) => `${l.pathType === 'Exact' ? '= ' : ''}${l.path} → ${l.upstream}`);

describe('servers and locations', () => {
  it('Prefix /foo becomes /foo/ plus = /foo; Exact stays exact; ImplementationSpecific is Prefix; the root keeps the default backend', async () => {
    const m = model(await storeOf([NGINX_CLASS, ingress('a', { rules: [rule('a.example.com', [['/foo', 'Prefix', backend('web')], ['/bar', 'Exact', backend('api', 8080)], ['/impl', 'ImplementationSpecific', backend('web')]])] })]));
    expect(locs(m, 'a.example.com')).toEqual(['/impl/ → default-web-80', '= /impl → default-web-80', '/foo/ → default-web-80', '= /foo → default-web-80', '= /bar → default-api-8080', '/ → upstream-default-backend']);
    expect(m.upstreams.find((u) => u.name === 'default-web-80')!.servers).toEqual(['10.244.0.5:8080', '10.244.1.7:8080']); // ready endpoints only
  });

  it('the oldest Ingress wins a host+path; different paths of one host merge; Exact and Prefix of one path coexist', async () => {
    const m = model(await storeOf([NGINX_CLASS, ingress('old', { rules: [rule('h.example.com', [['/p', 'Prefix', backend('web')]])] }), ingress('new', { rules: [rule('h.example.com', [['/p', 'Prefix', backend('api', 8080)], ['/p', 'Exact', backend('api', 8080)], ['/q', 'Prefix', backend('api', 8080)]])] })]));
    // Sorted as ingress-nginx sorts: path descending, then longest first.
    expect(locs(m, 'h.example.com')).toEqual(['/q/ → default-api-8080', '/p/ → default-web-80', '= /q → default-api-8080', '= /p → default-api-8080', '/ → upstream-default-backend']);
  });

  it('rewrite-target or use-regex turns every location of the host into a regex, longest first', async () => {
    const m = model(await storeOf([NGINX_CLASS, ingress('r', { rules: [rule('r.example.com', [['/something(/|$)(.*)', 'ImplementationSpecific', backend('web')], ['/a', 'Prefix', backend('api', 8080)]])] }, { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' })]));
    const s = m.servers.find((x) => x.host === 'r.example.com')!;
    expect(s.regex).toBe(true);
    expect(s.locations.map((l) => l.path)).toEqual(['/something(/|$)(.*)', '/a', '/']); // no /a/ split under regex
  });

  it('a rule-less Ingress\'s defaultBackend takes the catch-all; another Ingress\'s defaultBackend is the root of its hosts', async () => {
    const m = model(await storeOf([NGINX_CLASS, ingress('fallback', { defaultBackend: backend('api', 8080) }), ingress('d', { defaultBackend: backend('web'), rules: [rule('d.example.com', [['/x', 'Exact', backend('api', 8080)]])] })]));
    expect(locs(m, '_')).toEqual(['/ → default-api-8080']);
    expect(locs(m, 'd.example.com')).toEqual(['= /x → default-api-8080', '/ → default-web-80']);
  });

  it('serves only its classes: ingressClassName of an ingress-nginx IngressClass, or the nginx annotation', async () => {
    const store = await storeOf([
      NGINX_CLASS,
      { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'other' }, spec: { controller: 'example.com/x' } },
      ingress('by-name', { defaultBackend: backend('web') }),
      ingress('other-class', { defaultBackend: backend('web') }, {}, 'other'),
      ingress('missing-class', { defaultBackend: backend('web') }, {}, 'gone'),
      ingress('by-annotation', { defaultBackend: backend('web') }, { 'kubernetes.io/ingress.class': 'nginx' }, null),
      ingress('other-annotation', { defaultBackend: backend('web') }, { 'kubernetes.io/ingress.class': 'traefik' }, null),
      ingress('none', { defaultBackend: backend('web') }, {}, null),
    ]);
    expect(servedIngresses(store).map((i) => i.metadata.name)).toEqual(['by-name', 'by-annotation']);
  });

  it('the default IngressClass is set on create, kept when a later apply leaves the field out', async () => {
    const def = { ...NGINX_CLASS, metadata: { name: 'nginx', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } };
    const store = await storeOf([def, ingress('i', { defaultBackend: backend('web') }, {}, null), ingress('i', { defaultBackend: backend('api', 8080) }, {}, null)]);
    expect(listObjects(store, 'Ingress')[0]!.spec?.ingressClassName).toBe('nginx');
    expect(servedIngresses(store)).toHaveLength(1);
  });

  it('upstreams: 503 (empty) without ready endpoints or without the Service; service-upstream is the ClusterIP', async () => {
    const m = model(await storeOf([NGINX_CLASS, ingress('u', { rules: [rule('u.example.com', [['/idle', 'Prefix', backend('idle')], ['/gone', 'Prefix', backend('gone')], ['/port', 'Prefix', backend('web', 81)]])] }), ingress('su', { rules: [rule('su.example.com', [['/', 'Prefix', backend('api', 'http')]])] }, { 'nginx.ingress.kubernetes.io/service-upstream': 'true' })]));
    const servers = Object.fromEntries(m.upstreams.map((u) => [u.name, u.servers]));
    expect(servers).toMatchObject({ 'default-idle-80': [], 'default-gone-80': [], 'default-web-81': [], 'default-api-http': ['10.96.0.11:8080'] });
  });

  it('takes the Secret\'s certificate for a tls host it covers, the default certificate otherwise', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'tls' }, data: { 'tls.crt': readFileSync(`${tmp}/c`).toString('base64'), 'tls.key': readFileSync(`${tmp}/k`).toString('base64') } };
    const m = model(await storeOf([NGINX_CLASS, secret, ingress('t', { tls: [{ hosts: ['secure.example.com', 'other.example.com'], secretName: 'tls' }, { hosts: ['nosecret.example.com'], secretName: 'absent' }], rules: ['secure.example.com', 'other.example.com', 'nosecret.example.com', 'plain.example.com'].map((h) => rule(h, [['/', 'Prefix', backend('web')]])) })]));
    const cert = (h: string) => m.servers.find((s) => s.host === h)!.certificate;
    expect([cert('secure.example.com'), cert('other.example.com'), cert('nosecret.example.com'), cert('plain.example.com')]).toEqual(['default-tls.pem', '', '', '']);
    expect(m.certificates.map((c) => c.file)).toEqual(['default-tls.pem']);
  });
});

describe('nginx.conf', () => {
  const golden = async () => {
    const m = model(await storeOf([
      NGINX_CLASS,
      ingress('web', { rules: [rule('web.example.com', [['/', 'Prefix', backend('web')], ['/exact', 'Exact', backend('api', 8080)]]), rule('*.wild.example.com', [['/', 'Prefix', backend('api', 8080)]])] }),
      ingress('rw', { rules: [rule('rw.example.com', [['/v2(/|$)(.*)', 'ImplementationSpecific', backend('web')]])] }, { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2', 'nginx.ingress.kubernetes.io/x-forwarded-prefix': '/v2' }),
      ingress('forced', { rules: [rule('f.example.com', [['/', 'Prefix', backend('idle')]])] }, { 'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true', 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS', 'nginx.ingress.kubernetes.io/upstream-vhost': 'inner.local', 'nginx.ingress.kubernetes.io/app-root': '/app' }),
      ingress('tls', { tls: [{ hosts: ['t.example.com'] }], rules: [rule('t.example.com', [['/', 'Prefix', backend('web')]])] }),
    ]));
    return renderNginxConf(m, { pidFile: `${tmp}/run/nginx.pid`, tempDir: `${tmp}/run/temp`, tlsDir: `${tmp}/tls`, defaultCertificate: `${tmp}/default.pem`, accessLog: `${tmp}/run/access.log` });
  };

  it('matches the golden file (KEMU_UPDATE_GOLDEN=1 rewrites it)', async () => {
    const text = (await golden()).replaceAll(tmp, '/TMP');
    if (process.env.KEMU_UPDATE_GOLDEN) writeFileSync(GOLDEN, text);
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('is accepted by the real nginx (nginx -t)', async () => {
    mkdirSync(`${tmp}/run/temp`, { recursive: true });
    writeFileSync(`${tmp}/default.pem`, readFileSync(`${tmp}/c`, 'utf8') + readFileSync(`${tmp}/k`, 'utf8'));
    writeFileSync(`${tmp}/nginx.conf`, await golden());
    const r = execaSync('nginx', ['-t', '-e', 'stderr', '-p', `${tmp}/`, '-c', `${tmp}/nginx.conf`], { reject: false });
    expect(r.stderr).toMatch(/syntax is ok/);
    expect(r.stderr).not.toMatch(/\[emerg\]/);
  });

  it('renders the ingress-nginx location shape: headers, 503 for an empty upstream, redirects, rewrite, one-label wildcard', async () => {
    const text = await golden();
    // buildServerName's regex, quoted as Go's %q quotes it (nginx reads `\\` in a quoted string as `\`).
    expect(text).toContain('server_name "~^(?<subdomain>[\\\\w-]+)\\\\.wild\\\\.example\\\\.com$";');
    expect(text).toContain('rewrite "(?i)/v2(/|$)(.*)" /$2 break;');
    expect(text).toMatch(/location ~\* "\^\/v2\(\/\|\$\)\(\.\*\)" \{/);
    expect(text).toContain('proxy_set_header X-Forwarded-Prefix "/v2";');
    expect(text).toContain('proxy_set_header Host "inner.local";');
    expect(text).toContain('return 302 $scheme://$http_host/app;');
    const forced = text.slice(text.indexOf('## start server f.example.com'), text.indexOf('## end server f.example.com'));
    expect(forced).toContain('return 308 https://$host$kemu_redirect_uri;');
    expect(forced).toContain('return 503;');
    const tls = text.slice(text.indexOf('## start server t.example.com'), text.indexOf('## end server t.example.com'));
    expect(tls).toContain('return 308 https://$host$kemu_redirect_uri;'); // ssl-redirect by default with tls
    expect(tls).toContain('add_header Strict-Transport-Security $kemu_hsts always;');
    const web = text.slice(text.indexOf('## start server web.example.com'), text.indexOf('## end server web.example.com'));
    expect(web).not.toContain('return 308');
    for (const h of ['X-Request-ID $req_id', 'X-Real-IP $remote_addr', 'X-Forwarded-For $remote_addr', 'X-Forwarded-Host $best_http_host', 'X-Forwarded-Port $pass_port', 'X-Forwarded-Proto $pass_access_scheme', 'X-Scheme $pass_access_scheme', 'Proxy ""'])
      expect(web).toContain(`proxy_set_header ${h};`);
    expect(text).toMatch(/upstream default-web-80 \{\n {8}server 10\.244\.0\.5:8080 max_fails=0;\n {8}server 10\.244\.1\.7:8080 max_fails=0;\n {8}keepalive 320;/);
  });
});
