/**
 * CoreDNS's kubernetes plugin watches Services and EndpointSlices; here every reconcile writes the
 * records planned from the cluster and the store's slices to the file the lab's DNS server re-reads
 * (within 100 ms of a change), so a new Service or endpoint answers after one reconcile. The file is
 * replaced by rename and only when its content changes.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { ServiceEndpoints } from '../../cluster/endpoints.js';
import type { ClusterState } from '../../cluster/types.js';
import { clusterRecords, dnsPods, dnsServices } from '../../plan/dns/index.js';
import { dnsRecordsFile, labPaths } from '../../topology/names.js';
import { makeLabDir } from '../../host/lab-dirs.js';

/** The records file's text for this cluster. */
export function recordsText(c: ClusterState, slices: ServiceEndpoints[]): string {
  const zone = c.dns?.clusterDomain ?? 'cluster.local';
  return JSON.stringify({ zone, records: clusterRecords({ zone, services: dnsServices(c, slices), pods: dnsPods(c) }) });
}

/** Whether the file changed. Nothing is written for a lab without cluster DNS. */
export async function syncDnsRecords(c: ClusterState, slices: ServiceEndpoints[]): Promise<boolean> {
  if (!c.dns) return false;
  const file = dnsRecordsFile(c.lab);
  const text = recordsText(c, slices);
  if ((await readFile(file, 'utf8').catch(() => '')) === text) return false;
  await makeLabDir(labPaths(c.lab).dnsDir);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, file);
  return true;
}
