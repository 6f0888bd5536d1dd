/**
 * A pod's `securityContext.sysctls`, as the API server and the kubelet take them. The API server
 * checks names (validateSysctls: sysctl name format, no duplicates); the kubelet admits only the
 * safe set (pkg/kubelet/sysctl/safe_sysctls.go) unless allowed by --allowed-unsafe-sysctls, which
 * kemu's kubelet is not; the runtime writes them in the pod's network namespace. kemu writes the
 * net.* ones (the only ones that change packets) in the sandbox; others are accepted and not written.
 */
type Add = (path: string, message: string) => void;

/** The kubelet's safe net.* sysctls (namespaced in the pod's netns). */
export const SAFE_NET_SYSCTLS = [
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
];
/** The kubelet's other safe sysctls (accepted; they do not change packets). */
const SAFE_OTHER = ['kernel.shm_rmid_forced'];

const SYSCTL_NAME = /^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$/;
/** Each safe net sysctl takes numbers: one, or several separated by blanks (ip_local_reserved_ports: a list of ports and ranges). */
const NUMBERS = /^\d+([ \t]+\d+)*$/;
const PORT_LIST = /^(\d+(-\d+)?(,\d+(-\d+)?)*)?$/;

/** `net/ipv4/x` and `net.ipv4.x` are the same sysctl: a name whose first separator is '/' has '/' and '.' swapped (NormalizeName). */
export const sysctlName = (name: string): string => (/^[^./]*\//.test(name) ? name.replace(/\./g, '\0').replace(/\//g, '.').replace(/\0/g, '/') : name);

const isSafeNet = (name: string) => SAFE_NET_SYSCTLS.includes(sysctlName(name));
export const isUnsafeNetSysctl = (s: unknown): boolean => {
  const name = (s as { name?: unknown })?.name;
  return typeof name === 'string' && /^net[./]/.test(name) && !isSafeNet(name);
};

/** validateSysctls plus the values kemu can write; `at` is the sysctls list's path. */
export function checkSysctls(sysctls: unknown, at: string, add: Add, hostNetwork = false): void {
  if (sysctls === undefined || sysctls === null) return;
  if (!Array.isArray(sysctls)) return add(at, 'must be a list of {name, value}');
  const seen = new Set<string>();
  sysctls.forEach((s: { name?: unknown; value?: unknown }, i) => {
    const p = `${at}[${i}]`;
    if (typeof s?.name !== 'string' || s.name === '') return add(`${p}.name`, 'Required value');
    if (s.name.length > 253 || !SYSCTL_NAME.test(s.name)) return add(`${p}.name`, `Invalid value: ${JSON.stringify(s.name)}: must have at most 253 characters and match regex ${SYSCTL_NAME.source}`);
    const name = sysctlName(s.name);
    if (seen.has(name)) add(`${p}.name`, `Duplicate value: ${JSON.stringify(s.name)}`);
    seen.add(name);
    if (typeof s.value !== 'string') return add(`${p}.value`, 'must be a string');
    // The kubelet's sysctl admission: a net.* sysctl would change the node's own namespace.
    if (hostNetwork && name.startsWith('net.')) return add(`${p}.name`, `${JSON.stringify(s.name)} not allowed with host net enabled: the kubelet rejects the pod (SysctlForbidden); remove the sysctl or hostNetwork`);
    if (!isSafeNet(name) && !SAFE_OTHER.includes(name) && !name.startsWith('net.'))
      add(`${p}.name`, `${JSON.stringify(s.name)} is not in the kubelet's safe set and kemu's kubelet allows no unsafe sysctls: the kubelet would reject the pod (SysctlForbidden); safe: ${[...SAFE_NET_SYSCTLS, ...SAFE_OTHER].join(', ')}`);
    if (isSafeNet(name) && !(name === 'net.ipv4.ip_local_reserved_ports' ? PORT_LIST : NUMBERS).test(s.value.trim()))
      add(`${p}.value`, `${JSON.stringify(s.value)} is not a value ${name} takes (${name === 'net.ipv4.ip_local_reserved_ports' ? 'ports and ranges such as "8080,9000-9100"' : 'numbers separated by blanks'})`);
  });
}

/** The net.* sysctls the runtime writes in the pod's netns (names with dots, values trimmed). */
export function podNetSysctls(sysctls: unknown): Record<string, string> {
  if (!Array.isArray(sysctls)) return {};
  const out: Record<string, string> = {};
  for (const s of sysctls as Array<{ name?: unknown; value?: unknown }>)
    if (typeof s?.name === 'string' && typeof s.value === 'string' && isSafeNet(s.name)) out[sysctlName(s.name)] = s.value.trim();
  return out;
}
