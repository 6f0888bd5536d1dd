/**
 * The ingress part of a reconcile, after kube-proxy's (endpoints are known) and before terminating pods
 * go (nginx stops sending to them first): for every running controller pod, render nginx.conf from the
 * served Ingresses and the Services' ready endpoints; when it differs from the file, write it aside,
 * `nginx -t` it in the pod, put it in place and reload gracefully (Debian's nginx has no Lua, so endpoint
 * changes reload too; the listening sockets stay open, no connection is dropped). A config nginx refuses
 * is reported and the running one kept, as ingress-nginx does. Then every served Ingress's
 * `status.loadBalancer` gets the controller Service's address, as ingress-nginx's status sync writes it.
 */
import type { ServiceEndpoints } from '../../cluster/endpoints.js';
import { getObject, objectKey, putObject, type Store } from '../../cluster/store.js';
import type { ClusterState } from '../../cluster/types.js';
import { isAlive } from '../../host/netns.js';
import { NGINX_COMM, reloadNginx, testNginxConf } from '../../host/nginx.js';
import { mapLimit } from '../../host/run.js';
import { servedIngresses } from '../../plan/ingress/classes.js';
import type { LabPlan } from '../../plan/types.js';
import type { Reporter } from '../progress.js';
import type { LabRecord } from '../state.js';
import { loadedHash, modelOf, podFiles, prepareFiles, removeStalePodDirs, render, writeAtomic } from './files.js';
import { rename, rm } from 'node:fs/promises';

export const CONTROLLER_NAMESPACE = 'ingress-nginx';
export const CONTROLLER_SERVICE = 'ingress-nginx-controller';
const PROGRAM = 'ingress-nginx';

export interface IngressSyncResult {
  reloaded: Array<{ pod: string; ms: number }>;
  refused: Array<{ pod: string; error: string }>;
}

export async function syncIngress(plan: LabPlan, cluster: ClusterState, store: Store, record: LabRecord, slices: ServiceEndpoints[], reporter: Reporter): Promise<IngressSyncResult> {
  const result: IngressSyncResult = { reloaded: [], refused: [] };
  const controllers = plan.pods.flatMap((p) => p.containers.filter((c) => c.program === PROGRAM).map((c) => ({ pod: p, container: c.name })));
  if (controllers.length === 0 && !record.ingress) return result;
  await removeStalePodDirs(record.lab, new Set(controllers.map((c) => `${c.pod.namespace}_${c.pod.name}`)));
  const model = modelOf(record, cluster, slices);
  record.ingress ??= { controllers: [], loaded: {} };
  const loaded = record.ingress.loaded;
  await mapLimit(controllers, 4, async ({ pod, container }) => {
    const rt = record.pods[pod.key];
    const master = rt?.containers[container];
    if (!rt || !master || master.diedAt || pod.terminating || !(await isAlive(master.pid, NGINX_COMM))) return;
    const files = podFiles(record.lab, pod.namespace, pod.name, container);
    const text = render(model, files);
    const hash = loadedHash(model, text);
    if (loaded[pod.key] === hash) return;
    await prepareFiles(record.lab, model, files);
    const next = `${files.conf}.next`;
    await writeAtomic(next, text);
    const error = await testNginxConf(rt.holderPid, next, files.dir);
    if (error) {
      await rm(next, { force: true });
      result.refused.push({ pod: pod.key, error });
      reporter.detail(`ingress: nginx in ${pod.key} refused the new config, keeping the running one: ${error}`);
      return;
    }
    await rename(next, files.conf);
    result.reloaded.push({ pod: pod.key, ms: (await reloadNginx(master.pid)).ms });
    loaded[pod.key] = hash;
  });
  if (result.reloaded.length) reporter.detail(`ingress: nginx reloaded in ${result.reloaded.map((r) => `${r.pod} (${r.ms} ms)`).join(', ')}`);
  const keep = new Set(controllers.map((c) => c.pod.key));
  record.ingress = { controllers: [...keep], loaded: Object.fromEntries(Object.entries(loaded).filter(([k]) => keep.has(k))) };
  writeIngressStatus(store, cluster, record);
  return result;
}

/** Where the controller is reachable: its LoadBalancer Service's IPs (--publish-service), else the nodes of its ready pods. */
export function controllerAddresses(cluster: ClusterState, record: LabRecord): string[] {
  const svc = cluster.services.find((s) => s.namespace === CONTROLLER_NAMESPACE && s.name === CONTROLLER_SERVICE);
  if (svc?.type === 'LoadBalancer') return [...svc.loadBalancerIPs, ...svc.externalIPs.filter((ip) => !svc.loadBalancerIPs.includes(ip))];
  const nodes = new Set(
    cluster.pods
      .filter((p) => p.containers.some((c) => c.program === PROGRAM) && record.pods[`${p.namespace}/${p.name}`]?.ready && !p.terminating)
      .map((p) => p.hostIP),
  );
  return [...nodes].sort();
}

function writeIngressStatus(store: Store, cluster: ClusterState, record: LabRecord): void {
  const ingress = controllerAddresses(cluster, record).map((ip) => ({ ip }));
  for (const ing of servedIngresses(store)) {
    const key = objectKey('Ingress', ing.metadata);
    const current = getObject(store, 'Ingress', key)!;
    if (JSON.stringify(current.status?.loadBalancer?.ingress ?? []) === JSON.stringify(ingress)) continue;
    putObject(store, 'Ingress', { ...current, status: { loadBalancer: ingress.length ? { ingress } : {} } });
  }
}
