/**
 * `kemu apply`, `kemu delete` and `kemu scale` on a running lab: change the store as the API server
 * would, then reconcile. The whole batch is checked first; on any problem nothing is written.
 */
import { printable } from '../util/printable.js';
import { readFile } from 'node:fs/promises';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { applyManifests, checkBatch, deleteManifests, type ApplyResult } from '../cluster/apply.js';
import { deleteObject, getObject, objectKey, putObject, type StoredKind } from '../cluster/store.js';
import { InputError, type InputProblem } from '../topology/errors.js';
import { parseManifests, type Manifest } from '../topology/manifests.js';
import { checkWorkloads } from '../topology/validate.js';
import { withLabLock } from './lock.js';
import { refuseSctp } from './sctp.js';
import { PhaseTimer, type Reporter } from './progress.js';
import { reconcile, type ReconcileResult } from './reconcile.js';
import { readRecord, type LabRecord } from './state.js';

export interface ChangeResult extends ReconcileResult {
  lab: string;
  /** When (epoch ms) the store took the change, as the API server would have answered */
  acceptedAt: number;
  objects: ApplyResult[];
  skipped: string[];
  timings: Array<{ phase: string; ms: number }>;
}

export interface ChangeOptions {
  wait?: boolean;
  dryRun?: boolean;
  skipUnsupported?: boolean;
}

