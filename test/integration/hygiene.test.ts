/** Root-only lab files, and no log files outliving their pods (issue 9 §5). */
import { readdirSync, statSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { NOTHING_LEFT, kemu, leftovers, mustUp, writeTopology } from '../helpers/kemu.js';

const LAB = 'kt-hygiene';
const file = writeTopology(LAB, {
  apiVersion: 'kemu.dev/v1alpha1',
  kind: 'Topology',
  metadata: { name: LAB },
  spec: {
    nodes: [{ name: 'n1' }],
    workloads: [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
      },
    ],
  },
});
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
// The lab's own pods' logs (kube-system/coredns keeps its own).
const podLogs = () => readdirSync(`/run/kemu/${LAB}/logs`).filter((f) => f.startsWith('pod_default_')).sort();

afterAll(async () => {
  await kemu('down', '-q', LAB);
});

describe('lab files', () => {
  it('are root-only: folders 0700, the record 0600', async () => {
    await mustUp(file);
    for (const dir of ['/var/lib/kemu', `/var/lib/kemu/${LAB}`, '/run/kemu', `/run/kemu/${LAB}`, `/run/kemu/${LAB}/logs`]) expect(mode(dir), dir).toBe('700');
    expect(mode(`/var/lib/kemu/${LAB}/state.json`)).toBe('600');
  });

  it('a pod takes its log with it when it goes, a new pod gets one', async () => {
    const before = podLogs();
    expect(before).toHaveLength(2);
    expect((await kemu('scale', 'deployment', 'web', '--replicas', '0', '--lab', LAB)).exitCode).toBe(0);
    expect(podLogs()).toEqual([]);
    expect((await kemu('scale', 'deployment', 'web', '--replicas', '1', '--lab', LAB)).exitCode).toBe(0);
    const after = podLogs();
    expect(after).toHaveLength(1);
    expect(before).not.toContain(after[0]);
  });

  it('down leaves nothing', async () => {
    expect((await kemu('down', LAB)).exitCode).toBe(0);
    expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
  });
});
