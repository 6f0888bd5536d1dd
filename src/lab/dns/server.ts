/**
 * The lab's cluster DNS server (the process of the coredns pods): answers the cluster domain and its
 * reverse zone from a records file the lab rewrites on every reconcile (re-read when it changes), as
 * CoreDNS's kubernetes plugin would; forwards every other name to the topology's upstream resolvers.
 * UDP answers longer than 512 bytes (or the EDNS(0) size the client offers) come back truncated, so
 * the client retries over TCP, which carries any size.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { DnsZone } from '../../plan/dns/lookup.js';
import type { DnsRecord } from '../../plan/dns/types.js';
import { decodeQuery, decodeReply, encodeQuery, encodeReply, errorReply, isRecordType, type Query, type Reply, type WireRecord } from './wire.js';

/** CoreDNS answers cluster names with TTL 30 in kubeadm's Corefile; the lab keeps 5 so changes show fast. */
export const ANSWER_TTL = 5;
const FORWARD_TIMEOUT_MS = 2000;
const MAX_CHASE = 8;

export interface RecordsFile {
  zone: string;
  records: DnsRecord[];
}

export interface DnsServerOptions {
  recordsFile: string;
  address: string;
  port: number;
  /** host:port or host (port 53); empty: names outside the cluster get REFUSED. */
  upstreams: string[];
  readyFile?: string;
}

export interface DnsServer {
  close(): Promise<void>;
  /** Load the records file now (the watcher also does this on change). */
  reload(): void;
  stats: { queries: number; forwarded: number };
  /** The bound port (opts.port, or the one the kernel chose for 0), UDP and TCP alike. */
  port: number;
}

