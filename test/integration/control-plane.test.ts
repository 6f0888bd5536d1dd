/**
 * The emulated control plane against a running lab, with real traffic: kubectl-style apply, scale,
 * delete; the scheduler; rolling updates under load; container restarts by the supervisor; bad input.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { NOTHING_LEFT, ROOT, exec, kemu, leftovers, markedProcesses, mustUp, topologyAs, writeTopology } from '../helpers/kemu.js';

const LAB = 'kt-cp';
const file = topologyAs('topologies/control-plane.yaml', LAB);
const DEMO = resolve(ROOT, 'topologies/manifests/demo.yaml');
const state = () => JSON.parse(readFileSync(`/var/lib/kemu/${LAB}/state.json`, 'utf8'));

/** Write manifests to a temporary file and `kemu apply` it. */
async function apply(docs: unknown[] | string, ...extra: string[]) {
  const path = typeof docs === 'string' ? docs : writeTopology(LAB, undefined, docs.map((d) => stringify(d)).join('---\n'));
  return kemu('apply', '--lab', LAB, '-q', '-f', path, ...extra);
}
async function mustApply(docs: unknown[] | string, ...extra: string[]) {
  const r = await apply(docs, ...extra);
  if (r.exitCode !== 0) throw new Error(`kemu apply failed (${r.exitCode}):\n${r.stderr}\n${r.stdout}`);
  return r;
}
async function getJson(...args: string[]) {
  const r = await kemu('get', ...args, '-o', 'json', '--lab', LAB);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}
const demoPods = async () => (await getJson('pods')).items.filter((p: any) => p.metadata.labels?.app === 'nginx' && !p.metadata.deletionTimestamp);
const service = async () => getJson('svc', 'nginx-svc');
const readyIps = async () => ((await getJson('endpoints', 'nginx-svc')).subsets ?? []).flatMap((s: any) => (s.addresses ?? []).map((a: any) => a.ip));
/** Hostnames that answer `url` from `target` over `n` requests. */
async function hostnames(target: string, url: string, n = 30): Promise<Set<string>> {
  const out = await exec(LAB, target, 'sh', '-c', `for i in $(seq ${n}); do curl -sS -m 2 ${url}; echo; done`);
  return new Set(out.trim().split('\n').filter(Boolean));
}
const netnsList = async () => (await execa('ip', ['netns', 'list'])).stdout;
const until = async (what: string, ms: number, check: () => Promise<boolean>) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

beforeAll(async () => {
  await mustUp(file);
  await mustApply(DEMO);
});
afterAll(async () => {
  await kemu('down', '-q', LAB);
});

