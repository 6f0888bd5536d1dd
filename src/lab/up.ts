/**
 * `kemu up`: bring a lab to its topology file, idempotently. The file's workloads are applied to the
 * store as `kubectl apply` would (objects it no longer lists, and only those, are pruned), then the lab
 * is reconciled (lab/reconcile.ts). Objects added with `kemu apply` stay.
 */
import { applyManifests, checkBatch, implicitNamespaces, pruneTopologyObjects, type ApplyResult } from '../cluster/apply.js';
import { topologyOrigins } from '../cluster/desired.js';
import { emptyStore } from '../cluster/store.js';
import { InputError } from '../topology/errors.js';
import { loadTopology } from '../topology/load.js';
import type { LabSpec } from '../topology/types.js';
import { preflight } from '../host/preflight.js';
import { withLabLock } from './lock.js';
import { PhaseTimer, type Reporter } from './progress.js';
import { reconcile, type ReconcileResult } from './reconcile.js';
import { changedObjects } from './apply.js';
import { readRecord, type LabRecord } from './state.js';
import { refuseSctp } from './sctp.js';

export interface UpResult extends ReconcileResult {
  lab: string;
  applied: boolean;
  objects: ApplyResult[];
  /** What --skip-unsupported dropped, one warning each. */
  skipped: string[];
  timings: Array<{ phase: string; ms: number }>;
}

export async function up(file: string, reporter: Reporter, opts: { dryRun?: boolean; wait?: boolean; skipUnsupported?: boolean } = {}): Promise<UpResult> {
  const timer = new PhaseTimer(reporter);
  timer.start('validate');
  const skipped: string[] = [];
  const topology = await loadTopology(file, { skipUnsupported: opts.skipUnsupported, skipped });
  const lab = topology.name;
  if (!opts.dryRun) await preflight();
  await refuseSctp(topology.file, topology.manifests);
  return withLabLock(lab, async () => {
    const previous = await readRecord(lab);
    const store = structuredClone(previous?.store ?? emptyStore());
    const manifests = [...implicitNamespaces(topology.manifests), ...topology.manifests];
    const problems = checkBatch(store, manifests);
    if (problems.length) throw new InputError(topology.file, problems);
    const now = new Date().toISOString();
    const objects = applyManifests(store, manifests, 'topology', now);
    objects.push(...pruneTopologyObjects(store, objects, now));
    const { manifests: _m, ...spec } = topology;
    const record: LabRecord = previous
      ? { ...previous, topologyFile: topology.file, spec: spec as LabSpec }
      : { version: 2, lab, topologyFile: topology.file, spec: spec as LabSpec, store: emptyStore(), cluster: { lab, network: topology.network, nodes: [], externalHosts: [], pods: [], services: [], manualEndpoints: [] }, built: {}, pods: {}, updatedAt: '' };
    const r = await reconcile(record, store, { reporter, timer, origins: topologyOrigins(topology), dryRun: opts.dryRun, wait: opts.wait ?? true, verify: true, waitFor: changedObjects(objects) });
    timer.end();
    return { ...r, lab, applied: !opts.dryRun, objects, skipped, timings: timer.timings };
  });
}
