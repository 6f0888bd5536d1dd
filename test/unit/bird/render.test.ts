import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { peerProtocolName, renderBirdConfig } from '../../../src/plan/bird/render.js';
import type { BirdNodeInput } from '../../../src/plan/bird/types.js';
import { node, peer } from './fixtures.js';

const BIRD = '/usr/sbin/bird';
const TUNNEL = 'ifname = "tunl0"; onlink = true; gw = bgp_next_hop; krt_mtu = 1480;';

/** Route reflector 192.168.50.10 (cluster 244.0.0.1) with clients .11 and .12 and a second reflector .20. */
const reflector = (): BirdNodeInput =>
  node('Always', {
    nodeName: 'rr-10', routerId: '192.168.50.10', nodeIp: '192.168.50.10', blocks: ['10.244.0.0/26'],
    isRouteReflector: true, clusterId: '244.0.0.1',
    peers: [peer(11, { rrClient: true }), peer(12, { rrClient: true }), peer(20, { routeReflector: true })],
  });
const rrClient = (): BirdNodeInput => node('Always', { peers: [peer(10, { routeReflector: true }), peer(20, { routeReflector: true })] });

/** The body of `protocol bgp NAME … }` (up to the next blank line). */
function protocolBlock(cfg: string, name: string): string {
  const start = cfg.indexOf(`protocol bgp ${name} `);
  expect(start, name).toBeGreaterThanOrEqual(0);
  const end = cfg.indexOf('\n\n', start);
  return cfg.slice(start, end < 0 ? undefined : end);
}

describe('renderBirdConfig: node basics', () => {
  const cfg = renderBirdConfig(node('Always'));

  it('sets the router id, device/direct protocols and documents the control socket', () => {
    expect(cfg).toMatch(/^router id 192\.168\.50\.11;$/m);
    expect(cfg).toContain('protocol device device1 {\n  debug { states };\n  scan time 2;\n}');
    expect(cfg).toContain('protocol direct direct1 {');
    expect(cfg).toContain('  interface -"cali*", -"kube-ipvs*", "*";');
    expect(cfg).toContain('# Control socket: /run/kemu/lab/node-11/bird.ctl (passed to bird with -s)');
    expect(cfg).not.toMatch(/^\s*listen bgp/m);
  });

  it('kernel protocol: metric 0, learn, persist, scan time 2, graceful restart, Calico filter', () => {
    const kernel = cfg.slice(cfg.indexOf('protocol kernel kernel1 {'), cfg.indexOf('protocol device'));
    for (const line of ['learn;', 'persist;', 'scan time 2;', 'graceful restart;', 'merge paths on;', 'metric 0;']) expect(kernel).toContain(`  ${line}`);
    expect(kernel).toContain('  ipv4 { import all; export filter calico_kernel_programming; };');
  });

  it('never sends direct routes to the kernel (BIRD 2 pitfall)', () => {
    const filter = cfg.slice(cfg.indexOf('filter calico_kernel_programming {'));
    expect(filter.split('\n')[1]).toBe('  if (source = RTS_DEVICE) then reject;');
  });

  it('blackholes own blocks and exports exactly them plus pool routes outside them', () => {
    const c = renderBirdConfig(node('Never', { blocks: ['10.244.1.64/26', '10.244.1.0/26', '10.244.9.7/32'] }));
    expect(c).toContain('protocol static static1 {\n  ipv4;\n  route 10.244.1.0/26 blackhole;\n  route 10.244.1.64/26 blackhole;\n}');
    expect(c).not.toContain('route 10.244.9.7/32 blackhole'); // Calico skips /32 blocks
    const aggr = c.slice(c.indexOf('function calico_aggr() {'), c.indexOf('# ---- bird_ipam'));
    expect(aggr).toMatch(/if \( net = 10\.244\.1\.0\/26 \) then \{ accept; \}.*\n.*if \( net ~ 10\.244\.1\.0\/26 \) then \{ reject; \}/);
    const exp = c.slice(c.indexOf('function calico_export_to_bgp_peers(bool internal_peer) {'), c.indexOf('filter calico_kernel_programming'));
    const lines = exp.trim().split('\n');
    expect(lines.indexOf('  calico_aggr();')).toBeLessThan(lines.indexOf('  if ( net ~ 10.244.0.0/16 ) then { accept; }'));
    expect(exp).toContain('(ifname ~ "*.cali") || (ifname ~ "*.calico") || (ifname ~ "tunl0")');
    expect(exp).not.toMatch(/^\s*reject;$/m); // the per-peer filter rejects the rest
  });

  it('rejects pools with BGP export disabled before anything is accepted', () => {
    const c = renderBirdConfig(node('Never', { pools: [{ cidr: '10.244.0.0/16', ipipMode: 'Never', natOutgoing: false }, { cidr: '10.250.0.0/16', ipipMode: 'Never', natOutgoing: false, disableBGPExport: true }] }));
    const exp = c.slice(c.indexOf('function calico_export_to_bgp_peers'), c.indexOf('filter calico_kernel_programming'));
    expect(exp.indexOf('if ( net ~ 10.250.0.0/16 ) then { reject; }')).toBeLessThan(exp.indexOf('calico_aggr();'));
    expect(exp).not.toContain('if ( net ~ 10.250.0.0/16 ) then { accept; }');
  });
});

