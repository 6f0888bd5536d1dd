/** Kubernetes manifests (inline or in files), parsed and typed with @kubernetes/client-node, then checked. */
import type { V1Container, V1Deployment, V1EndpointSlice, V1Endpoints, V1Ingress, V1IngressClass, V1Namespace, V1NetworkPolicy, V1Pod, V1Secret, V1Service } from '@kubernetes/client-node';
import { checkEndpointSlice } from './endpoint-slices.js';
import { checkAnnotations, checkLabels, checkLabelSelector, dns1035Label, ianaSvcName, MAX_OBJECT_BYTES } from './apimachinery.js';
import type { InputProblem } from './errors.js';
import { checkEndpoints, checkService } from './services.js';
import { CALICO_POLICY_KINDS, CALICO_POLICY_REFUSAL, checkNetworkPolicy, wireNetworkPolicy } from './network-policy.js';
import { checkIngressKind, INGRESS_KINDS, type IngressKind } from './ingress.js';
import { parseCpu, parseMemory } from '../util/quantity.js';
import { checkMetallbKind, LEGACY_CONFIGMAPS, METALLB_KINDS, METALLB_NAMESPACE, type MetallbKind } from './metallb.js';
import { checkPodSpec, checkWorkload, WORKLOAD_API_VERSIONS, WORKLOAD_KINDS, type WorkloadKind, type WorkloadManifest } from './workloads.js';
import { locateProblems } from './locate.js';
import { droppedWarning, SKIP_HINT, unsupportedMessage, unsupportedUses } from './unsupported.js';

export const SUPPORTED_KINDS = ['Namespace', 'Pod', 'Deployment', ...WORKLOAD_KINDS, 'Service', 'Endpoints', 'EndpointSlice', 'NetworkPolicy', ...INGRESS_KINDS, ...METALLB_KINDS] as const;
export type ManifestKind = (typeof SUPPORTED_KINDS)[number];
const API_VERSIONS: Record<Exclude<ManifestKind, IngressKind | MetallbKind>, string> = { Namespace: 'v1', Pod: 'v1', Deployment: 'apps/v1', Service: 'v1', Endpoints: 'v1', EndpointSlice: 'discovery.k8s.io/v1', NetworkPolicy: 'networking.k8s.io/v1', ...WORKLOAD_API_VERSIONS };

export type Manifest =
  | { kind: 'Namespace'; object: V1Namespace; origin: string }
  | { kind: 'Pod'; object: V1Pod; origin: string }
  | { kind: 'Deployment'; object: V1Deployment; origin: string }
  | { kind: 'Service'; object: V1Service; origin: string }
  | { kind: 'Endpoints'; object: V1Endpoints; origin: string }
  | { kind: 'EndpointSlice'; object: V1EndpointSlice; origin: string }
  | { kind: 'NetworkPolicy'; object: V1NetworkPolicy; origin: string }
  | { kind: 'Ingress'; object: V1Ingress; origin: string }
  | { kind: 'IngressClass'; object: V1IngressClass; origin: string }
  | { kind: 'Secret'; object: V1Secret; origin: string }
  | { kind: MetallbKind; object: MetallbObject; origin: string }
  | WorkloadManifest;

/** A MetalLB object (or its legacy ConfigMap) as written: kemu reads spec (data for the ConfigMap). */
export type MetallbObject = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Record<string, unknown>; data?: Record<string, unknown> };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

type YamlModule = { loadAllYaml: (text: string) => unknown[] };
let clientYaml: YamlModule | undefined;
/**
 * The client's YAML loader (typed objects through its ObjectSerializer). Imported alone and lazily:
 * the whole package costs ~0.5 s to import, this part ~0.2 s, and only commands that read manifests pay it.
 */
async function k8s(): Promise<YamlModule> {
  clientYaml ??= (await import('@kubernetes/client-node/dist/yaml.js')) as YamlModule;
  return clientYaml;
}

/**
 * Parse one YAML text that may hold several documents. `origin` names where it came from in messages.
 * Problems are appended to `problems`; valid manifests are returned. With `skipUnsupported`, documents
 * of kinds kemu does not emulate, and fields it does not emulate (topology/unsupported.ts), are dropped
 * and listed in `skipped` (one warning each) instead of being problems. With `file`, problems are
 * located (`file:line:col`) in `text`.
 */
