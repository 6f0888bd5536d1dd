/**
 * A KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) checked as kube-proxy checks its
 * --config file: strict decoding (unknown fields are errors), v1alpha1 defaulting
 * (pkg/proxy/apis/config/v1alpha1/defaults.go), then pkg/proxy/apis/config/validation. Messages
 * carry kube-proxy's wording; paths are the user's (`spec.kubeProxy.iptables.masqueradeBit`).
 * Fields that change packets and that kemu does not emulate are refused by name.
 */
import type { InputProblem } from '../errors.js';
import type { DetectLocalMode, KubeProxyConfig } from '../types.js';
import { parseGoDuration } from '../../util/duration.js';
import { parseIp, parseCidrAnyFamily } from './addresses.js';

export const KUBE_PROXY_API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';
export const KUBE_PROXY_KIND = 'KubeProxyConfiguration';

type Obj = Record<string, unknown>;
/** Where a field (dotted, as in v1alpha1 JSON) is reported: the node's override when it sets it, else the cluster's. */
export type PathOf = (field: string) => string;

const OBJECT_FIELDS: Record<string, string[] | 'any'> = {
  '': ['apiVersion', 'kind', 'featureGates', 'clientConnection', 'logging', 'hostnameOverride', 'bindAddress', 'healthzBindAddress', 'metricsBindAddress', 'bindAddressHardFail', 'enableProfiling', 'showHiddenMetricsForVersion', 'mode', 'iptables', 'ipvs', 'nftables', 'winkernel', 'detectLocalMode', 'detectLocal', 'clusterCIDR', 'nodePortAddresses', 'oomScoreAdj', 'conntrack', 'configSyncPeriod', 'portRange', 'windowsRunAsService'],
  iptables: ['masqueradeBit', 'masqueradeAll', 'localhostNodePorts', 'snatNodeInternalIP', 'syncPeriod', 'minSyncPeriod'],
  conntrack: ['maxPerCore', 'min', 'tcpEstablishedTimeout', 'tcpCloseWaitTimeout', 'tcpBeLiberal', 'udpTimeout', 'udpStreamTimeout'],
  detectLocal: ['bridgeInterface', 'interfaceNamePrefix'],
  clientConnection: ['kubeconfig', 'acceptContentTypes', 'contentType', 'qps', 'burst'],
  // Used only in modes kemu refuses, or with no effect on packets: accepted as objects.
  ipvs: 'any',
  nftables: 'any',
  winkernel: 'any',
  logging: 'any',
  featureGates: 'any',
};

