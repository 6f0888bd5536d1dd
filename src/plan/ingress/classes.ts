/**
 * Which Ingresses ingress-nginx serves (store.go GetIngressClass, `--controller-class=k8s.io/ingress-nginx
 * --ingress-class=nginx`, no --watch-ingress-without-class): `spec.ingressClassName` naming an
 * IngressClass whose controller is ingress-nginx's; otherwise the legacy annotation equal to `nginx`;
 * otherwise none. Oldest first (creationTimestamp; ties by namespace/name, descending, as sortIngressSlice).
 */
import { CLASS_ANNOTATION } from '../../cluster/ingress-admission.js';
import { listObjects, type Store, type StoredIngress } from '../../cluster/store.js';
import { ANNOTATION_CLASS, CONTROLLER_CLASS } from './types.js';

export function servedIngresses(store: Store): StoredIngress[] {
  const ours = new Set(listObjects(store, 'IngressClass').filter((c) => c.spec?.controller === CONTROLLER_CLASS).map((c) => c.metadata.name));
  const served = listObjects(store, 'Ingress').filter((ing) => {
    const byName = ing.spec?.ingressClassName;
    if (byName !== undefined) return ours.has(byName);
    return ing.metadata.annotations?.[CLASS_ANNOTATION] === ANNOTATION_CLASS;
  });
  const key = (i: StoredIngress) => `${i.metadata.namespace ?? 'default'}/${i.metadata.name}`;
  return served.sort((a, b) => {
    const ta = Date.parse(a.metadata.creationTimestamp);
    const tb = Date.parse(b.metadata.creationTimestamp);
    if (ta !== tb) return ta - tb;
    return key(a) > key(b) ? -1 : key(a) < key(b) ? 1 : 0;
  });
}

/** Why an Ingress is not served, for describe: undefined when it is. */
export function notServedReason(store: Store, ing: StoredIngress): string | undefined {
  const byName = ing.spec?.ingressClassName;
  if (byName !== undefined) {
    const cls = listObjects(store, 'IngressClass').find((c) => c.metadata.name === byName);
    if (!cls) return `IngressClass '${byName}' does not exist`;
    if (cls.spec?.controller !== CONTROLLER_CLASS) return `IngressClass '${byName}' belongs to controller ${cls.spec?.controller}, not ${CONTROLLER_CLASS}`;
    return undefined;
  }
  const ann = ing.metadata.annotations?.[CLASS_ANNOTATION];
  if (ann === undefined) return `it names no class (spec.ingressClassName, or ${CLASS_ANNOTATION}), and no IngressClass was the default when it was created`;
  return ann === ANNOTATION_CLASS ? undefined : `${CLASS_ANNOTATION} is '${ann}', not '${ANNOTATION_CLASS}'`;
}
