/** `kemu describe` parts for the workload kinds beyond Deployments, and a container's probes and states. */
import type { V1Probe } from '@kubernetes/client-node';
import { controllerOf, objectKey, ownedBy, type Json, type StoredKind, type StoredObject } from '../cluster/store.js';
import { jobCompletions, jobStatus, selectorText } from './get-workloads.js';
import type { LabRecord } from '../lab/state.js';

export type Lines = Array<[string, string | number | undefined] | string>;

/** A probe as kubectl describe prints it, saying which kinds kemu only emulates. */
export function probeText(p: Json<V1Probe>): string {
  const timing = `delay=${p.initialDelaySeconds ?? 0}s timeout=${p.timeoutSeconds ?? 1}s period=${p.periodSeconds ?? 10}s #success=${p.successThreshold ?? 1} #failure=${p.failureThreshold ?? 3}`;
  if (p.httpGet) {
    const https = p.httpGet.scheme === 'HTTPS';
    return `http-get ${https ? 'https' : 'http'}://${p.httpGet.host ?? ''}:${p.httpGet.port}${p.httpGet.path ?? '/'} ${timing}${https ? ' (emulated: checked as a TCP connect, the default server has no TLS)' : ''}`;
  }
  if (p.tcpSocket) return `tcp-socket :${p.tcpSocket.port} ${timing}`;
  if (p.grpc) return `grpc <pod>:${p.grpc.port} ${p.grpc.service ?? ''} ${timing} (emulated: counts as passing)`.replace('  ', ' ');
  if (p.exec) return `exec [${(p.exec.command ?? []).join(' ')}] ${timing} (emulated: counts as passing)`;
  return timing;
}

type State = { running?: { startedAt?: string }; waiting?: { reason?: string }; terminated?: { exitCode: number; reason?: string; message?: string; startedAt?: string; finishedAt?: string } };

/** kubectl's State / Last State lines of a container. */
export function stateLines(label: string, s: State | undefined, pid?: number): string[] {
  const pad = (k: string) => `    ${`${k}:`.padEnd(16)}`;
  if (s?.running) return [`${pad(label)}Running${pid ? `, pid ${pid}` : ''}`, `      Started:      ${s.running.startedAt ?? ''}`];
  if (s?.terminated) {
    const t = s.terminated;
    return [
      `${pad(label)}Terminated`,
      `      Reason:       ${t.reason ?? ''}`,
      ...(t.message ? [`      Message:      ${t.message}`] : []),
      `      Exit Code:    ${t.exitCode}`,
      ...(t.startedAt ? [`      Started:      ${t.startedAt}`] : []),
      `      Finished:     ${t.finishedAt ?? ''}`,
    ];
  }
  if (s?.waiting) return [`${pad(label)}Waiting`, `      Reason:       ${s.waiting.reason ?? ''}`];
  return label === 'State' ? [`${pad(label)}Waiting`] : [];
}

const pairs = (m: Record<string, string> | undefined) => (m && Object.keys(m).length ? Object.entries(m).map(([k, v]) => `${k}=${v}`).join(', ') : '<none>');

