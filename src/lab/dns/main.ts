/** `kemu dns-server`: the coredns pods' process. Runs until killed (SIGTERM closes the sockets). */
import http from 'node:http';
import { startDnsServer } from './server.js';

export async function runDnsServer(opts: { records: string; listen: string; port: string; upstream: string[]; ready?: string; metrics?: string }): Promise<void> {
  // The ready file only once every socket (metrics too) is bound.
  const server = await startDnsServer({ recordsFile: opts.records, address: opts.listen, port: Number(opts.port), upstreams: opts.upstream });
  const metrics = opts.metrics ? await serveMetrics(server.stats, opts.listen, Number(opts.metrics)) : undefined;
  if (opts.ready) (await import('node:fs')).writeFileSync(opts.ready, `${process.pid}\n`);
  const stop = () => {
    metrics?.close();
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await new Promise(() => {});
}

/** CoreDNS's prometheus plugin's two basic counters, under its names. */
function serveMetrics(stats: { queries: number; forwarded: number }, address: string, port: number): Promise<http.Server> {
  const srv = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'text/plain; version=0.0.4');
    res.end(
      [
        '# TYPE coredns_dns_requests_total counter',
        `coredns_dns_requests_total{server="dns://:53",zone="."} ${stats.queries}`,
        '# TYPE coredns_forward_requests_total counter',
        `coredns_forward_requests_total ${stats.forwarded}`,
        '',
      ].join('\n'),
    );
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, address, () => resolve(srv));
  });
}
