/** topology (+ what the lab had before) → desired cluster state. Pure. */
import { InputError, type InputProblem } from '../topology/errors.js';
import { podIpAnnotation } from '../topology/annotations.js';
import type { Topology } from '../topology/types.js';
import { MAX_NETNS_NAME, podNetns } from '../topology/names.js';
import { parseCidr } from '../util/ipv4.js';
import { allocate } from './ipam.js';
import { place } from './placement.js';
import { podIntents } from './pods.js';
import type { ClusterState, PodState } from './types.js';
import { assignUnderlay } from './underlay.js';
import { buildServices, manualEndpoints } from './services.js';

export function buildCluster(t: Topology, previous?: ClusterState): ClusterState {
  const problems: InputProblem[] = [];
  const intents = podIntents(t.manifests);
  const key = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

  const seen = new Map<string, string>();
  for (const p of intents) {
    const other = seen.get(key(p));
    if (other) problems.push({ path: `${p.origin}.metadata.name`, message: `duplicate pod name '${key(p)}' (also in ${other})` });
    seen.set(key(p), p.origin);
  }
  for (const p of intents) {
    const netns = podNetns(t.name, p.namespace, p.name);
    if (netns.length > MAX_NETNS_NAME)
      problems.push({
        path: `${p.origin}.metadata.name`,
        message: `pod ${key(p)}: its network namespace name kemu-${t.name}.pod.… would be ${netns.length} characters, over the ${MAX_NETNS_NAME} a name in /run/netns can have; shorten the lab name (metadata.name, ${t.name.length} characters) or the pod name by ${netns.length - MAX_NETNS_NAME}`,
      });
  }
  const pool = parseCidr(t.network.podCIDR);
  if (intents.length > pool.size)
    problems.push({
      path: 'spec.network.podCIDR',
      message: `${t.network.podCIDR} holds ${pool.size} addresses but the pods need ${intents.length}; use a /${32 - Math.ceil(Math.log2(intents.length))} or larger`,
    });
  if (problems.length) throw new InputError(t.file, problems);

  const underlay = assignUnderlay(
    t.network,
    [...t.nodes.map((n, i) => ({ ...n, path: `spec.nodes[${i}]` })), ...t.externalHosts.map((h, i) => ({ ...h, path: `spec.externalHosts[${i}]` }))],
    new Map([...(previous?.nodes ?? []), ...(previous?.externalHosts ?? [])].map((m) => [m.name, m.ip])),
    t.file,
  );
  const placement = place(
    intents,
    t.nodes.map((n) => n.name),
    new Map((previous?.pods ?? []).map((p) => [key(p), p.nodeName])),
  );
  const previousIps = new Map((previous?.pods ?? []).map((p) => [key(p), p]));
  const tunnelKey = (node: string) => `tunnel:${node}`;
  const previousTunnels = new Map((previous?.nodes ?? []).map((n) => [n.name, n.tunnelIP]));
  const tunnels = t.network.routing === 'ipip' ? t.nodes.map((n) => ({ key: tunnelKey(n.name), node: n.name, pinned: false, want: previousTunnels.get(n.name) })) : [];
  const ipam = allocate(
    t.network.podCIDR,
    t.network.blockSize,
    [...tunnels, ...intents.map((p) => {
      const pinned = podIpAnnotation(p.annotations).ip;
      const prev = previousIps.get(key(p));
      const node = placement.get(key(p))!;
      return { key: key(p), node, pinned: pinned !== undefined, want: pinned ?? (prev?.nodeName === node ? prev.ip : undefined) };
    })],
    new Map((previous?.nodes ?? []).map((n) => [n.name, n.blocks])),
  );
  if (ipam.failures.length) {
    throw new InputError(
      t.file,
      ipam.failures.map((f) => {
        const origin = seen.get(f.key) ?? 'spec.network.podCIDR';
        return { path: `${origin}.metadata.annotations`, message: `pod ${f.key}: ${f.reason}` };
      }),
    );
  }
  const pods: PodState[] = intents.map((p) => {
    const nodeName = placement.get(key(p))!;
    return {
      namespace: p.namespace,
      name: p.name,
      labels: p.labels,
      annotations: p.annotations,
      nodeName,
      ip: ipam.addresses.get(key(p))!,
      hostIP: underlay.get(nodeName)!,
      containers: p.containers,
      ...(p.owner ? { owner: p.owner } : {}),
      origin: p.origin,
    };
  });
  const serviceProblems: InputProblem[] = [];
  const services = buildServices(t.network, t.manifests, pods, previous?.services ?? [], serviceProblems);
  if (serviceProblems.length) throw new InputError(t.file, serviceProblems);
  return {
    lab: t.name,
    network: t.network,
    nodes: t.nodes.map((n) => ({
      name: n.name,
      ip: underlay.get(n.name)!,
      rack: n.rack,
      asNumber: n.asNumber ?? t.network.asNumber,
      labels: n.labels,
      extraAddresses: n.extraAddresses,
      blocks: ipam.blocks.get(n.name) ?? [],
      ...(ipam.addresses.has(tunnelKey(n.name)) ? { tunnelIP: ipam.addresses.get(tunnelKey(n.name))! } : {}),
    })),
    externalHosts: t.externalHosts.map((h) => ({ name: h.name, ip: underlay.get(h.name)!, rack: h.rack, extraAddresses: h.extraAddresses })),
    pods,
    services,
    manualEndpoints: manualEndpoints(t.manifests),
  };
}
