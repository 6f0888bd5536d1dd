/**
 * Input checks for the BIRD planner. Everything that ends up in the config text passes through here, so
 * a malformed address or a quote in a name fails loudly instead of producing a config BIRD rejects (or
 * one that means something else).
 */
import { canonicalCidr, intToIp, ipToInt, parseCidr } from '../../util/ipv4.js';
import type { BirdNodeInput, BirdPeer, BirdPool } from './types.js';

function fail(what: string, value: unknown): never {
  throw new Error(`bird config: invalid ${what}: ${JSON.stringify(value)}`);
}

export function ipv4(text: string, what: string): string {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) fail(what, text);
  try {
    return intToIp(ipToInt(text));
  } catch {
    return fail(what, text);
  }
}

/** CIDR with host bits cleared ("10.244.1.5/26" → "10.244.1.0/26"). */
export function cidr(text: string, what: string): string {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(text)) fail(what, text);
  try {
    return canonicalCidr(text);
  } catch {
    return fail(what, text);
  }
}

export function asNumber(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 4294967295) fail(what, n);
  return n;
}

export function interfaceName(text: string): string {
  if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(text)) fail('tunnel device name', text);
  return text;
}

/** Text safe inside a `#` comment (one line). */
export const commentText = (text: string): string => text.replace(/[\r\n]+/g, ' ');

/** Text safe inside a BIRD double-quoted string. */
export function quoted(text: string, what: string): string {
  if (/["\\\r\n]/.test(text) || text === '') fail(what, text);
  return `"${text}"`;
}

/** Sort key of a canonical CIDR: numeric network address, then prefix length. */
export function byCidr(a: string, b: string): number {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x.base - y.base || x.prefix - y.prefix;
}

export interface NormalInput extends Omit<BirdNodeInput, 'blocks' | 'pools' | 'peers' | 'nodeSubnet'> {
  blocks: string[];
  pools: BirdPool[];
  peers: BirdPeer[];
  nodeSubnet: string | undefined;
}

/** Checked copy of the input with canonical addresses, sorted blocks and pools, and ourselves dropped from the peers. */
export function normalize(input: BirdNodeInput): NormalInput {
  const nodeIp = ipv4(input.nodeIp, 'node IP');
  const pools = input.pools.map((p) => ({ ...p, cidr: cidr(p.cidr, 'pool CIDR') })).sort((a, b) => byCidr(a.cidr, b.cidr));
  const poolSet = new Set<string>();
  for (const p of pools) {
    if (poolSet.has(p.cidr)) fail('duplicate pool', p.cidr);
    poolSet.add(p.cidr);
    if (!['Never', 'Always', 'CrossSubnet'].includes(p.ipipMode)) fail('ipipMode', p.ipipMode);
  }
  const peers = input.peers
    .map((p) => ({ ...p, ip: ipv4(p.ip, `peer IP of ${p.name}`), as: asNumber(p.as, `AS of peer ${p.name}`) }))
    .filter((p) => p.ip !== nodeIp);
  const seen = new Set<string>();
  for (const p of peers) {
    if (seen.has(p.ip)) fail('duplicate peer IP', p.ip);
    seen.add(p.ip);
  }
  if (!Number.isInteger(input.tunnelMtu) || input.tunnelMtu < 68 || input.tunnelMtu > 65535) fail('tunnel MTU', input.tunnelMtu);
  return {
    ...input,
    nodeIp,
    routerId: ipv4(input.routerId, 'router id'),
    as: asNumber(input.as, 'AS number'),
    nodeSubnet: input.nodeSubnet === undefined ? undefined : cidr(input.nodeSubnet, 'node subnet'),
    blocks: [...new Set(input.blocks.map((b) => cidr(b, 'block CIDR')))].sort(byCidr),
    pools,
    peers,
    clusterId: input.clusterId === undefined ? undefined : ipv4(input.clusterId, 'route reflector cluster id'),
    tunnelDevice: interfaceName(input.tunnelDevice),
    serviceCIDRs: [...new Set((input.serviceCIDRs ?? []).map((c) => cidr(c, 'service CIDR')))].sort(byCidr),
  };
}
