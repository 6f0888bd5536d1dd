/** IPv4 address and CIDR arithmetic (ip-num underneath), with addresses as plain numbers for speed. */
import { IPv4, IPv4CidrRange } from 'ip-num';

export interface Cidr {
  /** Network address as a number. */
  base: number;
  prefix: number;
  size: number;
}

export const ipToInt = (ip: string): number => Number(IPv4.fromString(ip).value);
export const intToIp = (n: number): string => IPv4.fromNumber(BigInt(n)).toString();

export function parseCidr(text: string): Cidr {
  const range = IPv4CidrRange.fromCidr(text);
  return { base: Number(range.getFirst().value), prefix: Number(range.getPrefix().value), size: Number(range.getSize()) };
}

/** The CIDR text with host bits cleared, e.g. 10.244.1.0/16 → 10.244.0.0/16. */
export function canonicalCidr(text: string): string {
  return cidrText(parseCidr(text));
}

export const cidrText = (c: Cidr): string => `${intToIp(c.base)}/${c.prefix}`;
export const cidrContains = (c: Cidr, ip: number): boolean => ip >= c.base && ip < c.base + c.size;
export const cidrsOverlap = (a: Cidr, b: Cidr): boolean => a.base < b.base + b.size && b.base < a.base + a.size;

/** Split `pool` into consecutive blocks of `/prefix`. */
export function blocksOf(pool: Cidr, prefix: number): Cidr[] {
  const size = 2 ** (32 - prefix);
  const out: Cidr[] = [];
  for (let base = pool.base; base < pool.base + pool.size; base += size) out.push({ base, prefix, size });
  return out;
}

/** Address and prefix of "ip" or "ip/prefix"; a bare ip takes `defaultPrefix`. */
export function splitAddress(text: string, defaultPrefix: number): { ip: string; prefix: number } {
  const [ip, prefix] = text.split('/');
  return { ip: ip!, prefix: prefix === undefined ? defaultPrefix : Number(prefix) };
}
