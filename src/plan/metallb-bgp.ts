/**
 * MetalLB's BGP mode with real sessions: a BIRD in the fabric namespace is the router every BGPPeer
 * names, and each node runs a second BIRD as MetalLB's speaker (beside Calico's, as MetalLB's speaker is
 * its own daemon with its own ASN and peers; in the default static routing a node runs no BIRD at all).
 * The speaker originates one route per announced prefix and exports it with next hop self; the router
 * imports them and installs one `proto bird` route per prefix with a next hop per announcing node
 * (`merge paths`: ECMP). Pure: configs and their hashes.
 */
import type { ClusterState } from '../cluster/types.js';
import { SHORTHAND_PEER, peerSelectsNode, type LbPeer } from '../cluster/metallb.js';
import { nodeLabels } from '../cluster/nodes.js';
import { labPaths, fabricNetns, nodeNetns } from '../topology/names.js';
import { planHash } from './hash.js';
import type { LbAnnouncements } from './metallb.js';

export interface BirdDaemonPlan {
  /** `router` or the node's name */
  name: string;
  netns: string;
  config: string;
  configFile: string;
  socket: string;
  pidFile: string;
  hash: string;
}

/** Peers from BGPPeer objects (the shorthand pool's routes stay static: plan/routes.ts). */
export const realPeers = (c: ClusterState): LbPeer[] => (c.metallb?.peers ?? []).filter((p) => p.name !== SHORTHAND_PEER);

const seconds = (d: string | undefined, min: number) => {
  if (!d) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d);
  if (!m) return undefined;
  const n = Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.max(min, Math.round(n));
};

const files = (lab: string, name: string) => {
  const dir = labPaths(lab).birdDir;
  return { configFile: `${dir}/metallb-${name}.conf`, socket: `${dir}/metallb-${name}.ctl`, pidFile: `${dir}/metallb-${name}.pid` };
};

function daemon(lab: string, name: string, netns: string, lines: string[]): BirdDaemonPlan {
  const config = `${lines.join('\n')}\n`;
  return { name, netns, config, ...files(lab, name), hash: planHash(config) };
}

// Lab-quick retries: BIRD waits 60 s after an error by default, and 5 s before its first connect.
const timers = (p: LbPeer) => [
  '  connect delay time 1;',
  '  error wait time 1, 5;',
  ...(seconds(p.holdTime, 3) ? [`  hold time ${seconds(p.holdTime, 3)};`] : []),
  ...(seconds(p.keepaliveTime, 1) ? [`  keepalive time ${seconds(p.keepaliveTime, 1)};`] : []),
];

/** The nodes each peer has a session with. */
export function peerNodes(c: ClusterState): Array<{ peer: LbPeer; node: ClusterState['nodes'][number] }> {
  return realPeers(c).flatMap((peer) => c.nodes.filter((n) => peerSelectsNode(peer, { labels: nodeLabels(n.name, n.labels) })).map((node) => ({ peer, node })));
}

export function planRouter(c: ClusterState): BirdDaemonPlan | undefined {
  const sessions = peerNodes(c);
  if (sessions.length === 0) return undefined;
  const gateway = c.network.underlay.racks[0]!.gateway;
  return daemon(c.lab, 'router', fabricNetns(c.lab), [
    `router id ${gateway};`,
    'protocol device {}',
    'protocol kernel {',
    '  merge paths on;',
    '  ipv4 { import none; export all; };',
    '}',
    ...sessions.flatMap(({ peer, node }) => [
      `protocol bgp ${proto(peer.name, node.name)} {`,
      `  local ${peer.peerAddress} as ${peer.peerASN};`,
      `  neighbor ${node.ip} as ${peer.myASN};`,
      '  passive on;',
      ...timers(peer),
      '  ipv4 { import all; export none; };',
      '}',
    ]),
  ]);
}

export function planSpeakers(c: ClusterState, a: LbAnnouncements): BirdDaemonPlan[] {
  const sessions = peerNodes(c);
  const nodes = [...new Set(sessions.map((s) => s.node.name))];
  return nodes.map((name) => {
    const node = c.nodes.find((n) => n.name === name)!;
    const mine = a.bgp.filter((x) => x.nodes.includes(name));
    const prefixes = [...new Set(mine.map((x) => x.prefix))].sort();
    return daemon(c.lab, name, nodeNetns(c.lab, name), [
      `router id ${node.ip};`,
      'protocol device {}',
      // The speaker only originates: these routes live in its table, never in the node's kernel.
      'protocol static metallb {',
      '  ipv4;',
      ...prefixes.map((p) => `  route ${p} blackhole;`),
      '}',
      ...sessions
        .filter((s) => s.node.name === name)
        .flatMap(({ peer }) => {
          const carried = prefixes.filter((p) => mine.some((x) => x.prefix === p && x.peers.includes(peer.name)));
          return [
            `protocol bgp ${proto(peer.name, 'speaker')} {`,
            `  local ${node.ip} as ${peer.myASN};`,
            `  neighbor ${peer.peerAddress} as ${peer.peerASN};`,
            '  connect retry time 1;',
            ...timers(peer),
            `  ipv4 { import none; next hop self; export filter { if net ~ [ ${carried.length ? carried.join(', ') : '0.0.0.0/32'} ] then accept; reject; }; };`,
            '}',
          ];
        }),
    ]);
  });
}

/** BIRD protocol names: letters, digits and underscores. */
const proto = (peer: string, node: string) => `mlb_${peer}_${node}`.replace(/[^A-Za-z0-9_]/g, '_');
