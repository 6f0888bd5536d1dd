/** Address pools written as MetalLB writes them: entries that are a CIDR or a `first-last` range. */
import { ipToInt, intToIp, parseCidr } from './ipv4.js';

export interface IpRange {
  first: number;
  last: number;
  /** The entry as written (trimmed), for messages. */
  text: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Parse one pool entry; a string names what is wrong instead. */
export function parseRange(entry: string): IpRange | string {
  const text = entry.trim();
  if (text.includes('/')) {
    const [ip, prefix] = text.split('/');
    if (!IPV4.test(ip ?? '') || !/^\d{1,2}$/.test(prefix ?? '') || Number(prefix) > 32) return `'${text}' is not an IPv4 CIDR`;
    const c = parseCidr(text);
    if (c.base !== ipToInt(ip!)) return `'${text}' has host bits set; did you mean ${intToIp(c.base)}/${c.prefix}?`;
    return { first: c.base, last: c.base + c.size - 1, text };
  }
  const parts = text.split('-').map((p) => p.trim());
  if (parts.length > 2 || !parts.every((p) => IPV4.test(p))) return `'${text}' is neither a CIDR (10.0.0.0/28) nor a range (10.0.0.10-10.0.0.20)`;
  const first = ipToInt(parts[0]!);
  const last = ipToInt(parts[1] ?? parts[0]!);
  if (last < first) return `'${text}' runs backwards: the first address must not be above the last`;
  return { first, last, text };
}

export const rangesSize = (ranges: IpRange[]): number => ranges.reduce((n, r) => n + r.last - r.first + 1, 0);
export const rangesContain = (ranges: IpRange[], ip: number): boolean => ranges.some((r) => ip >= r.first && ip <= r.last);
export const rangesOverlap = (a: IpRange, b: IpRange): boolean => a.first <= b.last && b.first <= a.last;

/** The lowest address of the pool that `taken` does not hold, entry by entry. */
export function firstFreeIn(ranges: IpRange[], taken: (ip: string) => boolean): string | undefined {
  for (const r of ranges)
    for (let n = r.first; n <= r.last; n++) {
      const ip = intToIp(n);
      if (!taken(ip)) return ip;
    }
  return undefined;
}
