/**
 * Each node's kube-proxy configuration: `spec.kubeProxy` (inline, or the path of a file as kube-proxy's
 * --config takes it, relative to the topology file) with the node's `spec.nodes[].kubeProxy` merged
 * over it field by field (kube-proxy runs per node). A problem is reported where the field was set.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import type { InputProblem } from '../errors.js';
import type { KubeProxyConfig } from '../types.js';
import { KUBE_PROXY_API_VERSION, KUBE_PROXY_KIND, checkKubeProxyConfig } from './validate.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Source {
  /** Path prefix for messages, e.g. `spec.kubeProxy` or `spec.nodes[1].kubeProxy (kp.yaml)`. */
  base: string;
  value: Obj;
}

async function source(value: unknown, base: string, dir: string, problems: InputProblem[]): Promise<Source | undefined> {
  if (value === undefined) return undefined;
  if (isObj(value)) return { base, value };
  if (typeof value !== 'string' || value === '') {
    problems.push({ path: base, message: 'must be a KubeProxyConfiguration object or the path of a file holding one' });
    return undefined;
  }
  let text: string;
  try {
    text = await readFile(resolve(dir, value), 'utf8');
  } catch (err) {
    problems.push({ path: base, message: `kube-proxy configuration file '${value}' cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); paths are relative to the topology file` });
    return undefined;
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    problems.push({ path: `${base} (${value})`, message: `not valid YAML: ${(err as Error).message.split('\n')[0]}` });
    return undefined;
  }
  const at = `${base} (${value})`;
  if (!isObj(doc)) {
    problems.push({ path: at, message: 'must hold one KubeProxyConfiguration object' });
    return undefined;
  }
  // A file is decoded by its type, as kube-proxy --config does: both are required there.
  if (doc.apiVersion !== KUBE_PROXY_API_VERSION) problems.push({ path: `${at}.apiVersion`, message: `must be ${KUBE_PROXY_API_VERSION}` });
  if (doc.kind !== KUBE_PROXY_KIND) problems.push({ path: `${at}.kind`, message: `must be ${KUBE_PROXY_KIND}` });
  return { base: at, value: doc };
}

/** `b` over `a`: objects merge key by key, anything else (lists included) is replaced. */
export function mergeConfig(a: Obj, b: Obj): Obj {
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObj(v) && isObj(a[k]) ? mergeConfig(a[k] as Obj, v) : v;
  return out;
}

function has(obj: Obj | undefined, field: string): boolean {
  let cur: unknown = obj;
  for (const part of field.replace(/\[\d+\]$/, '').split('.')) {
    if (!isObj(cur) || !(part in cur)) return false;
    cur = cur[part];
  }
  return true;
}

export async function loadKubeProxyConfigs(
  cluster: unknown,
  nodes: Array<{ kubeProxy?: unknown }>,
  dir: string,
  problems: InputProblem[],
): Promise<KubeProxyConfig[]> {
  const own: InputProblem[] = [];
  const base = await source(cluster, 'spec.kubeProxy', dir, own);
  const perNode = await Promise.all(nodes.map((n, i) => source(n.kubeProxy, `spec.nodes[${i}].kubeProxy`, dir, own)));
  const configs = perNode.map((node) => {
    const merged = mergeConfig(base?.value ?? {}, node?.value ?? {});
    const at = (field: string) => `${has(node?.value, field) ? node!.base : (base?.base ?? 'spec.kubeProxy')}.${field}`;
    return checkKubeProxyConfig(merged, at, own);
  });
  // A cluster-level mistake shows once, not once per node.
  const seen = new Set<string>();
  for (const p of own) {
    const key = `${p.path}\n${p.message}`;
    if (!seen.has(key)) problems.push(p);
    seen.add(key);
  }
  return configs;
}
