/**
 * Readiness probes, run from each pod's node as the kubelet runs them: HTTP GET (2xx/3xx passes) or a
 * TCP connect, one second each. One shell per node runs all of that node's probes.
 */
import { run, mapLimit, spawnCounter } from './run.js';
import { shellQuote } from '../util/shell.js';

export interface Probe {
  key: string;
  nodeNetns: string;
  ip: string;
  probe: { kind: 'httpGet'; port: number; path: string } | { kind: 'tcpSocket'; port: number };
}


/** Keys whose probe failed. */
export async function failingProbes(probes: Probe[]): Promise<Set<string>> {
  const byNode = new Map<string, Probe[]>();
  for (const p of probes) byNode.set(p.nodeNetns, [...(byNode.get(p.nodeNetns) ?? []), p]);
  const failed = new Set<string>();
  await mapLimit([...byNode], 8, async ([netns, list]) => {
    spawnCounter.other++;
    const script = list
      .map((p, i) => {
        const check =
          p.probe.kind === 'httpGet'
            ? `c=$(curl -s -o /dev/null -m 1 -w '%{http_code}' ${shellQuote(`http://${p.ip}:${p.probe.port}${p.probe.path.startsWith('/') ? '' : '/'}${p.probe.path}`)}); [ "$c" -ge 200 ] && [ "$c" -lt 400 ]`
            : `socat -T1 /dev/null TCP:${p.ip}:${p.probe.port},connect-timeout=1 2>/dev/null`;
        return `if ${check}; then :; else echo fail ${i}; fi`;
      })
      .join('\n');
    const r = await run('ip', ['netns', 'exec', netns, 'sh', '-s'], { input: script + '\n' });
    for (const m of r.stdout.matchAll(/^fail (\d+)$/gm)) failed.add(list[Number(m[1])]!.key);
  });
  return failed;
}
