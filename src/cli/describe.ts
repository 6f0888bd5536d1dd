/** `kemu describe KIND NAME`: an object in kubectl describe's shape, with what the lab knows of it. */
import { metallbServiceLines } from '../lab/metallb/views.js';
import { rolloutProgress } from '../cluster/controllers/deployment.js';
import { podRequests } from '../cluster/scheduler.js';
import { controllerOf, getObject, listObjects, objectKey, ownedBy, type StoredMeta } from '../cluster/store.js';
import { kindOf } from '../lab/apply.js';
import { currentEndpoints, portsColumn } from '../lab/kube-proxy/views.js';
import type { LabRecord } from '../lab/state.js';
import { nodeTaints, podViews } from '../lab/views.js';
import { nodeLabels } from '../cluster/nodes.js';
import { describeIngressLines } from '../lab/ingress/views.js';
import { formatCpu, formatMemory } from '../util/quantity.js';
import { printable } from '../util/printable.js';

import { probeText, stateLines, workloadLines, type Lines } from './describe-workloads.js';
import { policySpecLines } from './describe-policy.js';
import { toNetworkPolicyState } from '../topology/network-policy.js';

function render(lines: Lines): string {
  const width = Math.max(...lines.filter((l): l is [string, string] => Array.isArray(l)).map(([k]) => k.length)) + 2;
  // Values quote the user's text (annotations may hold any character): escaped, so none can forge a line.
  return lines.map((l) => (Array.isArray(l) ? `${`${l[0]}:`.padEnd(width)}${l[1] === undefined || l[1] === '' ? '<none>' : printable(l[1], 4000)}` : printable(l, 4000))).join('\n') + '\n';
}

const pairs = (m: Record<string, string> | undefined) => (m && Object.keys(m).length ? Object.entries(m).map(([k, v]) => `${k}=${v}`).join(', ') : '<none>');

function metaLines(m: StoredMeta, namespaced = true): Lines {
  return [
    ['Name', m.name],
    ...(namespaced ? ([['Namespace', m.namespace ?? 'default']] as Lines) : []),
    ['Labels', pairs(m.labels)],
    ['Annotations', pairs(Object.fromEntries(Object.entries(m.annotations ?? {}).filter(([k]) => !k.startsWith('kemu.dev/last-applied'))))],
    ['UID', m.uid],
    ['Created', m.creationTimestamp],
    ...(m.deletionTimestamp ? ([['Terminating since', m.deletionTimestamp]] as Lines) : []),
  ];
}

function conditionLines(conditions: Array<{ type: string; status: string; reason?: string; message?: string }> | undefined): Lines {
  if (!conditions?.length) return [];
  return ['Conditions:', ...conditions.map((c) => `  ${c.type.padEnd(18)} ${c.status.padEnd(6)} ${c.reason ?? ''}${c.message ? `  ${c.message}` : ''}`.trimEnd())];
}

