// The lab's DNS server on loopback: answers from a records file, truncation over UDP, TCP, forwarding
// to an upstream the test runs itself (nothing leaves the machine).
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterRecords, type DnsService } from '../../../src/plan/dns/index.js';
import { startDnsServer, type DnsServer } from '../../../src/lab/dns/server.js';
import { decodeQuery, decodeReply, encodeQuery, encodeReply, TYPE_CODES } from '../../../src/lab/dns/wire.js';

const svc = (s: Partial<DnsService> & { name: string }): DnsService => ({ namespace: 'default', ports: [], publishNotReadyAddresses: false, endpoints: [], ...s });
const services: DnsService[] = [
  svc({ name: 'web', clusterIP: '10.96.0.20', ports: [{ name: 'http', protocol: 'TCP', port: 80 }] }),
  svc({ name: 'db', clusterIP: 'None', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }], endpoints: [{ ip: '10.244.1.2', ready: true }, { ip: '10.244.1.3', ready: true }, { ip: '10.244.1.4', ready: false }] }),
  svc({ name: 'big', clusterIP: 'None', endpoints: Array.from({ length: 60 }, (_, i) => ({ ip: `10.244.2.${i + 1}`, ready: true })) }),
  svc({ name: 'ext', externalName: 'www.outside.test' }),
];

let dir: string;
let upstream: dgram.Socket;
let upstreamPort: number;
let server: DnsServer;
let refusing: DnsServer;
const recordsFile = () => path.join(dir, 'records.json');
const writeRecords = (list: DnsService[]) => fs.writeFileSync(recordsFile(), JSON.stringify({ zone: 'cluster.local', records: clusterRecords({ services: list, pods: [{ namespace: 'default', ip: '10.244.1.2' }] }) }));

function udpAsk(port: number, name: string, type: keyof typeof TYPE_CODES) {
  return new Promise<{ raw: Buffer; r: ReturnType<typeof decodeReply> }>((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => (sock.close(), reject(new Error('timeout'))), 3000);
    sock.on('message', (raw) => (clearTimeout(timer), sock.close(), resolve({ raw, r: decodeReply(raw) })));
    sock.send(encodeQuery(4242, name, type), port, '127.0.0.1');
  });
}

function tcpAsk(port: number, name: string, type: keyof typeof TYPE_CODES) {
  return new Promise<ReturnType<typeof decodeReply>>((resolve, reject) => {
    const q = encodeQuery(7, name, type);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.length);
    let got = Buffer.alloc(0);
    const conn = net.connect(port, '127.0.0.1', () => conn.write(Buffer.concat([len, q])));
    conn.on('data', (c) => {
      got = Buffer.concat([got, c]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) (conn.end(), resolve(decodeReply(got.subarray(2))));
    });
    conn.on('error', reject);
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-dns-unit-'));
  writeRecords(services);
  // The test's own upstream: every A question gets 192.0.2.7.
  upstream = dgram.createSocket('udp4');
  upstream.on('message', (m, rinfo) => {
    const q = decodeQuery(m);
    const answers = q.type === 'A' ? [{ name: q.name, type: 'A' as const, ip: '192.0.2.7' }] : [];
    upstream.send(encodeReply(q, { rcode: 'NOERROR', authoritative: true, answers, authority: [], ttl: 60 }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
  upstreamPort = (upstream.address() as { port: number }).port;
  server = await startDnsServer({ recordsFile: recordsFile(), address: '127.0.0.1', port: 0, upstreams: [`127.0.0.1:${upstreamPort}`] });
  refusing = await startDnsServer({ recordsFile: recordsFile(), address: '127.0.0.1', port: 0, upstreams: [] });
});

afterAll(async () => {
  await server?.close();
  await refusing?.close();
  upstream?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('lab DNS server', () => {
  it('a ClusterIP Service: A, authoritative', async () => {
    const { raw, r } = await udpAsk(server.port, 'web.default.svc.cluster.local', 'A');
    expect(r.rcode).toBe(0);
    expect(raw.readUInt16BE(2) & 0x0400).toBeTruthy();
    expect(r.answers).toEqual([{ name: 'web.default.svc.cluster.local', type: 'A', ip: '10.96.0.20' }]);
  });
  it('SRV for a named port; headless A lists the ready endpoints only', async () => {
    expect((await udpAsk(server.port, '_http._tcp.web.default.svc.cluster.local', 'SRV')).r.answers).toEqual([
      { name: '_http._tcp.web.default.svc.cluster.local', type: 'SRV', priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' },
    ]);
    expect((await udpAsk(server.port, 'db.default.svc.cluster.local', 'A')).r.answers.map((a) => (a as { ip: string }).ip)).toEqual(['10.244.1.2', '10.244.1.3']);
  });
  it('NXDOMAIN and NODATA carry the SOA in the authority section', async () => {
    const nx = await udpAsk(server.port, 'missing.default.svc.cluster.local', 'A');
    expect(nx.r.rcode).toBe(3);
    expect(nx.raw.readUInt16BE(8)).toBe(1);
    const nodata = await udpAsk(server.port, 'web.default.svc.cluster.local', 'AAAA');
    expect(nodata.r.rcode).toBe(0);
    expect(nodata.r.answers).toEqual([]);
    expect(nodata.raw.readUInt16BE(8)).toBe(1);
  });
  it('a pod record and ExternalName CNAME chased through the upstream', async () => {
    expect((await udpAsk(server.port, '10-244-1-2.default.pod.cluster.local', 'A')).r.answers).toEqual([{ name: '10-244-1-2.default.pod.cluster.local', type: 'A', ip: '10.244.1.2' }]);
    expect((await udpAsk(server.port, 'ext.default.svc.cluster.local', 'A')).r.answers).toEqual([
      { name: 'ext.default.svc.cluster.local', type: 'CNAME', target: 'www.outside.test' },
      { name: 'www.outside.test', type: 'A', ip: '192.0.2.7' },
    ]);
  });
  it('names outside the cluster go to the upstream; with none they are REFUSED', async () => {
    expect((await udpAsk(server.port, 'host.outside.test', 'A')).r.answers).toEqual([{ name: 'host.outside.test', type: 'A', ip: '192.0.2.7' }]);
    expect((await udpAsk(refusing.port, 'host.outside.test', 'A')).r.rcode).toBe(5);
  });
  it('a large answer is truncated over UDP (TC, no records) and complete over TCP', async () => {
    const udp = await udpAsk(server.port, 'big.default.svc.cluster.local', 'A');
    expect(udp.r.truncated).toBe(true);
    expect(udp.r.answers).toEqual([]);
    expect(udp.raw.length).toBeLessThanOrEqual(512);
    const tcp = await tcpAsk(server.port, 'big.default.svc.cluster.local', 'A');
    expect(tcp.truncated).toBe(false);
    expect(tcp.answers).toHaveLength(60);
  });
  it('re-reads the records file when it changes (scaled endpoints)', async () => {
    writeRecords(services.map((s) => (s.name === 'db' ? { ...s, endpoints: [{ ip: '10.244.1.9', ready: true }] } : s)));
    const deadline = Date.now() + 3000;
    let ips: string[] = [];
    while (Date.now() < deadline) {
      ips = (await udpAsk(server.port, 'db.default.svc.cluster.local', 'A')).r.answers.map((a) => (a as { ip: string }).ip);
      if (ips.length === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(ips).toEqual(['10.244.1.9']);
  });
});
