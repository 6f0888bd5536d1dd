/**
 * Per service port, the decisions kube-proxy's syncProxyRules makes before writing anything: the
 * endpoint sets, which of the SVC/SVL/EXT/FW/SEP chains exist, where internal and external traffic
 * jumps, and the filter-table verdict (REJECT/DROP) when there is nowhere to send it.
 */
import { ipv4Only, normalizeIPv4, sourceRanges } from './addresses.js';
import {
  endpointChainName,
  serviceExternalChainName,
  serviceFirewallChainName,
  serviceLocalChainName,
  servicePortChainName,
} from './chain-names.js';
import { categorizeEndpoints, endpointString, externallyAccessible, normalizeEndpoints, type EndpointSets } from './endpoints.js';
import { quoted } from './line-buffer.js';
import { servicePortKey, type ProxyEndpoint, type ProxyServicePort } from './types.js';

export interface FilterVerdict {
  target: 'REJECT' | 'DROP';
  /** Already quoted, as written after `--comment`. */
  comment: string;
}

export interface ServicePlan {
  sp: ProxyServicePort;
  /** ServicePortName.String(), used in every comment. */
  key: string;
  /** Lower-case protocol for `-m <p> -p <p>`. */
  proto: string;
  clusterIP: string;
  externalIPs: string[];
  lbIPs: string[];
  sourceRanges: string[];
  affinitySeconds: number | undefined;
  /** Endpoints of this service port, normalized (sorted by "ip:port", deduplicated). */
  endpoints: ProxyEndpoint[];
  sets: EndpointSets;
  sepChain: (ep: ProxyEndpoint) => string;
  svcChain: string;
  svlChain: string;
  extChain: string;
  fwChain: string;
  usesClusterChain: boolean;
  usesLocalChain: boolean;
  usesExtChain: boolean;
  usesFwChain: boolean;
  externalLocal: boolean;
  hasEndpoints: boolean;
  hasInternalEndpoints: boolean;
  hasExternalEndpoints: boolean;
  /** Chain ClusterIP traffic jumps to (SVC, or SVL for internalTrafficPolicy Local). */
  internalChain: string;
  /** Chain KUBE-EXT finally jumps to (SVC, or SVL for externalTrafficPolicy Local). */
  externalPolicyChain: string;
  /** Chain LB-IP traffic jumps to (FW when source ranges apply, else EXT). */
  lbChain: string;
  internalFilter: FilterVerdict | undefined;
  externalFilter: FilterVerdict | undefined;
}

/** The plan for one service port, or null when kube-proxy would skip it (no IPv4 ClusterIP, e.g. headless). */
export function planServicePort(sp: ProxyServicePort, nodeName: string, zone?: string): ServicePlan | null {
  const clusterIP = normalizeIPv4(sp.clusterIP);
  if (clusterIP === null) return null;
  const key = servicePortKey(sp);
  const externalIPs = ipv4Only(sp.externalIPs);
  const lbIPs = ipv4Only(sp.loadBalancerIPs);
  const ranges = sourceRanges(sp.loadBalancerSourceRanges);
  const accessible = externallyAccessible(sp, externalIPs, lbIPs);
  const internalLocal = sp.internalTrafficPolicy === 'Local';
  const externalLocal = accessible && sp.externalTrafficPolicy === 'Local';
  const endpoints = normalizeEndpoints(sp.endpoints);
  const sets = categorizeEndpoints(endpoints, { nodeName, ...(zone ? { zone } : {}), internalLocal, externalLocal, externallyAccessible: accessible });

  const svcChain = servicePortChainName(sp);
  const svlChain = serviceLocalChainName(sp);
  const extChain = serviceExternalChainName(sp);
  const fwChain = serviceFirewallChainName(sp);
  const sepNames = new Map(endpoints.map((ep) => [endpointString(ep), endpointChainName(sp, ep)]));
  const sepChain = (ep: ProxyEndpoint): string => sepNames.get(endpointString(ep)) ?? endpointChainName(sp, ep);

  const usesClusterChain = sets.cluster.length > 0 && (!internalLocal || accessible);
  const usesLocalChain = sets.local.length > 0 && (internalLocal || externalLocal);
  const hasEndpoints = sets.hasAny;
  const hasInternalEndpoints = hasEndpoints && !(internalLocal && sets.local.length === 0);
  const hasExternalEndpoints = hasEndpoints && !(externalLocal && sets.local.length === 0);
  const usesExtChain = hasEndpoints && accessible;
  const usesFwChain = hasEndpoints && lbIPs.length > 0 && ranges.length > 0;

  let internalFilter: FilterVerdict | undefined;
  let externalFilter: FilterVerdict | undefined;
  if (!hasEndpoints) {
    internalFilter = { target: 'REJECT', comment: quoted(`${key} has no endpoints`) };
    externalFilter = internalFilter;
  } else {
    const noLocal: FilterVerdict = { target: 'DROP', comment: quoted(`${key} has no local endpoints`) };
    if (!hasInternalEndpoints) internalFilter = noLocal;
    if (!hasExternalEndpoints) externalFilter = noLocal;
  }

  const timeout = sp.sessionAffinityTimeoutSeconds;
  return {
    sp,
    key,
    proto: sp.protocol.toLowerCase(),
    clusterIP,
    externalIPs,
    lbIPs,
    sourceRanges: ranges,
    affinitySeconds: timeout !== undefined && timeout > 0 ? timeout : undefined,
    endpoints,
    sets,
    sepChain,
    svcChain,
    svlChain,
    extChain,
    fwChain,
    usesClusterChain,
    usesLocalChain,
    usesExtChain,
    usesFwChain,
    externalLocal,
    hasEndpoints,
    hasInternalEndpoints,
    hasExternalEndpoints,
    internalChain: internalLocal ? svlChain : svcChain,
    externalPolicyChain: externalLocal ? svlChain : svcChain,
    lbChain: usesFwChain ? fwChain : extChain,
    internalFilter,
    externalFilter,
  };
}

/** The per-service nat chains this plan keeps alive (for the stale-chain sweep). */
export function activeChainsOf(plan: ServicePlan): string[] {
  const chains: string[] = [];
  if (plan.usesClusterChain) chains.push(plan.svcChain);
  if (plan.usesLocalChain) chains.push(plan.svlChain);
  if (plan.usesExtChain) chains.push(plan.extChain);
  if (plan.usesFwChain) chains.push(plan.fwChain);
  for (const ep of plan.sets.reachable) chains.push(plan.sepChain(ep));
  return chains;
}
