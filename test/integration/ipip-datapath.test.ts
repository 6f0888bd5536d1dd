/**
 * The userspace IPIP datapath (native/kemu-ipip) on this kernel, which has no ipip module: two node
 * namespaces, a pod behind each, pod-to-pod traffic through tunl0 (TUN) and a raw IPPROTO_IPIP socket.
 * scripts/ipip-selftest.sh checks ping (also 1,400-byte and fragmented), a 1 MB HTTP transfer, the
 * wire format in tcpdump (`IP nodeA > nodeB: IP podX > podY`), route changes, a peer going away and
 * SIGTERM, then removes its namespaces.
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/kemu.js';

describe('userspace IPIP datapath', () => {
  it('carries pod traffic between two nodes as IP-in-IP', async () => {
    const r = await execa('bash', [`${ROOT}/scripts/ipip-selftest.sh`], { reject: false, env: { IPERF_SECONDS: '2' }, all: true });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/IP 10\.200\.0\.1 > 10\.200\.0\.2: IP 10\.244\.1\.5 > 10\.244\.2\.7/);
    expect((await execa('ip', ['netns', 'list'])).stdout).not.toContain('kn-ipip');
  }, 120_000);
});
