/**
 * Container probes, run from each pod's node as the kubelet runs them: HTTP GET (2xx/3xx passes) or a
 * TCP connect, each within its timeoutSeconds. One shell per node runs all of that node's probes.
 * exec and gRPC probes are emulated as passing (the default server stands in for the image); an
 * HTTPS GET is checked as a TCP connect (the default server has no TLS); a named port that did not
 * resolve (port 0) fails, as the kubelet's probe does.
 */
import { run, mapLimit, spawnCounter } from './run.js';
import { shellQuote } from '../util/shell.js';
import type { ProbeHandler } from '../cluster/types.js';

export interface Probe {
  key: string;
  nodeNetns: string;
  ip: string;
  probe: ProbeHandler & { timeoutSeconds?: number };
}

function check(p: Probe): string | undefined {
  const h = p.probe;
  const timeout = Math.max(1, p.probe.timeoutSeconds ?? 1);
  if (h.kind === 'exec' || h.kind === 'grpc') return undefined;
  if (h.port <= 0) return 'false';
  if (h.kind === 'httpGet' && h.scheme !== 'HTTPS')
    return `c=$(curl -s -o /dev/null -m ${timeout} -w '%{http_code}' ${shellQuote(`http://${p.ip}:${h.port}${h.path}`)}); [ "$c" -ge 200 ] && [ "$c" -lt 400 ]`;
  return `socat -T${timeout} /dev/null TCP:${p.ip}:${h.port},connect-timeout=${timeout} 2>/dev/null`;
}

/** Indexes into `probes` of the ones that failed. */
export async function failingProbeIndexes(probes: Probe[]): Promise<Set<number>> {
  const byNode = new Map<string, Array<{ p: Probe; i: number }>>();
  probes.forEach((p, i) => {
    if (check(p) !== undefined) byNode.set(p.nodeNetns, [...(byNode.get(p.nodeNetns) ?? []), { p, i }]);
  });
  const failed = new Set<number>();
  await mapLimit([...byNode], 8, async ([netns, list]) => {
    spawnCounter.other++;
    // Each check in the background, so one node's probes take the longest timeout, not their sum.
    const script = list.map(({ p }, j) => `( if ${check(p)}; then :; else echo fail ${j}; fi ) &`).join('\n') + '\nwait';
    const r = await run('ip', ['netns', 'exec', netns, 'sh', '-s'], { input: script + '\n' });
    for (const m of r.stdout.matchAll(/^fail (\d+)$/gm)) failed.add(list[Number(m[1])]!.i);
  });
  return failed;
}

/** Keys whose probe failed. */
export async function failingProbes(probes: Probe[]): Promise<Set<string>> {
  const failed = await failingProbeIndexes(probes);
  return new Set([...failed].map((i) => probes[i]!.key));
}
