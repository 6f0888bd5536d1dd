/** `kemu dns-server`: the coredns pods' process. Runs until killed (SIGTERM closes the sockets). */
import { startDnsServer } from './server.js';

export async function runDnsServer(opts: { records: string; listen: string; port: string; upstream: string[]; ready?: string }): Promise<void> {
  const server = await startDnsServer({ recordsFile: opts.records, address: opts.listen, port: Number(opts.port), upstreams: opts.upstream, readyFile: opts.ready });
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await new Promise(() => {});
}
