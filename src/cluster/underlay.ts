/** Underlay addresses for nodes and external hosts: pinned ones first, then the lowest free ones of their rack, sticky across runs. */
import type { MachineSpec, NetworkSpec } from '../topology/types.js';
import { InputError } from '../topology/errors.js';
import { UNDERLAY_BRIDGE } from '../topology/names.js';
import { cidrContains, intToIp, ipToInt, parseCidr } from '../util/ipv4.js';

export function assignUnderlay(
  network: NetworkSpec,
  machines: Array<MachineSpec & { path: string }>,
  previous: Map<string, string>,
  source: string,
): Map<string, string> {
  const racks = new Map(network.underlay.racks.map((r) => [r.name, { ...r, cidr: parseCidr(r.subnet) }]));
  const used = new Set<number>(network.underlay.racks.map((r) => ipToInt(r.gateway)));
  const out = new Map<string, string>();
  for (const m of machines) if (m.address) {
    used.add(ipToInt(m.address));
    out.set(m.name, m.address);
  }
  // Keep what a machine had before (in its rack), so adding a node does not renumber the others.
  for (const m of machines) {
    const prev = previous.get(m.name);
    if (out.has(m.name) || !prev) continue;
    const { cidr } = racks.get(m.rack)!;
    const n = ipToInt(prev);
    if (cidrContains(cidr, n) && n > cidr.base && n < cidr.base + cidr.size - 1 && !used.has(n)) {
      used.add(n);
      out.set(m.name, prev);
    }
  }
  const next = new Map([...racks].map(([name, r]) => [name, r.cidr.base + 1]));
  for (const m of machines) {
    if (out.has(m.name)) continue;
    const rack = racks.get(m.rack)!;
    const last = rack.cidr.base + rack.cidr.size - 2;
    let n = next.get(m.rack)!;
    while (n <= last && used.has(n)) n++;
    if (n > last) {
      const i = network.underlay.racks.findIndex((r) => r.name === m.rack);
      const path = m.rack === UNDERLAY_BRIDGE ? 'spec.network.underlay.subnet' : `spec.network.underlay.racks[${i}].subnet`;
      throw new InputError(source, [{ path, message: `${rack.subnet} has no free address left for ${m.path} (${m.name}); use a larger subnet` }]);
    }
    used.add(n);
    next.set(m.rack, n + 1);
    out.set(m.name, intToIp(n));
  }
  return out;
}
