/** `kemu get KIND [NAME]`: kubectl's tables (and -o wide), or the objects as JSON or YAML. */
import { stringify } from 'yaml';
import { rolloutProgress } from '../cluster/controllers/deployment.js';
import { BUILTIN_NAMESPACES, listObjects, objectKey, type StoredKind } from '../cluster/store.js';
import { kindOf } from '../lab/apply.js';
import { currentEndpoints, endpointsObject, externalColumn, portsColumn, serviceObject } from '../lab/kube-proxy/views.js';
import type { LabRecord } from '../lab/state.js';
import { asList, nodeObjects, nodeTaints, podViews } from '../lab/views.js';
import { nodeRoles } from '../cluster/nodes.js';
import { workloadListing } from './get-workloads.js';
import { ingressClassRows, ingressRows, secretRows } from '../lab/ingress/views.js';
import { json, table } from './output.js';
import { GET_KINDS } from './kinds.js';
import { metallbListing } from './get-metallb.js';
import { formatSelector } from './describe-policy.js';

export const GET_FORMATS = ['wide', 'json', 'yaml'] as const;
export type GetFormat = (typeof GET_FORMATS)[number] | undefined;

export function getFormat(value: string | undefined): GetFormat {
  if (value === undefined) return undefined;
  if (!(GET_FORMATS as readonly string[]).includes(value)) throw new Error(`unknown output format '${value}'; use -o wide, -o json or -o yaml`);
  return value as GetFormat;
}

interface Row {
  namespace?: string;
  name: string;
  object: unknown;
  cells: Array<string | number | undefined>;
  wide: Array<string | number | undefined>;
}

interface Listing {
  headers: string[];
  wideHeaders: string[];
  rows: Row[];
}

const selectorText = (m: Record<string, string> | undefined) => (m && Object.keys(m).length ? Object.entries(m).map(([k, v]) => `${k}=${v}`).join(',') : undefined);


async function listing(record: LabRecord, kindWord: string): Promise<Listing> {
  const w = kindWord.toLowerCase();
  if (['nodes', 'node', 'no'].includes(w)) {
    const objects = nodeObjects(record);
    return {
      headers: ['NAME', 'STATUS', 'ROLES', 'INTERNAL-IP', 'PODS', 'BLOCKS'],
      wideHeaders: ['RACK', 'CPU', 'MEMORY', 'TAINTS', 'NETNS'],
      rows: record.cluster.nodes.map((n, i) => ({
        name: n.name,
        object: objects[i],
        cells: [n.name, `${record.stoppedNodes?.includes(n.name) ? 'NotReady' : 'Ready'}${n.unschedulable ? ',SchedulingDisabled' : ''}`, nodeRoles(n.labels).join(',') || undefined, n.ip, record.cluster.pods.filter((p) => p.nodeName === n.name).length, n.blocks.join(',') || undefined],
        wide: [n.rack, `${n.capacity.cpuMilli / 1000}`, `${Math.round(n.capacity.memoryBytes / 2 ** 20)}Mi`, nodeTaints(n).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(',') || undefined, `kemu-${record.lab}.node.${n.name}`],
      })),
    };
  }
  if (kindOf(w) === 'Endpoints') {
    const slices = currentEndpoints(record);
    return {
      headers: ['NAMESPACE', 'NAME', 'ENDPOINTS'],
      wideHeaders: ['NOT-READY', 'NODES'],
      rows: record.cluster.services.map((s) => {
        const e = slices.find((x) => x.namespace === s.namespace && x.name === s.name)!;
        const shown = (ready: boolean) => e.endpoints.filter((x) => x.ready === ready).flatMap((x) => [...new Set(Object.values(x.ports))].map((p) => `${x.ip}:${p}`));
        return {
          namespace: s.namespace,
          name: s.name,
          object: endpointsObject(s, e),
          cells: [s.namespace, s.name, shown(true).join(',') || undefined],
          wide: [shown(false).join(',') || undefined, [...new Set(e.endpoints.map((x) => x.nodeName ?? '?'))].join(',') || undefined],
        };
      }),
    };
  }
  const kind = kindOf(w);
  if (!kind) throw new Error(`unknown kind '${kindWord}'; use ${GET_KINDS}`);
  return storedListing(record, kind);
}