export async function parseManifests(text: string, origin: string, problems: InputProblem[], opts: { skipUnsupported?: boolean; skipped?: string[]; file?: string } = {}): Promise<Manifest[]> {
  // The API server refuses a request body over 3 MiB before decoding it; kemu checks each document's
  // raw text the same way, before YAML parsing, so a huge object costs no time or memory.
  const big = oversizedDocument(text);
  if (big) {
    problems.push({ path: big.index === undefined ? origin : `${origin} (document ${big.index + 1})`, message: `Too long: request entity too large: an object may be at most ${MAX_OBJECT_BYTES} bytes (3 MiB, the API server's limit); this one is ${big.bytes}` });
    return [];
  }
  const { loadAllYaml } = await k8s();
  let docs: unknown[];
  let hasList = false;
  try {
    const raw = loadAllYaml(text).filter((d: unknown) => d != null);
    hasList = raw.some((d) => (d as { kind?: unknown }).kind === 'List');
    docs = expandLists(raw, origin, problems);
  } catch (err) {
    problems.push({ path: origin, message: `not valid YAML: ${(err as Error).message.split('\n')[0]}` });
    return [];
  }
  const out: Manifest[] = [];
  const before = problems.length;
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `${origin} (document ${i + 1})` : origin;
    const d = doc as { kind?: string; apiVersion?: string; metadata?: { name?: string; namespace?: string } };
    if (opts.skipUnsupported && d.kind && !isSupported(d)) {
      opts.skipped?.push(`${d.kind}${d.metadata?.name ? ` ${d.metadata.name}` : ''} (${where}): kind not emulated`);
      return;
    }
    // Refused fields are reported with the object's other problems (every problem at once).
    let refused = false;
    if (d.kind && isSupported(d))
      for (const use of unsupportedUses(d.kind, d, where)) {
        if (!opts.skipUnsupported) {
          problems.push({ path: use.path, message: unsupportedMessage(d.kind, d, use) });
          refused = true;
        } else {
          opts.skipped?.push(droppedWarning(d.kind, d, use));
          use.drop();
        }
      }
    const manifest = checkManifest(d, where, problems);
    if (manifest && !refused) out.push(manifest);
  });
  // Problems carry the line and column in the manifest's own file.
  if (opts.file && !hasList && problems.length > before) locateProblems(text, opts.file, origin, problems.slice(before), docs.length);
  return out;
}

/** The first YAML document over the object size limit (cheap: byte counts of `---`-separated parts). */
function oversizedDocument(text: string): { index?: number; bytes: number } | undefined {
  if (text.length <= MAX_OBJECT_BYTES) return undefined;
  const parts = text.split(/^---.*$/m);
  for (const [i, part] of parts.entries()) {
    const bytes = Buffer.byteLength(part, 'utf8');
    if (bytes > MAX_OBJECT_BYTES) return { index: parts.length > 1 ? i : undefined, bytes };
  }
  return undefined;
}

/** `kind: List` (v1, kubectl's wrapper, what `kemu get -o json` prints): its items, each checked as a top-level object. */
function expandLists(docs: unknown[], origin: string, problems: InputProblem[]): unknown[] {
  const out: unknown[] = [];
  for (const d of docs) {
    const list = d as { kind?: string; apiVersion?: string; items?: unknown };
    if (list.kind !== 'List') {
      out.push(d);
      continue;
    }
    if (list.apiVersion !== 'v1') problems.push({ path: `${origin}.apiVersion`, message: `apiVersion '${list.apiVersion ?? ''}' is not known for List; use v1` });
    else if (list.items !== undefined && list.items !== null && !Array.isArray(list.items)) problems.push({ path: `${origin}.items`, message: 'must be a list of objects' });
    else out.push(...((list.items as unknown[] | undefined) ?? []).filter((x) => x != null));
  }
  return out;
}

/** A kind kemu emulates; of ConfigMaps only MetalLB's legacy configuration. */
function isSupported(d: { kind?: string; apiVersion?: string; metadata?: { name?: string; namespace?: string } }): boolean {
  if (!(SUPPORTED_KINDS as readonly string[]).includes(d.kind ?? '')) return false;
  // Calico's own NetworkPolicy shares the kind's name, not its API group.
  if (d.apiVersion?.startsWith('projectcalico.org/')) return false;
  return d.kind !== 'ConfigMap' || (d.metadata?.namespace === METALLB_NAMESPACE && LEGACY_CONFIGMAPS.includes(d.metadata?.name ?? ''));
}

