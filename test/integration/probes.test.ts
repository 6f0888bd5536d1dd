/**
 * Probes that behave like the application's, and termination that drains, with real traffic: an
 * app-path readiness probe on a named port becomes Ready; a liveness probe made to fail
 * (GET /kemu/fail-probes) restarts the container with restartCount 1 and lastState saying why, and
 * the pod answers again; a deleted pod keeps serving an open download within its grace period;
 * `apply` waits only for what it changed, with progress while it waits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { BIN, NOTHING_LEFT, exec, getJson as getLabJson, kemu, mustApplyDocs, leftovers, mustUp, until, writeTopology } from '../helpers/kemu.js';

const LAB = 'kt-wl-probes';
const file = writeTopology(LAB, {
  apiVersion: 'kemu.dev/v1alpha1',
  kind: 'Topology',
  metadata: { name: LAB },
  spec: {
    network: { underlay: { subnet: '192.168.82.0/24' } },
    nodes: [{ name: 'n1' }, { name: 'n2' }],
    workloads: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client' }, spec: { nodeName: 'n1', containers: [{ name: 'shell', image: 'busybox' }] } }],
  },
});

const apply = (docs: unknown[], ...extra: string[]) => mustApplyDocs(LAB, docs, ...extra);
const getJson = (...args: string[]) => getLabJson(LAB, ...args);
const podsOf = async (app: string) => (await getJson('pods')).items.filter((p: any) => p.metadata.labels?.app === app && !p.metadata.deletionTimestamp);
const curl = (url: string, ...opts: string[]) => exec(LAB, 'client', 'curl', '-sS', '-m', '3', ...opts, url);

/** An image whose probes ask for its own paths on named ports (as real charts do). */
const APP = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'app' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'app' } },
    template: {
      metadata: { labels: { app: 'app' } },
      spec: {
        terminationGracePeriodSeconds: 10,
        containers: [
          {
            name: 'app',
            image: 'registry.example/app:1.0',
            ports: [{ name: 'http', containerPort: 9000 }, { name: 'admin', containerPort: 9090 }],
            readinessProbe: { httpGet: { path: '/_healthz', port: 'admin' }, periodSeconds: 1 },
            livenessProbe: { httpGet: { path: '/livez', port: 'http' }, periodSeconds: 1, failureThreshold: 2 },
          },
        ],
      },
    },
  },
};
const SERVICE = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'app' }, spec: { selector: { app: 'app' }, ports: [{ port: 80, targetPort: 'http' }] } };

beforeAll(async () => {
  await mustUp(file);
});
afterAll(async () => {
  await kemu('down', '-q', LAB);
});

