/**
 * What the API server does to Ingresses beyond validation: the DefaultIngressClass admission plugin
 * fills `spec.ingressClassName` of a new Ingress that names no class (no field, no legacy annotation)
 * from the one IngressClass marked default, and refuses to create it when several are marked.
 * `kubectl apply` keeps that server-set field on later applies that do not mention it.
 */
import type { InputProblem } from '../topology/errors.js';
import type { Manifest } from '../topology/manifests.js';
import { getObject, listObjects, objectKey, type Store } from './store.js';

export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
export const CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

type Body = { spec?: { ingressClassName?: string } };
type Meta = { annotations?: Record<string, string> };

const namesNoClass = (spec: Body['spec'], meta: Meta) => spec?.ingressClassName === undefined && meta.annotations?.[CLASS_ANNOTATION] === undefined;

function defaultClasses(store: Store): string[] {
  return listObjects(store, 'IngressClass')
    .filter((c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true')
    .map((c) => c.metadata.name)
    .sort();
}

/** New Ingresses of the batch that the admission plugin would refuse (several default classes). */
export function checkDefaultClass(store: Store, manifests: Manifest[]): InputProblem[] {
  const classes = new Map(listObjects(store, 'IngressClass').map((c) => [c.metadata.name, c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true']));
  for (const m of manifests) if (m.kind === 'IngressClass') classes.set(m.object.metadata!.name!, m.object.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
  const defaults = [...classes].filter(([, d]) => d).map(([n]) => n);
  if (defaults.length < 2) return [];
  return manifests
    .filter((m) => m.kind === 'Ingress' && !getObject(store, 'Ingress', objectKey('Ingress', m.object.metadata ?? {})) && namesNoClass(m.object.spec, m.object.metadata ?? {}))
    .map((m) => ({
      path: `${m.origin}.spec.ingressClassName`,
      message: `${defaults.length} default IngressClasses were found (${defaults.join(', ')}), only 1 allowed; set spec.ingressClassName, or leave ${DEFAULT_CLASS_ANNOTATION}: "true" on one class only`,
    }));
}

/** Complete an Ingress body as the API server stores it: the default class on create, the stored class kept on update. */
export function admitIngress(store: Store, body: Body, meta: Meta, existing: Body | undefined): void {
  if (!namesNoClass(body.spec, meta)) return;
  const kept = existing ? existing.spec?.ingressClassName : defaultClasses(store)[0];
  if (kept !== undefined) body.spec = { ...body.spec, ingressClassName: kept };
}
