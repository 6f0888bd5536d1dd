/**
 * Address handling as kube-proxy's service model does it for an IPv4 proxier: addresses are parsed
 * "sloppily" (leading zeros read as decimal, then printed canonically), entries of the other family
 * or that do not parse are dropped, and source ranges are printed as Go's net.IPNet.String().
 */
import { cidrContains, cidrText, ipToInt, parseCidr } from '../../util/ipv4.js';

const IPV4_PLAIN = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Canonical text of an IPv4 address ("172.30.0.041" → "172.30.0.41"), or null if not IPv4. */
export function normalizeIPv4(text: string): string | null {
  if (IPV4_PLAIN.test(text)) return text; // already canonical: the common case, kept cheap
  const parts = text.trim().split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  const octets = parts.map(Number);
  return octets.every((o) => o <= 255) ? octets.join('.') : null;
}

/** The IPv4 members of `ips`, canonical, in input order. */
export function ipv4Only(ips: readonly string[]): string[] {
  return ips.map(normalizeIPv4).filter((ip): ip is string => ip !== null);
}

/** An IPv4 CIDR with host bits cleared ("203.0.113.5/25" → "203.0.113.0/25"), or null. */
export function normalizeCidr(text: string): string | null {
  const [ip, prefix, ...rest] = text.trim().split('/');
  if (ip === undefined || prefix === undefined || rest.length > 0 || !/^\d{1,2}$/.test(prefix)) return null;
  const addr = normalizeIPv4(ip);
  if (addr === null || Number(prefix) > 32) return null;
  return cidrText(parseCidr(`${addr}/${Number(prefix)}`));
}

/**
 * loadBalancerSourceRanges as the proxier uses them: trimmed, IPv4 only, canonical. A zero CIDR
 * (0.0.0.0/0) allows everything, so the whole list is dropped and no firewall chain is made.
 */
export function sourceRanges(ranges: readonly string[]): string[] {
  const cidrs = ranges.map(normalizeCidr).filter((c): c is string => c !== null);
  return cidrs.includes('0.0.0.0/0') ? [] : cidrs;
}

export function cidrHasIp(cidr: string, ip: string): boolean {
  return cidrContains(parseCidr(cidr), ipToInt(ip));
}

/** Does the --nodeport-addresses list keep IPv4 loopback (NodePortAddresses.ContainsIPv4Loopback)? */
export function allowsLoopback(cidrs: string[]): boolean {
  const v4 = cidrs.filter((c) => !c.includes(':'));
  if (v4.length === 0) return true; // no IPv4 entry: 0.0.0.0/0
  const loopback = ipToInt('127.0.0.0');
  return v4.some((text) => {
    const c = parseCidr(text);
    return Math.floor(c.base / 2 ** 24) === 127 || cidrContains(c, loopback);
  });
}