/** The kind-specific lines of `kemu describe` for StatefulSets, DaemonSets, Jobs, ReplicationControllers and ControllerRevisions. */
export function workloadLines(record: LabRecord, kind: StoredKind, obj: StoredObject): Lines | undefined {
  const ready = (k: string) => record.pods[k]?.ready === true;
  const podList = () => {
    const pods = ownedBy(record.store, 'Pod', obj).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    return pods.map((p) => `${p.metadata.name}${p.status?.phase === 'Running' && !ready(objectKey('Pod', p.metadata)) ? ' (not ready)' : p.status?.phase !== 'Running' ? ` (${p.status?.phase ?? 'Pending'})` : ''}`).join(', ') || undefined;
  };
  switch (kind) {
    case 'StatefulSet': {
      const s = obj as LabRecord['store']['objects']['StatefulSet'][string];
      const st = s.status;
      return [
        ['Selector', selectorText(s.spec?.selector)],
        ['Replicas', `${s.spec?.replicas ?? 1} desired | ${st?.replicas ?? 0} total`],
        ['Update Strategy', `${s.spec?.updateStrategy?.type ?? 'RollingUpdate'}${s.spec?.updateStrategy?.rollingUpdate?.partition ? ` (partition ${s.spec.updateStrategy.rollingUpdate.partition})` : ''}`],
        ['Pod Management Policy', s.spec?.podManagementPolicy ?? 'OrderedReady'],
        ['Service Name', s.spec?.serviceName],
        ['Pods Status', `${st?.readyReplicas ?? 0} Ready / ${st?.currentReplicas ?? 0} Current / ${st?.updatedReplicas ?? 0} Updated`],
        ['Revisions', `current ${st?.currentRevision ?? '-'}, update ${st?.updateRevision ?? '-'}`],
        ['Pods', podList()],
        ['Volume Claims', (s.spec?.volumeClaimTemplates ?? []).map((v) => v.metadata?.name ?? '').join(', ') || undefined],
        ...((s.spec?.volumeClaimTemplates ?? []).length ? ['  (accepted and ignored: volumes change no packets, kemu emulates none)'] : []),
      ];
    }
    case 'DaemonSet': {
      const d = obj as LabRecord['store']['objects']['DaemonSet'][string];
      const st = d.status;
      return [
        ['Selector', selectorText(d.spec?.selector)],
        ['Node-Selector', pairs(d.spec?.template?.spec?.nodeSelector)],
        ['Desired Number of Nodes Scheduled', st?.desiredNumberScheduled ?? 0],
        ['Current Number of Nodes Scheduled', st?.currentNumberScheduled ?? 0],
        ['Number of Nodes Scheduled with Up-to-date Pods', st?.updatedNumberScheduled ?? 0],
        ['Number of Nodes Scheduled with Available Pods', st?.numberAvailable ?? 0],
        ['Number of Nodes Misscheduled', st?.numberMisscheduled ?? 0],
        ['Update Strategy', d.spec?.updateStrategy?.type ?? 'RollingUpdate'],
        ['Pods', podList()],
      ];
    }
    case 'Job': {
      const j = obj as LabRecord['store']['objects']['Job'][string];
      const st = j.status;
      return [
        ['Selector', selectorText(j.spec?.selector)],
        ['Parallelism', j.spec?.parallelism ?? 1],
        ['Completions', j.spec?.completions ?? '<unset>'],
        ['Completion Mode', j.spec?.completionMode ?? 'NonIndexed'],
        ['Backoff Limit', j.spec?.backoffLimit ?? 6],
        ['Start Time', st?.startTime],
        ['Completed At', st?.completionTime],
        ['Status', `${jobStatus(j)}, ${jobCompletions(j)} completions`],
        ['Pods Statuses', `${st?.active ?? 0} Active (${st?.ready ?? 0} Ready) / ${st?.succeeded ?? 0} Succeeded / ${st?.failed ?? 0} Failed`],
        ['Pods', podList()],
        '  (the default server stands in for the job\'s process: it exits 0 after kemu.dev/exit-after, 1s by default; kemu.dev/exit-code makes it fail)',
      ];
    }
    case 'ReplicationController': {
      const rc = obj as LabRecord['store']['objects']['ReplicationController'][string];
      return [
        ['Selector', pairs(rc.spec?.selector)],
        ['Replicas', `${rc.status?.replicas ?? 0} current / ${rc.spec?.replicas ?? 1} desired`],
        ['Pods', podList()],
      ];
    }
    case 'ControllerRevision': {
      const r = obj as LabRecord['store']['objects']['ControllerRevision'][string];
      const owner = controllerOf(r.metadata);
      return [
        ['Controlled By', owner ? `${owner.kind}/${owner.name}` : undefined],
        ['Revision', r.revision],
      ];
    }
    default:
      return undefined;
  }
}
