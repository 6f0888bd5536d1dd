/**
 * The supervisor's two ways of noticing drifted rules (src/lab/daemons/rule-checks.ts), one lab each:
 * nftables change events (the default here: iptables-nft, kemu-pidwatch -r), and the polling kept for
 * the legacy backend and helpers without events (KEMU_RULE_EVENTS=off). Either way a flushed nat table
 * is resynced within about a second (the unit test of RuleCheckSchedule covers when each checks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { BIN, NOTHING_LEFT, kemu, leftovers, writeTopology } from '../helpers/kemu.js';

const labs = { events: 'kt-rc-events', polling: 'kt-rc-polling' } as const;
type Mode = keyof typeof labs;
const subnets: Record<Mode, string> = { events: '192.168.96.0/24', polling: '192.168.97.0/24' };

const topology = (mode: Mode) =>
  writeTopology(labs[mode], {
    apiVersion: 'kemu.dev/v1alpha1',
    kind: 'Topology',
    metadata: { name: labs[mode] },
    spec: {
      network: { underlay: { subnet: subnets[mode] } },
      dns: { enabled: false },
      nodes: [{ name: 'n1' }],
      workloads: [
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }] } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } },
      ],
    },
  });

const node = (mode: Mode) => `kemu-${labs[mode]}.node.n1`;
const natOutput = async (mode: Mode) => (await execa('ip', ['netns', 'exec', node(mode), 'iptables', '-t', 'nat', '-S', 'OUTPUT'], { reject: false })).stdout;
const supervisorLog = (mode: Mode) => readFile(`/run/kemu/${labs[mode]}/logs/supervisor.log`, 'utf8').catch(() => '');

beforeAll(async () => {
  const up = await Promise.all(
    (['events', 'polling'] as const).map((mode) => execa('node', [BIN, 'up', '-q', topology(mode)], { reject: false, env: mode === 'polling' ? { KEMU_RULE_EVENTS: 'off' } : {} })),
  );
  for (const r of up) expect(r.exitCode, r.stderr).toBe(0);
  // The supervisors start with the first reconcile: give them their first full check.
  await new Promise((r) => setTimeout(r, 1500));
});
afterAll(async () => {
  for (const lab of Object.values(labs)) {
    await kemu('down', '-q', lab);
    expect(await leftovers(lab)).toEqual(NOTHING_LEFT);
  }
});

describe.each(['events', 'polling'] as const)('drifted rules noticed by %s', (mode) => {
  it('`iptables -t nat -F`: the supervisor resyncs the node within 2.5 s', async () => {
    const t0 = Date.now();
    const flushed = await execa('ip', ['netns', 'exec', node(mode), 'sh', '-c', 'iptables -t nat -F && iptables -t nat -S OUTPUT']);
    expect(flushed.stdout).not.toContain('-j KUBE-SERVICES');
    while (!(await natOutput(mode)).includes('-j KUBE-SERVICES')) {
      expect(Date.now() - t0, 'nat OUTPUT back').toBeLessThan(2500);
      await new Promise((r) => setTimeout(r, 50));
    }
    console.log(`${mode}: nat flushed → kube-proxy's hooks back after ${Date.now() - t0} ms`);
    const log = await supervisorLog(mode);
    expect(log).toContain('(nat flushed): full resync');
    // Which way it noticed: the polling supervisor says it has no events.
    expect(log.includes('no nftables change events')).toBe(mode === 'polling');
  });
});
