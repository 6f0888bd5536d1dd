/**
 * Pod sandboxes healed as the kubelet and calico-node do (issue 10): a deleted cali veth comes back
 * (veth, /32 route) from the supervisor within seconds, and `up` repairs it and says so; a killed
 * holder is a changed sandbox: rebuilt, containers restarted with restartCount + 1 and lastState
 * SandboxChanged. Each time until a curl loop through a Service answers again is printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { NOTHING_LEFT, exec, getJson as getLabJson, kemu, leftovers, mustUp, until, writeTopology } from '../helpers/kemu.js';

const LAB = 'kt-hk-pods';
const WEB = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', labels: { app: 'web' } }, spec: { nodeName: 'n2', containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }] } };
const file = writeTopology(LAB, {
  apiVersion: 'kemu.dev/v1alpha1',
  kind: 'Topology',
  metadata: { name: LAB },
  spec: {
    network: { underlay: { subnet: '192.168.87.0/24' } },
    nodes: [{ name: 'n1' }, { name: 'n2' }],
    workloads: [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client' }, spec: { nodeName: 'n1', containers: [{ name: 'shell', image: 'busybox' }] } },
      WEB,
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } },
    ],
  },
});
const getJson = (...args: string[]) => getLabJson(LAB, ...args);
const NODE2 = `kemu-${LAB}.node.n2`;
let clusterIP = '';

/** ms from now until one request through the Service answers (requests 100 ms apart, 300 ms timeout each). */
async function timeToHealthy(limitMs: number): Promise<number> {
  const start = Date.now();
  await until('the Service to answer', limitMs, async () => {
    const r = await kemu('exec', '--lab', LAB, 'client', '--', 'curl', '-sS', '-m', '0.3', `http://${clusterIP}/hostname`);
    return r.exitCode === 0 && r.stdout.trim() === 'web-1';
  });
  return Date.now() - start;
}
const caliOf = async () => (await execa('ip', ['-n', NODE2, '-o', 'link'])).stdout.split('\n').map((l) => /\d+: (cali[^@:]+)/.exec(l)?.[1]).filter(Boolean)[0]!;
const supervisorPid = async () => JSON.parse(await readFile(`/var/lib/kemu/${LAB}/state.json`, 'utf8')).supervisor.pid as number;

beforeAll(async () => {
  await mustUp(file);
  clusterIP = (await getJson('svc', 'web')).spec.clusterIP;
  expect((await exec(LAB, 'client', 'curl', '-sS', '-m', '2', `http://${clusterIP}/hostname`)).trim()).toBe('web-1');
});
afterAll(async () => {
  // What an older kemu killed in the pods phase left in /tmp: `down` sweeps it too.
  await mkdir(`/tmp/kemu-${LAB}-Ab12Cd`, { recursive: true });
  await kemu('down', '-q', LAB);
  expect(existsSync(`/tmp/kemu-${LAB}-Ab12Cd`)).toBe(false);
  expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
});

describe('temp folders of a killed command', () => {
  it('the next reconcile (under the lab lock) removes what a SIGKILLed `up` left in /run/kemu/<lab>/tmp', async () => {
    const dir = `/run/kemu/${LAB}/tmp/sandbox-Xy12Zw`;
    await mkdir(`${dir}/0`, { recursive: true });
    expect((await kemu('up', file)).exitCode).toBe(0);
    expect(await readdir(`/run/kemu/${LAB}/tmp`)).toEqual([]);
  });
});

