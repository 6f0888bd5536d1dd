/**
 * The kube-proxy part of a reconcile: endpoints from pod readiness, then for every node one
 * `iptables-restore --noflush` — a full sync the first time, afterwards only the chains of service ports
 * whose inputs changed (and none when nothing did) — plus the health-check servers, the fabric's routes
 * to LoadBalancer IPs, and UDP conntrack clean-up for endpoints that went away.
 */
import type { ServiceEndpoints } from '../../cluster/endpoints.js';
import { syncEndpointSlices } from '../../cluster/endpoint-slices/sync.js';
import { serviceEndpoints } from '../../cluster/endpoint-slices/views.js';
import { randomSuffix } from '../../cluster/pods.js';
import type { ClusterState } from '../../cluster/types.js';
import { planHash } from '../../plan/hash.js';
import { renderHookRules, renderProxyRules, staleUdpEndpoints } from '../../plan/kube-proxy/render.js';
import type { ProxyServicePort } from '../../plan/kube-proxy/types.js';
import { planHealthChecks, planNodeProxies, proxyServicePorts, type NodeProxyPlan } from '../../plan/kube-proxy/nodes.js';
import { planFabricRoutes } from '../../plan/routes.js';
import { fabricNetns, nodeLogFile, nodeNetns } from '../../topology/names.js';
import { deleteConntrack, restoreTables, saveTables } from '../../host/iptables.js';
import { isAlive, killMarked } from '../../host/netns.js';
import { syncRoutesIfChanged } from '../../host/routes.js';
import { mapLimit, setSysctls } from '../../host/run.js';
import { conntrackMaxNow, ensureNfacct, hostCpus } from '../../host/kube-proxy-node.js';
import { conntrackMax } from '../../plan/kube-proxy/node-config.js';
import { SERVER_COMM, startServers } from '../../host/sandbox.js';
import type { LabRecord } from '../state.js';
import { syncL2Announcements } from '../metallb/l2.js';
import { syncMetallbBgp } from '../metallb/bgp.js';
import { dropUnchangedChains } from '../../plan/kube-proxy/unchanged-chains.js';
import { renderNatOutgoing } from '../../plan/nat-outgoing.js';
import { entryHashes, serviceChainsOnly } from '../../plan/kube-proxy/service-entries.js';
import { activeChainsOf, planServicePort } from '../../plan/kube-proxy/service-plan.js';
import { isServiceChainName } from '../../plan/kube-proxy/chain-names.js';
import { servicePortKey } from '../../plan/kube-proxy/types.js';
import { addRulesWritten, changedChains, countRulesWritten, withCanaryChains } from '../../plan/kube-proxy/canary.js';
import { flushedNodes, flushedText, forceFullSync } from './canary.js';

export interface ServiceSyncResult {
  slices: ServiceEndpoints[];
  /** nodes whose rules were (re)written, and how; ms is render + restore for that node */
  synced: Array<{ node: string; mode: 'full' | 'partial'; services: number; ms: number; notes?: string[] }>;
  /** nodes found with flushed or missing chains (verify) and fully resynced */
  repaired: string[];
}

/** `fresh*`: namespaces made in this run, whose tables and routes are known to be empty. */
export interface Freshness {
  freshNodes: Set<string>;
  freshFabric: boolean;
  /** Read the fabric's routes back even when the record says they are in place (`up`). */
  verify?: boolean;
}

export async function syncServices(c: ClusterState, record: LabRecord, ready: Set<string>, fresh: Freshness = { freshNodes: new Set(), freshFabric: false }): Promise<ServiceSyncResult> {
  // The EndpointSlice controllers write the store's slices; kube-proxy reads every slice back from it.
  syncEndpointSlices(record.store, c, (key) => ready.has(key), new Date().toISOString(), randomSuffix);
  const slices = serviceEndpoints(c, record.store);
  const ports = proxyServicePorts(c, slices);
  record.proxy ??= {};
  const synced: ServiceSyncResult['synced'] = [];
  const repaired = fresh.verify ? await verifyChains(record, fresh.freshNodes) : [];
  await mapLimit(planNodeProxies(c, ports), 8, async (np) => {
    const r = await syncNode(np, ports, record, fresh.freshNodes.has(nodeOfNetns(np.netns)));
    if (r) synced.push(r);
  });
  await mapLimit(c.nodes, 8, (n) => syncNatOutgoing(c, nodeNetns(c.lab, n.name), record.proxy![n.name]!, fresh.freshNodes.has(n.name)));
  await cleanConntrack(c, record.proxyPorts ?? [], ports);
  record.proxyPorts = ports;
  await syncHealthServers(c, ports, record);
  await syncRoutesIfChanged(record.built, fabricNetns(c.lab), planFabricRoutes(c, slices, new Set(record.stoppedNodes ?? [])), { fresh: fresh.freshFabric, verify: fresh.verify });
  await syncL2Announcements(c, record, slices, fresh.freshNodes);
  await syncMetallbBgp(c, record, slices);
  return { slices, synced: synced.sort((a, b) => a.node.localeCompare(b.node)), repaired };
}

