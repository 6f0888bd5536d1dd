/**
 * Calico's natOutgoing, as Felix programs it: from POSTROUTING into cali-POSTROUTING, then
 * cali-nat-outgoing masquerades traffic from the pod pool to anywhere outside it. (Felix matches
 * ipsets of all pools; with one pool a CIDR match is the same.)
 */
export function renderNatOutgoing(podCIDR: string, enabled: boolean): { payload: string; hook: string } {
  const rules = enabled ? [`-A cali-nat-outgoing -s ${podCIDR} ! -d ${podCIDR} -m comment --comment "cali:natOutgoing" -j MASQUERADE --random-fully`] : [];
  const payload = ['*nat', ':cali-POSTROUTING - [0:0]', ':cali-nat-outgoing - [0:0]', '-A cali-POSTROUTING -j cali-nat-outgoing', ...rules, 'COMMIT', ''].join('\n');
  return { payload, hook: '-A POSTROUTING -m comment --comment "cali:O3lYWMrLQYEMJtB5" -j cali-POSTROUTING' };
}
