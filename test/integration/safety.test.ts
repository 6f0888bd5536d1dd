/**
 * Issue 9 §3 and §5 on a running lab: refused input changes nothing (the state file byte-identical);
 * --skip-unsupported drops the field and says so; a pod pinned to a running pod's address is refused
 * and the running pod keeps its address and sandbox; a foreign pid written into the record as the
 * supervisor does not make the supervisor exit, and the record is repaired; get -o json output can be
 * applied back; safe pod sysctls land in the pod's netns; a service-proxy-name Service gets no rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { NOTHING_LEFT, getJson, kemu, leftovers, markedProcesses, mustUp, pods, until, writeTopology } from '../helpers/kemu.js';

const LAB = 'kt-sf-lab';
const STATE = `/var/lib/kemu/${LAB}/state.json`;
const pod = (name: string, extra: { annotations?: Record<string, string>; spec?: object } = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
  spec: { containers: [{ name: 'c', image: 'x' }], ...extra.spec },
});
const file = writeTopology(LAB, {
  apiVersion: 'kemu.dev/v1alpha1',
  kind: 'Topology',
  metadata: { name: LAB },
  spec: { network: { underlay: { subnet: '192.168.91.0/24' } }, nodes: [{ name: 'n1' }, { name: 'n2' }], workloads: [{ ...pod('old'), metadata: { name: 'old', labels: { app: 'old' } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } }, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'old' }, spec: { selector: { app: 'old' }, ports: [{ port: 80 }] } }] },
});
const apply = (docs: unknown[], ...extra: string[]) => kemu('apply', '--lab', LAB, '-f', writeTopology(LAB, undefined, docs.map((d) => stringify(d)).join('---\n')), ...extra);
const supervisorPid = async () => JSON.parse(await readFile(STATE, 'utf8')).supervisor.pid as number;
let sleeper: ReturnType<typeof execa> | undefined;

beforeAll(async () => {
  await mustUp(file);
});
afterAll(async () => {
  sleeper?.kill('SIGKILL');
  await kemu('down', '-q', LAB);
  expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
});

describe('refused input changes nothing', () => {
  it('a pod with readinessGates is refused by object and field; the state file stays byte-identical', async () => {
    const before = await readFile(STATE);
    const r = await apply([pod('gated', { spec: { readinessGates: [{ conditionType: 'example.com/lb-ready' }] } })]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/spec\.readinessGates: Pod default\/gated: this field is not emulated by kemu: .*pass --skip-unsupported to drop it with a warning/);
    expect((await readFile(STATE)).equals(before)).toBe(true);
  });

  it('with --skip-unsupported the field is dropped, a warning names it, and the pod runs', async () => {
    const r = await apply([pod('gated', { spec: { readinessGates: [{ conditionType: 'example.com/lb-ready' }] } })], '--skip-unsupported');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^skipped field .*\.spec\.readinessGates of Pod default\/gated: not emulated/m);
    expect((await getJson(LAB, 'pod', 'gated')).spec.readinessGates).toBeUndefined();
  });
});

describe('a pod pinned to an address a running pod holds (Calico IPAM)', () => {
  it('is refused naming both pods and the address; the running pod keeps its address and sandbox', async () => {
    const [old] = (await pods(LAB)).filter((p) => p.name === 'old');
    const before = await readFile(STATE);
    const r = await apply([pod('thief', { annotations: { 'cni.projectcalico.org/ipAddrs': JSON.stringify([old!.ip]) }, spec: { nodeName: 'n2' } })]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`pod default/thief: requested pod IP ${old!.ip} (cni.projectcalico.org/ipAddrs) is already assigned to pod default/old`);
    expect((await readFile(STATE)).equals(before)).toBe(true);
    const [still] = (await pods(LAB)).filter((p) => p.name === 'old');
    expect(still).toEqual(old);
  });
});

describe('the supervisor and a foreign pid in the record (§5)', () => {
  it('does not defer to a process without its marks; the record names it again', async () => {
    const real = await supervisorPid();
    expect(await markedProcesses(`KEMU_LAB=${LAB}`)).toContain(real);
    sleeper = execa('sleep', ['300']);
    sleeper.catch(() => undefined); // killed in afterAll
    const record = JSON.parse(await readFile(STATE, 'utf8'));
    record.supervisor = { pid: sleeper.pid };
    const { writeFile } = await import('node:fs/promises');
    await writeFile(STATE, JSON.stringify(record), { mode: 0o600 });
    await until('the supervisor to record itself again', 10_000, async () => (await supervisorPid()) === real);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await markedProcesses(`KEMU_ROLE=supervisor`)).toContain(real);
    expect(existsSync(`/proc/${sleeper.pid}`)).toBe(true); // kemu killed nothing it does not own
    const log = await readFile(`/run/kemu/${LAB}/logs/supervisor.log`, 'utf8');
    expect(log).toContain(`the record names pid ${sleeper.pid}, which is not this lab's supervisor`);
    expect(log).not.toContain('supervises the lab now; exiting');
  });
});

describe('kemu get -o json feeds kemu apply -f (a List, §2)', () => {
  // As with kubectl, the objects are 'configured' (the applier and the applied configuration change), but
  // nothing of the network does: the same pods, addresses and sandboxes, the same ClusterIP.
  it.each(['pods', 'services'])('get %s -o json, applied back: accepted, the network untouched', async (kind) => {
    const [podsBefore, svcBefore] = [await pods(LAB), await getJson(LAB, 'svc', 'old')];
    const list = await kemu('get', kind, '-o', 'json', '--lab', LAB);
    expect(list.exitCode).toBe(0);
    expect(JSON.parse(list.stdout).kind).toBe('List');
    const r = await kemu('apply', '--lab', LAB, '-f', writeTopology(LAB, undefined, list.stdout));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/ created$/m);
    expect(await pods(LAB)).toEqual(podsBefore);
    expect((await getJson(LAB, 'svc', 'old')).spec.clusterIP).toBe(svcBefore.spec.clusterIP);
  });
});

describe('pod sysctls, written in the sandbox as the runtime does', () => {
  it('a safe net.* sysctl is set in the pod netns only; the node keeps its own', async () => {
    const r = await apply([pod('tuned', { spec: { nodeName: 'n2', securityContext: { sysctls: [{ name: 'net.ipv4.ip_local_port_range', value: '20000 20100' }, { name: 'net/ipv4/tcp_fin_timeout', value: '17' }] } } })]);
    expect(r.exitCode, r.stderr).toBe(0);
    const read = (target: string, key: string) => kemu('exec', '--lab', LAB, target, '--', 'cat', `/proc/sys/net/ipv4/${key}`);
    expect((await read('tuned', 'ip_local_port_range')).stdout.trim().split(/\s+/)).toEqual(['20000', '20100']);
    expect((await read('tuned', 'tcp_fin_timeout')).stdout.trim()).toBe('17');
    expect((await read('node/n2', 'ip_local_port_range')).stdout.trim().split(/\s+/)).not.toEqual(['20000', '20100']);
    expect((await read('old', 'tcp_fin_timeout')).stdout.trim()).not.toBe('17');
  });
});

describe('kube-proxy ignores Services labelled service.kubernetes.io/service-proxy-name (its informer selector)', () => {
  it('such a Service gets a ClusterIP but no rules; the plain one has them', async () => {
    const other = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'other-proxy', labels: { 'service.kubernetes.io/service-proxy-name': 'foo' } }, spec: { selector: { app: 'old' }, ports: [{ port: 80 }] } };
    const r = await apply([other]);
    expect(r.exitCode, r.stderr).toBe(0);
    const ip = (await getJson(LAB, 'svc', 'other-proxy')).spec.clusterIP as string;
    const plain = (await getJson(LAB, 'svc', 'old')).spec.clusterIP as string;
    const nat = (await execa('ip', ['netns', 'exec', `kemu-${LAB}.node.n1`, 'iptables-save', '-t', 'nat'])).stdout;
    expect(nat).toContain(`-d ${plain}/32`);
    expect(nat).not.toContain(`-d ${ip}/32`);
    expect(nat).not.toContain('default/other-proxy');
  });
});

describe('text from the user is printed escaped (§2)', () => {
  it('an annotation holding a newline cannot forge a line of describe', async () => {
    const r = await apply([pod('noisy', { annotations: { note: 'hi\nNode:         evil' }, spec: { nodeName: 'n1' } })]);
    expect(r.exitCode, r.stderr).toBe(0);
    const d = await kemu('describe', 'pod', 'noisy', '--lab', LAB);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(d.stdout).toContain('note=hi\\nNode:         evil');
    expect(d.stdout.split('\n').filter((l) => l.startsWith('Node:'))).toHaveLength(1);
  });
});
