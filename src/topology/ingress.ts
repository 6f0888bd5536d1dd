/**
 * Ingress, IngressClass and (TLS) Secret manifests, checked as the API server checks them
 * (pkg/apis/networking/validation, core validation for Secrets), with field paths. Ingresses of
 * `networking.k8s.io/v1beta1` and `extensions/v1beta1` are converted to v1 first, as the API server
 * stores them: `backend` → `defaultBackend`, `serviceName`/`servicePort` → `service.name`/`service.port`,
 * a missing `pathType` → ImplementationSpecific. Messages of converted objects name the v1beta1 fields.
 */
import type { V1Ingress, V1IngressBackend, V1IngressClass, V1Secret } from '@kubernetes/client-node';
import type { InputProblem } from './errors.js';
import { checkIngressAnnotations } from './ingress-annotations.js';

export const INGRESS_KINDS = ['Ingress', 'IngressClass', 'Secret'] as const;
export type IngressKind = (typeof INGRESS_KINDS)[number];
export const INGRESS_API_VERSIONS: Record<IngressKind, string[]> = {
  Ingress: ['networking.k8s.io/v1', 'networking.k8s.io/v1beta1', 'extensions/v1beta1'],
  IngressClass: ['networking.k8s.io/v1', 'networking.k8s.io/v1beta1'],
  Secret: ['v1'],
};
export const TLS_SECRET = 'kubernetes.io/tls';
export const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'] as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

type Add = (path: string, message: string) => void;

export const isSubdomain = (s: string) => s.length <= 253 && DNS_SUBDOMAIN.test(s);
/** `*.foo.com`: one leading `*` label, the rest a DNS-1123 subdomain. */
export const isWildcardSubdomain = (s: string) => s.startsWith('*.') && isSubdomain(s.slice(2));
const isIPv4ish = (s: string) => /^\d+(\.\d+){3}$/.test(s) || s.includes(':');

/** A checked manifest of one of these kinds, v1 for Ingresses; undefined when it had problems. */
export function checkIngressKind(kind: IngressKind, doc: Record<string, unknown>, where: string, problems: InputProblem[]): V1Ingress | V1IngressClass | V1Secret | undefined {
  const before = problems.length;
  const add: Add = (path, message) => problems.push({ path: `${where}.${path}`, message });
  const apiVersion = doc.apiVersion as string | undefined;
  if (!INGRESS_API_VERSIONS[kind].includes(apiVersion ?? '')) {
    add('apiVersion', `apiVersion '${apiVersion ?? ''}' is not known for ${kind}; use ${INGRESS_API_VERSIONS[kind].join(' or ')}`);
    return undefined;
  }
  if (kind === 'Ingress') {
    const legacy = apiVersion !== 'networking.k8s.io/v1';
    const ing = legacy ? convertIngress(doc as Record<string, any>) : (doc as V1Ingress);
    checkIngress(ing, add, legacy);
    return problems.length === before ? ing : undefined;
  }
  if (kind === 'IngressClass') {
    const ic = doc as V1IngressClass;
    checkIngressClass(ic, add);
    return problems.length === before ? { ...ic, apiVersion: 'networking.k8s.io/v1' } : undefined;
  }
  const secret = normaliseSecret(doc as V1Secret & { stringData?: Record<string, string> }, add);
  return problems.length === before ? secret : undefined;
}

/** v1beta1 → v1, as the API server converts (pkg/apis/networking/v1beta1 conversion). */
export function convertIngress(doc: Record<string, any>): V1Ingress {
  const backend = (b: any): V1IngressBackend | undefined => {
    if (!b || typeof b !== 'object') return b;
    const { serviceName, servicePort, resource } = b;
    if (resource) return { resource };
    if (serviceName === undefined && servicePort === undefined) return {};
    // IntOrString: a number is a port number, a string a port name (even "80", which then fails as a name).
    const port = typeof servicePort === 'number' ? { number: servicePort } : servicePort !== undefined ? { name: String(servicePort) } : {};
    return { service: { name: serviceName ?? '', port } };
  };
  const spec = doc.spec ?? {};
  const { backend: defaultBackend, ...rest } = spec;
  return {
    ...doc,
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    spec: {
      ...rest,
      ...(defaultBackend !== undefined ? { defaultBackend: backend(defaultBackend) } : {}),
      ...(Array.isArray(spec.rules)
        ? {
            rules: spec.rules.map((r: any) => ({
              ...r,
              ...(r?.http ? { http: { ...r.http, paths: Array.isArray(r.http.paths) ? r.http.paths.map((p: any) => ({ ...p, pathType: p?.pathType ?? 'ImplementationSpecific', backend: backend(p?.backend) })) : r.http.paths } } : {}),
            })),
          }
        : {}),
    },
  } as V1Ingress;
}

