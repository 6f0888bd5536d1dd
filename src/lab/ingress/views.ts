/** `kemu get ingress|ingressclass|secret` rows and `kemu describe ingress`, as kubectl prints them. */
import { listObjects, objectKey, type StoredIngress } from '../../cluster/store.js';
import { notServedReason } from '../../plan/ingress/classes.js';
import { buildUpstream, type ServiceBackend } from '../../plan/ingress/upstreams.js';
import { currentEndpoints } from '../kube-proxy/views.js';
import type { LabRecord } from '../state.js';

const age = (created: string) => {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(created)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : s < 172800 ? `${Math.floor(s / 3600)}h` : `${Math.floor(s / 86400)}d`;
};

const sortedKind = <K extends 'Ingress' | 'IngressClass' | 'Secret'>(r: LabRecord, kind: K) => listObjects(r.store, kind).sort((a, b) => objectKey(kind, a.metadata).localeCompare(objectKey(kind, b.metadata)));

export interface KindRows {
  headers: string[];
  wideHeaders: string[];
  rows: Array<{ namespace?: string; name: string; object: unknown; cells: Array<string | number | undefined>; wide: Array<string | number | undefined> }>;
}

export function ingressRows(r: LabRecord): KindRows {
  return {
    headers: ['NAMESPACE', 'NAME', 'CLASS', 'HOSTS', 'ADDRESS', 'PORTS', 'AGE'],
    wideHeaders: ['SERVED'],
    rows: sortedKind(r, 'Ingress').map((i) => {
      const hosts = [...new Set((i.spec?.rules ?? []).map((x) => x.host).filter(Boolean))];
      return {
        namespace: i.metadata.namespace,
        name: i.metadata.name,
        object: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', ...i },
        cells: [i.metadata.namespace, i.metadata.name, i.spec?.ingressClassName ?? '<none>', hosts.join(',') || '*', (i.status?.loadBalancer?.ingress ?? []).map((x) => x.ip ?? x.hostname).join(','), (i.spec?.tls ?? []).length ? '80, 443' : '80', age(i.metadata.creationTimestamp)],
        wide: [notServedReason(r.store, i) ? 'no' : 'yes'],
      };
    }),
  };
}

export function ingressClassRows(r: LabRecord): KindRows {
  return {
    headers: ['NAME', 'CONTROLLER', 'PARAMETERS', 'AGE'],
    wideHeaders: ['DEFAULT'],
    rows: sortedKind(r, 'IngressClass').map((c) => ({
      name: c.metadata.name,
      object: { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', ...c },
      cells: [c.metadata.name, c.spec?.controller, c.spec?.parameters ? `${c.spec.parameters.kind}/${c.spec.parameters.name}` : '<none>', age(c.metadata.creationTimestamp)],
      wide: [c.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'] === 'true' ? 'true' : 'false'],
    })),
  };
}

export function secretRows(r: LabRecord): KindRows {
  return {
    headers: ['NAMESPACE', 'NAME', 'TYPE', 'DATA', 'AGE'],
    wideHeaders: [],
    rows: sortedKind(r, 'Secret').map((s) => ({
      namespace: s.metadata.namespace,
      name: s.metadata.name,
      object: { apiVersion: 'v1', kind: 'Secret', ...s },
      cells: [s.metadata.namespace, s.metadata.name, s.type, Object.keys(s.data ?? {}).length, age(s.metadata.creationTimestamp)],
      wide: [],
    })),
  };
}

/** kubectl describe ingress's lines: address, class, default backend, TLS, rules with their backends' endpoints. */
export function describeIngressLines(r: LabRecord, ing: StoredIngress): Array<[string, string | undefined] | string> {
  const ns = ing.metadata.namespace ?? 'default';
  const services = new Map(r.cluster.services.map((s) => [`${s.namespace}/${s.name}`, s]));
  const slices = new Map(currentEndpoints(r).map((e) => [`${e.namespace}/${e.name}`, e]));
  const backend = (svc: ServiceBackend | undefined) => {
    if (!svc) return '<resource>';
    const u = buildUpstream(ns, svc, false, services, slices);
    const port = svc.port?.number ?? svc.port?.name;
    return `${svc.name}:${port} (${u.servers.join(',') || (services.has(`${ns}/${svc.name}`) ? '<no ready endpoints: 503>' : '<error: service not found>')})`;
  };
  const reason = notServedReason(r.store, ing);
  const rows = (ing.spec?.rules ?? []).flatMap((rule) => [`  ${rule.host || '*'}`, ...(rule.http?.paths ?? []).map((p) => `    ${(p.path || '/').padEnd(20)} ${(p.pathType ?? '').padEnd(22)} ${backend(p.backend.service)}`)]);
  return [
    ['Address', (ing.status?.loadBalancer?.ingress ?? []).map((x) => x.ip ?? x.hostname).join(',') || undefined],
    ['Ingress Class', ing.spec?.ingressClassName ?? '<none>'],
    ['Served by ingress-nginx', reason ? `no: ${reason}` : 'yes'],
    ['Default backend', ing.spec?.defaultBackend ? backend(ing.spec.defaultBackend.service) : '<default>'],
    ...((ing.spec?.tls ?? []).length ? ['TLS:', ...(ing.spec!.tls!.map((t) => `  ${t.secretName ?? 'SNI'} terminates ${(t.hosts ?? []).join(',')}`))] : [['TLS', undefined] as [string, undefined]]),
    'Rules:',
    `  ${'Host'.padEnd(22)}`,
    `    ${'Path'.padEnd(20)} ${'PathType'.padEnd(22)} Backends`,
    ...rows,
  ];
}
