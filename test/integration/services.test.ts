/** Services through kube-proxy-shaped iptables chains in every node namespace, with real traffic. */
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTHING_LEFT, exec, kemu, leftovers, mustUp, pods, topologyAs } from '../helpers/kemu.js';

const LAB = 'kt-svc';
const file = topologyAs('topologies/services.yaml', LAB);

interface Svc { name: string; clusterIP: string; nodePorts: number[]; lbIPs: string[]; hc?: number }
let svc: Record<string, Svc>;
let nodeIPs: Record<string, string>;
let hostIP: string;
let podIP: Record<string, string>;

async function curl(target: string, url: string, max = 3) {
  return kemu('exec', '--lab', LAB, target, '--', 'curl', '-sS', '-m', String(max), url);
}
async function natRules(node: string) {
  return (await exec(LAB, `node/${node}`, 'iptables-save', '-t', 'nat')).split('\n').filter((l) => l.startsWith('-A ') || l.startsWith(':KUBE'));
}

beforeAll(async () => {
  await mustUp(file);
  const list = JSON.parse((await kemu('get', 'svc', '-o', 'json', '--lab', LAB)).stdout).items;
  svc = Object.fromEntries(
    list.map((s: any) => [
      s.metadata.name,
      { name: s.metadata.name, clusterIP: s.spec.clusterIP, nodePorts: s.spec.ports.map((p: any) => p.nodePort).filter(Boolean), lbIPs: (s.status.loadBalancer.ingress ?? []).map((i: any) => i.ip), hc: s.spec.healthCheckNodePort },
    ]),
  );
  const nodes = JSON.parse((await kemu('get', 'nodes', '-o', 'json', '--lab', LAB)).stdout).items;
  nodeIPs = Object.fromEntries(nodes.map((n: any) => [n.metadata.name, n.status.addresses[0].address]));
  podIP = Object.fromEntries((await pods(LAB)).map((p) => [p.name, p.ip]));
  hostIP = (await exec(LAB, 'host/outside', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0')).match(/inet (\S+)\//)![1]!;
});
afterAll(async () => {
  await kemu('down', '-q', LAB);
});

describe('ClusterIP', () => {
  it('spreads 60 requests over every ready endpoint, without masquerading the client', async () => {
    const r = await exec(LAB, 'client', 'sh', '-c', `for i in $(seq 60); do curl -sS -m 3 http://${svc.web!.clusterIP}/hostname; echo; done`);
    expect(new Set(r.trim().split('\n'))).toEqual(new Set(['web-1', 'web-2']));
    expect((await curl('client', `http://${svc.web!.clusterIP}/clientip`)).stdout).toMatch(new RegExp(`^${podIP.client!.replace(/\./g, '\\.')}:\\d+$`));
  });

  it('answers UDP through the ClusterIP', async () => {
    const r = await exec(LAB, 'client', 'sh', '-c', `echo hostname | socat -t2 - UDP:${svc.web!.clusterIP}:53`);
    expect(['web-1', 'web-2']).toContain(r.trim());
  });

  it('keeps one client on one pod with session affinity', async () => {
    const r = await exec(LAB, 'client', 'sh', '-c', `for i in $(seq 20); do curl -sS -m 3 http://${svc['web-sticky']!.clusterIP}/hostname; echo; done`);
    expect(new Set(r.trim().split('\n')).size).toBe(1);
  });

  it('refuses at once when no pod is ready behind the service (REJECT)', async () => {
    const started = performance.now();
    const r = await curl('client', `http://${svc.nobody!.clusterIP}/hostname`, 5);
    expect(r.exitCode).toBe(7); // connection refused, not 28 (timeout)
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('lets a pod reach itself through its own service (hairpin)', async () => {
    expect((await curl('web-1', `http://${svc.manual!.clusterIP}:8080/hostname`)).stdout).toBe('web-1');
  });

  it('serves a selector-less service from hand-written Endpoints', async () => {
    expect((await curl('client', `http://${svc.manual!.clusterIP}:8080/hostname`)).stdout).toBe('web-1');
  });
});

describe('NodePort and LoadBalancer from outside the cluster', () => {
  it('externalTrafficPolicy Cluster: every node answers, the pod sees a node address', async () => {
    for (const [node, ip] of Object.entries(nodeIPs)) {
      const r = await curl('host/outside', `http://${ip}:${svc['web-nodeport']!.nodePorts[0]}/clientip`);
      expect(r.exitCode, `${node}: ${r.stderr}`).toBe(0);
      const seen = r.stdout.split(':')[0]!;
      expect(Object.values(nodeIPs)).toContain(seen);
      expect(seen).not.toBe(hostIP);
    }
  });

  it('externalTrafficPolicy Local: the client address is kept, only local endpoints answer, other nodes drop', async () => {
    const port = svc['web-local']!.nodePorts[0];
    for (const [node, pod] of [['node-1', 'web-1'], ['node-2', 'web-2']] as const) {
      expect((await curl('host/outside', `http://${nodeIPs[node]}:${port}/clientip`)).stdout).toMatch(new RegExp(`^${hostIP.replace(/\./g, '\\.')}:`));
      expect((await curl('host/outside', `http://${nodeIPs[node]}:${port}/hostname`)).stdout).toBe(pod);
    }
    const dropped = await curl('host/outside', `http://${nodeIPs['node-3']}:${port}/hostname`, 2);
    expect(dropped.exitCode).toBe(28); // timed out: dropped, not refused
  });

  it('reaches the LoadBalancer ingress IP, and the health-check node port says where endpoints are', async () => {
    const lb = svc['web-lb']!;
    expect(lb.lbIPs).toHaveLength(1);
    expect(['web-1', 'web-2']).toContain((await curl('host/outside', `http://${lb.lbIPs[0]}/hostname`)).stdout);
    const code = async (node: string) => (await curl('host/outside', `http://${nodeIPs[node]}:${lb.hc}/healthz`)).stdout;
    const status = async (node: string) =>
      (await kemu('exec', '--lab', LAB, 'host/outside', '--', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${nodeIPs[node]}:${lb.hc}/`)).stdout;
    expect(await status('node-1')).toBe('200');
    expect(await status('node-3')).toBe('503');
    expect(JSON.parse(await code('node-1'))).toMatchObject({ service: { namespace: 'default', name: 'web-lb' }, localEndpoints: 1 });
  });
});

describe('source ranges, external IPs, internalTrafficPolicy', () => {
  it('drops LoadBalancer clients outside loadBalancerSourceRanges (KUBE-FW)', async () => {
    const lb = svc['web-lb-restricted']!;
    expect((await curl('host/outside', `http://${lb.lbIPs[0]}/hostname`, 2)).exitCode).toBe(28);
    expect(await exec(LAB, 'node/node-1', 'iptables-save', '-t', 'nat')).toMatch(new RegExp(`-A KUBE-FW-\\w+ -s 10\\.99\\.0\\.0/16 .*-j KUBE-EXT-`));
  });

  it('serves an external IP routed to the nodes', async () => {
    expect(['web-1', 'web-2']).toContain((await curl('host/outside', 'http://172.31.254.10/hostname')).stdout);
  });

  it('internalTrafficPolicy Local: a pod reaches only endpoints on its own node', async () => {
    const ip = svc['web-node-local']!.clusterIP;
    const seen = await exec(LAB, 'web-1', 'sh', '-c', `for i in $(seq 10); do curl -sS -m 3 http://${ip}/hostname; echo; done`);
    expect(new Set(seen.trim().split('\n'))).toEqual(new Set(['web-1']));
    expect((await curl('client', `http://${ip}/hostname`, 2)).exitCode).toBe(28); // node-3 has none: dropped
  });
});

describe('following changes', () => {
  it('a second up with nothing changed rewrites no rule', async () => {
    const before = await natRules('node-1');
    const r = await kemu('up', file);
    expect(r.stdout).toContain('nothing changed');
    expect(await natRules('node-1')).toEqual(before);
  });

  it('removing a pod and running up again takes it out of endpoints and chains, and leaves other services alone', async () => {
    const before = await natRules('node-3');
    const untouched = (rules: string[]) => rules.filter((l) => /default\/(manual|nobody)/.test(l));
    // UDP flows through the ClusterIP leave conntrack entries on the client's node (node-3).
    await exec(LAB, 'client', 'sh', '-c', `for i in $(seq 12); do echo hostname | socat -t0.3 - UDP:${svc.web!.clusterIP}:53; done`);
    const udpTo = async (ip: string) => (await exec(LAB, 'node/node-3', 'conntrack', '-L', '-p', 'udp', '--reply-src', ip).catch(() => '')).split('\n').filter((l) => l.includes('dport=53')).length;
    expect(await udpTo(podIP['web-2']!)).toBeGreaterThan(0);
    const edited = topologyAs('topologies/services.yaml', LAB, (t) => {
      t.spec.workloads = t.spec.workloads.filter((w: any) => w.metadata?.name !== 'web-2');
    });
    const r = await kemu('up', edited);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/kube-proxy on node-3: partial sync/);
    const eps = JSON.parse((await kemu('get', 'endpoints', '-o', 'json', '--lab', LAB)).stdout).items.find((e: any) => e.metadata.name === 'web');
    expect(eps.subsets[0].addresses.map((a: any) => a.ip)).toEqual([podIP['web-1']]);
    const after = await natRules('node-3');
    expect(after.join('\n')).not.toContain(podIP['web-2']);
    expect(untouched(after)).toEqual(untouched(before));
    // Stale UDP conntrack entries towards the removed endpoint are gone, as kube-proxy clears them.
    expect(await udpTo(podIP['web-2']!)).toBe(0);
    const seen = await exec(LAB, 'client', 'sh', '-c', `for i in $(seq 20); do curl -sS -m 3 http://${svc.web!.clusterIP}/hostname; echo; done`);
    expect(new Set(seen.trim().split('\n'))).toEqual(new Set(['web-1']));
    await mustUp(file); // put it back for any later test
  });
});

describe('readiness', () => {
  it('a pod whose server stops answering its readiness probe leaves the endpoints on the next up, and comes back', async () => {
    const state = JSON.parse(readFileSync(`/var/lib/kemu/${LAB}/state.json`, 'utf8'));
    const server = state.pods['default/web-2'].containers.web.pid as number;
    const endpointsOf = async () => JSON.parse((await kemu('get', 'endpoints', '-o', 'json', '--lab', LAB)).stdout).items.find((e: any) => e.metadata.name === 'web').subsets[0];
    process.kill(server, 'SIGSTOP'); // alive, but answers nothing: not ready, and not restarted
    try {
      const r = await kemu('up', file);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).not.toContain('pod default/web-2');
      const eps = await endpointsOf();
      expect(eps.addresses.map((a: any) => a.ip)).toEqual([podIP['web-1']]);
      expect(eps.notReadyAddresses.map((a: any) => a.ip)).toEqual([podIP['web-2']]);
      expect((await kemu('get', 'pods', '--lab', LAB)).stdout).toMatch(/web-2\s+0\/1\s+Running/);
      expect((await natRules('node-3')).join('\n')).not.toContain(`${podIP['web-2']}:8080`);
      const seen = await exec(LAB, 'client', 'sh', '-c', `for i in $(seq 20); do curl -sS -m 3 http://${svc.web!.clusterIP}/hostname; echo; done`);
      expect(new Set(seen.trim().split('\n'))).toEqual(new Set(['web-1']));
    } finally {
      process.kill(server, 'SIGCONT');
    }
    await mustUp(file);
    expect((await endpointsOf()).addresses.map((a: any) => a.ip).sort()).toEqual([podIP['web-1'], podIP['web-2']].sort());
  });
});

describe('chain names', () => {
  const HASH_LAB = 'kt-svc-hash';
  const hashFile = topologyAs('topologies/services.yaml', HASH_LAB, (t) => {
    t.spec.network = { podCIDR: '10.180.0.0/16', underlay: { subnet: '192.168.61.0/24' } };
    t.spec.externalHosts = [];
    t.spec.nodes = [{ name: 'n1' }];
    t.spec.workloads = [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ep', namespace: 'ns1', labels: { app: 'x' }, annotations: { 'cni.projectcalico.org/ipAddrs': '["10.180.0.1"]' } }, spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80 }] }] } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cl', namespace: 'ns1' }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc1', namespace: 'ns1' }, spec: { selector: { app: 'x' }, ports: [{ name: 'p80', port: 80, targetPort: 80 }] } },
    ];
  });
  afterAll(async () => {
    await kemu('down', '-q', HASH_LAB);
    expect(await leftovers(HASH_LAB)).toEqual(NOTHING_LEFT);
  });

  it('are kube-proxy’s for the reference vector ns1/svc1:p80 → 10.180.0.1:80', async () => {
    await mustUp(hashFile);
    const nat = (await execa('ip', ['netns', 'exec', `kemu-${HASH_LAB}.node.n1`, 'iptables-save', '-t', 'nat'])).stdout;
    expect(nat).toContain(':KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]');
    expect(nat).toContain(':KUBE-SEP-SXIVWICOYRO3J4NJ - [0:0]');
    expect(nat).toMatch(/-A KUBE-SERVICES -d 10\.96\.0\.\d+\/32 -p tcp -m comment --comment "ns1\/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O/);
    expect(nat).toMatch(/-A KUBE-SEP-SXIVWICOYRO3J4NJ -p tcp -m comment --comment "ns1\/svc1:p80" -m tcp -j DNAT --to-destination 10\.180\.0\.1:80/);
    const ip = nat.match(/-d (10\.96\.0\.\d+)\/32 -p tcp -m comment --comment "ns1\/svc1:p80 cluster IP"/)![1];
    expect((await kemu('exec', '--lab', HASH_LAB, 'ns1/cl', '--', 'curl', '-sS', '-m', '3', `http://${ip}/hostname`)).stdout).toBe('ep');
  });
});