function checkIngress(ing: V1Ingress, add: Add, legacy: boolean): void {
  const spec = ing.spec;
  const defaultPath = legacy ? 'spec.backend' : 'spec.defaultBackend';
  if (!spec || ((spec.rules ?? []).length === 0 && !spec.defaultBackend)) {
    add('spec', `either \`${legacy ? 'backend' : 'defaultBackend'}\` or \`rules\` must be specified`);
    return;
  }
  if (spec.defaultBackend) checkBackend(spec.defaultBackend, defaultPath, add, legacy);
  (spec.rules ?? []).forEach((rule, i) => {
    const rp = `spec.rules[${i}]`;
    const host = rule.host ?? '';
    if (host) {
      if (isIPv4ish(host)) add(`${rp}.host`, `'${host}': must be a DNS name, not an IP address`);
      else if (host.includes('*') ? !isWildcardSubdomain(host) : !isSubdomain(host))
        add(`${rp}.host`, `'${host}': must be a DNS-1123 subdomain${host.includes('*') ? " with one leading wildcard label, such as '*.example.com'" : " (lower-case letters, digits, '-' and '.'), such as 'example.com'"}`);
    }
    if (!rule.http) return;
    if (!rule.http.paths?.length) add(`${rp}.http.paths`, 'Required value');
    (rule.http.paths ?? []).forEach((p, j) => {
      const pp = `${rp}.http.paths[${j}]`;
      if (!p.pathType) return add(`${pp}.pathType`, 'Required value: pathType must be specified (Exact, Prefix or ImplementationSpecific)');
      const path = p.path ?? '';
      if (p.pathType === 'Exact' || p.pathType === 'Prefix') {
        if (!path.startsWith('/')) add(`${pp}.path`, `'${path}': must be an absolute path`);
        for (const seq of ['//', '/./', '/../', '%2f', '%2F']) if (path.includes(seq)) add(`${pp}.path`, `'${path}': must not contain '${seq}'`);
        for (const suffix of ['/..', '/.']) if (path.endsWith(suffix)) add(`${pp}.path`, `'${path}': cannot end with '${suffix}'`);
      } else if (p.pathType === 'ImplementationSpecific') {
        if (path && !path.startsWith('/')) add(`${pp}.path`, `'${path}': must be an absolute path`);
      } else add(`${pp}.pathType`, `Unsupported value: '${String(p.pathType)}': supported values: "${PATH_TYPES.join('", "')}"`);
      checkBackend(p.backend, `${pp}.backend`, add, legacy);
    });
  });
  (spec.tls ?? []).forEach((t, i) => {
    (t.hosts ?? []).forEach((h, j) => {
      if (h.includes('*') ? !isWildcardSubdomain(h) : !isSubdomain(h)) add(`spec.tls[${i}].hosts[${j}]`, `'${h}': must be a DNS-1123 subdomain (a leading '*.' allowed)`);
    });
    if (t.secretName && !isSubdomain(t.secretName)) add(`spec.tls[${i}].secretName`, `'${t.secretName}': must be a DNS-1123 subdomain (a Secret's name)`);
  });
  if (spec.ingressClassName !== undefined && !isSubdomain(spec.ingressClassName)) add('spec.ingressClassName', `'${spec.ingressClassName}': must be a DNS-1123 subdomain (an IngressClass's name)`);
  const annotations = ing.metadata?.annotations ?? {};
  const classAnnotation = annotations['kubernetes.io/ingress.class'];
  if (classAnnotation !== undefined && spec.ingressClassName !== undefined && classAnnotation !== spec.ingressClassName)
    add("metadata.annotations['kubernetes.io/ingress.class']", `'${classAnnotation}': must match \`ingressClassName\` ('${spec.ingressClassName}') when both are specified`);
  checkIngressAnnotations(annotations, (key, message) => add(`metadata.annotations['${key}']`, message));
}

