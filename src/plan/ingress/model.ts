/**
 * Served Ingresses → ingress-nginx's servers, locations and upstreams, following controller.go
 * (createServers, getBackendServers) and location.go (updateServerLocations):
 *  - one server per rule host plus the catch-all `_`; each starts with a root location on the default
 *    upstream (404), or on the Ingress's `defaultBackend` (a rule-less Ingress's replaces the catch-all's);
 *  - Ingresses oldest first: for one host+path+pathType, and for a host's certificate, the oldest wins;
 *  - pathType ImplementationSpecific is Prefix (SetDefaultNGINXPathType); a Prefix `/foo` becomes
 *    `location /foo/` plus `location = /foo`; with `use-regex` or a `rewrite-target` anywhere on a host,
 *    every location of that host is a case-insensitive regex, longest path first;
 *  - a rule host gets a certificate from the first Ingress whose `tls` names it (or whose Secret's
 *    certificate covers it); a missing or unfit Secret gives the default fake certificate.
 */
import { X509Certificate } from 'node:crypto';
import type { ServiceEndpoints } from '../../cluster/endpoints.js';
import type { StoredIngress, StoredSecret } from '../../cluster/store.js';
import type { ServiceState } from '../../cluster/types.js';
import { parseIngressAnnotations } from '../../topology/ingress-annotations.js';
import { buildUpstream, upstreamName, type ServiceBackend } from './upstreams.js';
import { CATCH_ALL, DEFAULT_UPSTREAM, type CertificateFile, type IngressModel, type LocationModel, type ServerModel, type Upstream } from './types.js';

/** A server whose certificate is the controller's default (self-signed) one. */
export const DEFAULT_CERTIFICATE = '';

const NO_ANNOTATIONS = parseIngressAnnotations({});
const ns = (i: StoredIngress) => i.metadata.namespace ?? 'default';

export interface ModelInput {
  /** Served Ingresses, oldest first (classes.ts servedIngresses). */
  ingresses: StoredIngress[];
  services: ServiceState[];
  endpoints: ServiceEndpoints[];
  secrets: StoredSecret[];
}

export function buildIngressModel(input: ModelInput): IngressModel {
  const services = new Map(input.services.map((s) => [`${s.namespace}/${s.name}`, s]));
  const slices = new Map(input.endpoints.map((e) => [`${e.namespace}/${e.name}`, e]));
  const upstreams = new Map<string, Upstream>([[DEFAULT_UPSTREAM, { name: DEFAULT_UPSTREAM, servers: ['127.0.0.1:8181'] }]]);
  const anns = new Map(input.ingresses.map((i) => [i, parseIngressAnnotations(i.metadata.annotations)]));
  const upstreamOf = (ing: StoredIngress, svc: ServiceBackend): string => {
    const name = upstreamName(ns(ing), svc);
    if (!upstreams.has(name)) upstreams.set(name, buildUpstream(ns(ing), svc, anns.get(ing)!.serviceUpstream, services, slices));
    return name;
  };
  const ingressInfo = (ing: StoredIngress, svc: ServiceBackend | undefined, path: string) => ({
    namespace: ns(ing),
    name: ing.metadata.name,
    service: svc?.name ?? '',
    port: String(svc?.port?.number ?? svc?.port?.name ?? ''),
    path,
  });

  const servers = new Map<string, ServerModel>();
  servers.set(CATCH_ALL, { host: CATCH_ALL, certificate: DEFAULT_CERTIFICATE, regex: false, locations: [{ path: '/', pathType: 'Prefix', upstream: DEFAULT_UPSTREAM, annotations: NO_ANNOTATIONS, isDefBackend: true }] });
  for (const ing of input.ingresses) {
    const a = anns.get(ing)!;
    let un = DEFAULT_UPSTREAM;
    const def = ing.spec?.defaultBackend?.service;
    if (def) {
      un = upstreamOf(ing, def);
      const root = servers.get(CATCH_ALL)!.locations[0]!;
      if (root.isDefBackend && !(ing.spec?.rules ?? []).length) {
        // The catch-all takes the rule-less Ingress's backend and annotations, but not its redirects or rewrites.
        Object.assign(root, { upstream: un, isDefBackend: false, ingress: ingressInfo(ing, def, '/'), annotations: { ...a, rewriteTarget: undefined, appRoot: undefined } });
      }
    }
    for (const rule of ing.spec?.rules ?? []) {
      const host = rule.host || CATCH_ALL;
      if (servers.has(host)) continue;
      servers.set(host, { host, regex: false, ...(a.appRoot ? { appRoot: a.appRoot } : {}), locations: [{ path: '/', pathType: 'Prefix', upstream: un, annotations: a, isDefBackend: true, ...(def ? { ingress: ingressInfo(ing, def, '/') } : {}) }] });
    }
  }
  const certificates = new Map<string, CertificateFile>();
  for (const ing of input.ingresses) {
    for (const rule of ing.spec?.rules ?? []) {
      const server = servers.get(rule.host || CATCH_ALL)!;
      if (server.certificate !== undefined || !(ing.spec?.tls ?? []).length) continue;
      const cert = certificateFor(server.host, ing, input.secrets);
      server.certificate = cert?.file ?? DEFAULT_CERTIFICATE;
      if (cert) certificates.set(cert.file, cert);
    }
  }
  for (const ing of input.ingresses) {
    const a = anns.get(ing)!;
    for (const rule of ing.spec?.rules ?? []) {
      const server = servers.get(rule.host || CATCH_ALL) ?? servers.get(CATCH_ALL)!;
      for (const p of rule.http?.paths ?? []) {
        const svc = p.backend.service;
        if (!svc) continue;
        const path = p.path || '/';
        const pathType = p.pathType === 'Exact' ? 'Exact' : 'Prefix';
        const upstream = upstreamOf(ing, svc);
        const same = server.locations.find((l) => l.path === path && l.pathType === pathType);
        if (same && !same.isDefBackend) continue; // an older Ingress has this path
        const loc: LocationModel = { path, pathType, upstream, annotations: a, isDefBackend: false, ingress: ingressInfo(ing, svc, path) };
        if (same) Object.assign(same, loc);
        else server.locations.push(loc);
      }
    }
  }
  const list = [...servers.values()].map(finishServer).sort((x, y) => (x.host === CATCH_ALL ? -1 : y.host === CATCH_ALL ? 1 : x.host.localeCompare(y.host)));
  const used = new Set(list.flatMap((s) => s.locations.map((l) => l.upstream)));
  return {
    servers: list,
    upstreams: [...upstreams.values()].filter((u) => used.has(u.name)).sort((x, y) => x.name.localeCompare(y.name)),
    certificates: [...certificates.values()].sort((x, y) => x.file.localeCompare(y.file)),
    ingresses: input.ingresses.map((i) => `${ns(i)}/${i.metadata.name}`),
  };
}

