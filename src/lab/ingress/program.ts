/**
 * The `ingress-nginx` container program: Debian's nginx in the controller pod's namespaces, started
 * with the config rendered from what the record knows now (the sync that follows in the same pass
 * renders it again with fresh endpoints and reloads if it changed).
 */
import { NGINX_COMM, nginxArgv } from '../../host/nginx.js';
import type { ProgramRunner } from '../programs.js';
import { loadedHash, modelOf, podFiles, prepareFiles, render, writeAtomic } from './files.js';

export const ingressNginx: ProgramRunner = {
  comm: NGINX_COMM,
  async prepare({ lab, pod, container, record }) {
    const files = podFiles(lab, pod.namespace, pod.name, container.name);
    const model = modelOf(record, record.cluster);
    await prepareFiles(lab, model, files);
    const text = render(model, files);
    await writeAtomic(files.conf, text);
    // What this nginx will load; the sync reloads only when that differs (a file written but not loaded counts as not loaded).
    record.ingress ??= { controllers: [], loaded: {} };
    record.ingress.loaded[pod.key] = loadedHash(model, text);
    return { argv: nginxArgv(files.conf, files.dir), readyFile: files.pidFile };
  },
};