describe('renderBirdConfig: IPIP modes', () => {
  it('Always: tunnels every BGP route of the pool, assignments in the order that works', () => {
    const cfg = renderBirdConfig(node('Always'));
    expect(cfg).toContain(`    if (source = RTS_BGP) then { ${TUNNEL} }`);
    const line = cfg.split('\n').find((l) => l.includes('ifname ='))!;
    const at = (s: string): number => line.indexOf(s);
    expect(at('ifname = "tunl0"')).toBeLessThan(at('onlink = true'));
    expect(at('onlink = true')).toBeLessThan(at('gw = bgp_next_hop'));
    expect(cfg).not.toContain('krt_tunnel');
  });

  it('Never: plain via, no tunnel attributes', () => {
    const cfg = renderBirdConfig(node('Never'));
    expect(cfg).toContain('  if ( net ~ 10.244.0.0/16 ) then { accept; }   # ipipMode Never: plain via');
    expect(cfg).not.toMatch(/ifname =|onlink|krt_mtu|krt_tunnel/);
  });

  it('CrossSubnet: tunnels only when the BGP next hop is off the node subnet', () => {
    const cfg = renderBirdConfig(node('CrossSubnet', { nodeSubnet: '192.168.50.11/24' }));
    expect(cfg).toContain(`      if !(bgp_next_hop ~ 192.168.50.0/24) then { ${TUNNEL} }`);
    expect(cfg).toContain('    if (source = RTS_BGP) then {\n      if !(bgp_next_hop');
  });

  it('CrossSubnet without nodeSubnet falls back to the same-subnet peers', () => {
    const peers = [peer(12), peer(13, { sameSubnet: false, ip: '192.168.60.13' })];
    expect(renderBirdConfig(node('CrossSubnet', { nodeSubnet: undefined, peers }))).toContain(`if !(bgp_next_hop ~ [ 192.168.50.12 ]) then { ${TUNNEL} }`);
    const none = renderBirdConfig(node('CrossSubnet', { nodeSubnet: undefined, peers: [peer(13, { sameSubnet: false })] }));
    expect(none).toContain(`    if (source = RTS_BGP) then { ${TUNNEL} }`);
  });

  it('mixes pools: each pool gets its own kernel rule', () => {
    const cfg = renderBirdConfig(node('Always', { pools: [{ cidr: '10.245.0.0/16', ipipMode: 'Never', natOutgoing: false }, { cidr: '10.244.0.0/16', ipipMode: 'Always', natOutgoing: true }] }));
    expect(cfg.indexOf('if ( net ~ 10.244.0.0/16 ) then {   # ipipMode Always')).toBeLessThan(cfg.indexOf('if ( net ~ 10.245.0.0/16 ) then { accept; }   # ipipMode Never'));
  });
});

describe('renderBirdConfig: BGP peers', () => {
  it('full mesh: one Mesh_ protocol per peer, Calico timers, passive iff peer IP string is greater', () => {
    const cfg = renderBirdConfig(node('Always'));
    expect(cfg.match(/^protocol bgp /gm)).toHaveLength(3);
    expect(cfg).toContain('template bgp bgp_template {');
    for (const l of ['local as 64512;', 'graceful restart;', 'connect delay time 2;', 'connect retry time 5;', 'error wait time 5,30;', 'ipv4 { gateway recursive; add paths on; };']) expect(cfg).toContain(`  ${l}`);
    const p12 = protocolBlock(cfg, 'Mesh_192_168_50_12');
    expect(p12).toContain('protocol bgp Mesh_192_168_50_12 from bgp_template {\n  neighbor 192.168.50.12 as 64512;\n  source address 192.168.50.11;\n  ttl security off;\n  multihop;\n  passive on;');
    expect(p12).toContain('      calico_export_to_bgp_peers(true);\n      reject;');
    expect(protocolBlock(cfg, 'Mesh_192_168_50_9')).toContain('passive on;'); // "192.168.50.9" > "192.168.50.11" as strings
    const low = renderBirdConfig(node('Always', { nodeIp: '192.168.50.13', routerId: '192.168.50.13', peers: [peer(11)] }));
    expect(protocolBlock(low, 'Mesh_192_168_50_11')).not.toContain('passive');
    expect(cfg).not.toMatch(/rr client|rr cluster id/);
  });

  it('eBGP peers are exported to as external', () => {
    const cfg = renderBirdConfig(node('Never', { peers: [peer(12, { as: 64600 })] }));
    expect(protocolBlock(cfg, 'Mesh_192_168_50_12')).toContain('neighbor 192.168.50.12 as 64600;');
    expect(cfg).toContain('calico_export_to_bgp_peers(false);');
  });

  it('route reflector: Node_ peers, rr client + cluster id only for clients', () => {
    const cfg = renderBirdConfig(reflector());
    expect(cfg.match(/^protocol bgp Node_/gm)).toHaveLength(3);
    for (const c of ['Node_192_168_50_11', 'Node_192_168_50_12']) {
      expect(protocolBlock(cfg, c)).toContain('  rr client;\n  rr cluster id 244.0.0.1;');
    }
    expect(protocolBlock(cfg, 'Node_192_168_50_20')).not.toContain('rr ');
    expect(cfg).not.toContain('Mesh_');
    expect(cfg).not.toContain('passive');
  });

  it('route reflector client: Node_ peers to the reflectors, no rr lines even if misflagged', () => {
    const input = rrClient();
    const cfg = renderBirdConfig({ ...input, peers: [...input.peers, peer(30, { rrClient: true })] });
    expect(cfg).toContain('protocol bgp Node_192_168_50_10 from bgp_template');
    expect(cfg).toContain('protocol bgp Node_192_168_50_20 from bgp_template');
    expect(cfg).not.toMatch(/rr client|rr cluster id/);
  });

  it('cluster id defaults to the router id', () => {
    expect(renderBirdConfig({ ...reflector(), clusterId: undefined })).toContain('rr cluster id 192.168.50.10;');
  });

  it('names peers as Calico does', () => {
    expect(peerProtocolName({ isRouteReflector: false }, peer(11))).toBe('Mesh_192_168_50_11');
    expect(peerProtocolName({ isRouteReflector: true }, peer(11))).toBe('Node_192_168_50_11');
  });
});