/** Every manifest in FILE, DIR (its .yaml/.yml/.json files, in name order) or `-` (standard input). */
export async function readManifests(sources: string[], problems: InputProblem[], skipped: string[], skipUnsupported = false): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const source of sources) {
    for (const file of await expand(source, problems)) {
      let text: string;
      try {
        text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
      } catch (err) {
        problems.push({ path: file, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
        continue;
      }
      out.push(...(await parseManifests(text, file === '-' ? '(stdin)' : file, problems, { skipUnsupported, skipped, file: file === '-' ? '(stdin)' : file })));
    }
  }
  return out;
}

async function expand(source: string, problems: InputProblem[]): Promise<string[]> {
  if (source === '-') return ['-'];
  const s = await stat(source).catch(() => undefined);
  if (!s) {
    problems.push({ path: source, message: 'no such file or directory' });
    return [];
  }
  if (!s.isDirectory()) return [source];
  return (await readdir(source)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort().map((f) => join(source, f));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Take the lock, check the lab exists, let `change` edit a copy of its store, reconcile. */
async function changeLab(lab: string, reporter: Reporter, opts: ChangeOptions, change: (record: LabRecord, store: LabRecord['store'], now: string) => ApplyResult[]): Promise<ChangeResult> {
  const timer = new PhaseTimer(reporter);
  return withLabLock(lab, async () => {
    timer.start('validate');
    const record = await readRecord(lab);
    if (!record) throw new Error(`no lab named '${lab}'; start it with kemu up FILE`);
    const store = structuredClone(record.store);
    const objects = change(record, store, new Date().toISOString());
    const acceptedAt = Date.now();
    const r = await reconcile(record, store, { reporter, timer, dryRun: opts.dryRun, wait: opts.wait ?? true, waitFor: changedObjects(objects) });
    timer.end();
    return { ...r, lab, acceptedAt, objects, skipped: [], timings: timer.timings };
  });
}

export async function applyFiles(lab: string, manifests: Manifest[], reporter: Reporter, opts: ChangeOptions = {}): Promise<ChangeResult> {
  await refuseSctp('the manifests', manifests);
  return changeLab(lab, reporter, opts, (record, store, now) => {
    const problems = [...checkBatch(store, manifests), ...checkWorkloads(record.spec, manifests)];
    if (problems.length) throw new InputError('the manifests', problems);
    return applyManifests(store, manifests, 'kubectl', now);
  });
}

export async function deleteFiles(lab: string, manifests: Manifest[], reporter: Reporter, opts: ChangeOptions & { ignoreNotFound?: boolean } = {}): Promise<ChangeResult> {
  return changeLab(lab, reporter, opts, (_record, store, now) => {
    const missing: InputProblem[] = [];
    const done = deleteManifests(store, manifests, now, missing);
    if (missing.length && !opts.ignoreNotFound) throw new InputError('the manifests', missing);
    return done;
  });
}

/** What a command created or changed, as `Kind/namespace/name`: the rollouts it waits for. */
export const changedObjects = (objects: ApplyResult[]) => new Set(objects.filter((o) => o.action === 'created' || o.action === 'configured').map((o) => `${o.kind}/${o.key}`));

/** kubectl's names for the kinds kemu stores. */
export function kindOf(word: string): StoredKind | undefined {
  const w = word.toLowerCase().replace(/\.(apps|batch|v1|apps\/v1|batch\/v1|networking\.k8s\.io|discovery\.k8s\.io|metallb\.io)$/, '');
  const table: Record<string, StoredKind> = {
    ns: 'Namespace', namespace: 'Namespace', namespaces: 'Namespace',
    po: 'Pod', pod: 'Pod', pods: 'Pod',
    deploy: 'Deployment', deployment: 'Deployment', deployments: 'Deployment',
    rs: 'ReplicaSet', replicaset: 'ReplicaSet', replicasets: 'ReplicaSet',
    sts: 'StatefulSet', statefulset: 'StatefulSet', statefulsets: 'StatefulSet',
    ds: 'DaemonSet', daemonset: 'DaemonSet', daemonsets: 'DaemonSet',
    job: 'Job', jobs: 'Job',
    rc: 'ReplicationController', replicationcontroller: 'ReplicationController', replicationcontrollers: 'ReplicationController',
    controllerrevision: 'ControllerRevision', controllerrevisions: 'ControllerRevision',
    svc: 'Service', service: 'Service', services: 'Service',
    ep: 'Endpoints', endpoints: 'Endpoints',
    ing: 'Ingress', ingress: 'Ingress', ingresses: 'Ingress',
    ingressclass: 'IngressClass', ingressclasses: 'IngressClass',
    secret: 'Secret', secrets: 'Secret',
    netpol: 'NetworkPolicy', networkpolicy: 'NetworkPolicy', networkpolicies: 'NetworkPolicy',
    endpointslice: 'EndpointSlice', endpointslices: 'EndpointSlice',
    ipaddresspool: 'IPAddressPool', ipaddresspools: 'IPAddressPool',
    l2advertisement: 'L2Advertisement', l2advertisements: 'L2Advertisement',
    bgpadvertisement: 'BGPAdvertisement', bgpadvertisements: 'BGPAdvertisement',
    bgppeer: 'BGPPeer', bgppeers: 'BGPPeer',
    cm: 'ConfigMap', configmap: 'ConfigMap', configmaps: 'ConfigMap',
  };
  return table[w];
}

export async function deleteNamed(lab: string, kindWord: string, names: string[], namespace: string, reporter: Reporter, opts: ChangeOptions & { ignoreNotFound?: boolean } = {}): Promise<ChangeResult> {
  const kind = kindOf(kindWord);
  if (!kind) throw new Error(`cannot delete '${printable(kindWord)}': kemu stores namespaces, pods, deployments, replicasets, statefulsets, daemonsets, jobs, replicationcontrollers, controllerrevisions, services, endpoints, endpointslices, ingresses, ingressclasses, secrets, networkpolicies and MetalLB's ipaddresspools, l2advertisements, bgpadvertisements, bgppeers and configmaps`);
  return changeLab(lab, reporter, opts, (_record, store, now) => {
    const missing = names.filter((n) => !getObject(store, kind, objectKey(kind, { name: n, namespace })));
    if (missing.length && !opts.ignoreNotFound) throw new Error(`${kind} ${missing.map((n) => `'${kind === 'Namespace' ? n : `${namespace}/${n}`}'`).join(', ')} not found`);
    return names.filter((n) => !missing.includes(n)).map((n) => {
      const key = objectKey(kind, { name: n, namespace });
      deleteObject(store, kind, key, now);
      return { kind, key, action: 'deleted' as const };
    });
  });
}

export async function scale(lab: string, kindWord: string, name: string, namespace: string, replicas: number, reporter: Reporter, opts: ChangeOptions = {}): Promise<ChangeResult> {
  const kind = kindOf(kindWord);
  if (kind !== 'Deployment' && kind !== 'ReplicaSet' && kind !== 'StatefulSet' && kind !== 'ReplicationController')
    throw new Error(`cannot scale '${kindWord}': kemu scales deployments, replicasets, statefulsets and replicationcontrollers`);
  if (!Number.isInteger(replicas) || replicas < 0) throw new Error(`--replicas must be a whole number ≥ 0, not '${replicas}'`);
  return changeLab(lab, reporter, opts, (_record, store) => {
    const key = objectKey(kind, { name, namespace });
    const obj = getObject(store, kind, key);
    if (!obj) throw new Error(`${kind} '${key}' not found`);
    if (obj.spec?.replicas === replicas) return [{ kind, key, action: 'unchanged' }];
    putObject(store, kind, { ...obj, spec: { ...obj.spec!, replicas }, metadata: { ...obj.metadata, generation: (obj.metadata.generation ?? 1) + 1 } } as never);
    return [{ kind, key, action: 'configured' }];
  });
}
