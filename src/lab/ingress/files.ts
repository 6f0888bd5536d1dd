/**
 * The files of the lab's ingress controller: per pod `ingress/<ns>_<pod>/` (nginx.conf, its pid file,
 * temp folders), and for the lab `ingress/tls/` (one PEM per Secret in use, 0600) and the default fake
 * certificate. Everything under /run/kemu/<lab>, root-only, written atomically.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { ServiceEndpoints } from '../../cluster/endpoints.js';
import { serviceEndpoints } from '../../cluster/endpoint-slices/views.js';
import { listObjects } from '../../cluster/store.js';
import type { ClusterState } from '../../cluster/types.js';
import { listDir, makeFakeCertificate } from '../../host/nginx.js';
import { makeLabDir } from '../../host/lab-dirs.js';
import { servedIngresses } from '../../plan/ingress/classes.js';
import { buildIngressModel } from '../../plan/ingress/model.js';
import { renderNginxConf, type NginxPaths } from '../../plan/ingress/render.js';
import type { IngressModel } from '../../plan/ingress/types.js';
import { ingressPodDir, labPaths, podLogFile } from '../../topology/names.js';
import { planHash } from '../../plan/hash.js';
import type { LabRecord } from '../state.js';

export interface PodFiles extends NginxPaths {
  dir: string;
  conf: string;
}

export function podFiles(lab: string, namespace: string, pod: string, container: string): PodFiles {
  const dir = ingressPodDir(lab, namespace, pod);
  const { ingressDir } = labPaths(lab);
  return {
    dir,
    conf: `${dir}/nginx.conf`,
    pidFile: `${dir}/nginx.pid`,
    tempDir: `${dir}/temp`,
    tlsDir: `${ingressDir}/tls`,
    defaultCertificate: `${ingressDir}/default-fake-certificate.pem`,
    accessLog: podLogFile(lab, namespace, pod, container),
  };
}

/** The model from what the record knows: its store, its cluster, the endpoints of `slices` (or the store's EndpointSlices). */
export function modelOf(record: LabRecord, cluster: ClusterState, slices?: ServiceEndpoints[]): IngressModel {
  const endpoints = slices ?? serviceEndpoints(cluster, record.store);
  return buildIngressModel({ ingresses: servedIngresses(record.store), services: cluster.services, endpoints, secrets: listObjects(record.store, 'Secret') });
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** The pod's folders and the lab's certificate files (unchanged ones are left alone, stale ones removed). */
export async function prepareFiles(lab: string, model: IngressModel, files: PodFiles): Promise<void> {
  const { ingressDir } = labPaths(lab);
  for (const d of [ingressDir, files.tlsDir, files.dir]) await makeLabDir(d);
  await mkdir(files.tempDir, { recursive: true, mode: 0o700 });
  if (!(await readFile(files.defaultCertificate, 'utf8').catch(() => ''))) await writeAtomic(files.defaultCertificate, await makeFakeCertificate(ingressDir));
  const wanted = new Set(model.certificates.map((c) => c.file));
  for (const c of model.certificates) {
    const path = `${files.tlsDir}/${c.file}`;
    if ((await readFile(path, 'utf8').catch(() => '')) !== c.pem) await writeAtomic(path, c.pem);
  }
  for (const f of await listDir(files.tlsDir)) if (!wanted.has(f) && f.endsWith('.pem')) await rm(`${files.tlsDir}/${f}`, { force: true });
}

export const render = (model: IngressModel, files: PodFiles) => renderNginxConf(model, files);
/** What nginx must have loaded: the config and the certificates it names (a renewed Secret reloads too). */
export const loadedHash = (model: IngressModel, text: string) => planHash({ text, certificates: model.certificates });
export { writeAtomic };

/** Remove the folders of controller pods that are gone. */
export async function removeStalePodDirs(lab: string, keep: Set<string>): Promise<void> {
  const { ingressDir } = labPaths(lab);
  for (const d of await listDir(ingressDir)) if (d.includes('_') && !keep.has(d)) await rm(`${ingressDir}/${d}`, { recursive: true, force: true });
}
