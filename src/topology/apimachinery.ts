/**
 * The API server's generic checks (k8s.io/apimachinery/pkg/util/validation, apimachinery's
 * ValidateObjectMeta / ValidateLabels / ValidateAnnotations / ValidateLabelSelector, and core's
 * ValidateNonSpecialIP), as small functions returning a message or undefined. Rules are cited by
 * upstream function name next to each one.
 */
type Add = (path: string, message: string) => void;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** The API server's request body limit (apiserver MaxRequestBodyBytes: 3 MiB), applied per object. */
export const MAX_OBJECT_BYTES = 3 * 1024 * 1024;
/** ValidateAnnotationsSize: TotalAnnotationSizeLimitB = 256 KiB (keys + values). */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

const q = (s: string) => JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s);

/** IsDNS1123Label: ≤ 63, lower-case alphanumerics and '-', alphanumeric at both ends. */
export function dns1123Label(v: string): string | undefined {
  if (v.length > 63) return `Invalid value: ${q(v)}: must be no more than 63 characters`;
  if (!DNS1123_LABEL.test(v)) return `Invalid value: ${q(v)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`;
  return undefined;
}

/** IsDNS1035Label: ≤ 63, starts with a letter (Service names). */
export function dns1035Label(v: string): string | undefined {
  if (v.length > 63) return `Invalid value: ${q(v)}: must be no more than 63 characters`;
  if (!DNS1035_LABEL.test(v)) return `Invalid value: ${q(v)}: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character`;
  return undefined;
}

/** IsDNS1123Subdomain: ≤ 253, dot-separated DNS-1123 labels. */
export function dns1123Subdomain(v: string): string | undefined {
  if (v.length > 253) return `Invalid value: ${q(v)}: must be no more than 253 characters`;
  if (!DNS1123_SUBDOMAIN.test(v)) return `Invalid value: ${q(v)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`;
  return undefined;
}

