/** Pods made from a controller's template, as controller.GetPodFromTemplate makes them. */
import type { ControllerContext } from './types.js';
import { newMeta, ownerRef, putObject, type Json, type Store, type StoredKind, type StoredMeta, type StoredPod } from '../store.js';
import type { V1PodTemplateSpec } from '@kubernetes/client-node';

export type PodTemplate = Json<V1PodTemplateSpec>;

export interface NewPod {
  /** A fixed name (StatefulSet); otherwise `<owner>-<5 random characters>` as generateName gives. */
  name?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Last changes to the spec (hostname, affinity, tolerations). */
  spec?: (spec: NonNullable<StoredPod['spec']>) => void;
}

/** A free `<prefix><suffix>` pod name in the namespace. */
export function generatedName(store: Store, ctx: ControllerContext, namespace: string, prefix: string): string {
  for (let tries = 0; tries < 100; tries++) {
    const name = `${prefix}${ctx.suffix()}`;
    if (!store.objects.Pod[`${namespace}/${name}`]) return name;
  }
  throw new Error(`no free pod name for ${namespace}/${prefix}…`);
}

/** Create a pod of `owner` (a `kind`) from `template`; returns it as stored. */
export function createPodFromTemplate(store: Store, ctx: ControllerContext, kind: StoredKind, owner: { metadata: StoredMeta }, template: PodTemplate | undefined, extra: NewPod = {}): StoredPod {
  const namespace = owner.metadata.namespace ?? 'default';
  const prefix = `${owner.metadata.name}-`;
  const name = extra.name ?? generatedName(store, ctx, namespace, prefix);
  const labels = { ...(template?.metadata?.labels ?? {}), ...extra.labels };
  const annotations = { ...(template?.metadata?.annotations ?? {}), ...extra.annotations };
  const meta = {
    name,
    ...(extra.name ? {} : { generateName: prefix }),
    namespace,
    ...(Object.keys(labels).length ? { labels } : {}),
    ...(Object.keys(annotations).length ? { annotations } : {}),
    ownerReferences: [ownerRef(kind, owner)],
  };
  const spec = structuredClone(template?.spec ?? { containers: [] });
  extra.spec?.(spec);
  return putObject(store, 'Pod', { apiVersion: 'v1', kind: 'Pod', metadata: newMeta(meta, ctx.now, true), spec, status: { phase: 'Pending' } });
}
