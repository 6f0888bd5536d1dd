/**
 * The kube-proxy part of a reconcile: endpoints from pod readiness, then for every node one
 * `iptables-restore --noflush` — a full sync the first time, afterwards only the chains of service ports
 * whose inputs changed (and none when nothing did) — plus the health-check servers, the fabric's routes
 * to LoadBalancer IPs, and UDP conntrack clean-up for endpoints that went away.
 */
import { computeEndpoints, type ServiceEndpoints } from '../cluster/endpoints.js';
import type { ClusterState } from '../cluster/types.js';
import { planHash } from '../plan/hash.js';
import { renderHookRules, renderProxyRules, staleUdpEndpoints } from '../plan/kube-proxy/render.js';
import type { ProxyServicePort } from '../plan/kube-proxy/types.js';
import { planHealthChecks, planNodeProxies, proxyServicePorts, type NodeProxyPlan } from '../plan/proxy.js';
import { planFabricRoutes } from '../plan/routes.js';
import { fabricNetns, labRunDir, nodeNetns } from '../topology/names.js';
import { deleteConntrack, restoreTables, saveTables } from '../host/iptables.js';
import { isAlive, killAndWait } from '../host/netns.js';
import { syncRoutes } from '../host/routes.js';
import { mapLimit } from '../host/run.js';
import { startServers } from '../host/sandbox.js';
import type { LabRecord } from './state.js';
import { dropUnchangedChains } from '../plan/kube-proxy/unchanged-chains.js';

export interface ServiceSyncResult {
  slices: ServiceEndpoints[];
  /** nodes whose rules were (re)written, and how; ms is render + restore for that node */
  synced: Array<{ node: string; mode: 'full' | 'partial'; services: number; ms: number }>;
}

/** `fresh*`: namespaces made in this run, whose tables and routes are known to be empty. */
export interface Freshness {
  freshNodes: Set<string>;
  freshFabric: boolean;
}

export async function syncServices(c: ClusterState, record: LabRecord, ready: Set<string>, fresh: Freshness = { freshNodes: new Set(), freshFabric: false }): Promise<ServiceSyncResult> {
  const slices = computeEndpoints(c, (key) => ready.has(key));
  const ports = proxyServicePorts(c, slices);
  record.proxy ??= {};
  const synced: ServiceSyncResult['synced'] = [];
  await mapLimit(planNodeProxies(c, ports), 8, async (np) => {
    const r = await syncNode(np, ports, record, fresh.freshNodes.has(np.node.name));
    if (r) synced.push(r);
  });
  await cleanConntrack(c, record.proxyPorts ?? [], ports);
  record.proxyPorts = ports;
  await syncHealthServers(c, ports, record);
  await syncRoutes(fabricNetns(c.lab), planFabricRoutes(c, slices), fresh.freshFabric);
  return { slices, synced: synced.sort((a, b) => a.node.localeCompare(b.node)) };
}

const EMPTY_TABLES = { chains: { nat: [], filter: [] }, builtinRules: { nat: [], filter: [] } };

async function syncNode(np: NodeProxyPlan, ports: ProxyServicePort[], record: LabRecord, fresh: boolean): Promise<ServiceSyncResult['synced'][number] | undefined> {
  const started = performance.now();
  const prev = record.proxy![np.node.name];
  let payload: string;
  let restore: ReturnType<typeof renderProxyRules>;
  if (prev) {
    const keys = new Set([...Object.keys(np.hashes), ...Object.keys(prev.hashes)]);
    const changed = new Set([...keys].filter((k) => np.hashes[k] !== prev.hashes[k]));
    if (changed.size === 0) return undefined;
    restore = renderProxyRules(np.node, ports, { changed, previousChains: prev.chains });
    payload = restore.payload;
  } else {
    // First sync of this node (or after its record was lost): learn what exists, write everything.
    const saved = fresh ? EMPTY_TABLES : await saveTables(np.netns);
    restore = renderProxyRules(np.node, ports, { previousChains: saved.chains });
    payload = withHookRules(restore.payload, saved.builtinRules);
  }
  const trimmed = dropUnchangedChains(payload, prev?.topChains);
  await restoreTables(np.netns, trimmed.payload);
  record.proxy![np.node.name] = { ...prev, hashes: np.hashes, chains: { nat: restore.natChains, filter: restore.filterChains }, topChains: trimmed.hashes };
  return { node: np.node.name, mode: prev ? 'partial' : 'full', services: restore.writtenServices.length, ms: Math.round(performance.now() - started) };
}