/**
 * `up` reads back what every synced node should have: the canary checks, then every chain the last
 * sync left (a chain deleted by hand); a node that fails either gets a full resync.
 */
async function verifyChains(record: LabRecord, fresh: Set<string>): Promise<string[]> {
  const flushed = await flushedNodes(record, fresh);
  const others = Object.entries(record.proxy ?? {}).filter(([n, p]) => p.config !== undefined && !fresh.has(n) && !flushed.has(n));
  const differ = new Map<string, string[]>();
  await mapLimit(others, 8, async ([n, p]) => {
    const saved = await saveTables(nodeNetns(record.lab, n));
    const gone = [...p.chains.nat.filter((c) => !saved.chains.nat.includes(c)).map((c) => `nat/${c}`), ...p.chains.filter.filter((c) => !saved.chains.filter.includes(c)).map((c) => `filter/${c}`)];
    const changed = p.ruleCounts ? changedChains(p.ruleCounts, saved.ruleCounts ?? {}) : [];
    const all = [...new Set([...gone, ...changed])].sort();
    if (all.length) differ.set(n, all);
  });
  forceFullSync(record, [...flushed.keys(), ...differ.keys()]);
  const chainsText = (c: string[]) => `${c.length} chain${c.length === 1 ? '' : 's'} not as written: ${c.slice(0, 3).join(', ')}${c.length > 3 ? ', …' : ''}`;
  return [...[...flushed].map(([n, t]) => flushedText(n, t)), ...[...differ].map(([n, c]) => `kube-proxy rules of node ${n} (${chainsText(c)})`)].sort();
}

const EMPTY_TABLES = { chains: { nat: [], filter: [] }, builtinRules: { nat: [], filter: [] } };

async function syncNode(np: NodeProxyPlan, ports: ProxyServicePort[], record: LabRecord, fresh: boolean): Promise<ServiceSyncResult['synced'][number] | undefined> {
  const started = performance.now();
  const nodeName = nodeOfNetns(np.netns);
  // A changed configuration is a restart of kube-proxy with it: setup again, then a full sync.
  const prev = record.proxy![nodeName]?.config === np.configHash ? record.proxy![nodeName] : undefined;
  const notes: string[] = [];
  const done = (mode: 'full' | 'partial', services: number) => ({ node: nodeName, mode, services, ms: Math.round(performance.now() - started), ...(notes.length ? { notes } : {}) });
  if (prev) {
    np.node.nfacct = prev.nfacct === true;
    const keys = new Set([...Object.keys(np.hashes), ...Object.keys(prev.hashes)]);
    const changed = new Set([...keys].filter((k) => np.hashes[k] !== prev.hashes[k]));
    if (changed.size === 0) return undefined;
    const quick = await syncChangedOnly(np, ports, record, changed);
    if (quick !== undefined) return done('partial', quick);
    const restore = renderProxyRules(np.node, ports, { changed, previousChains: prev.chains });
    await write(np, restore, restore.payload, ports, record);
    return done('partial', restore.writtenServices.length);
  }
  // First sync of this node (or after its record was lost): set the node up, learn what exists, write everything.
  notes.push(...(await setUpNode(np)));
  const saved = fresh ? EMPTY_TABLES : await saveTables(np.netns);
  const restore = renderProxyRules(np.node, ports, { previousChains: saved.chains });
  await write(np, restore, withCanaryChains(withHookRules(restore.payload, saved)), ports, record);
  return done('full', restore.writtenServices.length);
}

