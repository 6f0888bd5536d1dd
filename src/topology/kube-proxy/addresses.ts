/** Addresses and CIDRs of either family, parsed as Go's netutils.ParseIPSloppy / ParseCIDRSloppy do. */
import { isIPv4, isIPv6 } from 'node:net';
import { canonicalCidr } from '../../util/ipv4.js';

/** An IPv4 address with leading zeros read as decimal ("010.1.1.1" → "10.1.1.1"), or undefined. */
function sloppyIPv4(text: string): string | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number).join('.');
}

export function parseIp(text: string): { family: 4 | 6; text: string } | undefined {
  const v4 = sloppyIPv4(text);
  if (v4) return { family: 4, text: v4 };
  return isIPv6(text) ? { family: 6, text } : undefined;
}

/** A CIDR of either family; IPv4 ones come back canonical (host bits cleared). */
export function parseCidrAnyFamily(text: string): { family: 4 | 6; text: string } | undefined {
  const [ip, prefix, ...rest] = text.trim().split('/');
  if (ip === undefined || prefix === undefined || rest.length || !/^\d{1,3}$/.test(prefix)) return undefined;
  const v4 = sloppyIPv4(ip);
  if (v4 && isIPv4(v4) && Number(prefix) <= 32) return { family: 4, text: canonicalCidr(`${v4}/${Number(prefix)}`) };
  if (isIPv6(ip) && Number(prefix) <= 128) return { family: 6, text: `${ip}/${Number(prefix)}` };
  return undefined;
}