const LOCAL_MODES: DetectLocalMode[] = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'];
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validate a (merged) configuration object; problems are appended, the resolved config returned. */
export function checkKubeProxyConfig(raw: Obj, at: PathOf, problems: InputProblem[]): KubeProxyConfig {
  const add = (field: string, message: string) => problems.push({ path: at(field), message });
  unknownFields(raw, '', add);

  const str = (f: string, v: unknown): string => {
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') add(f, `must be a string, not ${JSON.stringify(v)}`);
    return typeof v === 'string' ? v : '';
  };
  const bool = (f: string, v: unknown, dflt: boolean): boolean => {
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') add(f, `must be true or false, not ${JSON.stringify(v)}`);
    return v === true;
  };
  const int = (f: string, v: unknown): number | undefined => {
    if (v === undefined || v === null) return undefined;
    if (!Number.isInteger(v) || (v as number) < -(2 ** 31) || (v as number) >= 2 ** 31) {
      add(f, `must be a 32-bit integer, not ${JSON.stringify(v)}`);
      return undefined;
    }
    return v as number;
  };
  /** metav1.Duration; an absent or zero value takes the default, as v1alpha1 defaulting does. */
  const duration = (f: string, v: unknown): number | undefined => {
    if (v === undefined || v === null) return undefined;
    const ms = typeof v === 'string' ? parseGoDuration(v) : undefined;
    if (ms === undefined) add(f, `${JSON.stringify(v)} is not a duration; write it as Go does, e.g. "30s", "1m", "2h22m", "250ms"`);
    return ms;
  };
  const sub = (k: string): Obj => (isObj(raw[k]) ? (raw[k] as Obj) : {});
  for (const k of ['iptables', 'conntrack', 'detectLocal', 'clientConnection', 'ipvs', 'nftables', 'winkernel', 'logging', 'featureGates'])
    if (raw[k] !== undefined && raw[k] !== null && !isObj(raw[k])) add(k, 'must be an object');

  if (raw.apiVersion !== undefined && raw.apiVersion !== KUBE_PROXY_API_VERSION) add('apiVersion', `must be ${KUBE_PROXY_API_VERSION}`);
  if (raw.kind !== undefined && raw.kind !== KUBE_PROXY_KIND) add('kind', `must be ${KUBE_PROXY_KIND}`);

  const mode = str('mode', raw.mode);
  if (mode === 'ipvs' || mode === 'nftables')
    add('mode', `'${mode}' is not emulated yet: kemu emulates kube-proxy's iptables mode; set mode: iptables or leave it out`);
  else if (mode !== '' && mode !== 'iptables') add('mode', `'${mode}' must be iptables, ipvs, nftables or blank (blank means the best-available proxy [currently iptables])`);

  const gates = sub('featureGates');
  for (const [g, v] of Object.entries(gates)) {
    if (typeof v !== 'boolean') add(`featureGates.${g}`, 'must be true or false');
    else add(`featureGates.${g}`, `feature gates are not emulated: kemu's kube-proxy behaves as v1.34 with its default gates; remove ${g}`);
  }

  const ipt = sub('iptables');
  const masqueradeBit = int('iptables.masqueradeBit', ipt.masqueradeBit) ?? 14;
  if (masqueradeBit < 0 || masqueradeBit > 31) add('iptables.masqueradeBit', `${masqueradeBit} must be within the range [0, 31]`);
  const masqueradeAll = bool('iptables.masqueradeAll', ipt.masqueradeAll, false);
  const localhostNodePorts = bool('iptables.localhostNodePorts', ipt.localhostNodePorts, true);
  if (bool('iptables.snatNodeInternalIP', ipt.snatNodeInternalIP, false))
    add('iptables.snatNodeInternalIP', "SNAT to the node's InternalIP is not emulated (kemu masquerades to the egress address, the default); remove it or set it to false");
  const syncPeriodMs = duration('iptables.syncPeriod', ipt.syncPeriod) || 30_000;
  const minSyncPeriodMs = duration('iptables.minSyncPeriod', ipt.minSyncPeriod) || 1000;
  if (syncPeriodMs <= 0) add('iptables.syncPeriod', 'must be greater than 0');
  if (minSyncPeriodMs < 0) add('iptables.minSyncPeriod', 'must be greater than or equal to 0');
  if (minSyncPeriodMs > syncPeriodMs) add('iptables.syncPeriod', `must be greater than or equal to ${at('iptables.minSyncPeriod')}`);

  const ct = sub('conntrack');
  const maxPerCore = int('conntrack.maxPerCore', ct.maxPerCore) ?? 32 * 1024;
  const min = int('conntrack.min', ct.min) ?? 128 * 1024;
  if (maxPerCore < 0) add('conntrack.maxPerCore', 'must be greater than or equal to 0');
  if (min < 0) add('conntrack.min', 'must be greater than or equal to 0');
  const seconds = (f: string, v: unknown, dflt: number): number => {
    const ms = duration(f, v);
    if (ms !== undefined && ms < 0) add(f, 'must be greater than or equal to 0');
    return ms === undefined ? dflt : Math.floor(ms / 1000);
  };
  const conntrack = {
    maxPerCore,
    min,
    tcpEstablishedTimeout: seconds('conntrack.tcpEstablishedTimeout', ct.tcpEstablishedTimeout, 24 * 3600),
    tcpCloseWaitTimeout: seconds('conntrack.tcpCloseWaitTimeout', ct.tcpCloseWaitTimeout, 3600),
    tcpBeLiberal: bool('conntrack.tcpBeLiberal', ct.tcpBeLiberal, false),
    udpTimeout: seconds('conntrack.udpTimeout', ct.udpTimeout, 0),
    udpStreamTimeout: seconds('conntrack.udpStreamTimeout', ct.udpStreamTimeout, 0),
  };

  const detectLocalMode = (str('detectLocalMode', raw.detectLocalMode) || 'ClusterCIDR') as DetectLocalMode;
  if (!LOCAL_MODES.includes(detectLocalMode))
    add('detectLocalMode', `Unsupported value: "${detectLocalMode}": supported values: ${[...LOCAL_MODES, ''].map((m) => `"${m}"`).join(', ')}`);
  const dl = sub('detectLocal');
  const detectLocal = { bridgeInterface: str('detectLocal.bridgeInterface', dl.bridgeInterface), interfaceNamePrefix: str('detectLocal.interfaceNamePrefix', dl.interfaceNamePrefix) };
  if (detectLocalMode === 'BridgeInterface' && detectLocal.bridgeInterface === '') add('detectLocal.bridgeInterface', 'must not be empty with detectLocalMode BridgeInterface');
  if (detectLocalMode === 'InterfaceNamePrefix' && detectLocal.interfaceNamePrefix === '') add('detectLocal.interfaceNamePrefix', 'must not be empty with detectLocalMode InterfaceNamePrefix');
  const clusterCIDR = raw.clusterCIDR === undefined ? undefined : clusterCidrOf(str('clusterCIDR', raw.clusterCIDR), detectLocalMode, (m) => add('clusterCIDR', m));

  const nodePortAddresses = stringList('nodePortAddresses', raw.nodePortAddresses, add);
  nodePortAddresses.forEach((a, i) => {
    if (a === 'primary') {
      if (i !== 0 || nodePortAddresses.length !== 1) add(`nodePortAddresses[${i}]`, "can't use both 'primary' and CIDRs");
    } else if (!parseCidrAnyFamily(a)) add(`nodePortAddresses[${i}]`, `'${a}' must be a valid CIDR`);
  });

  const bind = str('bindAddress', raw.bindAddress) || '0.0.0.0';
  const bindIp = parseIp(bind);
  if (!bindIp) add('bindAddress', `'${bind}' is not a valid textual representation of an IP address`);
  else if (bindIp.family === 6) add('bindAddress', `'${bind}' is IPv6; kemu's clusters are IPv4-only`);
  for (const f of ['healthzBindAddress', 'metricsBindAddress']) {
    const v = str(f, raw[f]);
    if (v !== '' && !isHostPort(v)) add(f, `'${v}' must be IP:port`);
  }
  const oom = int('oomScoreAdj', raw.oomScoreAdj);
  if (oom !== undefined && (oom < -1000 || oom > 1000)) add('oomScoreAdj', `${oom} must be within the range [-1000, 1000]`);
  const configSync = duration('configSyncPeriod', raw.configSyncPeriod);
  if (configSync !== undefined && configSync < 0) add('configSyncPeriod', 'must be greater than 0');
  const burst = int('clientConnection.burst', sub('clientConnection').burst);
  if (burst !== undefined && burst < 0) add('clientConnection.burst', 'must be greater than or equal to 0');
  const portRange = str('portRange', raw.portRange);
  if (portRange !== '' && !/^\d{1,5}([-+]\d{1,5})?$/.test(portRange)) add('portRange', `'${portRange}' must be a valid port range (e.g. 300-2000)`);
  for (const f of ['bindAddressHardFail', 'enableProfiling', 'windowsRunAsService']) bool(f, raw[f], false);
  str('showHiddenMetricsForVersion', raw.showHiddenMetricsForVersion);

  return {
    hostnameOverride: str('hostnameOverride', raw.hostnameOverride).trim().toLowerCase(),
    bindAddress: bindIp && bindIp.family === 4 && bind !== '0.0.0.0' && !bind.startsWith('127.') ? bindIp.text : '',
    clusterCIDR,
    detectLocalMode,
    detectLocal,
    masqueradeAll,
    masqueradeBit,
    localhostNodePorts,
    syncPeriodMs,
    minSyncPeriodMs,
    nodePortAddresses,
    conntrack,
  };
}