function upstreamAddress(u: string): { host: string; port: number } {
  const m = /^(.*?)(?::(\d+))?$/.exec(u)!;
  return { host: m[1] ?? u, port: m[2] ? Number(m[2]) : 53 };
}

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  let zoneName = 'cluster.local';
  let zone = new DnsZone([], zoneName);
  const stats = { queries: 0, forwarded: 0 };
  const reload = () => {
    try {
      const data = JSON.parse(fs.readFileSync(opts.recordsFile, 'utf8')) as RecordsFile;
      zoneName = data.zone.toLowerCase().replace(/\.$/, '');
      zone = new DnsZone(data.records, zoneName);
    } catch {
      // A missing or half-written file keeps the last good zone; the next change loads again.
    }
  };
  reload();
  fs.watchFile(opts.recordsFile, { interval: 100 }, reload);

  let nextId = 1;
  async function forward(message: Buffer): Promise<Buffer | undefined> {
    for (const u of opts.upstreams) {
      const { host, port } = upstreamAddress(u);
      const reply = await new Promise<Buffer | undefined>((resolve) => {
        const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
        const timer = setTimeout(() => done(undefined), FORWARD_TIMEOUT_MS);
        const done = (b: Buffer | undefined) => {
          clearTimeout(timer);
          sock.close();
          resolve(b);
        };
        sock.on('message', (b) => b.readUInt16BE(0) === message.readUInt16BE(0) && done(b));
        sock.on('error', () => done(undefined));
        sock.send(message, port, host);
      });
      if (reply) {
        stats.forwarded++;
        return reply;
      }
    }
    return undefined;
  }

  function soa(name: string): WireRecord {
    const apex = name === 'in-addr.arpa' || name.endsWith('.in-addr.arpa') ? 'in-addr.arpa' : zoneName;
    return { name: apex, type: 'SOA', mname: `ns.dns.${zoneName}`, rname: `hostmaster.${zoneName}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: ANSWER_TTL };
  }

  /** The CNAME target's addresses, from the zone or the upstream, so a stub resolver needs no second query. */
  async function chase(target: string, type: string, depth: number): Promise<WireRecord[]> {
    if (depth >= MAX_CHASE) return [];
    if (zone.covers(target)) {
      const a = zone.lookup(target, isRecordType(type) ? type : 'A');
      const last = a.answers.find((r) => r.type === 'CNAME');
      const own = a.answers.filter((r) => r.type === type || r.type === 'CNAME');
      return last && type !== 'CNAME' ? [...own, ...(await chase((last as { target: string }).target, type, depth + 1))] : own;
    }
    if (type !== 'A' && type !== 'SRV' && type !== 'TXT' && type !== 'PTR') return [];
    const reply = await forward(encodeQuery(nextId++ & 0xffff, target, type));
    return reply ? decodeReply(reply).answers : [];
  }

  async function answer(q: Query): Promise<Reply | 'forward'> {
    const name = q.name.toLowerCase().replace(/\.$/, '');
    if (!zone.covers(name)) return opts.upstreams.length ? 'forward' : { rcode: 'REFUSED', authoritative: false, answers: [], authority: [], ttl: 0 };
    if (q.type === 'SOA' && (name === zoneName || name === 'in-addr.arpa')) return { rcode: 'NOERROR', authoritative: true, answers: [soa(name)], authority: [], ttl: ANSWER_TTL };
    const known = isRecordType(q.type);
    const a = zone.lookup(name, known ? (q.type as DnsRecord['type']) : 'A');
    // Reverse names of addresses the cluster does not own fall through to the upstream (CoreDNS fallthrough in-addr.arpa).
    if (a.rcode === 'NXDOMAIN' && name.endsWith('.in-addr.arpa') && opts.upstreams.length) return 'forward';
    let answers: WireRecord[] = known || q.type === 'ANY' ? a.answers : a.answers.filter((r) => r.type === 'CNAME');
    const cname = answers.find((r) => r.type === 'CNAME') as { target: string } | undefined;
    if (cname && q.type !== 'CNAME') answers = [...answers, ...(await chase(cname.target, q.type, 0))];
    const negative = a.rcode === 'NXDOMAIN' || answers.length === 0;
    return { rcode: a.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : 'NOERROR', authoritative: true, answers, authority: negative ? [soa(name)] : [], ttl: ANSWER_TTL };
  }

  async function handle(message: Buffer, maxSize: number): Promise<Buffer | undefined> {
    stats.queries++;
    let q: Query;
    try {
      q = decodeQuery(message);
    } catch {
      return errorReply(message, 'FORMERR');
    }
    if ((q.flags & 0x7800) !== 0) return errorReply(message, 'NOTIMP');
    try {
      const r = await answer(q);
      if (r === 'forward') return (await forward(message)) ?? errorReply(message, 'SERVFAIL');
      return encodeReply(q, r, maxSize);
    } catch {
      return errorReply(message, 'SERVFAIL');
    }
  }

  const udp = dgram.createSocket(net.isIPv6(opts.address) ? 'udp6' : 'udp4');
  udp.on('message', (msg, rinfo) => {
    const size = (() => {
      try {
        return decodeQuery(msg).udpSize;
      } catch {
        return 512;
      }
    })();
    void handle(msg, size).then((out) => out && udp.send(out, rinfo.port, rinfo.address));
  });
  const tcp = net.createServer((conn) => {
    let pending = Buffer.alloc(0);
    conn.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const msg = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + msg.length);
        void handle(Buffer.from(msg), 65535).then((out) => {
          if (!out || conn.destroyed) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          conn.write(Buffer.concat([len, out]));
        });
      }
    });
    conn.on('error', () => conn.destroy());
    conn.setTimeout(10_000, () => conn.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(opts.port, opts.address, () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen((udp.address() as { port: number }).port, opts.address, () => resolve());
  });
  if (opts.readyFile) fs.writeFileSync(opts.readyFile, `${process.pid}\n`);
  return {
    port: (udp.address() as { port: number }).port,
    stats,
    reload,
    close: async () => {
      fs.unwatchFile(opts.recordsFile, reload);
      await new Promise<void>((r) => udp.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}