/** IsQualifiedName: [prefix/]name, prefix a DNS-1123 subdomain ≤ 253, name ≤ 63 of [-A-Za-z0-9_.] with alphanumeric ends. */
export function qualifiedName(v: string): string | undefined {
  const parts = v.split('/');
  let name = v;
  if (parts.length === 2) {
    if (parts[0] === '') return `Invalid value: ${q(v)}: prefix part must be non-empty`;
    const bad = dns1123Subdomain(parts[0]!);
    if (bad) return `Invalid value: ${q(v)}: prefix part ${bad.replace(/^Invalid value: "[^"]*": /, '')}`;
    name = parts[1]!;
  } else if (parts.length > 2) return `Invalid value: ${q(v)}: a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`;
  if (name === '') return `Invalid value: ${q(v)}: name part must be non-empty`;
  if (name.length > 63) return `Invalid value: ${q(v)}: name part must be no more than 63 characters`;
  if (!QUALIFIED_NAME_PART.test(name)) return `Invalid value: ${q(v)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
  return undefined;
}

/** IsValidLabelValue: empty, or ≤ 63 of [-A-Za-z0-9_.] with alphanumeric ends. */
export function labelValue(v: unknown): string | undefined {
  if (typeof v !== 'string') return `Invalid value: ${String(v)}: a label value must be a string`;
  if (v.length > 63) return `Invalid value: ${q(v)}: must be no more than 63 characters`;
  if (!LABEL_VALUE.test(v)) return `Invalid value: ${q(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
  return undefined;
}

/** IsValidPortName (IANA_SVC_NAME): 1–15 of [a-z0-9-], at least one letter, no '--', alphanumeric ends. */
export function ianaSvcName(v: string): string | undefined {
  if (v.length < 1 || v.length > 15) return `Invalid value: ${q(v)}: must be no more than 15 characters`;
  if (!IANA_SVC_NAME.test(v)) return `Invalid value: ${q(v)}: must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)`;
  if (v.includes('--')) return `Invalid value: ${q(v)}: must not contain consecutive hyphens`;
  if (!/[a-z]/.test(v)) return `Invalid value: ${q(v)}: must contain at least one letter (a-z)`;
  return undefined;
}

/** ValidateLabels: qualified-name keys, label values. */
export function checkLabels(labels: unknown, path: string, add: Add): void {
  if (labels === undefined || labels === null) return;
  if (typeof labels !== 'object' || Array.isArray(labels)) return add(path, 'must be a map of strings');
  for (const [k, v] of Object.entries(labels)) {
    const badKey = qualifiedName(k);
    if (badKey) add(path, badKey);
    const badValue = labelValue(v);
    if (badValue) add(`${path}.${k}`, badValue);
  }
}

/** ValidateAnnotations: qualified-name keys (lower-cased, as upstream), total size ≤ 256 KiB. */
export function checkAnnotations(annotations: unknown, path: string, add: Add): void {
  if (annotations === undefined || annotations === null) return;
  if (typeof annotations !== 'object' || Array.isArray(annotations)) return add(path, 'must be a map of strings');
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    const bad = qualifiedName(k.toLowerCase());
    if (bad) add(path, bad);
    if (typeof v !== 'string') add(`${path}.${k}`, 'must be a string');
    size += k.length + (typeof v === 'string' ? v.length : 0);
  }
  if (size > MAX_ANNOTATIONS_BYTES) add(path, `Too long: may not be more than ${MAX_ANNOTATIONS_BYTES} bytes (total size of annotations is ${size})`);
}

/** ValidateLabelSelector (metav1): matchLabels as labels; In/NotIn need values, Exists/DoesNotExist none; keys qualified names, values label values. */
export function checkLabelSelector(s: unknown, path: string, add: Add): void {
  if (s === undefined || s === null) return;
  const sel = s as { matchLabels?: unknown; matchExpressions?: Array<{ key?: string; operator?: string; values?: unknown[] }> };
  checkLabels(sel.matchLabels, `${path}.matchLabels`, add);
  (sel.matchExpressions ?? []).forEach((e, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const bad = qualifiedName(String(e.key ?? ''));
    if (bad) add(`${p}.key`, bad);
    if (e.operator === 'In' || e.operator === 'NotIn') {
      if (!e.values?.length) add(`${p}.values`, "Required value: must be specified when `operator` is 'In' or 'NotIn'");
    } else if (e.operator === 'Exists' || e.operator === 'DoesNotExist') {
      if (e.values?.length) add(`${p}.values`, "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    } else add(`${p}.operator`, `Unsupported value: ${q(String(e.operator))}: supported values: "In", "NotIn", "Exists", "DoesNotExist"`);
    (e.values ?? []).forEach((v, j) => {
      const badV = labelValue(v);
      if (badV) add(`${p}.values[${j}]`, badV);
    });
  });
}

/** ValidateNonSpecialIP (core, for Endpoints): no unspecified, loopback, link-local or link-local multicast address. */
export function specialIP(ip: string): string | undefined {
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (v4) {
    const [a, b, c] = [Number(v4[1]), Number(v4[2]), Number(v4[3])];
    if (a === 0 && b === 0 && c === 0 && Number(v4[4]) === 0) return 'may not be unspecified (0.0.0.0)';
    if (a === 127) return 'may not be in the loopback range (127.0.0.0/8, ::1/128)';
    if (a === 169 && b === 254) return 'may not be in the link-local range (169.254.0.0/16, fe80::/10)';
    if (a === 224 && b === 0 && c === 0) return 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)';
    return undefined;
  }
  const l = ip.toLowerCase();
  if (/^[0:]+$/.test(l) && l.includes('::')) return 'may not be unspecified (::)';
  if (/^(0{0,4}:){1,7}:?0{0,3}1$/.test(l) || l === '::1') return 'may not be in the loopback range (127.0.0.0/8, ::1/128)';
  if (/^fe[89ab][0-9a-f]?:/.test(l)) return 'may not be in the link-local range (169.254.0.0/16, fe80::/10)';
  if (/^ff02:/.test(l)) return 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)';
  return undefined;
}