describe('kemu apply with manifests written for real images', () => {
  it('serves the Deployment through the ClusterIP from a pod and through the LoadBalancer IP from outside', async () => {
    const pods = await demoPods();
    expect(pods).toHaveLength(3);
    const names = new Set(pods.map((p: any) => p.metadata.name));
    for (const p of pods) expect(p.metadata.name).toMatch(/^demo-[bcdfghjklmnpqrstvwxz2456789]+-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const svc = await service();
    expect(svc.spec.ports[0]).toMatchObject({ port: 80, targetPort: 80 });
    expect(await hostnames('client', `http://${svc.spec.clusterIP}/hostname`)).toEqual(names);
    expect(await hostnames('host/outside', `http://${svc.status.loadBalancer.ingress[0].ip}/hostname`)).toEqual(names);
    // The image is ignored; the default server listens on the Service's targetPort although nothing declares it.
    expect((await kemu('describe', 'pod', pods[0].metadata.name, '--lab', LAB)).stdout).toMatch(/Listens on:\s+8080\/TCP, 80\/TCP/);
  });

  it('changes nothing when the same file is applied again: no pod restarted, no rule rewritten', async () => {
    const before = state();
    const r = await kemu('apply', '--lab', LAB, '-f', DEMO, '-o', 'json');
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.objects.map((o: any) => o.action)).toEqual(['unchanged', 'unchanged']);
    expect(out.proxySyncs).toEqual([]);
    expect(out.diff.reasons).toEqual([]);
    const after = state();
    expect(after.store.resourceVersion).toBe(before.store.resourceVersion);
    expect(Object.fromEntries(Object.entries(after.pods).map(([k, v]: [string, any]) => [k, v.holderPid]))).toEqual(Object.fromEntries(Object.entries(before.pods).map(([k, v]: [string, any]) => [k, v.holderPid])));
  });

  it('kemu get and describe show the stored objects with uid, resourceVersion, owners and status', async () => {
    const deploy = await getJson('deployments', 'demo');
    expect(deploy.metadata).toMatchObject({ uid: expect.any(String), resourceVersion: expect.stringMatching(/^\d+$/), creationTimestamp: expect.any(String) });
    expect(deploy.status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3 });
    const rs = (await getJson('replicasets', '-n', 'default')).items[0];
    expect(rs.metadata.ownerReferences[0]).toMatchObject({ kind: 'Deployment', name: 'demo', uid: deploy.metadata.uid, controller: true });
    const pod = (await demoPods())[0];
    expect(pod.metadata.ownerReferences[0]).toMatchObject({ kind: 'ReplicaSet', name: rs.metadata.name });
    expect(pod.status).toMatchObject({ phase: 'Running', podIP: expect.any(String), hostIP: expect.stringMatching(/^192\.168\.60\./) });
    expect(pod.status.conditions.find((c: any) => c.type === 'Ready').status).toBe('True');
    expect((await kemu('get', 'pod', pod.metadata.name, '-o', 'yaml', '--lab', LAB)).stdout).toContain(`nodeName: ${pod.spec.nodeName}`);
    const both = (await kemu('get', 'deploy,rs', '--lab', LAB)).stdout;
    expect(both).toMatch(/^NAMESPACE\s+NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\ndefault\s+demo\s+3\/3\s+3\s+3\nkube-system\s+coredns\s+1\/1\s+1\s+1\n\nNAMESPACE\s+NAME\s+DESIRED/);
    expect((await kemu('describe', 'deployment', 'demo', '--lab', LAB)).stdout).toMatch(/Replicas:\s+3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable/);
  });
});

describe('kemu scale', () => {
  it('scales to 5 spread over the nodes, all answering within 5 s; back to 1, the removed sandboxes are gone', async () => {
    const started = Date.now();
    expect((await kemu('scale', 'deployment', 'demo', '--replicas', '5', '--lab', LAB, '-q')).exitCode).toBe(0);
    const pods = await demoPods();
    expect(pods).toHaveLength(5);
    const perNode = ['node-1', 'node-2', 'node-3'].map((n) => pods.filter((p: any) => p.spec.nodeName === n).length);
    expect(Math.min(...perNode)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...perNode) - Math.min(...perNode)).toBeLessThanOrEqual(1);
    const cip = (await service()).spec.clusterIP;
    const names = new Set(pods.map((p: any) => p.metadata.name));
    await until('all 5 hostnames through the ClusterIP', 5000 - (Date.now() - started), async () => (await hostnames('client', `http://${cip}/hostname`, 40)).size === 5);
    expect(await hostnames('client', `http://${cip}/hostname`, 40)).toEqual(names);

    expect((await kemu('scale', 'deployment', 'demo', '--replicas', '1', '--lab', LAB, '-q')).exitCode).toBe(0);
    const left = await demoPods();
    expect(left).toHaveLength(1);
    const gone = pods.filter((p: any) => p.metadata.name !== left[0].metadata.name);
    const netns = await netnsList();
    for (const p of gone) {
      expect(netns).not.toContain(`kemu-${LAB}.pod.default.${p.metadata.name}`);
      expect(await markedProcesses(`KEMU_POD=default/${p.metadata.name}`)).toEqual([]);
    }
    expect(await hostnames('client', `http://${cip}/hostname`, 20)).toEqual(new Set([left[0].metadata.name]));
    expect((await kemu('scale', 'deployment', 'demo', '--replicas', '3', '--lab', LAB, '-q')).exitCode).toBe(0);
  });
});

