/**
 * The few parts of the RFC 1035 wire format the lab's DNS server needs: decode a query's header,
 * question and EDNS(0) payload size; encode an answer with A, CNAME, PTR, SRV, TXT and an SOA in the
 * authority section for negative answers (RFC 2308). Names are written uncompressed.
 */
import type { DnsRecord, RecordType } from '../../plan/dns/types.js';

export const TYPE_CODES = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 } as const;
const CODE_TYPES = new Map<number, string>(Object.entries(TYPE_CODES).map(([k, v]) => [v, k]));
export const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = keyof typeof RCODES;

export interface Query {
  id: number;
  flags: number;
  name: string;
  type: string;
  typeCode: number;
  qclass: number;
  /** EDNS(0) requestor's UDP payload size; 512 without an OPT record. */
  udpSize: number;
}

export function readName(buf: Buffer, start: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = start;
  let end = -1;
  for (let hops = 0; hops < 128; hops++) {
    const len = buf[at];
    if (len === undefined) throw new Error('name runs past the message');
    if ((len & 0xc0) === 0xc0) {
      if (end < 0) end = at + 2;
      at = ((len & 0x3f) << 8) | (buf[at + 1] ?? 0);
      continue;
    }
    if (len === 0) return { name: labels.join('.'), end: end < 0 ? at + 1 : end };
    labels.push(buf.toString('latin1', at + 1, at + 1 + len));
    at += 1 + len;
  }
  throw new Error('name has a compression loop');
}

export function decodeQuery(buf: Buffer): Query {
  if (buf.length < 12) throw new Error('short message');
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (buf.readUInt16BE(4) !== 1) throw new Error('exactly one question expected');
  const { name, end } = readName(buf, 12);
  const typeCode = buf.readUInt16BE(end);
  const qclass = buf.readUInt16BE(end + 2);
  let udpSize = 512;
  // Additional section: look for OPT (answer and authority sections are empty in a query).
  let at = end + 4;
  const arcount = buf.readUInt16BE(10);
  for (let i = 0; i < arcount && at < buf.length; i++) {
    const rr = readName(buf, at);
    const type = buf.readUInt16BE(rr.end);
    if (type === TYPE_CODES.OPT) udpSize = Math.max(512, buf.readUInt16BE(rr.end + 2));
    at = rr.end + 10 + buf.readUInt16BE(rr.end + 8);
  }
  return { id, flags, name, type: CODE_TYPES.get(typeCode) ?? `TYPE${typeCode}`, typeCode, qclass, udpSize };
}

