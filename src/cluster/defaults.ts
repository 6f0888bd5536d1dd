/** The API server's defaulting of the fields kemu reads, applied to an object as it is stored. */
import type { StoredKind } from './store.js';

type Obj = Record<string, any>;

function defaultPodSpec(spec: Obj | undefined): void {
  if (!spec) return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  for (const c of spec.containers ?? []) for (const p of c.ports ?? []) p.protocol ??= 'TCP';
}

/**
 * What the API server generates once the object has its uid: a Job's selector and template labels
 * (batch.kubernetes.io/controller-uid, …/job-name and their old short forms), unless manualSelector.
 */
export function applyGenerated(kind: StoredKind, obj: Obj & { metadata: { uid: string; name: string } }): void {
  if (kind !== 'Job' || obj.spec?.manualSelector === true) return;
  const { uid, name } = obj.metadata;
  const tmpl = (obj.spec.template ??= {});
  tmpl.metadata ??= {};
  tmpl.metadata.labels = { ...tmpl.metadata.labels, 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name };
  obj.spec.selector = { ...obj.spec.selector, matchLabels: { ...obj.spec.selector?.matchLabels, 'batch.kubernetes.io/controller-uid': uid } };
}

export function applyDefaults(kind: StoredKind, body: Obj): void {
  if (kind === 'Pod') defaultPodSpec(body.spec);
  if (kind === 'NetworkPolicy') defaultNetworkPolicy(body.spec);
  if (kind === 'Deployment') {
    body.spec.replicas ??= 1;
    body.spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
    body.spec.revisionHistoryLimit ??= 10;
    defaultPodSpec(body.spec.template?.spec);
  }
  if (kind === 'ReplicaSet' || kind === 'ReplicationController') {
    body.spec ??= {};
    body.spec.replicas ??= 1;
    // A ReplicationController without a selector selects its template's labels.
    if (kind === 'ReplicationController' && !Object.keys(body.spec.selector ?? {}).length) body.spec.selector = { ...(body.spec.template?.metadata?.labels ?? {}) };
    defaultPodSpec(body.spec.template?.spec);
  }
  if (kind === 'StatefulSet') {
    body.spec.replicas ??= 1;
    body.spec.podManagementPolicy ??= 'OrderedReady';
    body.spec.updateStrategy ??= { type: 'RollingUpdate' };
    if (body.spec.updateStrategy.type === 'RollingUpdate') body.spec.updateStrategy.rollingUpdate ??= { partition: 0 };
    body.spec.revisionHistoryLimit ??= 10;
    body.spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
    defaultPodSpec(body.spec.template?.spec);
  }
  if (kind === 'DaemonSet') {
    body.spec.updateStrategy ??= { type: 'RollingUpdate' };
    if (body.spec.updateStrategy.type === 'RollingUpdate') body.spec.updateStrategy.rollingUpdate = { maxUnavailable: 1, maxSurge: 0, ...body.spec.updateStrategy.rollingUpdate };
    body.spec.revisionHistoryLimit ??= 10;
    defaultPodSpec(body.spec.template?.spec);
  }
  if (kind === 'Job') {
    if (body.spec.completions === undefined && body.spec.parallelism === undefined) body.spec.completions = 1;
    body.spec.parallelism ??= 1;
    body.spec.backoffLimit ??= 6;
    body.spec.completionMode ??= 'NonIndexed';
    body.spec.suspend ??= false;
    body.spec.podReplacementPolicy ??= 'TerminatingOrFailed';
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

/** SetDefaults_NetworkPolicy: ports default to TCP; policyTypes to Ingress, plus Egress when egress rules exist. */
function defaultNetworkPolicy(spec: Obj | undefined): void {
  if (!spec) return;
  for (const dir of ['ingress', 'egress']) for (const r of spec[dir] ?? []) for (const p of r?.ports ?? []) p.protocol ??= 'TCP';
  if (!spec.policyTypes?.length) spec.policyTypes = spec.egress?.length ? ['Ingress', 'Egress'] : ['Ingress'];
}