describe('rolling update', () => {
  it('replaces every pod of a changed template with no failed request from a client looping at 10 requests/s', async () => {
    const oldPods = new Set((await demoPods()).map((p: any) => p.metadata.name));
    const cip = (await service()).spec.clusterIP;
    const loop = exec(LAB, 'client', 'sh', '-c', `for i in $(seq 70); do curl -s -m 2 -o /dev/null -w '%{http_code}\\n' http://${cip}/hostname; sleep 0.1; done`);
    await new Promise((r) => setTimeout(r, 1000));
    const text = readFileSync(DEMO, 'utf8').replace('image: myapp:v1', 'image: myapp:v2');
    const r = await mustApply(writeTopology(LAB, undefined, text));
    expect(r.stdout).toContain('deployment/demo configured');
    const codes = (await loop).trim().split('\n');
    expect(codes).toHaveLength(70);
    expect(codes.filter((c) => c !== '200')).toEqual([]);
    const now = await demoPods();
    expect(now).toHaveLength(3);
    for (const p of now) expect(oldPods.has(p.metadata.name)).toBe(false);
    const rss = (await getJson('replicasets', '-n', 'default')).items.map((x: any) => [x.spec.template.spec.containers[0].image, x.spec.replicas]).sort();
    expect(rss).toEqual([['myapp:v1', 0], ['myapp:v2', 3]]);
  });
});

describe('container supervision', () => {
  it('a killed server leaves the endpoints within 2 s and is restarted', async () => {
    const pod = (await demoPods())[0];
    const key = `default/${pod.metadata.name}`;
    const pid = state().pods[key].containers.nginx.pid as number;
    expect(await readyIps()).toContain(pod.status.podIP);
    const killed = Date.now();
    process.kill(pid, 'SIGKILL');
    await until('the pod to leave the endpoints', 2000, async () => !(await readyIps()).includes(pod.status.podIP));
    expect(Date.now() - killed).toBeLessThan(2000);
    await until('the pod to be back in the endpoints', 15_000, async () => (await readyIps()).includes(pod.status.podIP));
    const after = (await getJson('pods', pod.metadata.name)).status.containerStatuses[0];
    expect(after).toMatchObject({ restartCount: 1, ready: true });
    expect(state().pods[key].containers.nginx.pid).not.toBe(pid);
  });
});

describe('readiness, live', () => {
  it('a pod failing its readinessProbe leaves the endpoints without any command, and returns when it passes again', async () => {
    await mustApply([
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'probed', labels: { app: 'nginx' } },
        spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }], readinessProbe: { httpGet: { path: '/healthz', port: 80 }, periodSeconds: 1, failureThreshold: 2 } }] },
      },
    ]);
    const ip = (await getJson('pods', 'probed')).status.podIP;
    expect(await readyIps()).toContain(ip);
    const pid = state().pods['default/probed'].containers.web.pid as number;
    process.kill(pid, 'SIGSTOP'); // alive but silent: not ready, not restarted
    try {
      await until('the silent pod to leave the endpoints (2 failed probes in a row)', 8000, async () => !(await readyIps()).includes(ip));
      expect((await getJson('pods', 'probed')).status.containerStatuses[0]).toMatchObject({ ready: false, restartCount: 0 });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await until('the pod to be back in the endpoints', 5000, async () => (await readyIps()).includes(ip));
    expect((await kemu('delete', 'pod', 'probed', '--lab', LAB, '-q')).exitCode).toBe(0);
  });

  it('a deleted pod of a Deployment is replaced', async () => {
    const [victim] = await demoPods();
    expect((await kemu('delete', 'pod', victim.metadata.name, '--lab', LAB, '-q')).exitCode).toBe(0);
    const now = await demoPods();
    expect(now).toHaveLength(3);
    expect(now.map((p: any) => p.metadata.name)).not.toContain(victim.metadata.name);
    expect(await readyIps()).toHaveLength(3);
  });
});

describe('scheduler', () => {
  it('keeps a pod that asks for more memory than any node has Pending with the reason; a nodeSelector pod lands on its node', async () => {
    await mustApply([
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'big' }, spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { memory: '64Gi' } } }] } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'picky' }, spec: { nodeSelector: { disk: 'ssd' }, containers: [{ name: 'c', image: 'x' }] } },
    ]);
    const big = await getJson('pods', 'big');
    expect(big.status.phase).toBe('Pending');
    expect(big.spec.nodeName).toBeUndefined();
    expect(big.status.conditions).toContainEqual(expect.objectContaining({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient memory.' }));
    expect((await kemu('get', 'pods', '--lab', LAB)).stdout).toMatch(/big\s+0\/1\s+Pending/);
    expect((await kemu('describe', 'pod', 'big', '--lab', LAB)).stdout).toContain('Unschedulable  0/3 nodes are available: 3 Insufficient memory.');
    expect(await netnsList()).not.toContain(`kemu-${LAB}.pod.default.big`);
    expect((await getJson('pods', 'picky')).spec.nodeName).toBe('node-1');
    expect((await kemu('delete', 'pod', 'big', 'picky', '--lab', LAB, '-q')).exitCode).toBe(0);
  });
});

