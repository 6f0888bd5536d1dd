/** The API server's defaulting of the fields kemu reads, applied to an object as it is stored. */
import type { StoredKind } from './store.js';

type Obj = Record<string, any>;

function defaultPodSpec(spec: Obj | undefined): void {
  if (!spec) return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  for (const c of spec.containers ?? []) for (const p of c.ports ?? []) p.protocol ??= 'TCP';
}

export function applyDefaults(kind: StoredKind, body: Obj): void {
  if (kind === 'Pod') defaultPodSpec(body.spec);
  if (kind === 'Deployment') {
    body.spec.replicas ??= 1;
    body.spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
    body.spec.revisionHistoryLimit ??= 10;
    defaultPodSpec(body.spec.template?.spec);
  }
  if (kind === 'EndpointSlice') {
    for (const p of body.ports ?? []) {
      p.name ??= '';
      p.protocol ??= 'TCP';
    }
  }
  if (kind === 'Service') {
    body.spec ??= {};
    body.spec.type ??= 'ClusterIP';
    body.spec.sessionAffinity ??= 'None';
    for (const p of body.spec.ports ?? []) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
    }
  }
}
