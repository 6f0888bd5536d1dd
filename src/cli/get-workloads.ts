/** `kemu get` tables of the workload kinds beyond Deployments: kubectl's columns (without AGE, as kemu's other tables). */
import { controllerOf, listObjects, objectKey, type Store, type StoredKind } from '../cluster/store.js';
import type { LabRecord } from '../lab/state.js';

export interface WorkloadListing {
  headers: string[];
  wideHeaders: string[];
  rows: Array<{ namespace?: string; name: string; object: unknown; cells: Array<string | number | undefined>; wide: Array<string | number | undefined> }>;
}

type PodTemplateLike = { spec?: { containers?: Array<{ name: string; image?: string }> } } | undefined;
const containers = (t: PodTemplateLike) => (t?.spec?.containers ?? []).map((c) => c.name).join(',') || undefined;
const images = (t: PodTemplateLike) => (t?.spec?.containers ?? []).map((c) => c.image ?? '').join(',') || undefined;
const pairs = (m: Record<string, string> | undefined) => (m && Object.keys(m).length ? Object.entries(m).map(([k, v]) => `${k}=${v}`).join(',') : undefined);

/** A label selector as kubectl prints it: `a=b,c in (d,e)`. */
export function selectorText(s: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> } | undefined): string | undefined {
  if (!s) return undefined;
  const exprs = (s.matchExpressions ?? []).map((e) =>
    e.operator === 'Exists' ? e.key : e.operator === 'DoesNotExist' ? `!${e.key}` : `${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`,
  );
  return [pairs(s.matchLabels), ...exprs].filter(Boolean).join(',') || undefined;
}

/** kubectl's HumanDuration: 42s, 3m5s, 12m, 5h3m, 3d4h, … */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  return d < 8 && h % 24 ? `${d}d${h % 24}h` : `${d}d`;
}

function sorted<K extends StoredKind>(store: Store, kind: K) {
  return listObjects(store, kind).sort((a, b) => objectKey(kind, a.metadata).localeCompare(objectKey(kind, b.metadata)));
}

/** kubectl's Job STATUS column. */
export function jobStatus(job: LabRecord['store']['objects']['Job'][string]): string {
  const has = (type: string) => job.status?.conditions?.some((c) => c.type === type && c.status === 'True');
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (job.metadata.deletionTimestamp) return 'Terminating';
  if (has('SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  if (has('FailureTarget')) return 'FailureTarget';
  if (has('Suspended')) return 'Suspended';
  return 'Running';
}

/** kubectl's Job COMPLETIONS column. */
export function jobCompletions(job: LabRecord['store']['objects']['Job'][string]): string {
  const done = job.status?.succeeded ?? 0;
  if (job.spec?.completions != null) return `${done}/${job.spec.completions}`;
  const p = job.spec?.parallelism ?? 1;
  return p > 1 ? `${done}/1 of ${p}` : `${done}/1`;
}

export function workloadListing(record: LabRecord, kind: StoredKind): WorkloadListing | undefined {
  const store = record.store;
  switch (kind) {
    case 'StatefulSet':
      return {
        headers: ['NAMESPACE', 'NAME', 'READY'],
        wideHeaders: ['CONTAINERS', 'IMAGES'],
        rows: sorted(store, 'StatefulSet').map((s) => ({
          namespace: s.metadata.namespace,
          name: s.metadata.name,
          object: s,
          cells: [s.metadata.namespace, s.metadata.name, `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 1}`],
          wide: [containers(s.spec?.template), images(s.spec?.template)],
        })),
      };
    case 'DaemonSet':
      return {
        headers: ['NAMESPACE', 'NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR'],
        wideHeaders: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
        rows: sorted(store, 'DaemonSet').map((d) => {
          const s = d.status;
          return {
            namespace: d.metadata.namespace,
            name: d.metadata.name,
            object: d,
            cells: [d.metadata.namespace, d.metadata.name, s?.desiredNumberScheduled ?? 0, s?.currentNumberScheduled ?? 0, s?.numberReady ?? 0, s?.updatedNumberScheduled ?? 0, s?.numberAvailable ?? 0, pairs(d.spec?.template?.spec?.nodeSelector)],
            wide: [containers(d.spec?.template), images(d.spec?.template), selectorText(d.spec?.selector)],
          };
        }),
      };
    case 'Job':
      return {
        headers: ['NAMESPACE', 'NAME', 'STATUS', 'COMPLETIONS', 'DURATION'],
        wideHeaders: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
        rows: sorted(store, 'Job').map((j) => {
          const start = Date.parse(j.status?.startTime ?? '');
          const end = j.status?.completionTime ? Date.parse(j.status.completionTime) : Date.now();
          return {
            namespace: j.metadata.namespace,
            name: j.metadata.name,
            object: j,
            cells: [j.metadata.namespace, j.metadata.name, jobStatus(j), jobCompletions(j), Number.isNaN(start) ? undefined : humanDuration(end - start)],
            wide: [containers(j.spec?.template), images(j.spec?.template), selectorText(j.spec?.selector)],
          };
        }),
      };
    case 'ReplicationController':
      return {
        headers: ['NAMESPACE', 'NAME', 'DESIRED', 'CURRENT', 'READY'],
        wideHeaders: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
        rows: sorted(store, 'ReplicationController').map((rc) => ({
          namespace: rc.metadata.namespace,
          name: rc.metadata.name,
          object: rc,
          cells: [rc.metadata.namespace, rc.metadata.name, rc.spec?.replicas ?? 1, rc.status?.replicas ?? 0, rc.status?.readyReplicas ?? 0],
          wide: [containers(rc.spec?.template), images(rc.spec?.template), pairs(rc.spec?.selector)],
        })),
      };
    case 'ControllerRevision':
      return {
        headers: ['NAMESPACE', 'NAME', 'CONTROLLER', 'REVISION'],
        wideHeaders: [],
        rows: sorted(store, 'ControllerRevision').map((r) => {
          const owner = controllerOf(r.metadata);
          return {
            namespace: r.metadata.namespace,
            name: r.metadata.name,
            object: r,
            cells: [r.metadata.namespace, r.metadata.name, owner ? `${owner.kind.toLowerCase()}.apps/${owner.name}` : undefined, r.revision],
            wide: [],
          };
        }),
      };
    default:
      return undefined;
  }
}
