/**
 * ControllerRevisions, as StatefulSets and DaemonSets keep their template history: one revision per
 * distinct template, named `<owner>-<hash>`, numbered in order; going back to an older template gives
 * its revision the next number (a rollback), as controller history's FindEqualRevisions does.
 */
import type { ControllerContext } from './types.js';
import type { PodTemplate } from './pod-template.js';
import { podTemplateHash } from '../pods.js';
import { stableJson } from '../../util/stable-json.js';
import { newMeta, objectKey, ownedBy, ownerRef, putObject, removeObject, type Store, type StoredControllerRevision, type StoredMeta } from '../store.js';

/** The label StatefulSet and DaemonSet pods carry: the revision they were made from. */
export const REVISION_LABEL = 'controller-revision-hash';

type Owner = { metadata: StoredMeta; spec?: { template?: PodTemplate; revisionHistoryLimit?: number } };

/** The template a revision holds (its data is the patch that restores it: `{spec: {template: {…, $patch: replace}}}`). */
export function templateOfRevision(r: StoredControllerRevision): PodTemplate {
  const { $patch: _patch, ...template } = ((r.data as { spec?: { template?: PodTemplate & { $patch?: string } } } | undefined)?.spec?.template ?? {}) as PodTemplate & { $patch?: string };
  return template;
}

const byRevision = (a: StoredControllerRevision, b: StoredControllerRevision) => a.revision - b.revision;

/** The owner's revisions, oldest first. */
export function revisionsOf(store: Store, owner: Owner): StoredControllerRevision[] {
  return ownedBy(store, 'ControllerRevision', owner).sort(byRevision);
}

/**
 * The revision of the owner's current template: the latest if it already is, an older equal one
 * renumbered to the next revision, or a new one (labelled with the template's labels and `hashLabel`).
 */
export function currentRevision(store: Store, ctx: ControllerContext, kind: 'StatefulSet' | 'DaemonSet', owner: Owner, hashLabel: string): StoredControllerRevision {
  const template = owner.spec?.template ?? {};
  const hash = podTemplateHash(template);
  const revisions = revisionsOf(store, owner);
  const next = (revisions.at(-1)?.revision ?? 0) + 1;
  const equal = revisions.filter((r) => stableJson(templateOfRevision(r)) === stableJson(template));
  const latest = revisions.at(-1);
  if (latest && equal.includes(latest)) return latest;
  const found = equal.at(-1);
  if (found) return putObject(store, 'ControllerRevision', { ...found, revision: next });
  const meta = {
    name: `${owner.metadata.name}-${hash}`,
    namespace: owner.metadata.namespace ?? 'default',
    labels: { ...(template.metadata?.labels ?? {}), [hashLabel]: hash },
    ownerReferences: [ownerRef(kind, owner)],
  };
  return putObject(store, 'ControllerRevision', {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: newMeta(meta, ctx.now, true),
    data: { spec: { template: { ...structuredClone(template), $patch: 'replace' } } },
    revision: next,
  });
}

/** Remove the oldest revisions beyond revisionHistoryLimit (10 by default) that no pod or status still names. */
export function truncateHistory(store: Store, owner: Owner, live: Set<string>): void {
  const old = revisionsOf(store, owner).filter((r) => !live.has(r.metadata.name));
  const excess = old.length - (owner.spec?.revisionHistoryLimit ?? 10);
  for (const r of old.slice(0, Math.max(0, excess))) removeObject(store, 'ControllerRevision', objectKey('ControllerRevision', r.metadata));
}