describe('concurrent commands', () => {
  it('two kemu apply runs started at the same moment both succeed and the state holds both', async () => {
    const pod = (name: string) => [{ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'x' }] } }];
    const [a, b] = await Promise.all([apply(pod('one')), apply(pod('two'))]);
    expect([a.exitCode, b.exitCode], a.stderr + b.stderr).toEqual([0, 0]);
    const store = state().store.objects.Pod;
    expect(store['default/one']).toBeDefined();
    expect(store['default/two']).toBeDefined();
    const names = (await getJson('pods')).items.filter((p: any) => p.status?.phase === 'Running').map((p: any) => p.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['one', 'two']));
    expect((await kemu('delete', 'pod', 'one', 'two', '--lab', LAB, '-q')).exitCode).toBe(0);
  });
});

describe('bad manifests', () => {
  const ok = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'innocent' }, spec: { containers: [{ name: 'c', image: 'x' }] } };
  const deploy = (spec: Record<string, unknown>) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bad' }, spec });
  const template = { metadata: { labels: { app: 'bad' } }, spec: { containers: [{ name: 'c', image: 'x' }] } };
  const cases: Array<[string, unknown, RegExp]> = [
    ['a Deployment without selector', deploy({ replicas: 1, template }), /spec\.selector\.matchLabels: is required/],
    ['a selector that does not match the template', deploy({ replicas: 1, selector: { matchLabels: { app: 'other' } }, template }), /spec\.template\.metadata\.labels: must match spec\.selector\.matchLabels; missing app=other/],
    ['negative replicas', deploy({ replicas: -2, selector: { matchLabels: { app: 'bad' } }, template }), /spec\.replicas: -2 must be a whole number ≥ 0/],
    ['a Service port without a number', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'bad' }, spec: { selector: { app: 'x' }, ports: [{ name: 'http' }] } }, /spec\.ports\[0\]\.port/],
    ['an unknown apiVersion', { apiVersion: 'apps/v2', kind: 'Deployment', metadata: { name: 'bad' }, spec: {} }, /apiVersion 'apps\/v2' is not known for Deployment; use apps\/v1/],
    ['an unsupported kind', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad' } }, /kind 'ConfigMap' is not supported here/],
  ];
  /** The supervisor writes the record too (statuses after a restart): wait until it has nothing left to do. */
  const quiet = async () => {
    let last = '';
    let since = Date.now();
    await until('the lab to settle', 15_000, async () => {
      const now = readFileSync(`/var/lib/kemu/${LAB}/state.json`, 'utf8');
      if (now !== last) [last, since] = [now, Date.now()];
      return Date.now() - since > 1000;
    });
  };
  for (const [name, doc, message] of cases) {
    it(`refuses ${name} (the whole file), names the field, and changes nothing`, async () => {
      await quiet();
      const before = readFileSync(`/var/lib/kemu/${LAB}/state.json`, 'utf8');
      const r = await apply([ok, doc]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain('nothing was changed');
      expect(readFileSync(`/var/lib/kemu/${LAB}/state.json`, 'utf8')).toBe(before);
    });
  }

  it('skips unsupported kinds by name with --skip-unsupported', async () => {
    const r = await apply([ok, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' } }], '--skip-unsupported');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/skipped ConfigMap cfg .*kind not emulated/);
    expect(r.stdout).toContain('pod/innocent created');
    expect((await kemu('delete', 'pod', 'innocent', '--lab', LAB, '-q')).exitCode).toBe(0);
  });
});

describe('kemu delete', () => {
  it('deleting the Deployment takes its ReplicaSets and pods, sandboxes included', async () => {
    const pods = await demoPods();
    const r = await kemu('delete', '-f', DEMO, '--lab', LAB);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('deployment/demo deleted');
    expect((await getJson('replicasets', '-n', 'default')).items).toEqual([]);
    expect(await demoPods()).toEqual([]);
    const netns = await netnsList();
    for (const p of pods) expect(netns).not.toContain(p.metadata.name);
  });

  it('down leaves nothing, supervisor included', async () => {
    expect((await kemu('down', LAB)).exitCode).toBe(0);
    expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
  });
});