/** v1alpha1 clusterCIDR is a comma-separated single CIDR or dual-stack pair; kemu keeps the IPv4 one. */
function clusterCidrOf(text: string, mode: DetectLocalMode, fail: (m: string) => void): string {
  if (text === '') return '';
  const parts = text.split(',');
  const parsed = parts.map((p) => parseCidrAnyFamily(p));
  if (mode === 'ClusterCIDR') {
    if (parts.length > 2) fail(`'${text}' must be a either a single CIDR or dual-stack pair of CIDRs (e.g. [10.100.0.0/16, fde4:8dba:82e1::/48]`);
    parts.forEach((p, i) => parsed[i] || fail(`'${p}' must be a valid CIDR block (e.g. 10.100.0.0/16 or fde4:8dba:82e1::/48)`));
    if (parts.length === 2 && parsed[0] && parsed[1] && parsed[0].family === parsed[1].family)
      fail(`'${text}' must be a either a single CIDR or dual-stack pair of CIDRs (e.g. [10.100.0.0/16, fde4:8dba:82e1::/48]`);
  }
  return parsed.find((c) => c?.family === 4)?.text ?? '';
}

function stringList(field: string, v: unknown, add: (f: string, m: string) => void): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    add(field, 'must be a list of strings');
    return [];
  }
  return v as string[];
}

const isHostPort = (v: string): boolean => {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v);
  if (!m) return false;
  const port = Number(m[3]);
  return parseIp(m[1] ?? m[2] ?? '') !== undefined && port >= 1 && port <= 65535;
};

function unknownFields(raw: Obj, prefix: string, add: (f: string, m: string) => void): void {
  const known = OBJECT_FIELDS[prefix];
  if (known === undefined || known === 'any') return;
  for (const [k, v] of Object.entries(raw)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (!known.includes(k)) add(path, `unknown field '${k}' (kube-proxy decodes its configuration strictly)`);
    else if (isObj(v) && OBJECT_FIELDS[path] !== undefined) unknownFields(v, path, add);
  }
}

/** kube-proxy's defaults: what a node without any kubeProxy configuration runs with. */
export const defaultKubeProxyConfig = (): KubeProxyConfig => checkKubeProxyConfig({}, (f) => f, []);