async function storedListing(record: LabRecord, kind: StoredKind): Promise<Listing> {
  const ready = (k: string) => record.pods[k]?.ready === true;
  switch (kind) {
    case 'Pod': {
      const views = await podViews(record);
      return {
        headers: ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'IP', 'NODE'],
        wideHeaders: ['HOLDER-PID', 'NETNS'],
        rows: views.map((v) => ({ namespace: v.namespace, name: v.name, object: v.object, cells: [v.namespace, v.name, `${v.ready}/${v.total}`, v.status, v.restarts, v.ip, v.node], wide: [v.holderPid, v.netns] })),
      };
    }
    case 'Service':
      return {
        headers: ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)'],
        wideHeaders: ['SELECTOR'],
        rows: record.cluster.services.map((s) => ({ namespace: s.namespace, name: s.name, object: serviceObject(s), cells: [s.namespace, s.name, s.type, s.clusterIP || undefined, externalColumn(s), portsColumn(s)], wide: [selectorText(s.selector)] })),
      };
    case 'Deployment':
      return {
        headers: ['NAMESPACE', 'NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE'],
        wideHeaders: ['SELECTOR', 'ROLLOUT'],
        rows: sorted(record, 'Deployment').map((d) => ({
          namespace: d.metadata.namespace,
          name: d.metadata.name,
          object: d,
          cells: [d.metadata.namespace, d.metadata.name, `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`, d.status?.updatedReplicas ?? 0, d.status?.availableReplicas ?? 0],
          wide: [selectorText(d.spec?.selector?.matchLabels), rolloutProgress(record.store, d, ready)],
        })),
      };
    case 'ReplicaSet':
      return {
        headers: ['NAMESPACE', 'NAME', 'DESIRED', 'CURRENT', 'READY'],
        wideHeaders: ['SELECTOR'],
        rows: sorted(record, 'ReplicaSet').map((rs) => ({
          namespace: rs.metadata.namespace,
          name: rs.metadata.name,
          object: rs,
          cells: [rs.metadata.namespace, rs.metadata.name, rs.spec?.replicas ?? 1, rs.status?.replicas ?? 0, rs.status?.readyReplicas ?? 0],
          wide: [selectorText(rs.spec?.selector?.matchLabels)],
        })),
      };
    case 'Namespace': {
      // The API server's own namespaces always exist; kubectl lists by name.
      const names = [...new Set([...BUILTIN_NAMESPACES, ...sorted(record, 'Namespace').map((n) => n.metadata.name)])].sort();
      return {
        headers: ['NAME', 'STATUS'],
        wideHeaders: [],
        rows: names.map((n) => ({ name: n, object: record.store.objects.Namespace[n] ?? { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n }, status: { phase: 'Active' } }, cells: [n, 'Active'], wide: [] })),
      };
    }
    case 'Ingress':
      return ingressRows(record);
    case 'IngressClass':
      return ingressClassRows(record);
    case 'Secret':
      return secretRows(record);
    case 'NetworkPolicy':
      return {
        headers: ['NAMESPACE', 'NAME', 'POD-SELECTOR'],
        wideHeaders: [],
        rows: listObjects(record.store, 'NetworkPolicy')
          .sort((a, b) => objectKey('NetworkPolicy', a.metadata).localeCompare(objectKey('NetworkPolicy', b.metadata)))
          .map((np) => ({ namespace: np.metadata.namespace, name: np.metadata.name, object: np, cells: [np.metadata.namespace, np.metadata.name, formatSelector(np.spec?.podSelector as never)], wide: [] })),
      };
    case 'EndpointSlice':
      return {
        headers: ['NAMESPACE', 'NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS'],
        wideHeaders: [],
        rows: listObjects(record.store, 'EndpointSlice')
          .sort((a, b) => objectKey('EndpointSlice', a.metadata).localeCompare(objectKey('EndpointSlice', b.metadata)))
          .map((es) => ({
            namespace: es.metadata.namespace,
            name: es.metadata.name,
            object: es,
            cells: [es.metadata.namespace, es.metadata.name, es.addressType, slicePorts(es.ports ?? []), sliceEndpoints(es.endpoints ?? [])],
            wide: [],
          })),
      };
    case 'Endpoints':
      throw new Error('unreachable');
    default:
      return metallbListing(record, kind) ?? workloadListing(record, kind)!;
  }
}

/** kubectl's listWithMoreString: the first 3, then "+ N more...", "<unset>" for none. */
function firstThree(list: string[]): string {
  if (list.length === 0) return '<unset>';
  return list.length > 3 ? `${list.slice(0, 3).join(',')} + ${list.length - 3} more...` : list.join(',');
}
const slicePorts = (ports: Array<{ port?: number; name?: string }>) => firstThree(ports.map((p) => (p.port !== undefined && p.port !== null ? String(p.port) : p.name ? p.name : '*')));
const sliceEndpoints = (eps: Array<{ addresses?: string[] }>) => firstThree(eps.flatMap((e) => e.addresses ?? []));

function sorted<K extends 'Deployment' | 'ReplicaSet' | 'Namespace'>(record: LabRecord, kind: K) {
  return listObjects(record.store, kind).sort((a, b) => objectKey(kind, a.metadata).localeCompare(objectKey(kind, b.metadata)));
}

export async function getText(record: LabRecord, kind: string, name: string | undefined, opts: { output?: string; namespace?: string }): Promise<string> {
  const format = getFormat(opts.output);
  // kubectl's `get deploy,pods`: one table per kind; JSON and YAML put every object in one List.
  if (kind.includes(',')) {
    if (name) throw new Error('a name goes with one kind only: kemu get KIND NAME');
    const kinds = kind.split(',').filter(Boolean);
    if (format === 'json' || format === 'yaml') {
      const items = (await Promise.all(kinds.map(async (k) => (JSON.parse(await getText(record, k, undefined, { ...opts, output: 'json' })) as { items: unknown[] }).items))).flat();
      return format === 'json' ? json(asList(items)) : stringify(asList(items), { aliasDuplicateObjects: false });
    }
    return (await Promise.all(kinds.map((k) => getText(record, k, undefined, opts)))).join('\n');
  }
  const l = await listing(record, kind);
  let rows = opts.namespace ? l.rows.filter((r) => r.namespace === undefined || r.namespace === opts.namespace) : l.rows;
  if (name) {
    rows = rows.filter((r) => r.name === name);
    if (rows.length === 0) throw new Error(`${kind} "${name}" not found in lab ${record.lab}${opts.namespace ? ` (namespace ${opts.namespace})` : ''}`);
    if (rows.length > 1) throw new Error(`${kind} "${name}" exists in several namespaces (${rows.map((r) => r.namespace).join(', ')}); choose one with -n`);
  }
  const objects = rows.map((r) => r.object);
  if (format === 'json') return json(name ? objects[0] : asList(objects));
  if (format === 'yaml') return stringify(name ? objects[0] : asList(objects), { aliasDuplicateObjects: false });
  if (rows.length === 0) return `No resources found in lab ${record.lab}.\n`;
  return table(format === 'wide' ? [...l.headers, ...l.wideHeaders] : l.headers, rows.map((r) => (format === 'wide' ? [...r.cells, ...r.wide] : r.cells)));
}