function checkBackend(b: V1IngressBackend | undefined, path: string, add: Add, legacy: boolean): void {
  const name = legacy ? `${path}.serviceName` : `${path}.service.name`;
  const port = (which: 'name' | 'number') => (legacy ? `${path}.servicePort` : `${path}.service.port.${which}`);
  if (!b || typeof b !== 'object') return add(path, 'resource or service backend is required');
  if (b.resource && b.service) return add(path, 'cannot set both resource and service backends');
  if (b.resource) return add(`${path}.resource`, 'resource backends (a TypedLocalObjectReference) are valid, but kemu emulates only Service backends; use service.name and service.port');
  if (!b.service) return add(path, legacy ? 'serviceName and servicePort are required' : 'resource or service backend is required');
  const svc = b.service;
  if (!svc.name) add(name, 'Required value');
  else if (svc.name.length > 63 || !DNS_1035.test(svc.name)) add(name, `'${svc.name}': must be a DNS-1035 label (a Service's name: lower-case letters, digits and '-', starting with a letter)`);
  const hasName = !!svc.port?.name;
  const hasNumber = svc.port?.number !== undefined && svc.port.number !== 0;
  if (hasName && hasNumber) add(path, 'cannot set both port name & port number');
  else if (hasName) {
    const n = svc.port!.name!;
    if (n.length > 15 || !IANA_SVC_NAME.test(n) || n.includes('--') || !/[a-z]/.test(n)) add(port('name'), `'${n}': must be an IANA_SVC_NAME (at most 15 lower-case letters, digits and '-', with a letter)`);
  } else if (hasNumber) {
    const n = svc.port!.number!;
    if (!Number.isInteger(n) || n < 1 || n > 65535) add(port('number'), `${String(n)}: must be between 1 and 65535, inclusive`);
  } else add(legacy ? `${path}.servicePort` : `${path}.service.port`, 'Required value: port name or number is required');
}

function checkIngressClass(ic: V1IngressClass, add: Add): void {
  const controller = ic.spec?.controller;
  if (!controller) add('spec.controller', 'Required value');
  else if (controller.length > 250) add('spec.controller', `must be no more than 250 bytes`);
  else if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[-A-Za-z0-9/._~%!$&'()*+,;=:]+$/.test(controller))
    add('spec.controller', `'${controller}': must be a domain-prefixed path (such as "acme.io/foo")`);
  const params = ic.spec?.parameters;
  if (params) {
    if (!params.kind) add('spec.parameters.kind', 'Required value');
    if (!params.name) add('spec.parameters.name', 'Required value');
  }
}

/** Secrets: only the TLS type, with `stringData` merged into `data` as the API server stores it. */
function normaliseSecret(s: V1Secret & { stringData?: Record<string, string> }, add: Add): V1Secret {
  if (s.type !== TLS_SECRET) {
    add('type', `'${s.type ?? 'Opaque'}': kemu stores only Secrets of type ${TLS_SECRET} (certificates for Ingress TLS); other Secrets change no packet`);
    return s;
  }
  const data: Record<string, string> = { ...(s.data ?? {}) };
  for (const [k, v] of Object.entries(s.stringData ?? {})) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  for (const [k, v] of Object.entries(data)) {
    if (!CONFIG_KEY.test(k)) add(`data[${k}]`, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'");
    else if (typeof v !== 'string' || !BASE64.test(v.replace(/\s+/g, ''))) add(`data[${k}]`, 'must be base64-encoded (or give it under stringData)');
  }
  for (const key of ['tls.crt', 'tls.key']) if (data[key] === undefined) add(`data[${key}]`, 'Required value');
  const { stringData: _s, ...rest } = s;
  return { ...rest, data };
}
