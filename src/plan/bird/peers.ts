/**
 * The BGP half of Calico's bird.cfg in BIRD 2 syntax: the `bgp_template` and one `protocol bgp` per
 * peer (calico-bird.md §3.2, §3.7, §5.2). Channel options (gateway, add paths, filters) move into
 * `ipv4 { … }`; session options stay at protocol level.
 */
import { BIRD_INT_MAX, NORMAL_ROUTE_PRIORITY, type BirdPeer } from './types.js';
import { commentText, type NormalInput } from './validate.js';

export type PeerKind = 'Mesh' | 'Node';

/**
 * Calico's prefix: `Mesh_` for the node-to-node mesh, `Node_` for explicit (route reflector) peerings.
 * A reflector never takes part in the mesh, and the mesh skips reflectors.
 */
export function peerKind(n: Pick<NormalInput, 'isRouteReflector'>, p: BirdPeer): PeerKind {
  return n.isRouteReflector || p.rrClient || p.routeReflector ? 'Node' : 'Mesh';
}

/** `Mesh_192_168_50_11`: a valid BIRD symbol, and what `calicoctl node status` parses. */
export function peerProtocolName(n: Pick<NormalInput, 'isRouteReflector'>, p: BirdPeer): string {
  return `${peerKind(n, p)}_${p.ip.replaceAll('.', '_')}`;
}

/** Only one side of a mesh session dials: the peer with the greater IP *string* listens (Go string compare). */
export function isPassive(n: Pick<NormalInput, 'isRouteReflector' | 'nodeIp'>, p: BirdPeer): boolean {
  return peerKind(n, p) === 'Mesh' && p.ip > n.nodeIp;
}

export function renderBgpTemplate(n: NormalInput): string[] {
  return [
    'template bgp bgp_template {',
    '  debug { states, events };',
    '  description "Connection to BGP peer";',
    `  local as ${n.as};`,
    '  graceful restart;',
    '  connect delay time 2;',
    '  connect retry time 5;',
    '  error wait time 5,30;',
    '  ipv4 { gateway recursive; add paths on; };',
    '}',
  ];
}

function renderPeer(n: NormalInput, p: BirdPeer): string[] {
  const internal = p.as === n.as;
  const rrClient = n.isRouteReflector && internal && p.rrClient === true;
  const role = rrClient ? 'route reflector client' : p.routeReflector ? 'route reflector' : peerKind(n, p) === 'Mesh' ? 'node-to-node mesh' : 'peer';
  return [
    `# ${commentText(p.name)}: ${role}`,
    `protocol bgp ${peerProtocolName(n, p)} from bgp_template {`,
    `  neighbor ${p.ip} as ${p.as};`,
    `  source address ${n.nodeIp};`,
    '  ttl security off;',
    '  multihop;',
    ...(isPassive(n, p) ? ['  passive on;'] : []),
    ...(rrClient ? ['  rr client;', `  rr cluster id ${n.clusterId ?? n.routerId};`] : []),
    '  ipv4 {',
    '    import filter {',
    `      if (defined(bgp_local_pref) && (bgp_local_pref > ${BIRD_INT_MAX - NORMAL_ROUTE_PRIORITY})) then preference = 200;`,
    '      accept;',
    '    };',
    '    export filter {',
    '      if (defined(source) && source = RTS_BGP && defined(bgp_local_pref)) then {',
    `        krt_metric = ${BIRD_INT_MAX} - bgp_local_pref;`,
    '      } else {',
    `        if (!defined(krt_metric)) then { krt_metric = ${NORMAL_ROUTE_PRIORITY}; }`,
    `        bgp_local_pref = ${BIRD_INT_MAX} - krt_metric;`,
    '      }',
    `      calico_export_to_bgp_peers(${internal});`,
    '      reject;',
    '    };',
    '  };',
    '}',
  ];
}

/** One protocol per peer, ordered by protocol name as confd orders them. */
export function renderPeers(n: NormalInput): string[] {
  const named = n.peers.map((p) => ({ p, name: peerProtocolName(n, p) })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return named.flatMap(({ p }) => ['', ...renderPeer(n, p)]);
}
