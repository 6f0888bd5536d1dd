/**
 * Felix's names (Calico v3.32 naming): length-limited chain ids, policy/profile/endpoint chain
 * names, selector ipset names, and the chained "cali:<hash>" rule comments.
 */
import { createHash } from 'node:crypto';

/** Felix's iptables chain name limit (felix/iptables/table.go MaxChainNameLength). */
export const MAX_CHAIN_NAME = 28;
/** ipset names are cut to 31 characters (felix/ipsets/ipset_defs.go). */
export const MAX_IPSET_NAME = 31;

const b64url = (buf: Buffer) => buf.toString('base64url');

/** hash.GetLengthLimitedID: prefix+suffix, or prefix + "_" + sha256(suffix) cut to fit. */
export function lengthLimitedId(prefix: string, suffix: string, maxLen: number): string {
  if (suffix === '') suffix = '_';
  const len = prefix.length + suffix.length;
  if (len > maxLen || (len === maxLen && suffix.startsWith('_'))) {
    return prefix + '_' + b64url(createHash('sha256').update(suffix).digest()).slice(0, maxLen - 1 - prefix.length);
  }
  return prefix + suffix;
}

/** v3.32+ policy id for a Kubernetes NetworkPolicy: knp/<namespace>/<name>. */
export const policyId = (namespace: string, name: string) => `knp/${namespace}/${name}`;
export const policyChain = (dir: 'in' | 'out', namespace: string, name: string) => lengthLimitedId(dir === 'in' ? 'cali-pi-' : 'cali-po-', policyId(namespace, name), MAX_CHAIN_NAME);
export const profileChain = (dir: 'in' | 'out', profile: string) => lengthLimitedId(dir === 'in' ? 'cali-pri-' : 'cali-pro-', profile, MAX_CHAIN_NAME);
export const toWorkloadChain = (iface: string) => lengthLimitedId('cali-tw-', iface, MAX_CHAIN_NAME);
export const fromWorkloadChain = (iface: string) => lengthLimitedId('cali-fw-', iface, MAX_CHAIN_NAME);

/** Selector set: cali40s: + base64url(SHA-224("s:" + selector)) (hash.MakeUniqueID). */
export function selectorIpset(selector: string): string {
  return ('cali40s:' + b64url(createHash('sha224').update('s:' + selector).digest())).slice(0, MAX_IPSET_NAME);
}

/** Named-port set: cali40n: + MakeUniqueID("n", selectorSetId + "," + proto + "," + portName). */
export function namedPortIpset(selector: string, protocol: string, portName: string): string {
  const selId = 's:' + b64url(createHash('sha224').update('s:' + selector).digest());
  return ('cali40n:' + b64url(createHash('sha224').update('n:' + `${selId},${protocol.toLowerCase()},${portName}`).digest())).slice(0, MAX_IPSET_NAME);
}

/**
 * The "cali:<16>" comment of each rule of a chain: SHA-224 chained from the chain name through
 * every rule's text (generictables/rules.go), so a rule's hash depends on its position.
 */
export function ruleHashes(chain: string, rules: string[]): string[] {
  let prev = createHash('sha224').update(chain).digest();
  return rules.map((r) => {
    prev = createHash('sha224').update(prev).update(r).digest();
    return b64url(prev).slice(0, 16);
  });
}