describe('renderBirdConfig: determinism and input checks', () => {
  it('ignores input order and drops ourselves from the peers', () => {
    const a = node('Always', { blocks: ['10.244.1.64/26', '10.244.1.0/26'], peers: [peer(13), peer(12), peer(11)] });
    const b = node('Always', { blocks: ['10.244.1.0/26', '10.244.1.64/26', '10.244.1.0/26'], peers: [peer(12), peer(13)] });
    expect(renderBirdConfig(a)).toBe(renderBirdConfig(b));
    expect(renderBirdConfig(a)).not.toContain('Mesh_192_168_50_11');
  });

  it('canonicalises CIDRs and refuses what would break the config', () => {
    expect(renderBirdConfig(node('Never', { blocks: ['10.244.1.5/26'] }))).toContain('route 10.244.1.0/26 blackhole;');
    expect(() => renderBirdConfig(node('Never', { blocks: ['10.244.1.0'] }))).toThrow(/block CIDR/);
    expect(() => renderBirdConfig(node('Never', { tunnelDevice: 'tun"l0' }))).toThrow(/tunnel device/);
    expect(() => renderBirdConfig(node('Never', { peers: [peer(12), peer(12)] }))).toThrow(/duplicate peer/);
    expect(() => renderBirdConfig(node('Never', { nodeIp: '300.1.1.1' }))).toThrow(/node IP/);
    expect(() => renderBirdConfig(node('Never', { logFile: '/tmp/a"b' }))).toThrow(/log file/);
  });
});

// bird2 is installed by scripts/setup.sh; without it these checks fail rather than skip.
describe('bird -p accepts the rendered configs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kemu-bird-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: Record<string, BirdNodeInput> = {
    never: node('Never'),
    always: node('Always', { logFile: join(dir, 'bird.log') }),
    crossSubnet: node('CrossSubnet'),
    crossSubnetFallback: node('CrossSubnet', { nodeSubnet: undefined }),
    routeReflector: reflector(),
    routeReflectorClient: rrClient(),
    mixed: node('Always', {
      blocks: ['10.244.1.0/26', '10.244.1.64/26', '10.250.0.9/32'],
      pools: [{ cidr: '10.244.0.0/16', ipipMode: 'CrossSubnet', natOutgoing: true }, { cidr: '10.250.0.0/16', ipipMode: 'Never', natOutgoing: false, disableBGPExport: true }],
      peers: [peer(12), peer(13, { as: 64600 })],
    }),
    empty: node('Always', { blocks: [], peers: [] }),
  };

  it.each(Object.keys(cases))('%s', (name) => {
    const file = join(dir, `${name}.conf`);
    writeFileSync(file, renderBirdConfig(cases[name]!));
    // Parse only: exits 0 on a valid config, and never starts a daemon.
    expect(() => execFileSync(BIRD, ['-p', '-c', file], { encoding: 'utf8', stdio: 'pipe' })).not.toThrow();
  });

  it('would reject krt_tunnel, the BIRD 1.6 fork syntax (sanity check of the harness)', () => {
    const file = join(dir, 'fork.conf');
    writeFileSync(file, renderBirdConfig(node('Always')).replace('onlink = true;', 'krt_tunnel = "tunl0";'));
    let stderr = '';
    try {
      execFileSync(BIRD, ['-p', '-c', file], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      stderr = String((e as { stderr?: string }).stderr);
    }
    expect(stderr).toMatch(/syntax error/);
  });
});
