/**
 * nginx in an ingress controller pod: its command line, `nginx -t` inside the pod, a graceful reload
 * (SIGHUP to the master, as `nginx -s reload` sends) that returns once the new workers serve, and the
 * controller's self-signed default certificate (openssl, once per lab).
 */
import { readFile, readdir } from 'node:fs/promises';
import { run, spawnCounter } from './run.js';

export const NGINX_BIN = process.env.KEMU_NGINX ?? 'nginx';
export const NGINX_COMM = 'nginx';

/** `-e stderr`: nothing goes to the package's /var/log/nginx, even before the config is read. */
export const nginxArgv = (conf: string, prefix: string, test = false): string[] => [NGINX_BIN, ...(test ? ['-t', '-q'] : []), '-e', 'stderr', '-p', `${prefix}/`, '-c', conf];

/** `nginx -t` of `conf` in the pod's namespaces; the error text when it fails. */
export async function testNginxConf(holderPid: number, conf: string, prefix: string): Promise<string | undefined> {
  spawnCounter.other++;
  const r = await run('nsenter', ['--target', String(holderPid), '--net', '--uts', '--ipc', '--', ...nginxArgv(conf, prefix, true)], { reject: false });
  return r.ok ? undefined : (r.stderr.trim() || r.stdout.trim() || `nginx -t exited ${r.exitCode}`);
}

const children = async (pid: number): Promise<number[]> =>
  (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => ''))
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
const cmdline = async (pid: number) => (await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '')).replace(/\0/g, ' ').trim();

/** The master's workers that take new connections (not the ones shutting down gracefully). */
async function servingWorkers(master: number): Promise<number[]> {
  const kids = await children(master);
  const lines = await Promise.all(kids.map(cmdline));
  return kids.filter((_, i) => lines[i]!.startsWith('nginx: worker process') && !lines[i]!.includes('shutting down'));
}

/**
 * Reload gracefully: the master re-reads its config, starts new workers and lets the old ones finish
 * what they hold; the listening sockets never close, so no connection is refused. Resolves once no
 * worker of the old generation takes new connections and a new one does.
 */
export async function reloadNginx(master: number, timeoutMs = 10_000): Promise<{ ms: number }> {
  const started = performance.now();
  const old = new Set(await servingWorkers(master));
  process.kill(master, 'SIGHUP');
  for (;;) {
    const now = await servingWorkers(master);
    if (now.length > 0 && now.every((p) => !old.has(p))) return { ms: Math.round(performance.now() - started) };
    if (performance.now() - started > timeoutMs) throw new Error(`nginx (pid ${master}) did not start new workers within ${timeoutMs / 1000} s of a reload; see its container log`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** RSS (kB) of the master and each of its workers. */
export async function nginxRss(master: number): Promise<{ master: number; workers: number[] }> {
  const rss = async (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''))?.[1] ?? 0);
  const kids = await children(master);
  return { master: await rss(master), workers: await Promise.all(kids.map(rss)) };
}

/** ingress-nginx's "Kubernetes Ingress Controller Fake Certificate": a self-signed EC certificate, cert and key in one PEM. */
export async function makeFakeCertificate(dir: string): Promise<string> {
  spawnCounter.other++;
  const r = await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '365',
    '-subj', '/O=Acme Co/CN=Kubernetes Ingress Controller Fake Certificate', '-addext', 'subjectAltName=DNS:ingress.local',
    '-keyout', '-', '-out', '-',
  ], { reject: false });
  if (!r.ok) throw new Error(`openssl could not make the ingress controller's default certificate in ${dir}: ${r.stderr.trim()}`);
  return r.stdout;
}

export const listDir = (dir: string) => readdir(dir).catch(() => [] as string[]);