/**
 * kube-proxy inserts its jumps from the built-in chains at position 1, one after another, outside
 * iptables-restore; here the same `-I … 1` lines ride in the first restore, for the ones missing.
 */
function withHookRules(payload: string, existing: { nat: string[]; filter: string[] }): string {
  const hooks = renderHookRules();
  const inserts = (table: 'nat' | 'filter') =>
    hooks[table]
      .filter((rule) => !existing[table].some((e) => normalise(e) === normalise(rule)))
      .map((rule) => rule.replace(/^-A (\S+)/, '-I $1 1'))
      .join('\n');
  const add = (text: string, table: 'nat' | 'filter') => {
    const lines = inserts(table);
    if (!lines) return text;
    const start = text.indexOf(`*${table}\n`);
    const commit = text.indexOf('COMMIT\n', start);
    return `${text.slice(0, commit)}${lines}\n${text.slice(commit)}`;
  };
  return add(add(payload, 'filter'), 'nat');
}

/** iptables-save quotes only what needs it and may order matches differently; compare loosely. */
const normalise = (rule: string) => rule.replace(/"/g, '').split(' ').sort().join(' ');

async function cleanConntrack(c: ClusterState, before: ProxyServicePort[], after: ProxyServicePort[]): Promise<void> {
  const stale = staleUdpEndpoints(before, after);
  if (stale.length === 0) return;
  const filters = stale.map((e) => (e.serviceIP ? ['-p', 'udp', '--orig-dst', e.serviceIP, '--reply-src', e.endpointIP] : ['-p', 'udp', '--orig-port-dst', String(e.port), '--reply-src', e.endpointIP]));
  await mapLimit(c.nodes, 8, (n) => deleteConntrack(nodeNetns(c.lab, n.name), filters));
}

/** Every node answers each eTP=Local LoadBalancer service's health-check node port, as kube-proxy does. */
async function syncHealthServers(c: ClusterState, ports: ProxyServicePort[], record: LabRecord): Promise<void> {
  const todo = await Promise.all(
    c.nodes.map(async (n) => {
      const checks = planHealthChecks(c, ports, n.name);
      const hash = planHash(checks);
      const prev = record.proxy![n.name]?.health;
      const current = prev && prev.hash === hash && (await isAlive(prev.pid));
      return { node: n.name, checks, hash, prev, current };
    }),
  );
  const restart = todo.filter((t) => !t.current);
  await killAndWait(restart.flatMap((t) => (t.prev ? [t.prev.pid] : [])));
  for (const t of restart) if (record.proxy![t.node]) delete record.proxy![t.node]!.health;
  const start = restart.filter((t) => t.checks.length);
  const pids = await startServers(
    c.lab,
    start.map((t) => ({
      key: `node/${t.node}`,
      container: 'kube-proxy-health',
      enter: { netns: nodeNetns(c.lab, t.node) },
      args: [...t.checks.flatMap((h) => ['--health', `${h.port}:${h.status}:${h.body}`]), '--quiet'],
      log: `${labRunDir(c.lab)}/logs/node_${t.node}_kube-proxy-health.log`,
    })),
  );
  for (const t of start) {
    record.proxy![t.node] ??= { hashes: {}, chains: { nat: [], filter: [] } };
    record.proxy![t.node]!.health = { pid: pids.get(`node/${t.node}/kube-proxy-health`)!, hash: t.hash };
  }
}
