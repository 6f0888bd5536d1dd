/**
 * KubeProxyConfiguration in the topology: validation as pkg/proxy/apis/config/validation
 * (TestValidateKubeProxyConfiguration and its sub-tests), v1alpha1 defaulting
 * (pkg/proxy/apis/config/v1alpha1/defaults.go), per-node merging, files, and what a node derives from
 * it (server_linux.go getLocalDetectors, conntrack/sysctls.go getConntrackMax).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterFromTopology } from '../../../src/cluster/desired.js';
import { InputError } from '../../../src/topology/errors.js';
import { parseTopology } from '../../../src/topology/load.js';
import { checkKubeProxyConfig, defaultKubeProxyConfig } from '../../../src/topology/kube-proxy/validate.js';
import { conntrackMax, nodeProxySettings } from '../../../src/plan/kube-proxy/node-config.js';

const problemsOf = (raw: Record<string, unknown>) => {
  const problems: Array<{ path: string; message: string }> = [];
  checkKubeProxyConfig(raw, (f) => `spec.kubeProxy.${f}`, problems);
  return problems;
};

describe('validation (TestValidateKubeProxyConfiguration)', () => {
  const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['masqueradeBit out of range', { iptables: { masqueradeBit: 32 } }, 'iptables.masqueradeBit', /within the range \[0, 31\]/],
    ['negative masqueradeBit', { iptables: { masqueradeBit: -1 } }, 'iptables.masqueradeBit', /within the range/],
    ['minSyncPeriod above syncPeriod', { iptables: { syncPeriod: '5s', minSyncPeriod: '10s' } }, 'iptables.syncPeriod', /greater than or equal to spec.kubeProxy.iptables.minSyncPeriod/],
    ['negative minSyncPeriod', { iptables: { minSyncPeriod: '-1s' } }, 'iptables.minSyncPeriod', /greater than or equal to 0/],
    ['a duration Go cannot parse', { iptables: { syncPeriod: '30 seconds' } }, 'iptables.syncPeriod', /not a duration/],
    ['negative conntrack maxPerCore', { conntrack: { maxPerCore: -1 } }, 'conntrack.maxPerCore', /greater than or equal to 0/],
    ['negative conntrack min', { conntrack: { min: -1 } }, 'conntrack.min', /greater than or equal to 0/],
    ['negative tcpEstablishedTimeout', { conntrack: { tcpEstablishedTimeout: '-5s' } }, 'conntrack.tcpEstablishedTimeout', /greater than or equal to 0/],
    ['negative udpStreamTimeout', { conntrack: { udpStreamTimeout: '-1s' } }, 'conntrack.udpStreamTimeout', /greater than or equal to 0/],
    ['invalid nodePortAddresses entry ("invalid foo address")', { nodePortAddresses: ['foo'] }, 'nodePortAddresses[0]', /must be a valid CIDR/],
    ['invalid octet ("invalid octet address")', { nodePortAddresses: ['10.0.0.0/0', '1.2.3'] }, 'nodePortAddresses[1]', /must be a valid CIDR/],
    ['primary with CIDRs', { nodePortAddresses: ['10.0.0.0/8', 'primary'] }, 'nodePortAddresses[1]', /can't use both 'primary' and CIDRs/],
    ['unknown detectLocalMode', { detectLocalMode: 'Guess' }, 'detectLocalMode', /Unsupported value: "Guess"/],
    ['BridgeInterface without a bridge', { detectLocalMode: 'BridgeInterface' }, 'detectLocal.bridgeInterface', /must not be empty/],
    ['InterfaceNamePrefix without a prefix', { detectLocalMode: 'InterfaceNamePrefix' }, 'detectLocal.interfaceNamePrefix', /must not be empty/],
    ['three cluster CIDRs', { clusterCIDR: '10.0.0.0/8,10.1.0.0/16,fd00::/64' }, 'clusterCIDR', /single CIDR or dual-stack pair/],
    ['two cluster CIDRs of one family', { clusterCIDR: '10.0.0.0/8,192.168.0.0/16' }, 'clusterCIDR', /dual-stack pair/],
    ['a cluster CIDR that is not one', { clusterCIDR: '10.0.0.0/33' }, 'clusterCIDR', /must be a valid CIDR block/],
    ['bindAddress not an IP', { bindAddress: '10.10.12.11:2000' }, 'bindAddress', /not a valid textual representation of an IP address/],
    ['healthzBindAddress without a port', { healthzBindAddress: '0.0.0.0' }, 'healthzBindAddress', /must be IP:port/],
    ['oomScoreAdj out of range', { oomScoreAdj: 1001 }, 'oomScoreAdj', /\[-1000, 1000\]/],
    ['mode ipvs', { mode: 'ipvs' }, 'mode', /not emulated yet/],
    ['mode nftables', { mode: 'nftables' }, 'mode', /not emulated yet/],
    ['an unknown mode', { mode: 'userspace' }, 'mode', /must be iptables, ipvs, nftables or blank/],
    ['an unknown field (strict decoding)', { iptables: { masqueradeAl: true } }, 'iptables.masqueradeAl', /unknown field/],
    ['a feature gate', { featureGates: { PreferSameTrafficDistribution: false } }, 'featureGates.PreferSameTrafficDistribution', /not emulated/],
    ['snatNodeInternalIP', { iptables: { snatNodeInternalIP: true } }, 'iptables.snatNodeInternalIP', /not emulated/],
    ['a wrong kind', { kind: 'KubeletConfiguration' }, 'kind', /must be KubeProxyConfiguration/],
  ];
  for (const [name, raw, path, message] of bad) {
    it(`refuses ${name}`, () => {
      const problems = problemsOf(raw);
      expect(problems.some((p) => p.path === `spec.kubeProxy.${path}` && message.test(p.message)), JSON.stringify(problems)).toBe(true);
    });
  }

  it('accepts what upstream accepts: dual-stack clusterCIDR, primary alone, 0.0.0.0/0, fields without effect', () => {
    expect(problemsOf({ clusterCIDR: '10.0.0.0/8,fd00:10::/64', nodePortAddresses: ['primary'] })).toEqual([]);
    expect(problemsOf({ nodePortAddresses: ['0.0.0.0/0', '::/0', '127.0.0.1/32'], healthzBindAddress: '0.0.0.0:10256', metricsBindAddress: '[::1]:10249' })).toEqual([]);
    expect(problemsOf({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'iptables', clientConnection: { qps: 5 }, logging: { format: 'json' }, ipvs: { scheduler: 'rr' } })).toEqual([]);
  });

  it('fills in v1alpha1 defaults (pkg/proxy/apis/config/v1alpha1/defaults.go); zero durations take them too', () => {
    expect(defaultKubeProxyConfig()).toEqual({
      hostnameOverride: '',
      bindAddress: '',
      clusterCIDR: undefined,
      detectLocalMode: 'ClusterCIDR',
      detectLocal: { bridgeInterface: '', interfaceNamePrefix: '' },
      masqueradeAll: false,
      masqueradeBit: 14,
      localhostNodePorts: true,
      syncPeriodMs: 30_000,
      minSyncPeriodMs: 1000,
      nodePortAddresses: [],
      conntrack: { maxPerCore: 32768, min: 131072, tcpEstablishedTimeout: 86400, tcpCloseWaitTimeout: 3600, tcpBeLiberal: false, udpTimeout: 0, udpStreamTimeout: 0 },
    });
    expect(checkKubeProxyConfig({ iptables: { syncPeriod: '0s', minSyncPeriod: '0' } }, (f) => f, []).minSyncPeriodMs).toBe(1000);
    expect(checkKubeProxyConfig({ clusterCIDR: '010.000.0.1/8,fd00::/64' }, (f) => f, []).clusterCIDR).toBe('10.0.0.0/8');
  });
});

const topo = (spec: string) => `apiVersion: kemu.dev/v1alpha1
kind: Topology
metadata: {name: t}
spec:
${spec}`;

describe('in the topology', () => {
  it('merges a node’s kubeProxy over the cluster’s, field by field, and reports where a field was set', async () => {
    const t = await parseTopology(
      topo(`  kubeProxy: {iptables: {masqueradeAll: true, masqueradeBit: 16}, nodePortAddresses: [192.168.50.0/24]}
  nodes:
    - {name: n1}
    - {name: n2, kubeProxy: {iptables: {masqueradeAll: false}, nodePortAddresses: [primary], detectLocalMode: InterfaceNamePrefix, detectLocal: {interfaceNamePrefix: cali}}}`),
      '/x/t.yaml',
    );
    expect(t.nodes[0]!.kubeProxy).toMatchObject({ masqueradeAll: true, masqueradeBit: 16, nodePortAddresses: ['192.168.50.0/24'], detectLocalMode: 'ClusterCIDR' });
    expect(t.nodes[1]!.kubeProxy).toMatchObject({ masqueradeAll: false, masqueradeBit: 16, nodePortAddresses: ['primary'], detectLocalMode: 'InterfaceNamePrefix' });
    const err = (await parseTopology(topo(`  kubeProxy: {iptables: {masqueradeBit: 40}}\n  nodes: [{name: n1}, {name: n2, kubeProxy: {mode: ipvs}}]`), '/x/t.yaml').catch((e: unknown) => e)) as InputError;
    expect(err).toBeInstanceOf(InputError);
    // The cluster's mistake once (not once per node), the node's where the node wrote it.
    expect(err.problems.map((p) => p.path)).toEqual(['spec.kubeProxy.iptables.masqueradeBit', 'spec.nodes[1].kubeProxy.mode']);
    expect(err.problems[0]!.where).toMatch(/^\/x\/t.yaml:\d+:\d+$/);
  });

  it('reads a kube-proxy --config file relative to the topology; the file needs apiVersion and kind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-kp-unit-'));
    writeFileSync(join(dir, 'kp.yaml'), 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\nconntrack: {tcpBeLiberal: true, tcpEstablishedTimeout: 2h}\n');
    writeFileSync(join(dir, 'bare.yaml'), 'iptables: {masqueradeAll: true}\n');
    const t = await parseTopology(topo('  kubeProxy: kp.yaml\n  nodes: [{name: n1}]'), join(dir, 't.yaml'));
    expect(t.nodes[0]!.kubeProxy.conntrack).toMatchObject({ tcpBeLiberal: true, tcpEstablishedTimeout: 7200 });
    const err = (await parseTopology(topo('  kubeProxy: bare.yaml\n  nodes: [{name: n1, kubeProxy: missing.yaml}]'), join(dir, 't.yaml')).catch((e: unknown) => e)) as InputError;
    expect(err.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'spec.kubeProxy (bare.yaml).apiVersion: must be kubeproxy.config.k8s.io/v1alpha1',
      'spec.kubeProxy (bare.yaml).kind: must be KubeProxyConfiguration',
      "spec.nodes[0].kubeProxy: kube-proxy configuration file 'missing.yaml' cannot be read (ENOENT); paths are relative to the topology file",
    ]);
  });
});

describe('what each node derives', () => {
  const cluster = async (kubeProxy: string) =>
    clusterFromTopology(
      await parseTopology(
        topo(`  network: {podCIDR: 10.244.0.0/16}
  kubeProxy: ${kubeProxy}
  nodes: [{name: n1, extraAddresses: [192.168.50.100]}]
  workloads: [{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {nodeName: n1, containers: [{name: c, image: x}]}}]`),
        '/x/t.yaml',
      ),
    );

  it('TestGetLocalTrafficDetectors: ClusterCIDR (the pod CIDR when not given, none when ""), NodeCIDR (the node’s podCIDR)', async () => {
    let c = await cluster('{}');
    expect(nodeProxySettings(c, c.nodes[0]!).node.localDetector).toEqual({ ifLocal: ['-s', '10.244.0.0/16'], ifNotLocal: ['!', '-s', '10.244.0.0/16'] });
    c = await cluster('{clusterCIDR: ""}');
    expect(nodeProxySettings(c, c.nodes[0]!).node.localDetector).toBeNull();
    c = await cluster('{detectLocalMode: NodeCIDR}');
    expect(nodeProxySettings(c, c.nodes[0]!).node.localDetector).toEqual({ ifLocal: ['-s', c.nodes[0]!.blocks[0]], ifNotLocal: ['!', '-s', c.nodes[0]!.blocks[0]] });
  });

  it('primary node-port addresses are the node IP/32; sysctls follow localhostNodePorts and conntrack', async () => {
    const c = await cluster('{nodePortAddresses: [primary], conntrack: {tcpBeLiberal: true, udpTimeout: 30s, tcpCloseWaitTimeout: 0s}}');
    const s = nodeProxySettings(c, c.nodes[0]!);
    expect(s.node.nodePortAddresses).toEqual([`${c.nodes[0]!.ip}/32`]);
    expect(s.node.localhostNodePorts).toBe(false); // no loopback in the list (NewProxier)
    expect(s.node.interfaceAddresses).toEqual(['127.0.0.1', c.nodes[0]!.ip, '192.168.50.100']);
    expect(s.sysctls).toEqual({
      'net.netfilter.nf_conntrack_tcp_timeout_established': '86400',
      'net.netfilter.nf_conntrack_tcp_be_liberal': '1',
      'net.netfilter.nf_conntrack_udp_timeout': '30',
    });
    const d = await cluster('{}');
    expect(nodeProxySettings(d, d.nodes[0]!).sysctls['net.ipv4.conf.all.route_localnet']).toBe('1');
  });

  it('getConntrackMax: maxPerCore × CPUs, at least min, at most 1M; maxPerCore 0 leaves it', () => {
    const kp = defaultKubeProxyConfig();
    expect(conntrackMax(kp, 2)).toBe(131072); // 65536 < min
    expect(conntrackMax(kp, 8)).toBe(262144);
    expect(conntrackMax({ ...kp, conntrack: { ...kp.conntrack, maxPerCore: 0 } }, 8)).toBe(0);
    expect(conntrackMax(kp, 64)).toBe(1_048_576);
  });
});
