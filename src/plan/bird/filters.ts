/**
 * The route-selection half of Calico's config, in BIRD 2 syntax: bird_aggr.cfg (blackhole statics and
 * `calico_aggr`) and bird_ipam.cfg (`calico_export_to_bgp_peers`, `calico_kernel_programming`), as
 * Calico ≤ v3.31 renders them with BIRD owning the IPIP routes (calico-bird.md §3.3, §3.4, §5.2).
 */
import { BIRD_INT_MAX, BIRD_PROTOCOLS, NORMAL_ROUTE_PRIORITY, type BirdPool } from './types.js';
import type { NormalInput } from './validate.js';

/** bird_aggr.cfg: one blackhole per own block (Calico skips /32 blocks), and the aggregation function. */
export function renderAggregation(n: NormalInput): string[] {
  const statics = n.blocks.filter((b) => !b.endsWith('/32'));
  const aggr = n.blocks.flatMap((b) => [
    `  if ( net = ${b} ) then { accept; }   # export the block ...`,
    `  if ( net ~ ${b} ) then { reject; }   # ... but nothing beneath it (workload /32s)`,
  ]);
  return [
    '# ---- bird_aggr.cfg: IPAM blocks of this node ----',
    `protocol static ${BIRD_PROTOCOLS.static} {`,
    '  ipv4;',
    ...statics.map((b) => `  route ${b} blackhole;`),
    ...(n.serviceCIDRs ?? []).map((c) => `  route ${c} blackhole;   # serviceClusterIPs`),
    '}',
    '',
    // Calico also accepts a /32 inside the block when krt_metric < 1024 (live migration). Left out:
    // workload routes without a metric are learned with krt_metric 0 and would all leak out.
    'function calico_aggr() {',
    ...aggr,
    '}',
  ];
}

/**
 * calico_export_to_bgp_peers: own blocks (not their /32s), plus anything else inside an exported pool —
 * the /32 of a pod that borrowed an address from another node's block. Everything else falls through to
 * the per-peer `reject;`.
 */
export function renderExportFunction(n: NormalInput): string[] {
  const dev = n.tunnelDevice;
  const noExport = n.pools.filter((p) => p.disableBGPExport);
  const exported = n.pools.filter((p) => !p.disableBGPExport);
  return [
    '# ---- bird_ipam.cfg ----',
    'function calico_export_to_bgp_peers(bool internal_peer) {',
    ...noExport.map((p) => `  if ( net ~ ${p.cidr} ) then { reject; }   # BGP export is disabled`),
    '  if (internal_peer) then {',
    '    if (defined(ifname)) then {',
    `      if ((ifname ~ "*.cali") || (ifname ~ "*.calico") || (ifname ~ "${dev}")) then { reject; }`,
    '    }',
    '  }',
    '  calico_aggr();',
    ...(n.serviceCIDRs ?? []).map((c) => `  if ( net ~ ${c} ) then { accept; }   # serviceClusterIPs`),
    ...exported.map((p) => `  if ( net ~ ${p.cidr} ) then { accept; }`),
    '}',
  ];
}

/**
 * The IPIP routing of Calico's BIRD fork (`krt_tunnel = "tunl0"`) in plain BIRD 2.0.12: the three
 * assignments must come in exactly this order (ifname, onlink, gw), or the route loses its gateway
 * (§4.4 D) or falls back onto the underlay device (§4.4 C).
 */
function tunnelAssignments(n: NormalInput): string {
  return `ifname = "${n.tunnelDevice}"; onlink = true; gw = bgp_next_hop; krt_mtu = ${n.tunnelMtu};`;
}

/** Same-subnet test of CrossSubnet: Calico's `bgp_next_hop ~ <network_v4>`. */
function sameSubnetTest(n: NormalInput): string | undefined {
  if (n.nodeSubnet) return `bgp_next_hop ~ ${n.nodeSubnet}`;
  const ips = n.peers.filter((p) => p.sameSubnet).map((p) => p.ip);
  return ips.length ? `bgp_next_hop ~ [ ${ips.join(', ')} ]` : undefined;
}

function kernelPoolLines(n: NormalInput, p: BirdPool): string[] {
  if (p.ipipMode === 'Never') return [`  if ( net ~ ${p.cidr} ) then { accept; }   # ipipMode Never: plain via`];
  const head = `  if ( net ~ ${p.cidr} ) then {   # ipipMode ${p.ipipMode}`;
  const same = p.ipipMode === 'CrossSubnet' ? sameSubnetTest(n) : undefined;
  if (!same) {
    return [head, `    if (source = RTS_BGP) then { ${tunnelAssignments(n)} }`, '    accept;', '  }'];
  }
  return [
    head,
    '    if (source = RTS_BGP) then {',
    `      if !(${same}) then { ${tunnelAssignments(n)} }   # next hop off our subnet: tunnel`,
    '    }',
    '    accept;',
    '  }',
  ];
}

/** calico_kernel_programming: what BIRD writes into the node's routing table. */
export function renderKernelFilter(n: NormalInput): string[] {
  return [
    'filter calico_kernel_programming {',
    // BIRD 1.6 never exported 'direct' routes to the kernel (device routes off); BIRD 2 does.
    '  if (source = RTS_DEVICE) then reject;',
    '  if (defined(source) && (source = RTS_BGP) && !defined(krt_metric)) then {',
    `    krt_metric = ${NORMAL_ROUTE_PRIORITY};`,
    `    if (defined(bgp_local_pref)) then { krt_metric = ${BIRD_INT_MAX} - bgp_local_pref; }`,
    '  }',
    // serviceClusterIPs (Calico's rejectcidrs): never programmed, kube-proxy owns them on every node.
    ...(n.serviceCIDRs ?? []).map((c) => `  if ( net ~ ${c} ) then { reject; }`),
    ...n.pools.flatMap((p) => kernelPoolLines(n, p)),
    '  accept;',
    '}',
  ];
}

/** bird.cfg's kernel, device and direct protocols. */
export function renderLocalProtocols(): string[] {
  return [
    `protocol kernel ${BIRD_PROTOCOLS.kernel} {`,
    '  learn;              # learn alien routes (pod /32s) from the kernel',
    "  persist;            # leave routes in the kernel when bird exits",
    '  scan time 2;',
    '  graceful restart;',
    '  merge paths on;     # ECMP',
    '  metric 0;           # BIRD 2 defaults to 32; Calico routes carry krt_metric instead',
    '  ipv4 { import all; export filter calico_kernel_programming; };',
    '}',
    '',
    `protocol device ${BIRD_PROTOCOLS.device} {`,
    '  debug { states };',
    '  scan time 2;',
    '}',
    '',
    '# Connected subnets, needed to resolve BGP next hops (gateway recursive); never sent to the kernel.',
    `protocol direct ${BIRD_PROTOCOLS.direct} {`,
    '  debug { states };',
    '  ipv4;',
    '  interface -"cali*", -"kube-ipvs*", "*";',
    '}',
  ];
}