function checkManifest(doc: { kind?: string; apiVersion?: string }, where: string, problems: InputProblem[]): Manifest | undefined {
  const kind = doc.kind;
  if (kind && doc.apiVersion?.startsWith('projectcalico.org/') && CALICO_POLICY_KINDS.includes(kind)) {
    problems.push({ path: `${where}.kind`, message: `${doc.apiVersion} ${kind} is ${CALICO_POLICY_REFUSAL}` });
    return undefined;
  }
  if (!kind || !isSupported(doc)) {
    const cm = kind === 'ConfigMap' ? ` (kemu reads a ConfigMap only as MetalLB's legacy configuration, ${METALLB_NAMESPACE}/config or ${METALLB_NAMESPACE}/metallb)` : '';
    problems.push({ path: `${where}.kind`, message: `kind ${kind ? `'${kind}'` : '(missing)'} is not supported here${cm}; supported kinds: ${SUPPORTED_KINDS.join(', ')}` });
    return undefined;
  }
  if ((INGRESS_KINDS as readonly string[]).includes(kind)) {
    const before = problems.length;
    checkMeta((doc as V1Ingress).metadata, where, problems, kind !== 'IngressClass');
    const object = checkIngressKind(kind as IngressKind, doc as Record<string, unknown>, where, problems);
    return object && problems.length === before ? ({ kind, object, origin: where } as Manifest) : undefined;
  }
  if ((METALLB_KINDS as readonly string[]).includes(kind)) {
    const before = problems.length;
    checkMeta((doc as MetallbObject).metadata, where, problems);
    const object = checkMetallbKind(kind as MetallbKind, doc as MetallbObject, where, problems);
    return object && problems.length === before ? ({ kind, object, origin: where } as Manifest) : undefined;
  }
  const k = kind as Exclude<ManifestKind, IngressKind | MetallbKind>;
  if (doc.apiVersion !== API_VERSIONS[k]) {
    problems.push({ path: `${where}.apiVersion`, message: `apiVersion '${doc.apiVersion ?? ''}' is not known for ${k}; use ${API_VERSIONS[k]}` });
    return undefined;
  }
  const before = problems.length;
  if (k === 'Namespace') {
    const ns = doc as V1Namespace;
    checkMeta(ns.metadata, where, problems, false);
    if (ns.metadata?.name && (ns.metadata.name.length > 63 || !DNS_LABEL.test(ns.metadata.name))) problems.push({ path: `${where}.metadata.name`, message: `'${ns.metadata.name}' must be a DNS-1123 label` });
    return problems.length === before ? { kind: 'Namespace', object: ns, origin: where } : undefined;
  }
  if (k === 'Pod') {
    const pod = doc as V1Pod;
    checkMeta(pod.metadata, where, problems);
    checkContainers(pod.spec?.containers, `${where}.spec.containers`, problems);
    checkPodSpec(pod.spec, pod.metadata?.annotations, `${where}.spec`, `${where}.metadata`, (path, message) => problems.push({ path, message }));
    return problems.length === before ? { kind: 'Pod', object: pod, origin: where } : undefined;
  }
  if (k === 'Service') {
    const svc = doc as V1Service;
    checkMeta(svc.metadata, where, problems);
    // ValidateServiceName: a Service's name is a DNS-1035 label (it becomes a DNS name and env variables).
    const bad = svc.metadata?.name ? dns1035Label(svc.metadata.name) : undefined;
    if (bad) problems.push({ path: `${where}.metadata.name`, message: bad });
    checkService(svc, where, problems);
    return problems.length === before ? { kind: 'Service', object: svc, origin: where } : undefined;
  }
  if (k === 'EndpointSlice') {
    const slice = doc as V1EndpointSlice;
    checkMeta(slice.metadata, where, problems);
    checkEndpointSlice(slice, where, problems);
    return problems.length === before ? { kind: 'EndpointSlice', object: slice, origin: where } : undefined;
  }
  if (k === 'NetworkPolicy') {
    const np = wireNetworkPolicy(doc as V1NetworkPolicy);
    checkMeta(np.metadata, where, problems);
    checkNetworkPolicy(np, where, (path, message) => problems.push({ path, message }));
    return problems.length === before ? { kind: 'NetworkPolicy', object: np, origin: where } : undefined;
  }
  if (k === 'Endpoints') {
    const ep = doc as V1Endpoints;
    checkMeta(ep.metadata, where, problems);
    checkEndpoints(ep, where, problems);
    return problems.length === before ? { kind: 'Endpoints', object: ep, origin: where } : undefined;
  }
  if ((WORKLOAD_KINDS as string[]).includes(k)) {
    const w = doc as { metadata?: { name?: string }; spec?: { template?: { spec?: { containers?: V1Container[] } } } };
    checkMeta(w.metadata, where, problems);
    checkContainers(w.spec?.template?.spec?.containers, `${where}.spec.template.spec.containers`, problems);
    checkWorkload(k as WorkloadKind, doc, where, problems);
    return problems.length === before ? ({ kind: k, object: doc, origin: where } as Manifest) : undefined;
  }
  const dep = doc as V1Deployment;
  checkMeta(dep.metadata, where, problems);
  checkDeployment(dep, where, problems);
  return problems.length === before ? { kind: 'Deployment', object: dep, origin: where } : undefined;
}

