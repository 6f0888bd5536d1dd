/**
 * Answering one question from the planned records, as the spec asks: a name with records of another
 * type (or only records below it, such as <ns>.svc.<zone>) is NODATA (NOERROR, no answers); a name
 * with nothing at or below it is NXDOMAIN; names outside the cluster domain and its reverse zone are
 * REFUSED (the lab never forwards a test's query off the machine). A CNAME answers every type.
 */
import type { DnsAnswer, DnsRecord, RecordType } from './types.js';

export class DnsZone {
  private readonly byName = new Map<string, DnsRecord[]>();
  private readonly names = new Set<string>();

  constructor(records: DnsRecord[], private readonly zone: string) {
    for (const r of records) {
      const list = this.byName.get(r.name) ?? [];
      list.push(r);
      this.byName.set(r.name, list);
      // Every ancestor inside the zone exists (empty non-terminals).
      const labels = r.name.split('.');
      for (let i = 0; i < labels.length; i++) this.names.add(labels.slice(i).join('.'));
    }
  }

  /** Whether this server is authoritative for the name. */
  covers(name: string): boolean {
    const n = normalize(name);
    return n === this.zone || n.endsWith(`.${this.zone}`) || n === 'in-addr.arpa' || n.endsWith('.in-addr.arpa');
  }

  lookup(name: string, type: RecordType): DnsAnswer {
    const n = normalize(name);
    if (!this.covers(n)) return { rcode: 'REFUSED', answers: [] };
    const here = this.byName.get(n) ?? [];
    const cname = here.filter((r) => r.type === 'CNAME');
    if (cname.length && type !== 'CNAME') return { rcode: 'NOERROR', answers: cname };
    if (here.length) return { rcode: 'NOERROR', answers: here.filter((r) => r.type === type) };
    return { rcode: this.names.has(n) ? 'NOERROR' : 'NXDOMAIN', answers: [] };
  }
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}
