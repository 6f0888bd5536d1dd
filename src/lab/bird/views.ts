/** `kemu bgp` and `kemu routes`: what BIRD says and what each node's kernel routes mean. */
import { bgpSessions, type BgpSession } from '../../host/bird.js';
import { ipJson } from '../../host/run.js';
import { birdSocketPath, caliName, labPaths, nodeNetns } from '../../topology/names.js';
import type { LabRecord } from '../state.js';

export interface NodeSessions {
  node: string;
  sessions: Array<BgpSession & { peerNode?: string }>;
}

export async function bgpView(r: LabRecord, node?: string): Promise<NodeSessions[]> {
  // MetalLB's BGP router in the fabric: its sessions to the nodes' speakers.
  const byNodeIp = new Map(r.cluster.nodes.map((n) => [n.ip, n.name]));
  const router = r.metallbBgp?.router && (!node || node === 'fabric') ? [{ node: 'fabric', sessions: (await bgpSessions(`${labPaths(r.lab).birdDir}/metallb-router.ctl`)).map((s) => ({ ...s, ...(byNodeIp.has(s.peer) ? { peerNode: byNodeIp.get(s.peer) } : {}) })) }] : [];
  if (router.length && (r.cluster.network.routing === 'static' || node === 'fabric')) return router;
  if (r.cluster.network.routing === 'static') throw new Error(`lab ${r.lab} uses routing: static; there is no BGP (set spec.network.routing: bgp or ipip)`);
  const nodes = node ? r.cluster.nodes.filter((n) => n.name === node) : r.cluster.nodes;
  if (nodes.length === 0) throw new Error(`no node '${node}' in lab ${r.lab}; nodes: ${r.cluster.nodes.map((n) => n.name).join(', ')}`);
  const byIp = new Map(r.cluster.nodes.map((n) => [n.ip, n.name]));
  return Promise.all(
    nodes.map(async (n) => ({
      node: n.name,
      sessions: (await bgpSessions(birdSocketPath(r.lab, n.name))).map((s) => ({ ...s, ...(byIp.has(s.peer) ? { peerNode: byIp.get(s.peer) } : {}) })),
    })),
  );
}

interface KernelRoute {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  flags?: string[];
}

export interface AnnotatedRoute {
  dst: string;
  via?: string;
  dev?: string;
  proto: string;
  meaning: string;
}

export async function routesView(r: LabRecord, node: string): Promise<AnnotatedRoute[]> {
  const me = r.cluster.nodes.find((n) => n.name === node);
  if (!me) throw new Error(`no node '${node}' in lab ${r.lab}; nodes: ${r.cluster.nodes.map((n) => n.name).join(', ')}`);
  const byIp = new Map(r.cluster.nodes.map((n) => [n.ip, n.name]));
  const byCali = new Map(r.cluster.pods.filter((p) => p.nodeName === node).map((p) => [caliName(p.namespace, p.name), `${p.namespace}/${p.name}`]));
  const routes = await ipJson<KernelRoute[]>(nodeNetns(r.lab, node), ['route', 'show']);
  return routes.map((k) => {
    const proto = k.protocol ?? 'boot';
    const peer = k.gateway ? byIp.get(k.gateway) : undefined;
    const tunnel = k.dev === 'tunl0' ? ' through the IPIP tunnel' : '';
    let meaning: string;
    if (k.type === 'blackhole') meaning = `own IPAM block (blackhole: unused addresses go nowhere)${proto === 'bird' ? ', advertised over BGP' : ''}`;
    else if (k.dev && byCali.has(k.dev)) meaning = `local pod ${byCali.get(k.dev)}`;
    else if (proto === 'bird') meaning = `pod block of ${peer ?? k.gateway}, learned via BGP${tunnel}`;
    else if (proto === 'static') meaning = `pod block of ${peer ?? k.gateway} (static route written by kemu)`;
    else if (k.dst === 'default') meaning = 'default route via the underlay gateway (Calico needs one for proxy ARP)';
    else if (proto === 'kernel') meaning = `connected network on ${k.dev}`;
    else meaning = '';
    return { dst: k.dst, ...(k.gateway ? { via: k.gateway } : {}), ...(k.dev ? { dev: k.dev } : {}), proto, meaning };
  });
}
