/** The quickstart lab end to end: real pods, real veths, real curl; idempotent up; down leaves nothing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTHING_LEFT, exec, kemu, leftovers, mustUp, pods, rootNetwork, topologyAs } from '../helpers/kemu.js';

const LAB = 'kt-quick';
const file = topologyAs('topologies/quickstart.yaml', LAB);
let before: Awaited<ReturnType<typeof rootNetwork>>;

beforeAll(async () => {
  before = await rootNetwork();
  await mustUp(file);
});
afterAll(async () => {
  await kemu('down', '-q', LAB);
});

describe('quickstart lab', () => {
  it('spreads at least 4 pods over both nodes, all running', async () => {
    const list = await pods(LAB);
    expect(list.length).toBeGreaterThanOrEqual(4);
    expect(new Set(list.map((p) => p.node))).toEqual(new Set(['node-1', 'node-2']));
    expect(list.every((p) => p.phase === 'Running')).toBe(true);
  });

  it('carries pod-to-pod HTTP across nodes and on one node, without NAT', async () => {
    const list = await pods(LAB);
    const client = list.find((p) => p.name === 'client')!;
    for (const server of list.filter((p) => p.name !== 'client')) {
      expect(await exec(LAB, 'client', 'curl', '-sS', '-m', '5', `http://${server.ip}:8080/hostname`)).toBe(server.name);
      expect(await exec(LAB, 'client', 'curl', '-sS', '-m', '5', `http://${server.ip}:8080/clientip`)).toMatch(new RegExp(`^${client.ip.replace(/\./g, '\\.')}:\\d+$`));
    }
    expect(list.some((p) => p.name !== 'client' && p.node !== client.node)).toBe(true);
    expect(list.some((p) => p.name !== 'client' && p.node === client.node)).toBe(true);
  });

  it('wires pods the way Calico does', async () => {
    const list = await pods(LAB);
    const pod = list.find((p) => p.name === 'client')!;
    expect((await exec(LAB, 'client', 'hostname')).trim()).toBe('client');
    const addr = await exec(LAB, 'client', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0');
    expect(addr).toContain(`inet ${pod.ip}/32`);
    const routes = await exec(LAB, 'client', 'ip', 'route');
    expect(routes).toContain('default via 169.254.1.1 dev eth0');
    expect(routes).toMatch(/^169\.254\.1\.1 dev eth0 scope link/m);
    const nodeRoutes = await exec(LAB, `node/${pod.node}`, 'ip', 'route');
    expect(nodeRoutes).toMatch(new RegExp(`^${pod.ip.replace(/\./g, '\\.')} dev cali[0-9a-f]{11} scope link`, 'm'));
    expect(nodeRoutes).toMatch(/^blackhole 10\.244\.\d+\.\d+\/26 proto static/m);
    const link = await exec(LAB, `node/${pod.node}`, 'ip', '-o', 'link', 'show', 'dev', 'calia7a3e029a7b');
    expect(link).toContain('link/ether ee:ee:ee:ee:ee:ee');
    const sysctl = async (key: string) => (await exec(LAB, `node/${pod.node}`, 'sysctl', '-n', key)).trim();
    expect(await sysctl('net.ipv4.conf.calia7a3e029a7b.proxy_arp')).toBe('1');
    expect(await sysctl('net.ipv4.conf.calia7a3e029a7b.route_localnet')).toBe('1');
    expect(await sysctl('net.ipv4.conf.calia7a3e029a7b.forwarding')).toBe('1');
    expect(await sysctl('net.ipv4.neigh.calia7a3e029a7b.proxy_delay')).toBe('0');
    expect(await sysctl('net.ipv4.conf.eth0.proxy_arp')).toBe('0');
    expect(await sysctl('net.ipv4.ip_forward')).toBe('1');
    expect(await exec(LAB, `node/${pod.node}`, 'ip', 'neigh', 'show', 'dev', 'calia7a3e029a7b')).toMatch(new RegExp(`^${pod.ip.replace(/\./g, '\\.')} lladdr 0e:\\S+ PERMANENT`, 'm'));
  });

  it('masquerades pod traffic leaving the pool (Calico natOutgoing), so an outside host can answer', async () => {
    const hostIP = (await exec(LAB, 'host/outside', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0')).match(/inet (\S+)\//)![1]!;
    expect(await exec(LAB, 'client', 'ping', '-c', '2', '-W', '2', hostIP)).toContain('2 received');
    expect(await exec(LAB, 'node/node-1', 'iptables-save', '-t', 'nat')).toContain('-A cali-nat-outgoing -s 10.244.0.0/16 ! -d 10.244.0.0/16');
  });

  it('answers the netexec endpoints', async () => {
    const web = (await pods(LAB)).find((p) => p.name.startsWith('web-'))!;
    expect(await exec(LAB, 'client', 'curl', '-sS', '-m', '5', `http://${web.ip}:8080/echo?msg=hello`)).toBe('hello');
    expect(await exec(LAB, 'client', 'curl', '-sS', '-m', '5', '-o', '/dev/null', '-w', '%{http_code}', `http://${web.ip}:8080/healthz`)).toBe('200');
  });

  it('prints kubectl-shaped JSON for nodes and pods', async () => {
    const nodes = JSON.parse((await kemu('get', 'nodes', '-o', 'json', '--lab', LAB)).stdout);
    expect(nodes.kind).toBe('List');
    expect(nodes.items[0].status.addresses).toContainEqual({ type: 'InternalIP', address: expect.stringMatching(/^192\.168\.50\./) });
    const list = JSON.parse((await kemu('get', 'pods', '-o', 'json', '--lab', LAB)).stdout);
    const web = list.items.find((p: any) => p.metadata.name.startsWith('web-'));
    expect(web.spec.containers[0].ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(web.status.hostIP).toMatch(/^192\.168\.50\./);
    expect(web.metadata.namespace).toBe('default');
  });

  it('changes nothing on a second up', async () => {
    const beforePods = await pods(LAB);
    const r = await kemu('up', file);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('nothing changed');
    expect(await pods(LAB)).toEqual(beforePods);
  });

  it('down leaves nothing and the root namespace is as it was', async () => {
    const r = await kemu('down', LAB);
    expect(r.exitCode).toBe(0);
    expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
    expect(await rootNetwork()).toEqual(before);
  });
});
