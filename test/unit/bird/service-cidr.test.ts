/**
 * BGPConfiguration serviceClusterIPs in a node's BIRD config, as Calico's confd renders it: a blackhole
 * static route per CIDR (/staticroutes), accepted by calico_export_to_bgp_peers, rejected by
 * calico_kernel_programming (/rejectcidrs) so no node programs it; checked with `bird -p` when present.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderBirdConfig } from '../../../src/plan/bird/render.js';
import type { BirdNodeInput } from '../../../src/plan/bird/types.js';
import { node, peer } from './fixtures.js';

const input: BirdNodeInput = node('Never', { peers: [peer(12)], controlSocket: '/run/kemu/lab/bird/node-11.ctl', serviceCIDRs: ['10.96.0.0/12'] });

describe('serviceClusterIPs in BIRD', () => {
  const config = renderBirdConfig(input);
  const section = (start: string) => config.slice(config.indexOf(start), config.indexOf('}\n', config.indexOf(start)) + 1);

  it('a blackhole static route, exported to peers, never programmed into the kernel', () => {
    expect(section('protocol static')).toContain('route 10.96.0.0/12 blackhole;');
    const exp = config.slice(config.indexOf('function calico_export_to_bgp_peers'), config.indexOf('filter calico_kernel_programming'));
    expect(exp).toMatch(/calico_aggr\(\);\n {2}if \( net ~ 10\.96\.0\.0\/12 \) then \{ accept; \}/);
    const kernel = config.slice(config.indexOf('filter calico_kernel_programming'));
    expect(kernel.indexOf('if ( net ~ 10.96.0.0/12 ) then { reject; }')).toBeGreaterThan(0);
    expect(kernel.indexOf('if ( net ~ 10.96.0.0/12 ) then { reject; }')).toBeLessThan(kernel.indexOf('10.244.0.0/16'));
    expect(renderBirdConfig({ ...input, serviceCIDRs: [] })).not.toContain('10.96.0.0/12');
  });

  it.runIf(existsSync('/usr/sbin/bird'))('parses with bird -p', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-kp-bird-'));
    writeFileSync(join(dir, 'bird.conf'), config);
    expect(() => execFileSync('/usr/sbin/bird', ['-p', '-c', join(dir, 'bird.conf')], { stdio: 'pipe' })).not.toThrow();
  });
});
