/** A BIRD input for node-11 on 192.168.50.0/24 with one pool, as the BIRD unit tests start from. */
import type { BirdNodeInput, BirdPeer, IpipMode } from '../../../src/plan/bird/types.js';

export function peer(n: number, extra: Partial<BirdPeer> = {}): BirdPeer {
  return { name: `node-${n}`, ip: `192.168.50.${n}`, as: 64512, sameSubnet: true, ...extra };
}

export function node(mode: IpipMode, extra: Partial<BirdNodeInput> = {}): BirdNodeInput {
  return {
    nodeName: 'node-11',
    routerId: '192.168.50.11',
    as: 64512,
    nodeIp: '192.168.50.11',
    nodeSubnet: '192.168.50.0/24',
    blocks: ['10.244.1.0/26'],
    pools: [{ cidr: '10.244.0.0/16', ipipMode: mode, natOutgoing: true }],
    peers: [peer(12), peer(13), peer(9)],
    isRouteReflector: false,
    tunnelDevice: 'tunl0',
    tunnelMtu: 1480,
    controlSocket: '/run/kemu/lab/node-11/bird.ctl',
    ...extra,
  };
}