describe('readiness on the application\'s own path', () => {
  it('a probe for /_healthz on the named port admin passes: the Deployment is Ready and serves through its Service', async () => {
    await apply([SERVICE, APP]);
    expect((await getJson('deployments', 'app')).status).toMatchObject({ readyReplicas: 2, availableReplicas: 2 });
    const pods = await podsOf('app');
    const ip = (await getJson('svc', 'app')).spec.clusterIP;
    const out = await exec(LAB, 'client', 'sh', '-c', `for i in $(seq 20); do curl -sS -m 2 http://${ip}/hostname; echo; done`);
    expect(new Set(out.trim().split('\n'))).toEqual(new Set(pods.map((p: any) => p.metadata.name)));
    expect(await curl(`http://${pods[0].status.podIP}:9090/_healthz`)).toBe('ok');
    expect((await kemu('describe', 'pod', pods[0].metadata.name, '--lab', LAB)).stdout).toMatch(/Readiness:\s+http-get http:\/\/:admin\/_healthz delay=0s timeout=1s period=1s #success=1 #failure=3/);
  });
});

describe('liveness', () => {
  it('a failing liveness probe restarts the container (restartCount 1, lastState says why); the pod answers again afterwards', async () => {
    const [pod] = await podsOf('app');
    const ip = pod.status.podIP;
    // One shell, so the 500 is seen before the kubelet's probes (1 s apart) have restarted anything.
    const failing = await exec(LAB, 'client', 'sh', '-c', `curl -sS -m 2 http://${ip}:9000/kemu/fail-probes; echo; curl -sS -m 2 -o /dev/null -w '%{http_code}' http://${ip}:9000/livez`);
    const failedAt = Date.now();
    expect(failing).toBe('probes failing\n500');
    await until('the container to be restarted', 20_000, async () => (await getJson('pods', pod.metadata.name)).status.containerStatuses[0].restartCount === 1);
    const restartedAfter = Date.now() - failedAt;
    await until('the pod to be ready again', 15_000, async () => (await getJson('pods', pod.metadata.name)).status.containerStatuses[0].ready === true);
    const cs = (await getJson('pods', pod.metadata.name)).status.containerStatuses[0];
    expect(cs).toMatchObject({ restartCount: 1, ready: true, started: true, state: { running: expect.any(Object) } });
    expect(cs.lastState.terminated).toMatchObject({ reason: expect.stringMatching(/^(Error|Completed)$/), message: 'Container app failed liveness probe, will be restarted', exitCode: expect.any(Number) });
    // A fresh process: its probes pass again, and it serves.
    expect(await curl(`http://${ip}:9000/livez`)).toBe('ok');
    expect(await curl(`http://${ip}:9000/hostname`)).toBe(pod.metadata.name);
    expect((await kemu('describe', 'pod', pod.metadata.name, '--lab', LAB)).stdout).toMatch(/Last State:\s+Terminated\n\s+Reason:\s+\w+\n\s+Message:\s+Container app failed liveness probe, will be restarted/);
    // 2 failures 1 s apart, then the kubelet's first restart after 1 s here: well within the bound.
    expect(restartedAfter).toBeLessThan(20_000);
    console.log(`liveness failure → restartCount 1 after ${restartedAfter} ms`);
  });
});

describe('termination', () => {
  it('a deleted pod leaves the endpoints at once but finishes an open download within its grace period', async () => {
    const [victim] = await podsOf('app');
    const size = 8_000_000;
    // ~2 s at 4 MB/s: more than the socket buffers hold, so the server is still sending when it gets SIGTERM.
    // curl's rate limit overshoots (a download has ended in 0.6 s): one that ended before it was seen is
    // a missed precondition, not the behaviour under test, and is started again (at most 3 times).
    const podNs = `kemu-${LAB}.pod.default.${victim.metadata.name}`;
    const startDownload = () => execa('node', [BIN, 'exec', '--lab', LAB, 'client', '--', 'curl', '-sS', '--limit-rate', '4M', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `http://${victim.status.podIP}:9000/bytes?n=${size}`], { reject: false });
    let download = startDownload();
    for (let attempt = 1; ; attempt++) {
      let ended = false;
      void download.then(() => (ended = true));
      let seen = false;
      await until('the download to be under way (or to end)', 15_000, async () => {
        seen = (await execa('ip', ['netns', 'exec', podNs, 'ss', '-Htn', 'state', 'established', '( sport = :9000 )'])).stdout.trim() !== '';
        return seen || ended;
      });
      if (seen) break;
      expect(attempt, 'the download kept ending before it could be seen').toBeLessThan(3);
      download = startDownload();
    }
    const started = Date.now();
    const del = await kemu('delete', 'pod', victim.metadata.name, '--lab', LAB, '-q');
    const took = Date.now() - started;
    expect(del.exitCode, del.stderr).toBe(0);
    const d = await download;
    expect(d.stdout).toBe(`200 ${size}`);
    // The delete waited for the connection (its grace period is 10 s, kemu's bound), and the pod is gone.
    expect(took).toBeLessThan(10_000 + 8000);
    console.log(`delete of a pod with an open download took ${took} ms`);
    expect((await execa('ip', ['netns', 'list'])).stdout).not.toContain(podNs);
    const endpoints = (await getJson('endpoints', 'app')).subsets.flatMap((s: any) => s.addresses.map((a: any) => a.targetRef.name));
    expect(endpoints).not.toContain(victim.metadata.name);
    await until('a replacement to be ready', 15_000, async () => (await getJson('deployments', 'app')).status.readyReplicas === 2);
  });
});

describe('apply waits only for what it changed', () => {
  it('a never-ready rollout does not hold up a later apply; a slow one is waited for with progress', async () => {
    const broken = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'broken' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'broken' } },
        // A named probe port the container does not declare: the kubelet cannot probe it, the pod never gets ready.
        template: { metadata: { labels: { app: 'broken' } }, spec: { containers: [{ name: 'c', image: 'x', readinessProbe: { httpGet: { path: '/', port: 'missing' } } }] } },
      },
    };
    await apply([broken], '--no-wait');
    expect((await getJson('deployments', 'broken')).status.readyReplicas ?? 0).toBe(0);
    const slow = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'slow' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'slow' } },
        template: { metadata: { labels: { app: 'slow' } }, spec: { containers: [{ name: 'c', image: 'x', readinessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 3, periodSeconds: 1 } }] } },
      },
    };
    const started = Date.now();
    const r = await apply([slow]);
    const took = Date.now() - started;
    expect(r.stderr).toMatch(/waiting \d+ s for deployment\/slow: 0 of 1 updated replicas available/);
    expect(r.stderr).not.toContain('deployment/broken');
    expect(r.stdout).not.toContain('rollout not finished');
    expect((await getJson('deployments', 'slow')).status.readyReplicas).toBe(1);
    expect(took).toBeGreaterThanOrEqual(3000);
    expect(took).toBeLessThan(60_000);
  });

  it('down leaves nothing', async () => {
    expect((await kemu('down', LAB)).exitCode).toBe(0);
    expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
  });
});