/**
 * What NewProxier and platformSetup do before the first sync: the sysctls (route_localnet for localhost
 * NodePorts, the per-namespace conntrack ones), the nfacct counters, and nf_conntrack_max, which is
 * host-wide and so only checked: kemu never changes the host.
 */
async function setUpNode(np: NodeProxyPlan): Promise<string[]> {
  const notes: string[] = [];
  await setSysctls(np.netns, np.sysctls);
  np.node.nfacct = await ensureNfacct(np.netns);
  if (!np.node.nfacct) notes.push('nfacct counters could not be created: rules written without their nfacct matches');
  const want = conntrackMax(np.config, hostCpus());
  const now = await conntrackMaxNow();
  if (want > 0 && now !== undefined && now < want) notes.push(`nf_conntrack_max is ${now}, kube-proxy would raise it to ${want}; it is host-wide, so kemu leaves it`);
  return notes;
}

async function write(np: NodeProxyPlan, restore: ReturnType<typeof renderProxyRules>, payload: string, ports: ProxyServicePort[], record: LabRecord): Promise<void> {
  const nodeName = nodeOfNetns(np.netns);
  const prev = record.proxy![nodeName]?.config === np.configHash ? record.proxy![nodeName] : undefined;
  const trimmed = dropUnchangedChains(payload, prev?.topChains);
  await restoreTables(np.netns, trimmed.payload);
  // A full sync rewrites every chain of kube-proxy's; Calico's natOutgoing chains keep their counts.
  const before = prev?.ruleCounts ?? Object.fromEntries(Object.entries(record.proxy![nodeName]?.ruleCounts ?? {}).filter(([k]) => !k.includes('/KUBE-')));
  record.proxy![nodeName] = {
    ...record.proxy![nodeName],
    ruleCounts: countRulesWritten(trimmed.payload, before),
    config: np.configHash,
    nfacct: np.node.nfacct === true,
    hashes: np.hashes,
    chains: { nat: restore.natChains, filter: restore.filterChains },
    topChains: trimmed.hashes,
    entries: entryHashes(payload, ports.map(servicePortKey)),
  };
}

/**
 * The common case of a small change: render only the changed service ports. When their rules in the
 * top-level chains come out as before, only their own chains (and the `-X` of chains they no longer
 * use) need writing; the rest of the table, untouched, is already right. Returns undefined when the
 * change reaches the top-level chains and a whole render is needed.
 */
async function syncChangedOnly(np: NodeProxyPlan, ports: ProxyServicePort[], record: LabRecord, changed: Set<string>): Promise<number | undefined> {
  const nodeName = nodeOfNetns(np.netns);
  const prev = record.proxy![nodeName]!;
  if (!prev.entries || [...changed].some((k) => np.hashes[k] === undefined || prev.hashes[k] === undefined)) return undefined;
  const subset = ports.filter((sp) => changed.has(servicePortKey(sp)));
  const before = (record.proxyPorts ?? []).filter((sp) => changed.has(servicePortKey(sp)));
  const oldChains = before.flatMap((sp) => {
    const plan = planServicePort(sp, np.node.name, np.node.zone);
    return plan ? activeChainsOf(plan) : [];
  });
  const totalEndpoints = ports.reduce((n, sp) => n + sp.endpoints.length, 0);
  const restore = renderProxyRules(np.node, subset, { previousChains: { nat: oldChains, filter: [] }, totalEndpoints });
  const now = entryHashes(restore.payload, changed);
  if ([...changed].some((k) => now[k] !== prev.entries![k])) return undefined;
  const written = serviceChainsOnly(restore.payload);
  await restoreTables(np.netns, written);
  const stale = new Set(oldChains);
  const active = restore.natChains.filter(isServiceChainName);
  record.proxy![nodeName] = {
    ...prev,
    // The record's own counts, updated in place: they are replaced by themselves.
    ...(prev.ruleCounts ? { ruleCounts: addRulesWritten(written, prev.ruleCounts) } : {}),
    hashes: np.hashes,
    chains: { nat: [...new Set([...prev.chains.nat.filter((c) => !stale.has(c)), ...active])], filter: prev.chains.filter },
  };
  return restore.writtenServices.length;
}