const needsRewrite = (l: LocationModel) => l.annotations.rewriteTarget !== undefined && l.annotations.rewriteTarget !== '' && l.annotations.rewriteTarget !== l.path;

/** updateServerLocations, the regex switch, then ingress-nginx's order (path descending, then longest first). */
function finishServer(server: ServerModel): ServerModel {
  const exact = new Set(server.locations.filter((l) => l.pathType === 'Exact').map((l) => l.path));
  const out: LocationModel[] = [];
  for (const l of server.locations) {
    if (l.path === '/' || l.pathType !== 'Prefix' || needsRewrite(l) || l.annotations.useRegex) {
      out.push(l);
      continue;
    }
    const normalized = l.path.endsWith('/') ? l.path : `${l.path}/`;
    out.push({ ...l, path: normalized });
    if (!exact.has(l.path)) out.push({ ...l, pathType: 'Exact' });
  }
  out.sort((x, y) => (x.path > y.path ? -1 : x.path < y.path ? 1 : 0));
  out.sort((x, y) => y.path.length - x.path.length);
  return { ...server, locations: out, regex: server.locations.some((l) => needsRewrite(l) || l.annotations.useRegex) };
}

/** The Secret for `host` in this Ingress's tls (by name, or by a certificate that covers the host), if usable. */
function certificateFor(host: string, ing: StoredIngress, secrets: StoredSecret[]): CertificateFile | undefined {
  const tls = ing.spec?.tls ?? [];
  const load = (name: string | undefined) => {
    const s = name ? secrets.find((x) => x.metadata.name === name && (x.metadata.namespace ?? 'default') === ns(ing)) : undefined;
    return s ? pemOf(s) : undefined;
  };
  const named = tls.find((t) => (t.hosts ?? []).some((h) => h.toLowerCase() === host.toLowerCase()));
  const candidates = named ? [named] : tls.filter((t) => t.secretName);
  for (const t of candidates) {
    const pem = load(t.secretName);
    if (!pem || !covers(pem.cert, host)) continue;
    return { file: `${ns(ing)}-${t.secretName}.pem`, pem: `${pem.crt.trimEnd()}\n${pem.key.trimEnd()}\n` };
  }
  return undefined;
}

function pemOf(s: StoredSecret): { crt: string; key: string; cert: X509Certificate } | undefined {
  const crt = Buffer.from(s.data?.['tls.crt'] ?? '', 'base64').toString('utf8');
  const key = Buffer.from(s.data?.['tls.key'] ?? '', 'base64').toString('utf8');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) return undefined;
  try {
    return { crt, key, cert: new X509Certificate(crt) };
  } catch {
    return undefined;
  }
}

/** The certificate names the host (SAN, or CN), a wildcard host by the same wildcard. */
function covers(cert: X509Certificate, host: string): boolean {
  if (host === CATCH_ALL) return true;
  if (!host.startsWith('*.')) return cert.checkHost(host) !== undefined;
  const names = (cert.subjectAltName ?? '').split(/,\s*/).map((n) => n.replace(/^DNS:/, ''));
  return names.includes(host) || cert.checkHost(`kemu-wildcard-probe${host.slice(1)}`) !== undefined;
}

