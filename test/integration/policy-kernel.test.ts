/**
 * The Felix-layout plan in a real kernel, without a lab: one node netns and three pod netns wired
 * as Calico wires them (cali* veth, 169.254.1.1 via proxy ARP, /32 routes), the plan loaded with
 * one `ipset restore` and one `iptables-restore --noflush`, then real TCP connections checked
 * against the semantics oracle. Names start with kt-np-k; everything is removed in afterAll.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionAllowed, type NetworkPolicyState, type PolicyPod } from '../../src/cluster/network-policy.js';
import { FORWARD_APPEND, filterRestore, ipsetRestore, planPolicy } from '../../src/plan/policy/render.js';
import { caliName } from '../../src/topology/names.js';

const NODE = 'kt-np-kn';
const ports = [80, 81].map((p) => ({ name: `serve-${p}-tcp`, containerPort: p, protocol: 'TCP' as const }));
const PODS: PolicyPod[] = [
  { namespace: 'x', name: 'a', ip: '10.244.1.10', labels: { pod: 'a' }, ports },
  { namespace: 'x', name: 'b', ip: '10.244.1.11', labels: { pod: 'b' }, ports },
  { namespace: 'y', name: 'a', ip: '10.244.2.10', labels: { pod: 'a' }, ports },
];
const NS = { x: { ns: 'x' }, y: { ns: 'y' } };
const netnsOf = (p: PolicyPod) => `kt-np-k${p.namespace}${p.name}`;
const sh = (cmd: string[], input?: string) => execFileSync(cmd[0]!, cmd.slice(1), { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const servers: ChildProcess[] = [];

const POLICIES: NetworkPolicyState[] = [
  // x/a: ingress only from x/b on TCP 80 (named port) — y/a and port 81 are cut off.
  { namespace: 'x', name: 'a-from-b', podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'], ingress: [{ peers: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ protocol: 'TCP', port: 'serve-80-tcp' }] }], egress: [] },
  // x/b: egress to the pod network except y/a.
  { namespace: 'x', name: 'b-egress', podSelector: { matchLabels: { pod: 'b' } }, policyTypes: ['Egress'], ingress: [], egress: [{ peers: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.2.10/32'] } }], ports: [] }] },
];

function probe(from: PolicyPod, to: PolicyPod, port: number): boolean {
  const script = `import socket,sys\ns=socket.socket();s.settimeout(0.4)\ntry:\n s.connect(("${to.ip}",${port}));print(s.recv(8).decode().strip())\nexcept Exception:\n print("fail")`;
  return sh(['ip', 'netns', 'exec', netnsOf(from), 'python3', '-c', script]).trim() === 'ok';
}

function load(policies: NetworkPolicyState[]) {
  const plan = planPolicy({ policies, namespaces: NS, pods: PODS, localPods: PODS });
  sh(['ip', 'netns', 'exec', NODE, 'ipset', 'restore'], ipsetRestore(plan));
  sh(['ip', 'netns', 'exec', NODE, 'iptables-restore', '--noflush'], filterRestore(plan));
}

beforeAll(() => {
  sh(['ip', 'netns', 'add', NODE]);
  sh(['ip', 'netns', 'exec', NODE, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  sh(['ip', '-n', NODE, 'link', 'set', 'lo', 'up']);
  // Proxy ARP answers only with a route out of another interface: give the node a dummy default.
  // (No dummy module on this kernel: a veth pair inside the node stands in for its uplink.)
  sh(['ip', '-n', NODE, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
  sh(['ip', '-n', NODE, 'link', 'set', 'eth0p', 'up']);
  sh(['ip', '-n', NODE, 'link', 'set', 'eth0', 'up']);
  sh(['ip', '-n', NODE, 'addr', 'add', '192.168.77.1/24', 'dev', 'eth0']);
  sh(['ip', '-n', NODE, 'route', 'add', 'default', 'via', '192.168.77.254', 'dev', 'eth0', 'onlink']);
  for (const p of PODS) {
    const ns = netnsOf(p);
    const cali = caliName(p.namespace, p.name);
    sh(['ip', 'netns', 'add', ns]);
    sh(['ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', cali, 'netns', NODE]);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    sh(['ip', '-n', ns, 'addr', 'add', `${p.ip}/32`, 'dev', 'eth0']);
    sh(['ip', '-n', ns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
    sh(['ip', '-n', ns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
    sh(['ip', 'netns', 'exec', NODE, 'sysctl', '-qw', `net.ipv4.conf.${cali}.proxy_arp=1`]);
    sh(['ip', '-n', NODE, 'ntable', 'change', 'name', 'arp_cache', 'dev', cali, 'proxy_delay', '0']);
    sh(['ip', '-n', NODE, 'link', 'set', cali, 'up']);
    sh(['ip', '-n', NODE, 'route', 'add', `${p.ip}/32`, 'dev', cali, 'scope', 'link']);
    for (const port of [80, 81]) {
      const s = spawn('ip', ['netns', 'exec', ns, 'socat', `TCP-LISTEN:${port},fork,reuseaddr`, 'SYSTEM:echo ok'], { stdio: 'ignore' });
      servers.push(s);
    }
  }
  sh(['ip', 'netns', 'exec', NODE, 'iptables-restore', '--noflush'], `*filter\n:cali-FORWARD - [0:0]\n-A FORWARD -j cali-FORWARD\n${FORWARD_APPEND.map((r) => `-A FORWARD ${r}`).join('\n')}\nCOMMIT\n`);
  execFileSync('sleep', ['0.3']);
});

afterAll(() => {
  for (const s of servers) if (s.pid) try { process.kill(s.pid); } catch { /* gone */ }
  for (const ns of [NODE, ...PODS.map(netnsOf)]) try { sh(['ip', 'netns', 'del', ns]); } catch { /* absent */ }
  const left = sh(['ip', 'netns', 'list']).split('\n').filter((l) => l.startsWith('kt-np-k'));
  expect(left).toEqual([]);
});

function matrix(policies: NetworkPolicyState[]) {
  const got: string[] = [];
  const want: string[] = [];
  for (const f of PODS) for (const t of PODS) for (const port of [80, 81]) {
    if (f === t) continue;
    const key = `${f.namespace}/${f.name}>${t.namespace}/${t.name}:${port}`;
    if (probe(f, t, port)) got.push(key);
    if (connectionAllowed(policies, NS, { pod: f }, { pod: t }, port, 'TCP')) want.push(key);
  }
  return { got, want };
}

describe('Felix-layout rules in a real node netns', () => {
  it('with no policy every pod reaches every pod (kns profiles allow)', () => {
    load([]);
    const { got, want } = matrix([]);
    expect(got).toEqual(want);
    expect(got.length).toBe(12);
  });
  it('named port + podSelector ingress and ipBlock-except egress enforce the oracle, ipsets in the node netns only', () => {
    load(POLICIES);
    load(POLICIES); // a second sync swaps refilled sets in over the existing ones
    const { got, want } = matrix(POLICIES);
    expect(got).toEqual(want);
    expect(got).toContain('x/b>x/a:80');
    expect(got).not.toContain('y/a>x/a:80');
    expect(got).not.toContain('x/b>x/a:81');
    expect(got).not.toContain('x/b>y/a:80');
    expect(sh(['ip', 'netns', 'exec', NODE, 'ipset', 'list', '-n'])).toMatch(/cali40s:/);
  });
  it('removing the policies reopens everything (chains re-declared by the next restore)', () => {
    load([]);
    expect(matrix([]).got.length).toBe(12);
  });
});
