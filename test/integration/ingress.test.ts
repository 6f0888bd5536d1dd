/**
 * Ingress the ingress-nginx way, with a real nginx in the controller pod and a real curl from an
 * outside host (--resolve to the controller's LoadBalancer IP): host and path routing for every
 * pathType and a wildcard host, the 404 default backend, 503 without endpoints, the headers the backend
 * receives (client IP kept by externalTrafficPolicy Local), TLS from a Secret, ssl-redirect,
 * rewrite-target, backend-protocol, classes, a v1beta1 object, reloads under a request loop while
 * the backend scales, nginx restarted by the supervisor, bad input refused, nothing left after down.
 */
import { execa, execaSync } from 'execa';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { NOTHING_LEFT, kemu, leftovers, mustUp, pods, rootNetwork, writeTopology } from '../helpers/kemu.js';

const LAB = 'kt-ing-main';
const HOST_NS = `kemu-${LAB}.host.outside`;
const tmp = mkdtempSync(join(tmpdir(), `${LAB}-tls-`));
// The test's own self-signed certificate (the Secret's), made before the lab.
execaSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=secure.example.com', '-addext', 'subjectAltName=DNS:secure.example.com,DNS:plain.example.com', '-keyout', `${tmp}/tls.key`, '-out', `${tmp}/tls.crt`]);
const b64 = (f: string) => readFileSync(`${tmp}/${f}`).toString('base64');
const deploy = (name: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: 'agnhost', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 } }] } } },
});
const service = (name: string, selector = name) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: selector }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });
const backend = (name: string, port: number | string = 80) => ({ service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } });
const ingress = (name: string, spec: Record<string, unknown>, annotations?: Record<string, string>) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: { ingressClassName: 'nginx', ...spec },
});
const rule = (host: string, paths: Array<[string, string, unknown]>) => ({ host, http: { paths: paths.map(([path, pathType, b]) => ({ path, pathType, backend: b })) } });

