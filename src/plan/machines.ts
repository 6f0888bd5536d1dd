/** The fabric (underlay bridge) and the machines on it: nodes and external hosts. */
import type { ClusterState } from '../cluster/types.js';
import { fabricNetns, hostNetns, nodeNetns } from '../topology/names.js';
import type { RackSpec } from '../topology/types.js';
import { parseCidr } from '../util/ipv4.js';
import { planHash } from './hash.js';
import type { LabPlan, MachinePlan } from './types.js';

/**
 * A node forwards, and every cali veth carries Calico's per-interface settings (route_localnet=1,
 * proxy_arp=1, forwarding=1, rp_filter=0). Calico writes those per interface after creating it; kemu
 * sets them as the node's defaults before any cali exists, so each new cali starts with exactly those
 * values (the same state per interface, without 4 sysctl writes per pod). eth0 exists before the
 * defaults change and keeps the kernel's values. proxy_delay has no per-namespace default: it is set
 * per cali through `ip ntable` in the node's batch (see plan/pods.ts).
 */
const NODE_SYSCTLS: Record<string, string> = {
  'net.ipv4.ip_forward': '1',
  'net.ipv4.conf.all.rp_filter': '0',
  'net.ipv4.conf.default.rp_filter': '0',
  'net.ipv4.conf.default.route_localnet': '1',
  'net.ipv4.conf.default.proxy_arp': '1',
  'net.ipv4.conf.default.forwarding': '1',
  'net.ipv6.conf.default.accept_ra': '0',
};

/** The rack a machine sits in. */
export function rackOf(c: ClusterState, m: { rack: string }): RackSpec {
  return c.network.underlay.racks.find((r) => r.name === m.rack)!;
}

/**
 * One bridge per rack, each holding the rack's gateway address: the fabric is the racks' switches and
 * the router between them (an L3 switch), so traffic between racks is routed here.
 */
export function planFabric(c: ClusterState): LabPlan['fabric'] {
  const { racks, mtu } = c.network.underlay;
  const lines = [
    'link set lo up',
    ...racks.flatMap((r) => [
      `link add name ${r.bridge} mtu ${mtu} type bridge`,
      `addr add ${r.gateway}/${parseCidr(r.subnet).prefix} dev ${r.bridge}`,
      `link set dev ${r.bridge} up`,
    ]),
  ];
  // The fabric routes between racks and to LoadBalancer IPs (plan/routes.ts), without ICMP redirects.
  const sysctls = { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.send_redirects': '0', 'net.ipv4.conf.default.send_redirects': '0' };
  return { netns: fabricNetns(c.lab), lines, sysctls, hash: planHash({ lines, sysctls }) };
}

export function planMachines(c: ClusterState): MachinePlan[] {
  const { mtu } = c.network.underlay;
  const machine = (role: 'node' | 'host', m: { name: string; ip: string; extraAddresses: string[]; rack: string }, netns: string): MachinePlan => {
    const { name, ip, extraAddresses: extra } = m;
    const { bridge, gateway, subnet } = rackOf(c, m);
    const prefix = parseCidr(subnet).prefix;
    const fabricLines = [
      `link add name ${name} mtu ${mtu} type veth peer name eth0 mtu ${mtu} netns ${netns}`,
      `link set dev ${name} master ${bridge}`,
      `link set dev ${name} up`,
    ];
    const lines = [
      'link set lo up',
      `addr add ${ip}/${prefix} dev eth0`,
      ...extra.map((a) => `addr add ${a} dev eth0`),
      'link set eth0 up',
      // Calico's proxy ARP for 169.254.1.1 only answers when the node has a default route.
      `route add default via ${gateway} dev eth0`,
    ];
    const sysctls: Record<string, string> = role === 'node' ? { ...NODE_SYSCTLS } : {};
    return { role, name, netns, fabricLines, lines, sysctls, hash: planHash({ fabricLines, lines, sysctls }) };
  };
  return [
    ...c.nodes.map((n) => machine('node', n, nodeNetns(c.lab, n.name))),
    ...c.externalHosts.map((h) => machine('host', h, hostNetns(c.lab, h.name))),
  ];
}