export function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter((l) => l !== '');
  return Buffer.concat([...parts.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export type WireRecord = DnsRecord | { name: string; type: 'SOA'; mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number };

function rdata(r: WireRecord): Buffer {
  switch (r.type) {
    case 'A':
      return Buffer.from(r.ip.split('.').map(Number));
    case 'CNAME':
    case 'PTR':
      return encodeName(r.target);
    case 'SRV':
      return Buffer.concat([u16(r.priority), u16(r.weight), u16(r.port), encodeName(r.target)]);
    case 'TXT': {
      const chunks: Buffer[] = [];
      const text = Buffer.from(r.text, 'utf8');
      for (let i = 0; i < text.length || i === 0; i += 255) {
        const part = text.subarray(i, i + 255);
        chunks.push(Buffer.from([part.length]), part);
      }
      return Buffer.concat(chunks);
    }
    case 'SOA':
      return Buffer.concat([encodeName(r.mname), encodeName(r.rname), u32(r.serial), u32(r.refresh), u32(r.retry), u32(r.expire), u32(r.minimum)]);
  }
}

export function encodeRecord(r: WireRecord, ttl: number): Buffer {
  const data = rdata(r);
  return Buffer.concat([encodeName(r.name), u16(TYPE_CODES[r.type]), u16(1), u32(ttl), u16(data.length), data]);
}

export interface Reply {
  rcode: Rcode;
  authoritative: boolean;
  answers: WireRecord[];
  authority: WireRecord[];
  ttl: number;
}

/** The answer to q; with maxSize set and the message longer, only the question with TC set (RFC 2181 §9). */
export function encodeReply(q: Query, reply: Reply, maxSize = Infinity): Buffer {
  const question = Buffer.concat([encodeName(q.name), u16(q.typeCode), u16(q.qclass)]);
  const header = (tc: boolean, an: number, ns: number) => {
    const rd = q.flags & 0x0100;
    const opcode = q.flags & 0x7800;
    const flags = 0x8000 | opcode | (reply.authoritative ? 0x0400 : 0) | (tc ? 0x0200 : 0) | rd | 0x0080 | RCODES[reply.rcode];
    return Buffer.concat([u16(q.id), u16(flags), u16(1), u16(an), u16(ns), u16(0)]);
  };
  const answers = reply.answers.map((r) => encodeRecord(r, reply.ttl));
  const authority = reply.authority.map((r) => encodeRecord(r, reply.ttl));
  const full = Buffer.concat([header(false, answers.length, authority.length), question, ...answers, ...authority]);
  if (full.length <= maxSize) return full;
  return Buffer.concat([header(true, 0, 0), question]);
}

/** A bare reply (FORMERR, SERVFAIL, NOTIMP) to a message that may not even decode. */
export function errorReply(buf: Buffer, rcode: Rcode): Buffer | undefined {
  if (buf.length < 12) return undefined;
  const out = Buffer.alloc(12);
  out.writeUInt16BE(buf.readUInt16BE(0), 0);
  out.writeUInt16BE(0x8000 | (buf.readUInt16BE(2) & 0x7900) | 0x0080 | RCODES[rcode], 2);
  return out;
}

export function isRecordType(t: string): t is RecordType {
  return t === 'A' || t === 'CNAME' || t === 'SRV' || t === 'PTR' || t === 'TXT';
}

/** The answer-section records of a reply (types the lab knows; others skipped), with the rcode. */
export function decodeReply(buf: Buffer): { id: number; rcode: number; truncated: boolean; answers: WireRecord[] } {
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  let at = 12;
  for (let i = 0; i < buf.readUInt16BE(4); i++) at = readName(buf, at).end + 4;
  const answers: WireRecord[] = [];
  for (let i = 0; i < buf.readUInt16BE(6); i++) {
    const { name, end } = readName(buf, at);
    const type = buf.readUInt16BE(end);
    const len = buf.readUInt16BE(end + 8);
    const d = end + 10;
    if (type === TYPE_CODES.A) answers.push({ name, type: 'A', ip: [...buf.subarray(d, d + 4)].join('.') });
    else if (type === TYPE_CODES.CNAME || type === TYPE_CODES.PTR) answers.push({ name, type: type === TYPE_CODES.CNAME ? 'CNAME' : 'PTR', target: readName(buf, d).name });
    else if (type === TYPE_CODES.SRV)
      answers.push({ name, type: 'SRV', priority: buf.readUInt16BE(d), weight: buf.readUInt16BE(d + 2), port: buf.readUInt16BE(d + 4), target: readName(buf, d + 6).name });
    else if (type === TYPE_CODES.TXT) answers.push({ name, type: 'TXT', text: buf.toString('utf8', d + 1, d + 1 + (buf[d] ?? 0)) });
    at = d + len;
  }
  return { id, rcode: flags & 0xf, truncated: (flags & 0x0200) !== 0, answers };
}

/** A query message for one name and type (recursion desired). */
export function encodeQuery(id: number, name: string, type: keyof typeof TYPE_CODES): Buffer {
  return Buffer.concat([u16(id), u16(0x0100), u16(1), u16(0), u16(0), u16(0), encodeName(name), u16(TYPE_CODES[type]), u16(1)]);
}