/**
 * kube-proxy inserts its jumps from the built-in chains at position 1, one after another, outside
 * iptables-restore; here the same `-I … 1` lines ride in the first restore, for the ones missing.
 */
function withHookRules(payload: string, saved: { chains: { nat: string[]; filter: string[] }; builtinRules: { nat: string[]; filter: string[] } }): string {
  const hooks = renderHookRules();
  const existing = saved.builtinRules;
  const inserts = (table: 'nat' | 'filter') =>
    hooks[table]
      .filter((rule) => !existing[table].some((e) => normalise(e) === normalise(rule)))
      .map((rule) => rule.replace(/^-A (\S+)/, '-I $1 1'))
      .join('\n');
  const add = (text: string, table: 'nat' | 'filter') => {
    const lines = inserts(table);
    if (!lines) return text;
    const start = text.indexOf(`*${table}\n`);
    // EnsureChain: a jump target the payload does not declare (KUBE-FIREWALL without localhost NodePorts) is created empty.
    const declared = new Set(text.slice(start, text.indexOf('COMMIT\n', start)).split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]));
    const missing = hooks.ensureChains[table].filter((c) => !declared.has(c) && !saved.chains[table].includes(c)).map((c) => `:${c} - [0:0]\n`).join('');
    const head = start + `*${table}\n`.length;
    const withChains = `${text.slice(0, head)}${missing}${text.slice(head)}`;
    const commit = withChains.indexOf('COMMIT\n', start);
    return `${withChains.slice(0, commit)}${lines}\n${withChains.slice(commit)}`;
  };
  return add(add(payload, 'filter'), 'nat');
}

/** Calico's natOutgoing chains in one node: written when they change, hooked into POSTROUTING once. */
async function syncNatOutgoing(c: ClusterState, netns: string, rec: NonNullable<LabRecord['proxy']>[string], fresh: boolean): Promise<void> {
  const { payload, hook } = renderNatOutgoing(c.network.podCIDR, c.network.natOutgoing);
  const hash = planHash(payload);
  if (rec.natOutgoing === hash) return;
  const hooked = !fresh && (await saveTables(netns)).builtinRules.nat.some((r) => r.includes('-j cali-POSTROUTING'));
  await restoreTables(netns, hooked ? payload : payload.replace('COMMIT', `${hook.replace('-A POSTROUTING', '-I POSTROUTING 1')}\nCOMMIT`));
  rec.natOutgoing = hash;
  rec.ruleCounts = countRulesWritten(payload, rec.ruleCounts);
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
      const current = prev && prev.hash === hash && (await isAlive(prev.pid, SERVER_COMM));
      return { node: n.name, checks, hash, prev, current };
    }),
  );
  const restart = todo.filter((t) => !t.current && (t.prev || t.checks.length));
  // Found by their marks, not by the record: a run killed before it recorded a pid left that server listening.
  const nodes = new Set(restart.map((t) => `node/${t.node}`));
  if (restart.length) await killMarked((m) => m.KEMU_LAB === c.lab && m.KEMU_CONTAINER === 'kube-proxy-health' && nodes.has(m.KEMU_POD ?? ''));
  for (const t of restart) if (record.proxy![t.node]) delete record.proxy![t.node]!.health;
  const start = restart.filter((t) => t.checks.length);
  const pids = await startServers(
    c.lab,
    start.map((t) => ({
      key: `node/${t.node}`,
      container: 'kube-proxy-health',
      enter: { netns: nodeNetns(c.lab, t.node) },
      args: [...t.checks.flatMap((h) => ['--health', `${h.port}:${h.status}:${h.body}`]), '--quiet'],
      log: nodeLogFile(c.lab, t.node, 'kube-proxy-health'),
    })),
  );
  for (const t of start) {
    record.proxy![t.node] ??= { hashes: {}, chains: { nat: [], filter: [] } };
    record.proxy![t.node]!.health = { pid: pids.get(`node/${t.node}/kube-proxy-health`)!, hash: t.hash };
  }
}

/** The node a node namespace belongs to (kube-proxy's own node name may differ: hostnameOverride). */
const nodeOfNetns = (netns: string): string => netns.slice(netns.indexOf('.node.') + '.node.'.length);
