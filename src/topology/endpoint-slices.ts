/**
 * EndpointSlice (discovery.k8s.io/v1) manifests checked as the API server checks them
 * (pkg/apis/discovery/validation: ValidateEndpointSlice), after its defaulting (port name "",
 * protocol TCP).
 */
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { InputProblem } from './errors.js';

export const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
const MAX_PORTS = 100;
const MAX_HINTS = 8;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** ValidateEndpointIP: no unspecified, loopback, link-local or link-local multicast endpoint addresses. */
function specialIPv4(ip: string): string | undefined {
  const [a, b, c] = ip.split('.').map(Number) as [number, number, number];
  if (ip === '0.0.0.0') return 'may not be unspecified (0.0.0.0)';
  if (a === 127) return 'may not be in the loopback range (127.0.0.0/8)';
  if (a === 169 && b === 254) return 'may not be in the link-local range (169.254.0.0/16)';
  if (a === 224 && b === 0 && c === 0) return 'may not be in the link-local multicast range (224.0.0.0/24)';
  return undefined;
}

const labelValue = (v: string): boolean => v.length <= 63 && LABEL_VALUE.test(v);

export function checkEndpointSlice(slice: V1EndpointSlice, where: string, problems: InputProblem[]): void {
  const add = (path: string, message: string) => problems.push({ path: `${where}.${path}`, message });
  const type = slice.addressType as string | undefined;
  if (!type) add('addressType', 'Required value');
  else if (!ADDRESS_TYPES.includes(type)) add('addressType', `Unsupported value: "${type}": supported values: ${ADDRESS_TYPES.map((t) => `"${t}"`).join(', ')}`);

  const endpoints = slice.endpoints ?? [];
  if (endpoints.length > MAX_ENDPOINTS) add('endpoints', `Too many: ${endpoints.length}: must have at most ${MAX_ENDPOINTS} items`);
  else
    endpoints.forEach((ep, i) => {
      const at = `endpoints[${i}]`;
      const addresses = ep.addresses ?? [];
      if (addresses.length === 0) add(`${at}.addresses`, 'Required value: must contain at least 1 address');
      else if (addresses.length > MAX_ADDRESSES) add(`${at}.addresses`, `Too many: ${addresses.length}: must have at most ${MAX_ADDRESSES} items`);
      addresses.forEach((a, j) => {
        if (type === 'IPv4') {
          if (typeof a !== 'string' || !IPV4.test(a)) add(`${at}.addresses[${j}]`, `'${String(a)}' must be a valid IPv4 address`);
          else {
            const special = specialIPv4(a);
            if (special) add(`${at}.addresses[${j}]`, `'${a}' ${special}`);
          }
        } else if (type === 'FQDN' && (typeof a !== 'string' || a.length > 253 || !DNS_SUBDOMAIN.test(a) || !a.includes('.')))
          add(`${at}.addresses[${j}]`, `'${String(a)}' must be a fully qualified domain name`);
      });
      for (const c of ['ready', 'serving', 'terminating'] as const) {
        const v = ep.conditions?.[c];
        if (v !== undefined && v !== null && typeof v !== 'boolean') add(`${at}.conditions.${c}`, 'must be true or false');
      }
      if (ep.nodeName !== undefined && (ep.nodeName.length > 253 || !DNS_SUBDOMAIN.test(ep.nodeName))) add(`${at}.nodeName`, `'${ep.nodeName}' must be a valid node name (a DNS-1123 subdomain)`);
      if (ep.hostname !== undefined && (ep.hostname.length > 63 || !DNS_LABEL.test(ep.hostname))) add(`${at}.hostname`, `'${ep.hostname}' must be a DNS-1123 label`);
      if (ep.zone !== undefined && !labelValue(ep.zone)) add(`${at}.zone`, `'${ep.zone}' must be a valid label value`);
      checkHints(ep.hints as { forZones?: Array<{ name: string }>; forNodes?: Array<{ name: string }> } | undefined, `${at}.hints`, add);
    });

  const ports = slice.ports ?? [];
  if (ports.length > MAX_PORTS) add('ports', `Too many: ${ports.length}: must have at most ${MAX_PORTS} items`);
  else {
    const names = new Set<string>();
    ports.forEach((p, i) => {
      const at = `ports[${i}]`;
      const name = p.name ?? '';
      if (name !== '' && (name.length > 63 || !DNS_LABEL.test(name))) add(`${at}.name`, `'${name}' must be a DNS-1123 label`);
      if (names.has(name)) add(`${at}.name`, `Duplicate value: "${name}"`);
      names.add(name);
      const proto = p.protocol ?? 'TCP';
      if (!PROTOCOLS.includes(proto)) add(`${at}.protocol`, `Unsupported value: "${proto}": supported values: ${PROTOCOLS.map((x) => `"${x}"`).join(', ')}`);
      if (p.port !== undefined && p.port !== null && (!Number.isInteger(p.port) || p.port < 0 || p.port > 65535))
        add(`${at}.port`, `${String(p.port)} must be a port number from 0 to 65535 (kube-proxy DNATs to it)`);
      if (p.appProtocol !== undefined && !QUALIFIED_NAME.test(p.appProtocol)) add(`${at}.appProtocol`, `'${p.appProtocol}' must be a qualified name`);
    });
  }
}

function checkHints(hints: { forZones?: Array<{ name: string }>; forNodes?: Array<{ name: string }> } | undefined, at: string, add: (p: string, m: string) => void): void {
  if (!hints) return;
  for (const [field, valid, what] of [
    ['forZones', labelValue, 'a valid label value'],
    ['forNodes', (v: string) => v.length <= 253 && DNS_SUBDOMAIN.test(v), 'a valid node name'],
  ] as const) {
    const list = hints[field] ?? [];
    if (list.length > MAX_HINTS) {
      add(`${at}.${field}`, `Too many: ${list.length}: must have at most ${MAX_HINTS} items`);
      continue;
    }
    const seen = new Set<string>();
    list.forEach((h, i) => {
      const path = `${at}.${field}[${i}].name`;
      if (seen.has(h.name)) add(path, `Duplicate value: "${h.name}"`);
      seen.add(h.name);
      if (typeof h.name !== 'string' || !valid(h.name)) add(path, `'${String(h.name)}' must be ${what}`);
    });
  }
}
