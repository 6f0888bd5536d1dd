/** Underlay addresses for nodes and external hosts: pinned ones first, then the lowest free ones, sticky across runs. */
import type { MachineSpec, NetworkSpec } from '../topology/types.js';
import { InputError } from '../topology/errors.js';
import { intToIp, ipToInt, parseCidr } from '../util/ipv4.js';

export function assignUnderlay(
  network: NetworkSpec,
  machines: Array<MachineSpec & { path: string }>,
  previous: Map<string, string>,
  source: string,
): Map<string, string> {
  const subnet = parseCidr(network.underlay.subnet);
  const used = new Set<number>([ipToInt(network.underlay.gateway)]);
  const out = new Map<string, string>();
  for (const m of machines) if (m.address) {
    used.add(ipToInt(m.address));
    out.set(m.name, m.address);
  }
  // Keep what a machine had before, so adding a node does not renumber the others.
  for (const m of machines) {
    const prev = previous.get(m.name);
    if (out.has(m.name) || !prev) continue;
    const n = ipToInt(prev);
    if (n > subnet.base && n < subnet.base + subnet.size - 1 && !used.has(n)) {
      used.add(n);
      out.set(m.name, prev);
    }
  }
  let next = subnet.base + 1;
  const last = subnet.base + subnet.size - 2;
  for (const m of machines) {
    if (out.has(m.name)) continue;
    while (next <= last && used.has(next)) next++;
    if (next > last)
      throw new InputError(source, [{ path: 'spec.network.underlay.subnet', message: `${network.underlay.subnet} has no free address left for ${m.path} (${m.name}); use a larger subnet` }]);
    used.add(next);
    out.set(m.name, intToIp(next));
  }
  return out;
}