function checkMeta(meta: { name?: string; namespace?: string; labels?: unknown; annotations?: unknown } | undefined, where: string, problems: InputProblem[], namespaced = true): void {
  const add = (path: string, message: string) => problems.push({ path, message });
  checkLabels(meta?.labels, `${where}.metadata.labels`, add);
  checkAnnotations(meta?.annotations, `${where}.metadata.annotations`, add);
  if (!meta?.name) problems.push({ path: `${where}.metadata.name`, message: 'is required' });
  else if (meta.name.length > 253 || !DNS_SUBDOMAIN.test(meta.name))
    problems.push({ path: `${where}.metadata.name`, message: `'${meta.name}' must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.')` });
  if (!namespaced && meta?.namespace !== undefined) problems.push({ path: `${where}.metadata.namespace`, message: 'this kind is not namespaced (it is cluster-scoped); remove metadata.namespace' });
  else if (meta?.namespace !== undefined && (meta.namespace.length > 63 || !DNS_LABEL.test(meta.namespace)))
    problems.push({ path: `${where}.metadata.namespace`, message: `'${meta.namespace}' must be a DNS-1123 label` });
}

function checkContainers(containers: V1Container[] | undefined, path: string, problems: InputProblem[]): void {
  if (!containers?.length) {
    problems.push({ path, message: 'a pod needs at least one container' });
    return;
  }
  const names = new Set<string>();
  containers.forEach((c, i) => {
    if (!c.name || !DNS_LABEL.test(c.name)) problems.push({ path: `${path}[${i}].name`, message: `'${c.name ?? ''}' must be a DNS-1123 label` });
    else if (names.has(c.name)) problems.push({ path: `${path}[${i}].name`, message: `duplicate container name '${c.name}'` });
    names.add(c.name ?? '');
    for (const part of ['requests', 'limits'] as const)
      for (const [res, value] of Object.entries(c.resources?.[part] ?? {})) {
        const parse = res === 'cpu' ? parseCpu : res === 'memory' ? parseMemory : undefined;
        if (parse && parse(value as string | number) === undefined)
          problems.push({ path: `${path}[${i}].resources.${part}.${res}`, message: `'${String(value)}' is not a ${res} quantity; use e.g. ${res === 'cpu' ? '"250m" or 1' : '"128Mi" or "1Gi"'}` });
      }
    const portNames = new Set<string>();
    (c.ports ?? []).forEach((p, j) => {
      const pp = `${path}[${i}].ports[${j}]`;
      // validateContainerPorts: names are IANA_SVC_NAMEs, unique within the container.
      if (p.name !== undefined && p.name !== '') {
        const bad = ianaSvcName(p.name);
        if (bad) problems.push({ path: `${pp}.name`, message: bad });
        else if (portNames.has(p.name)) problems.push({ path: `${pp}.name`, message: `Duplicate value: "${p.name}"` });
        portNames.add(p.name);
      }
      if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535)
        problems.push({ path: `${pp}.containerPort`, message: `${String(p.containerPort)} must be a port number from 1 to 65535` });
      if (p.protocol !== undefined && p.protocol !== 'TCP' && p.protocol !== 'UDP' && p.protocol !== 'SCTP')
        problems.push({ path: `${pp}.protocol`, message: `Unsupported value: "${p.protocol}": supported values: "SCTP", "TCP", "UDP"` });
    });
  });
}

function checkDeployment(dep: V1Deployment, where: string, problems: InputProblem[]): void {
  const spec = dep.spec;
  if (!spec) {
    problems.push({ path: `${where}.spec`, message: 'is required' });
    return;
  }
  if (spec.replicas !== undefined && (!Number.isInteger(spec.replicas) || spec.replicas < 0))
    problems.push({ path: `${where}.spec.replicas`, message: `${String(spec.replicas)} must be a whole number ≥ 0` });
  checkLabelSelector(spec.selector, `${where}.spec.selector`, (path, message) => problems.push({ path, message }));
  checkLabels(spec.template?.metadata?.labels, `${where}.spec.template.metadata.labels`, (path, message) => problems.push({ path, message }));
  const selector = spec.selector?.matchLabels;
  if (!selector || Object.keys(selector).length === 0) {
    problems.push({ path: `${where}.spec.selector.matchLabels`, message: 'is required: a Deployment selects its pods by labels' });
  } else {
    const labels = spec.template?.metadata?.labels ?? {};
    const missing = Object.entries(selector).filter(([k, v]) => labels[k] !== v);
    if (missing.length)
      problems.push({
        path: `${where}.spec.template.metadata.labels`,
        message: `must match spec.selector.matchLabels; missing ${missing.map(([k, v]) => `${k}=${v}`).join(', ')}`,
      });
  }
  checkContainers(spec.template?.spec?.containers, `${where}.spec.template.spec.containers`, problems);
  checkPodSpec(spec.template?.spec, spec.template?.metadata?.annotations, `${where}.spec.template.spec`, `${where}.spec.template.metadata`, (path, message) => problems.push({ path, message }));
}
