/**
 * Calico-style IPAM: the pool is cut into blocks; a node gets a block the first time it needs an address
 * and another when its blocks are full; pod addresses come from the node's blocks in order. When no free
 * block is left, an address is borrowed from another node's block (Calico without strictAffinity).
 */
import { blocksOf, cidrContains, cidrText, intToIp, ipToInt, parseCidr, type Cidr } from '../util/ipv4.js';

export interface IpamRequest {
  key: string;
  node: string;
  /** A pinned address (annotation) or the address the pod had before. */
  want?: string;
  pinned: boolean;
}

export interface IpamResult {
  /** pod key → address */
  addresses: Map<string, string>;
  /** node → blocks (CIDR text) */
  blocks: Map<string, string[]>;
  /** Requests that could not be served, with the reason. */
  failures: Array<{ key: string; reason: string }>;
}

export function allocate(poolText: string, blockSize: number, requests: IpamRequest[], previousBlocks: Map<string, string[]>): IpamResult {
  const pool = parseCidr(poolText);
  const blocks = blocksOf(pool, blockSize);
  const owner = new Map<number, string>(); // block index → node
  const used = new Set<number>();
  const holder = new Map<number, string>(); // ip → key of the request that holds it
  const addresses = new Map<string, string>();
  const failures: IpamResult['failures'] = [];
  const blockIndex = (ip: number) => Math.floor((ip - pool.base) / 2 ** (32 - blockSize));

  const nodes = new Set(requests.map((r) => r.node));
  for (const [node, list] of previousBlocks) {
    if (!nodes.has(node)) continue;
    for (const text of list) {
      const b = parseCidr(text);
      if (b.prefix === blockSize && cidrContains(pool, b.base) && !owner.has(blockIndex(b.base))) owner.set(blockIndex(b.base), node);
    }
  }
  const take = (r: IpamRequest, ip: number) => {
    used.add(ip);
    holder.set(ip, r.key);
    addresses.set(r.key, intToIp(ip));
    const bi = blockIndex(ip);
    if (!owner.has(bi)) owner.set(bi, r.node);
  };
  // Remembered addresses first: a running pod keeps its address, and a pod pinned to it is refused, as
  // Calico's IPAM refuses to assign an address that is in use. Then pinned ones, before any free pick.
  for (const pass of [false, true]) {
    for (const r of requests) {
      if (r.pinned !== pass || !r.want) continue;
      const ip = ipToInt(r.want);
      if (!cidrContains(pool, ip)) continue;
      if (used.has(ip)) {
        if (pass) failures.push({ key: r.key, reason: `requested pod IP ${r.want} (cni.projectcalico.org/ipAddrs) is already assigned to pod ${holder.get(ip)}; Calico's IPAM refuses an address in use: pin another address, or delete ${holder.get(ip)} first` });
        continue;
      }
      const bi = blockIndex(ip);
      // A remembered address stays only if it is still in one of this node's blocks.
      if (!pass && owner.get(bi) !== r.node) continue;
      take(r, ip);
    }
  }
  const freeIn = (b: Cidr): number | undefined => {
    for (let ip = b.base; ip < b.base + b.size; ip++) if (!used.has(ip)) return ip;
    return undefined;
  };
  for (const r of requests) {
    if (addresses.has(r.key) || failures.some((f) => f.key === r.key)) continue;
    let ip: number | undefined;
    for (const [bi, n] of [...owner].sort((a, b) => a[0] - b[0])) if (n === r.node && (ip = freeIn(blocks[bi]!)) !== undefined) break;
    if (ip === undefined) {
      const bi = blocks.findIndex((_, i) => !owner.has(i));
      if (bi >= 0) ip = blocks[bi]!.base;
    }
    if (ip === undefined) for (const b of blocks) if ((ip = freeIn(b)) !== undefined) break;
    if (ip === undefined) {
      failures.push({ key: r.key, reason: `the pod CIDR ${poolText} has no free address left` });
      continue;
    }
    take(r, ip);
  }
  const byNode = new Map<string, string[]>();
  for (const [bi, node] of [...owner].sort((a, b) => a[0] - b[0])) {
    const list = byNode.get(node) ?? [];
    list.push(cidrText(blocks[bi]!));
    byNode.set(node, list);
  }
  return { addresses, blocks: byNode, failures };
}