describe('a deleted cali veth', () => {
  it('the supervisor recreates the veth and its /32 route', async () => {
    const cali = await caliOf();
    const ip = (await getJson('pods', 'web-1')).status.podIP;
    await execa('ip', ['-n', NODE2, 'link', 'del', cali]);
    const ms = await timeToHealthy(10_000);
    console.log(`veth deleted → Service healthy again after ${ms} ms (supervisor)`);
    expect(ms).toBeLessThanOrEqual(5000);
    expect((await execa('ip', ['-n', NODE2, 'route', 'show', ip])).stdout).toContain(`dev ${cali}`);
    expect((await getJson('pods', 'web-1')).status.containerStatuses[0].restartCount).toBe(0);
  });

  it('`up` (supervisor stopped) repairs it and says "repaired: veth cali… of default/web-1"', async () => {
    const cali = await caliOf();
    const sup = await supervisorPid();
    process.kill(sup, 'SIGSTOP');
    try {
      await execa('ip', ['-n', NODE2, 'link', 'del', cali]);
      // Meanwhile get and describe read the sandbox back: not Ready, and why.
      const pod = await getJson('pods', 'web-1');
      expect(pod.status.conditions.find((c: any) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'NetworkNotReady' });
      expect((await kemu('get', 'pods', '--lab', LAB)).stdout).toMatch(/web-1\s+0\/1\s+NetworkNotReady/);
      expect((await kemu('describe', 'pod', 'web-1', '--lab', LAB)).stdout).toMatch(/Sandbox:\s+not ready \(NetworkNotReady: the pod's veth is gone\)/);
      const r = await kemu('up', file);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain(`repaired: veth ${cali} of default/web-1`);
      expect(r.stdout).not.toContain('nothing changed');
    } finally {
      process.kill(sup, 'SIGCONT');
    }
    console.log(`veth deleted → after \`up\`: Service healthy after ${await timeToHealthy(5000)} ms`);
  });
});

describe('a changed sandbox', () => {
  it('a killed holder: sandbox recreated, restartCount + 1, lastState SandboxChanged', async () => {
    const before = await getJson('pods', 'web-1');
    const holder = Number(before.metadata.annotations['kemu.dev/holder-pid']);
    process.kill(holder, 'SIGKILL');
    const ms = await timeToHealthy(15_000);
    console.log(`holder killed → Service healthy again after ${ms} ms (sandbox recreated)`);
    expect(ms).toBeLessThanOrEqual(5000);
    await until('restartCount 1', 10_000, async () => (await getJson('pods', 'web-1')).status.containerStatuses[0].restartCount === 1);
    const after = await getJson('pods', 'web-1');
    expect(Number(after.metadata.annotations['kemu.dev/holder-pid'])).not.toBe(holder);
    expect(after.status.containerStatuses[0].lastState.terminated).toMatchObject({ reason: 'SandboxChanged', message: 'Pod sandbox changed, it will be killed and re-created.' });
  });

  it('while nobody repairs it, get shows a killed holder not Ready (SandboxChanged); `up` rebuilds it (restartCount 2)', async () => {
    const sup = await supervisorPid();
    process.kill(sup, 'SIGSTOP');
    try {
      process.kill(Number((await getJson('pods', 'web-1')).metadata.annotations['kemu.dev/holder-pid']), 'SIGKILL');
      await until('get to show SandboxChanged', 5000, async () => /web-1\s+0\/1\s+SandboxChanged/.test((await kemu('get', 'pods', '--lab', LAB)).stdout));
      const r = await kemu('up', file);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain('pod default/web-1: not running, recreated');
    } finally {
      process.kill(sup, 'SIGCONT');
    }
    expect((await getJson('pods', 'web-1')).status.containerStatuses[0].restartCount).toBe(2);
    console.log(`holder killed → after \`up\`: Service healthy after ${await timeToHealthy(5000)} ms`);
  });

  it('`ip netns del` of the pod: the same, restartCount 3', async () => {
    await execa('ip', ['netns', 'del', `kemu-${LAB}.pod.default.web-1`]);
    const ms = await timeToHealthy(15_000);
    console.log(`pod netns deleted → Service healthy again after ${ms} ms (sandbox recreated)`);
    expect(ms).toBeLessThanOrEqual(5000);
    await until('restartCount 3', 10_000, async () => (await getJson('pods', 'web-1')).status.containerStatuses[0].restartCount === 3);
  });
});