const topology = {
  apiVersion: 'kemu.dev/v1alpha1',
  kind: 'Topology',
  metadata: { name: LAB },
  spec: {
    network: { underlay: { subnet: '192.168.72.0/24' }, loadBalancerPool: '172.31.72.0/28' },
    nodes: [{ name: 'node-1' }, { name: 'node-2' }],
    externalHosts: [{ name: 'outside' }],
    ingress: { enabled: true },
    workloads: [
      deploy('web', 2),
      service('web'),
      deploy('api', 1),
      service('api'),
      service('nobody', 'nobody'),
      ingress('routes', {
        rules: [
          rule('routes.example.com', [
            ['/hostname', 'Exact', backend('web')],
            ['/echo', 'Prefix', backend('api', 'http')],
            ['/clientip', 'ImplementationSpecific', backend('api')],
          ]),
          rule('*.wild.example.com', [['/', 'Prefix', backend('api')]]),
          rule('down.example.com', [['/', 'Prefix', backend('nobody')], ['/missing', 'Prefix', backend('no-such-service')]]),
        ],
      }),
      ingress('rewrite', { rules: [rule('rewrite.example.com', [['/v2(/|$)(.*)', 'ImplementationSpecific', backend('web')]])] }, { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' }),
      // backend-protocol HTTPS: nginx proxies over TLS to the controller's own 443 (a real TLS server), asking for inner.example.com.
      {
        ...ingress('tls-proto', { rules: [rule('https-backend.example.com', [['/', 'Prefix', backend('ingress-nginx-controller', 'https')]])] }, { 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS', 'nginx.ingress.kubernetes.io/upstream-vhost': 'inner.example.com' }),
        metadata: { name: 'tls-proto', namespace: 'ingress-nginx', annotations: { 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS', 'nginx.ingress.kubernetes.io/upstream-vhost': 'inner.example.com' } },
      },
      ingress('inner', { rules: [rule('inner.example.com', [['/', 'Prefix', backend('web')]])] }),
      { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'secure-tls' }, data: { 'tls.crt': b64('tls.crt'), 'tls.key': b64('tls.key') } },
      ingress('secure', { tls: [{ hosts: ['secure.example.com'], secretName: 'secure-tls' }], rules: [rule('secure.example.com', [['/', 'Prefix', backend('web')]])] }),
      ingress('plain', { tls: [{ hosts: ['plain.example.com'], secretName: 'secure-tls' }], rules: [rule('plain.example.com', [['/', 'Prefix', backend('web')]])] }, { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' }),
      // A default class: an Ingress created without one gets it (admission), in the same batch.
      { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx-default', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }, spec: { controller: 'k8s.io/ingress-nginx' } },
      { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'defaulted' }, spec: { rules: [rule('defaulted.example.com', [['/', 'Prefix', backend('web')]])] } },
      { apiVersion: 'networking.k8s.io/v1beta1', kind: 'Ingress', metadata: { name: 'legacy', annotations: { 'kubernetes.io/ingress.class': 'nginx' } }, spec: { rules: [{ host: 'legacy.example.com', http: { paths: [{ path: '/', backend: { serviceName: 'api', servicePort: 80 } }] } }] } },
      ingress('forced', { rules: [rule('forced.example.com', [['/', 'Prefix', backend('web')]])] }, { 'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true' }),
      // No class at all: created before the default class exists? No — in one batch classes come first, so this one is
      // defaulted too; it names a class of another controller instead.
      { ...ingress('unclassed', {}), spec: { ingressClassName: 'other', rules: [rule('unclassed.example.com', [['/', 'Prefix', backend('web')]])] } },
      { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'other' }, spec: { controller: 'example.com/other-controller' } },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'annotated', annotations: { 'kubernetes.io/ingress.class': 'nginx' } },
        spec: { rules: [rule('annotated.example.com', [['/', 'Prefix', backend('web')]])] },
      },
    ],
  },
};
const file = writeTopology(LAB, topology);

let lb: string;
let hostIP: string;
let controllerIP: string;

/** curl from the outside host to the controller's LoadBalancer IP, by host name (--resolve, as a DNS entry would). */
async function curl(url: string, ...extra: string[]) {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const r = await execa('ip', ['netns', 'exec', HOST_NS, 'curl', '-sS', '-m', '5', '--resolve', `${u.hostname}:${port}:${lb}`, ...extra, url], { reject: false });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}
/** Status code and body. */
async function get(url: string, ...extra: string[]) {
  const r = await curl(url, '-w', '\n%{http_code}', ...extra);
  const i = r.out.lastIndexOf('\n');
  return { status: Number(r.out.slice(i + 1)), body: r.out.slice(0, i), err: r.err };
}
const headersOf = (body: string) => Object.fromEntries(body.split('\n').slice(1).filter(Boolean).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
const NGINX_404 = /<center><h1>404 Not Found<\/h1><\/center>/;

async function apply(docs: unknown[]) {
  const path = writeTopology(LAB, undefined, docs.map((d) => stringify(d)).join('---\n'));
  const r = await kemu('apply', '--lab', LAB, '-q', '-f', path);
  if (r.exitCode !== 0) throw new Error(`kemu apply failed (${r.exitCode}):\n${r.stderr}\n${r.stdout}`);
  return r;
}
const controllerLog = () => {
  const dir = `/run/kemu/${LAB}/logs`;
  return readdirSync(dir).filter((f) => f.startsWith('pod_ingress-nginx_')).map((f) => readFileSync(`${dir}/${f}`, 'utf8')).join('');
};
const running = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const master = async () => Number((await execa('pgrep', ['-f', `nginx: master process .*/run/kemu/${LAB}/`])).stdout.trim().split('\n')[0]);
const until = async (what: string, ms: number, check: () => Promise<boolean>) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

let rootBefore: Awaited<ReturnType<typeof rootNetwork>>;
beforeAll(async () => {
  rootBefore = await rootNetwork();
  await mustUp(file);
  const svc = JSON.parse((await kemu('get', 'svc', 'ingress-nginx-controller', '-n', 'ingress-nginx', '-o', 'json', '--lab', LAB)).stdout);
  lb = svc.status.loadBalancer.ingress[0].ip;
  hostIP = (await execa('ip', ['-n', HOST_NS, '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout.match(/inet (\S+)\//)![1]!;
  controllerIP = (await pods(LAB)).find((p) => p.namespace === 'ingress-nginx')!.ip;
});
afterAll(async () => {
  await kemu('down', '-q', LAB);
});

describe('routing by host and path', () => {
  it('Exact matches only the exact path; Prefix is element-wise; ImplementationSpecific is Prefix', async () => {
    expect((await get('http://routes.example.com/hostname')).body).toMatch(/^web-/);
    const slash = await get('http://routes.example.com/hostname/');
    expect(slash.status).toBe(404);
    expect(slash.body).toMatch(NGINX_404); // the default backend, not the pod
    expect((await get('http://routes.example.com/echo?msg=prefix')).body).toBe('prefix');
    const below = await get('http://routes.example.com/echo/deeper');
    expect([below.status, below.body]).toEqual([404, '404 page not found']); // reached the pod: under the prefix
    expect((await get('http://routes.example.com/echoes')).body).toMatch(NGINX_404); // not an element match
    // The backend sees the controller pod: nginx proxies to pod IPs, not through the ClusterIP.
    expect((await get('http://routes.example.com/clientip')).body).toMatch(new RegExp(`^${controllerIP.replace(/\./g, '\\.')}:`));
  });

  it('a wildcard host matches exactly one label', async () => {
    expect((await get('http://a.wild.example.com/hostname')).body).toMatch(/^api-/);
    expect((await get('http://a.b.wild.example.com/hostname')).body).toMatch(NGINX_404);
    expect((await get('http://wild.example.com/hostname')).body).toMatch(NGINX_404);
  });

  it('answers 404 from the default backend when nothing matches, 503 when the Service has no endpoint or does not exist', async () => {
    expect((await get('http://nowhere.example.com/')).status).toBe(404);
    expect((await get('http://down.example.com/')).status).toBe(503);
    expect((await get('http://down.example.com/missing')).status).toBe(503);
  });

  it('rewrite-target with capture groups; backend-protocol HTTPS with upstream-vhost', async () => {
    expect((await get('http://rewrite.example.com/v2/headers')).body.split('\n')[0]).toBe('GET /headers HTTP/1.1');
    expect((await get('http://rewrite.example.com/v2')).body).toMatch(/^NOW: /); // `/v2` → `/`
    // backend-protocol HTTPS and upstream-vhost: the inner hop was TLS to the controller pod, for inner.example.com.
    expect(headersOf((await get('http://https-backend.example.com/headers')).body)).toMatchObject({ host: 'inner.example.com', 'x-forwarded-proto': 'https', 'x-forwarded-port': '443', 'x-real-ip': controllerIP });
  });
});

describe('what the backend receives', () => {
  it('X-Forwarded-*, X-Real-IP = the outside host (externalTrafficPolicy Local), a request id, Host kept', async () => {
    const r = await get('http://rewrite.example.com/v2/headers', '-H', 'X-Forwarded-For: 6.6.6.6');
    const seen = headersOf(r.body);
    expect(seen).toMatchObject({
      host: 'rewrite.example.com',
      'x-real-ip': hostIP,
      'x-forwarded-for': hostIP, // replaced, not appended (use-forwarded-headers false)
      'x-original-forwarded-for': '6.6.6.6',
      'x-forwarded-host': 'rewrite.example.com',
      'x-forwarded-port': '80',
      'x-forwarded-proto': 'http',
      'x-forwarded-scheme': 'http',
      'x-scheme': 'http',
    });
    expect(seen['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(headersOf((await get('http://rewrite.example.com/v2/headers', '-H', 'X-Request-ID: given-id')).body)['x-request-id']).toBe('given-id');
  });
});

describe('TLS from a kubernetes.io/tls Secret', () => {
  it('serves HTTPS with the Secret\'s certificate, redirects HTTP with 308, sends HSTS; ssl-redirect "false" and force-ssl-redirect', async () => {
    const https = await get('https://secure.example.com/hostname', '--cacert', `${tmp}/tls.crt`, '-D', '-');
    expect(https.err).toBe('');
    expect(https.status).toBe(200);
    expect(https.body).toMatch(/strict-transport-security: max-age=31536000; includeSubDomains/i);
    expect(https.body).toMatch(/\r\n\r\nweb-/);
    const redirect = await get('http://secure.example.com/hostname', '-D', '-');
    expect(redirect.status).toBe(308);
    expect(redirect.body).toMatch(/location: https:\/\/secure\.example\.com\/hostname\r\n/i);
    expect((await get('http://plain.example.com/hostname')).body).toMatch(/^web-/); // ssl-redirect: "false"
    const https2 = await get('https://plain.example.com/headers', '--cacert', `${tmp}/tls.crt`);
    expect(headersOf(https2.body)).toMatchObject({ 'x-forwarded-proto': 'https', 'x-forwarded-port': '443' });
    expect((await get('http://forced.example.com/', '-D', '-')).status).toBe(308); // force-ssl-redirect without tls
    // The key is root's alone on disk.
    const pem = `/run/kemu/${LAB}/ingress/tls/default-secure-tls.pem`;
    expect((await execa('stat', ['-c', '%a %U', pem])).stdout).toBe('600 root');
  });
});

describe('classes, v1beta1, status', () => {
  it('serves ingressClassName nginx and the legacy annotation, not another controller\'s class; a default IngressClass fills new Ingresses', async () => {
    expect((await get('http://annotated.example.com/hostname')).body).toMatch(/^web-/);
    expect((await get('http://unclassed.example.com/hostname')).body).toMatch(NGINX_404);
    expect((await kemu('describe', 'ingress', 'unclassed', '--lab', LAB)).stdout).toMatch(/Served by ingress-nginx:\s+no: IngressClass 'other' belongs to controller example\.com\/other-controller/);
    const got = JSON.parse((await kemu('get', 'ingress', 'defaulted', '-o', 'json', '--lab', LAB)).stdout);
    expect(got.spec.ingressClassName).toBe('nginx-default');
    expect((await get('http://defaulted.example.com/hostname')).body).toMatch(/^web-/);
  });

  it('converts a networking.k8s.io/v1beta1 Ingress (serviceName/servicePort, no pathType) to v1', async () => {
    const got = JSON.parse((await kemu('get', 'ingress', 'legacy', '-o', 'json', '--lab', LAB)).stdout);
    expect(got.apiVersion).toBe('networking.k8s.io/v1');
    expect(got.spec.rules[0].http.paths[0]).toEqual({ path: '/', pathType: 'ImplementationSpecific', backend: { service: { name: 'api', port: { number: 80 } } } });
    expect((await get('http://legacy.example.com/hostname')).body).toMatch(/^api-/);
  });

  it('writes the controller Service\'s address into status.loadBalancer; get ingress prints it', async () => {
    const got = JSON.parse((await kemu('get', 'ingress', 'routes', '-o', 'json', '--lab', LAB)).stdout);
    expect(got.status.loadBalancer.ingress).toEqual([{ ip: lb }]);
    const table = (await kemu('get', 'ingress', '--lab', LAB)).stdout;
    expect(table.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE$/);
    expect(table).toMatch(new RegExp(`routes\\s+nginx\\s+routes\\.example\\.com,\\*\\.wild\\.example\\.com,down\\.example\\.com\\s+${lb.replace(/\./g, '\\.')}\\s+80\\s`));
    const described = (await kemu('describe', 'ingress', 'routes', '--lab', LAB)).stdout;
    expect(described).toMatch(/Served by ingress-nginx:\s+yes/);
    expect(described).toMatch(/\/hostname\s+Exact\s+web:80 \(10\.244\.\d+\.\d+:8080,10\.244\.\d+\.\d+:8080\)/);
    expect(described).toMatch(/nobody:80 \(<no ready endpoints: 503>\)/);
  });

  it('takes a rule-less Ingress\'s defaultBackend for requests no rule matches', async () => {
    await apply([{ ...ingress('fallback', { defaultBackend: backend('web') }) }]);
    expect((await get('http://nowhere.example.com/hostname')).body).toMatch(/^web-/);
  });
});

describe('reloads and restarts', () => {
  it('follows the backend scaling up and down under a request loop without a failed request', async () => {
    const loop = execa('ip', ['netns', 'exec', HOST_NS, 'sh', '-c', `end=$(($(date +%s)+25)); while [ $(date +%s) -lt $end ] && [ ! -e ${tmp}/stop ]; do curl -s -o /dev/null -m 5 -w '%{http_code}\\n' --resolve routes.example.com:80:${lb} http://routes.example.com/hostname; done`], { reject: false });
    await new Promise((r) => setTimeout(r, 500));
    for (const n of [4, 1]) {
      const r = await kemu('scale', 'deployment', 'web', '--replicas', String(n), '--lab', LAB, '-q');
      expect(r.exitCode, r.stderr).toBe(0);
    }
    await execa('touch', [`${tmp}/stop`]);
    const codes = String((await loop).stdout).trim().split('\n');
    expect(codes.length).toBeGreaterThan(20);
    expect(codes.filter((c) => c !== '200')).toEqual([]);
    const conf = readFileSync(readdirSync(`/run/kemu/${LAB}/ingress`).filter((d) => d.startsWith('ingress-nginx_')).map((d) => `/run/kemu/${LAB}/ingress/${d}/nginx.conf`)[0]!, 'utf8');
    expect(conf.match(/upstream default-web-80 \{[^}]*\}/)![0].match(/server 10\.244\./g)).toHaveLength(1);
    expect(controllerLog()).not.toMatch(/\[(emerg|alert|crit)\]/);
  });

  it('restarts nginx after it was killed (master and its workers), and serves again', async () => {
    const pid = await master();
    process.kill(pid, 'SIGKILL');
    await until('nginx restarted by the supervisor', 30_000, async () => (await master().catch(() => 0)) > 0 && (await master()) !== pid && (await get('http://routes.example.com/hostname')).body.startsWith('web-'));
    const described = (await kemu('describe', 'pod', (await pods(LAB)).find((p) => p.namespace === 'ingress-nginx')!.name, '-n', 'ingress-nginx', '--lab', LAB)).stdout;
    expect(described).toMatch(/Restart Count:\s+1/);
  });
});

describe('bad input', () => {
  it('refuses an invalid Ingress with the field path and the fix, and changes nothing', async () => {
    const before = readFileSync(`/var/lib/kemu/${LAB}/state.json`);
    const path = writeTopology(LAB, undefined, stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'bad' }, spec: { rules: [{ host: '10.0.0.1', http: { paths: [{ path: 'nope', pathType: 'Prefix', backend: { service: { name: 'web' } } }, { path: '/x', backend: backend('web') }] } }] } }));
    const r = await kemu('apply', '--lab', LAB, '-f', path);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/spec\.rules\[0\]\.host: '10\.0\.0\.1': must be a DNS name, not an IP address/);
    expect(r.stderr).toMatch(/spec\.rules\[0\]\.http\.paths\[0\]\.path: 'nope': must be an absolute path/);
    expect(r.stderr).toMatch(/spec\.rules\[0\]\.http\.paths\[0\]\.backend\.service\.port: Required value: port name or number is required/);
    expect(r.stderr).toMatch(/spec\.rules\[0\]\.http\.paths\[1\]\.pathType: Required value/);
    const unknown = writeTopology(LAB, undefined, stringify(ingress('odd', { rules: [rule('odd.example.com', [['/', 'Prefix', backend('web')]])] }, { 'nginx.ingress.kubernetes.io/configuration-snippet': 'return 200;' })));
    const u = await kemu('apply', '--lab', LAB, '-f', unknown);
    expect(u.exitCode).toBe(2);
    expect(u.stderr).toMatch(/configuration-snippet'\]: kemu does not emulate this ingress-nginx annotation; emulated: rewrite-target/);
    expect(readFileSync(`/var/lib/kemu/${LAB}/state.json`).equals(before)).toBe(true);
  });
});

describe('down', () => {
  it('leaves nothing behind: no namespace, no nginx, no file; the host network unchanged', async () => {
    const workers = (await execa('pgrep', ['-P', String(await master())])).stdout.split('\n').map(Number);
    expect(workers.length).toBeGreaterThan(0);
    expect((await kemu('down', '-q', LAB)).exitCode).toBe(0);
    expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
    expect((await execa('pgrep', ['-f', `/run/kemu/${LAB}/`], { reject: false })).stdout).toBe('');
    // Gone, or a zombie waiting for init to reap it: nothing that runs.
    expect(workers.filter(running)).toEqual([]);
    expect(await rootNetwork()).toEqual(rootBefore);
  });
});
