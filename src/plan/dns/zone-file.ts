/** The records as an RFC 1035 master file (what the lab's DNS server loads; TTL as CoreDNS's default, 5 s). */
import type { DnsRecord } from './types.js';

export const RECORD_TTL = 5;

export function recordLine(r: DnsRecord, ttl = RECORD_TTL): string {
  const head = `${r.name}. ${ttl} IN ${r.type}`;
  switch (r.type) {
    case 'A':
      return `${head} ${r.ip}`;
    case 'CNAME':
    case 'PTR':
      return `${head} ${r.target}.`;
    case 'SRV':
      return `${head} ${r.priority} ${r.weight} ${r.port} ${r.target}.`;
    case 'TXT':
      return `${head} "${r.text.replace(/["\\]/g, '\\$&')}"`;
  }
}

export function zoneFile(records: DnsRecord[], ttl = RECORD_TTL): string {
  return records.map((r) => recordLine(r, ttl)).join('\n') + (records.length ? '\n' : '');
}
