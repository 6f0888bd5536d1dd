/** Where pods run: `spec.nodeName` when given, else where the pod ran before, else the node with the fewest pods. */
import type { PodIntent } from './pods.js';

export function place(pods: PodIntent[], nodes: string[], previous: Map<string, string>): Map<string, string> {
  const load = new Map(nodes.map((n) => [n, 0]));
  const out = new Map<string, string>();
  const key = (p: PodIntent) => `${p.namespace}/${p.name}`;
  const bind = (p: PodIntent, node: string) => {
    out.set(key(p), node);
    load.set(node, load.get(node)! + 1);
  };
  for (const p of pods) if (p.nodeName) bind(p, p.nodeName);
  for (const p of pods) {
    const prev = previous.get(key(p));
    if (!out.has(key(p)) && prev && load.has(prev)) bind(p, prev);
  }
  for (const p of pods) {
    if (out.has(key(p))) continue;
    let best = nodes[0]!;
    for (const n of nodes) if (load.get(n)! < load.get(best)!) best = n;
    bind(p, best);
  }
  return out;
}