export async function describeText(record: LabRecord, kindWord: string, name: string, namespace = 'default'): Promise<string> {
  const w = kindWord.toLowerCase();
  if (['node', 'nodes', 'no'].includes(w)) return describeNode(record, name);
  const kind = kindOf(w);
  if (!kind) throw new Error(`cannot describe '${kindWord}'; use node, pod, deployment, replicaset, statefulset, daemonset, job, replicationcontroller, controllerrevision, service, endpoints, endpointslice, namespace, ingress, ingressclass or secret`);
  const key = objectKey(kind, { name, namespace });
  const obj = getObject(record.store, kind, key);
  if (!obj) throw new Error(`${kind} "${key}" not found in lab ${record.lab}`);
  const ready = (k: string) => record.pods[k]?.ready === true;
  switch (kind) {
    case 'Pod': {
      const pod = obj as typeof record.store.objects.Pod[string];
      const view = (await podViews(record)).find((v) => v.namespace === namespace && v.name === name)!;
      const owner = controllerOf(pod.metadata);
      return render([
        ...metaLines(pod.metadata),
        ['Node', pod.spec?.nodeName ? `${pod.spec.nodeName}/${view.hostIP ?? ''}` : undefined],
        ['Sandbox', view.sandboxFault ? `not ready (${view.sandboxFault}); the supervisor or 'kemu up' rebuilds it` : undefined],
        ['Status', view.status],
        ['IP', view.ip],
        ['Controlled By', owner ? `${owner.kind}/${owner.name}` : undefined],
        ['Sandbox', view.holderPid ? `netns ${view.netns}, holder pid ${view.holderPid}` : undefined],
        ['Node-Selectors', pairs(pod.spec?.nodeSelector)],
        ['Tolerations', (pod.spec?.tolerations ?? []).map((t) => `${t.key ?? ''}${t.operator === 'Exists' ? '' : `=${t.value ?? ''}`}:${t.effect ?? ''}`).join(', ') || undefined],
        ...(pod.spec?.hostname ? ([['Hostname', `${pod.spec.hostname}${pod.spec.subdomain ? ` (subdomain ${pod.spec.subdomain})` : ''}`]] as Lines) : []),
        ['Requests', (() => { const r = podRequests(pod); return `cpu ${formatCpu(r.cpuMilli)}, memory ${formatMemory(r.memoryBytes)}`; })()],
        'Containers:',
        ...(pod.spec?.containers ?? []).flatMap((c) => {
          const cs = (view.object as { status?: { containerStatuses?: Array<{ name: string; ready: boolean; restartCount: number; state?: Parameters<typeof stateLines>[1]; lastState?: Parameters<typeof stateLines>[1] }> } }).status?.containerStatuses?.find((s) => s.name === c.name);
          const rt = record.pods[key]?.containers[c.name];
          const planned = record.cluster.pods.find((p) => p.namespace === namespace && p.name === name)?.containers.find((x) => x.name === c.name);
          return [
            `  ${c.name}:`,
            `    Image:          ${c.image ?? ''} (${planned?.program ? `runs as the real program: ${planned.program}` : "ignored: kemu's default server runs instead"})`,
            `    Listens on:     ${planned ? [...planned.tcpPorts.map((p) => `${p}/TCP`), ...planned.udpPorts.map((p) => `${p}/UDP`)].join(', ') || '<none>' : '<not started>'}`,
            ...stateLines('State', cs?.state, rt && !rt.diedAt ? rt.pid : undefined),
            ...stateLines('Last State', cs?.lastState),
            `    Ready:          ${cs?.ready ? 'True' : 'False'}`,
            `    Restart Count:  ${cs?.restartCount ?? 0}`,
            ...(c.livenessProbe ? [`    Liveness:       ${probeText(c.livenessProbe)}`] : []),
            ...(c.readinessProbe ? [`    Readiness:      ${probeText(c.readinessProbe)}`] : []),
            ...(c.startupProbe ? [`    Startup:        ${probeText(c.startupProbe)}`] : []),
            ...(planned?.probePaths?.length ? [`    Probe paths:    ${planned.probePaths.join(', ')} answer 200 (GET /kemu/fail-probes on a port makes them answer 500)`] : []),
          ];
        }),
        ...conditionLines(pod.status?.conditions),
      ]);
    }
    case 'Deployment': {
      const d = obj as typeof record.store.objects.Deployment[string];
      const rss = ownedBy(record.store, 'ReplicaSet', d);
      const newest = rss.find((r) => r.metadata.labels?.['pod-template-hash'] && r.spec?.template && (r.spec.replicas ?? 0) > 0) ?? rss[0];
      const s = d.status ?? {};
      return render([
        ...metaLines(d.metadata),
        ['Selector', pairs(d.spec?.selector?.matchLabels)],
        ['Replicas', `${d.spec?.replicas ?? 1} desired | ${s.updatedReplicas ?? 0} updated | ${s.replicas ?? 0} total | ${s.availableReplicas ?? 0} available | ${s.unavailableReplicas ?? 0} unavailable`],
        ['StrategyType', d.spec?.strategy?.type ?? 'RollingUpdate'],
        ['Rollout', rolloutProgress(record.store, d, ready)],
        ['ReplicaSets', rss.map((r) => `${r.metadata.name} (${r.status?.replicas ?? 0}/${r.spec?.replicas ?? 0} replicas)`).join(', ') || undefined],
        ['NewReplicaSet', newest?.metadata.name],
        ...conditionLines(s.conditions),
      ]);
    }
    case 'ReplicaSet': {
      const rs = obj as typeof record.store.objects.ReplicaSet[string];
      const owner = controllerOf(rs.metadata);
      const pods = ownedBy(record.store, 'Pod', rs);
      return render([
        ...metaLines(rs.metadata),
        ['Controlled By', owner ? `${owner.kind}/${owner.name}` : undefined],
        ['Selector', pairs(rs.spec?.selector?.matchLabels)],
        ['Replicas', `${rs.status?.replicas ?? 0} current / ${rs.spec?.replicas ?? 1} desired`],
        ['Pods', pods.map((p) => `${p.metadata.name}${ready(objectKey('Pod', p.metadata)) ? '' : ' (not ready)'}`).join(', ') || undefined],
      ]);
    }
    case 'Service': {
      const s = record.cluster.services.find((x) => x.namespace === namespace && x.name === name)!;
      const e = currentEndpoints(record).find((x) => x.namespace === namespace && x.name === name)!;
      return render([
        ...metaLines(obj.metadata),
        ['Type', s.type],
        ['Selector', pairs(s.selector)],
        ['IP', s.clusterIP],
        ['Ports', portsColumn(s)],
        ...(s.loadBalancerIPs.length ? ([['LoadBalancer Ingress', s.loadBalancerIPs.join(', ')]] as Lines) : []),
        ['External Traffic Policy', s.externalTrafficPolicy],
        ['Internal Traffic Policy', s.internalTrafficPolicy],
        ['Endpoints', e.endpoints.filter((x) => x.ready).map((x) => x.ip).join(', ') || undefined],
        ['Not ready', e.endpoints.filter((x) => !x.ready).map((x) => `${x.ip}${x.terminating ? ' (terminating)' : ''}`).join(', ') || undefined],
        ...metallbServiceLines(record, s, currentEndpoints(record)),
      ]);
    }
    case 'Namespace':
      return render([...metaLines(obj.metadata, false), ['Status', 'Active'], ['Pods', listObjects(record.store, 'Pod').filter((p) => p.metadata.namespace === name).length]]);
    case 'Endpoints':
      return render([...metaLines(obj.metadata), ['Subsets', JSON.stringify((obj as { subsets?: unknown }).subsets ?? [])]]);
    case 'EndpointSlice': {
      const es = obj as typeof record.store.objects.EndpointSlice[string];
      return render([
        ...metaLines(es.metadata),
        ['AddressType', es.addressType],
        'Ports:',
        ...(es.ports ?? []).map((p) => `  ${(p.name || '<unset>').padEnd(10)} ${String(p.port ?? '<unset>').padEnd(6)} ${p.protocol ?? 'TCP'}`),
        'Endpoints:',
        ...(es.endpoints ?? []).flatMap((e) => [
          `  - Addresses:  ${(e.addresses ?? []).join(',')}`,
          `    Conditions: Ready: ${e.conditions?.ready ?? '<unset>'}, Serving: ${e.conditions?.serving ?? '<unset>'}, Terminating: ${e.conditions?.terminating ?? '<unset>'}`,
          `    TargetRef:  ${e.targetRef ? `${e.targetRef.kind}/${e.targetRef.name}` : '<unset>'}`,
          `    NodeName:   ${e.nodeName ?? '<unset>'}`,
          `    Zone:       ${e.zone ?? '<unset>'}`,
          ...(e.hints ? [`    Hints:      ${[...(e.hints.forZones ?? []).map((z) => `zone ${z.name}`), ...(e.hints.forNodes ?? []).map((n) => `node ${n.name}`)].join(', ')}`] : []),
        ]),
      ]);
    }
    case 'Ingress':
      return render([...metaLines(obj.metadata), ...describeIngressLines(record, obj as typeof record.store.objects.Ingress[string])]);
    case 'IngressClass': {
      const c = obj as typeof record.store.objects.IngressClass[string];
      return render([...metaLines(c.metadata, false), ['Controller', c.spec?.controller], ['Parameters', c.spec?.parameters ? `${c.spec.parameters.kind}/${c.spec.parameters.name}` : undefined]]);
    }
    case 'NetworkPolicy': {
      const np = obj as typeof record.store.objects.NetworkPolicy[string];
      return render([...metaLines(np.metadata), ...policySpecLines(toNetworkPolicyState(np))]);
    }
    case 'Secret': {
      const sec = obj as typeof record.store.objects.Secret[string];
      return render([...metaLines(sec.metadata), ['Type', sec.type], 'Data', ...Object.entries(sec.data ?? {}).map(([k, v]) => `  ${k}:  ${Buffer.from(v, 'base64').length} bytes`)]);
    }
    default: {
      const owner = controllerOf(obj.metadata);
      return render([...metaLines(obj.metadata), ...(owner && kind !== 'ControllerRevision' ? ([['Controlled By', `${owner.kind}/${owner.name}`]] as Lines) : []), ...(workloadLines(record, kind, obj) ?? []), ...conditionLines((obj as { status?: { conditions?: Parameters<typeof conditionLines>[0] } }).status?.conditions)]);
    }
  }
}

