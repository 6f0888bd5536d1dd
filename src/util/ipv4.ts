/** IPv4 address and CIDR arithmetic (ip-num underneath), with addresses as plain numbers for speed. */
import { IPv4, IPv4CidrRange } from 'ip-num';

export interface Cidr {
  /** Network address as a number. */
  base: number;
  prefix: number;
  size: number;
}

/** Dotted quad → number; plain splitting (this runs per service and pod on every reconcile), ip-num for anything unusual. */
export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return ((Number(parts[0]) << 24) >>> 0) + (Number(parts[1]) << 16) + (Number(parts[2]) << 8) + Number(parts[3]);
  return Number(IPv4.fromString(ip).value);
}
export const intToIp = (n: number): string => IPv4.fromNumber(BigInt(n)).toString();

export function parseCidr(text: string): Cidr {
  const [ip, len] = text.split('/');
  const prefix = Number(len);
  if (ip !== undefined && /^\d{1,2}$/.test(len ?? '') && prefix <= 32 && /^\d+\.\d+\.\d+\.\d+$/.test(ip)) {
    const size = 2 ** (32 - prefix);
    return { base: ipToInt(ip) - (ipToInt(ip) % size), prefix, size };
  }
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
