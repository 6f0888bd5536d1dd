/**
 * Fields that change packets but that kemu does not emulate. A manifest that uses one is refused by
 * name (the object, the field path, why, and the fix); with --skip-unsupported the field is removed
 * from the object and a warning names it. Fields kemu emulates are not listed here: they are checked
 * where they are used (services.ts, workloads.ts, …). Checked on the raw document, before the kind's
 * own checks, so a dropped field is never validated or stored.
 */
import { WORKLOAD_KINDS } from './workloads.js';
import { isUnsafeNetSysctl, SAFE_NET_SYSCTLS } from './sysctls.js';

type Obj = Record<string, unknown>;

/** One use of an unsupported field: its path (relative to the document) and how to drop it. */
interface Use {
  path: string;
  drop: () => void;
}

export interface UnsupportedField {
  /** Where it sits, as the user writes it (`spec.readinessGates`; pod fields also sit under a template). */
  field: string;
  /** Why kemu does not take it, as the upstream behaviour kemu would have to reproduce. */
  reason: string;
  /** Its uses in one object: a pod template's {metadata, spec}, or a Service. */
  find: (o: { meta: Obj; spec: Obj }) => Use[];
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function annotation(key: string, reason: string): UnsupportedField {
  return {
    field: `metadata.annotations['${key}']`,
    reason,
    find: ({ meta }) => {
      const ann = meta.annotations;
      return isObj(ann) && key in ann ? [{ path: `metadata.annotations['${key}']`, drop: () => void delete ann[key] }] : [];
    },
  };
}

/** A whole field of the spec. */
function specField(name: string, reason: string, applies: (v: unknown) => boolean = (v) => v !== undefined && v !== null): UnsupportedField {
  return {
    field: `spec.${name}`,
    reason,
    find: ({ spec }) => (applies(spec[name]) ? [{ path: `spec.${name}`, drop: () => void delete spec[name] }] : []),
  };
}

/** Entries of a list in the spec (`spec.<list>[i]`) that match; dropping removes those entries (and an emptied list). */
function listEntries(holder: (spec: Obj) => Obj | undefined, at: string, name: string, matches: (v: unknown) => boolean): (o: { spec: Obj }) => Use[] {
  return ({ spec }) => {
    const h = holder(spec);
    const list = h?.[name];
    if (!h || !Array.isArray(list)) return [];
    const drop = () => {
      const kept = (h[name] as unknown[]).filter((v) => !matches(v));
      if (kept.length) h[name] = kept;
      else delete h[name];
    };
    return list.flatMap((v, i) => (matches(v) ? [{ path: `${at}.${name}[${i}]`, drop }] : []));
  };
}


/** Pod-template fields (a Pod's own, or a workload's spec.template). */
export const UNSUPPORTED_POD_FIELDS: UnsupportedField[] = [
  {
    field: 'spec.readinessGates',
    reason:
      "the kubelet keeps a pod with readiness gates not Ready until some controller sets each gate's condition in the pod's status; nothing in kemu sets pod conditions, so the pod would never receive Service traffic",
    find: ({ spec }) => (Array.isArray(spec.readinessGates) && spec.readinessGates.length ? [{ path: 'spec.readinessGates', drop: () => void delete spec.readinessGates }] : []),
  },
  {
    field: 'spec.securityContext.sysctls (unsafe net.*)',
    reason: `the kubelet rejects a pod with an unsafe sysctl (SysctlForbidden) unless --allowed-unsafe-sysctls allows it, and kemu's kubelet allows none; the safe net.* sysctls (${SAFE_NET_SYSCTLS.map((n) => n.replace('net.ipv4.', '')).join(', ')} under net.ipv4) are written in the pod's netns`,
    find: listEntries((s) => (isObj(s.securityContext) ? s.securityContext : undefined), 'spec.securityContext', 'sysctls', isUnsafeNetSysctl),
  },
  annotation('kubernetes.io/ingress-bandwidth', "the CNI bandwidth plugin shapes the pod's traffic with tc; kemu does not emulate traffic shaping"),
  annotation('kubernetes.io/egress-bandwidth', "the CNI bandwidth plugin shapes the pod's traffic with tc; kemu does not emulate traffic shaping"),
  annotation('cni.projectcalico.org/ipv4pools', 'kemu has one IP pool (spec.network.podCIDR); Calico would assign from the named pools'),
  annotation('cni.projectcalico.org/ipAddrsNoIpam', 'Calico assigns such addresses without IPAM only when that feature is enabled; kemu does not emulate it (use cni.projectcalico.org/ipAddrs)'),
  annotation('cni.projectcalico.org/floatingIPs', "Calico's floating IPs (a DNAT in front of the pod) are not emulated"),
];

/** Service fields. */
export const UNSUPPORTED_SERVICE_FIELDS: UnsupportedField[] = [
  {
    field: 'spec.ipFamilies (IPv6)',
    reason: "the lab is single-stack IPv4: the API server of such a cluster refuses an IPv6 family ('not configured on this cluster')",
    find: listEntries((s) => s, 'spec', 'ipFamilies', (v) => v === 'IPv6'),
  },
  specField('ipFamilyPolicy', "the lab is single-stack IPv4: the API server of such a cluster refuses RequireDualStack ('this cluster is not configured for dual-stack services'); use SingleStack or PreferDualStack", (v) => v === 'RequireDualStack'),
];

export interface UnsupportedUse {
  /** Full path: `<where>.spec.template.spec.readinessGates`. */
  path: string;
  field: UnsupportedField;
  drop: () => void;
}

/** Every unsupported field `doc` (a raw manifest of kind `kind`, at `where`) uses. */
export function unsupportedUses(kind: string, doc: unknown, where: string): UnsupportedUse[] {
  if (!isObj(doc)) return [];
  const out: UnsupportedUse[] = [];
  const scan = (fields: UnsupportedField[], meta: unknown, spec: unknown, prefix: string) => {
    const o = { meta: isObj(meta) ? meta : {}, spec: isObj(spec) ? spec : {} };
    for (const field of fields) for (const use of field.find(o)) out.push({ path: `${where}.${prefix}${use.path}`, field, drop: use.drop });
  };
  const spec = isObj(doc.spec) ? doc.spec : undefined;
  if (kind === 'Pod') scan(UNSUPPORTED_POD_FIELDS, doc.metadata, doc.spec, '');
  else if (kind === 'Deployment' || (WORKLOAD_KINDS as string[]).includes(kind)) {
    const t = spec && isObj(spec.template) ? spec.template : undefined;
    if (t) scan(UNSUPPORTED_POD_FIELDS, t.metadata, t.spec, 'spec.template.');
  } else if (kind === 'Service') scan(UNSUPPORTED_SERVICE_FIELDS, doc.metadata, doc.spec, '');
  return out;
}

/** `Pod default/web`, for messages. */
export function objectName(kind: string, doc: unknown, namespaced = true): string {
  const meta = isObj(doc) && isObj(doc.metadata) ? doc.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '(no name)';
  const ns = typeof meta.namespace === 'string' ? meta.namespace : 'default';
  return `${kind} ${namespaced ? `${ns}/` : ''}${name}`;
}

export const SKIP_HINT = 'remove it, or pass --skip-unsupported to drop it with a warning';

/** The refusal of one use. */
export function unsupportedMessage(kind: string, doc: unknown, use: UnsupportedUse): string {
  return `${objectName(kind, doc)}: this field is not emulated by kemu: ${use.field.reason}; ${SKIP_HINT}`;
}

/** The warning when a use was dropped. */
export function droppedWarning(kind: string, doc: unknown, use: UnsupportedUse): string {
  return `field ${use.path} of ${objectName(kind, doc)}: not emulated, removed from the object (${use.field.reason})`;
}