function describeNode(record: LabRecord, name: string): string {
  const n = record.cluster.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`node "${name}" not found in lab ${record.lab}; nodes: ${record.cluster.nodes.map((x) => x.name).join(', ')}`);
  const pods = listObjects(record.store, 'Pod').filter((p) => p.spec?.nodeName === name);
  const used = pods.reduce((a, p) => {
    const r = podRequests(p);
    return { cpu: a.cpu + r.cpuMilli, mem: a.mem + r.memoryBytes };
  }, { cpu: 0, mem: 0 });
  const pct = (a: number, b: number) => (b ? `${Math.round((100 * a) / b)}%` : '-');
  return render([
    ['Name', n.name],
    ['Labels', pairs(nodeLabels(n.name, n.labels))],
    ['Taints', nodeTaints(n).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(', ') || undefined],
    ['Unschedulable', String(n.unschedulable)],
    ['InternalIP', n.ip],
    ['Rack', n.rack],
    ['PodCIDRs', n.blocks.join(', ') || undefined],
    ['Namespace', `kemu-${record.lab}.node.${n.name}`],
    'Allocatable:',
    `  cpu:     ${formatCpu(n.capacity.cpuMilli)}`,
    `  memory:  ${formatMemory(n.capacity.memoryBytes)}`,
    `  pods:    ${n.capacity.pods}`,
    'Allocated resources (requests):',
    `  cpu:     ${formatCpu(used.cpu)} (${pct(used.cpu, n.capacity.cpuMilli)})`,
    `  memory:  ${formatMemory(used.mem)} (${pct(used.mem, n.capacity.memoryBytes)})`,
    `  pods:    ${pods.length} (${pct(pods.length, n.capacity.pods)})`,
    `Pods: ${pods.map((p) => objectKey('Pod', p.metadata)).join(', ') || '<none>'}`,
  ]);
}
