/**
 * UDP conntrack entries to clear after a sync, after kube-proxy's CleanStaleEntries: for every UDP
 * service port that now has at least one serving endpoint, an entry whose original destination is
 * one of its frontends (clusterIP:port, each LB IP:port, each externalIP:port, *:nodePort) and whose
 * reply source is not a serving endpoint must go. kube-proxy filters the live conntrack table; this
 * pure version lists the concrete pairs from the before/after service states, so the caller can run
 *   conntrack -D -p udp [--orig-dst <serviceIP>] --orig-port-dst <port> --reply-src <endpointIP> --reply-port-src <endpointPort>
 * Traffic policy and terminating state are ignored (only "serving" counts), as upstream does.
 */
import { ipv4Only, normalizeIPv4 } from './addresses.js';
import { endpointString, normalizeEndpoints } from './endpoints.js';
import { servicePortKey, type ProxyServicePort } from './types.js';

export interface StaleUdpEntry {
  serviceKey: string;
  /** Original destination address; '' for a NodePort frontend (match on the port only). */
  serviceIP: string;
  /** Original destination port: the service port, or the nodePort when serviceIP is ''. */
  port: number;
  /** Reply source to clear: a former endpoint, or the frontend itself for a flow that was never DNATed. */
  endpointIP: string;
  endpointPort: number;
}

interface Frontend {
  ip: string;
  port: number;
}

function frontends(sp: ProxyServicePort, clusterIP: string): Frontend[] {
  const ips = [clusterIP, ...ipv4Only(sp.loadBalancerIPs), ...ipv4Only(sp.externalIPs)];
  const out = ips.map((ip) => ({ ip, port: sp.port }));
  if ((sp.nodePort ?? 0) !== 0) out.push({ ip: '', port: sp.nodePort ?? 0 });
  return out;
}

export function staleUdpEndpoints(before: ProxyServicePort[], after: ProxyServicePort[]): StaleUdpEntry[] {
  const previous = new Map(before.map((sp) => [`${servicePortKey(sp)}/${sp.protocol}`, sp]));
  const out: StaleUdpEntry[] = [];
  for (const sp of after) {
    if (sp.protocol !== 'UDP') continue;
    const clusterIP = normalizeIPv4(sp.clusterIP);
    if (clusterIP === null) continue;
    const serving = new Set(normalizeEndpoints(sp.endpoints).filter((ep) => ep.serving).map(endpointString));
    if (serving.size === 0) continue;
    const serviceKey = servicePortKey(sp);
    const old = previous.get(`${serviceKey}/${sp.protocol}`);
    const oldEndpoints = normalizeEndpoints(old?.endpoints ?? []).filter((ep) => ep.ready || ep.serving);
    const gone = oldEndpoints.filter((ep) => !serving.has(endpointString(ep)));
    const hadServing = oldEndpoints.some((ep) => ep.serving);
    for (const fe of frontends(sp, clusterIP)) {
      for (const ep of gone) out.push({ serviceKey, serviceIP: fe.ip, port: fe.port, endpointIP: ep.ip, endpointPort: ep.port });
      // Flows opened while nothing served the service were not DNATed: their reply source is the frontend.
      if (!hadServing && fe.ip !== '') out.push({ serviceKey, serviceIP: fe.ip, port: fe.port, endpointIP: fe.ip, endpointPort: fe.port });
    }
  }
  return out;
}
