/**
 * LoadBalancer ingress IPs as MetalLB's controller hands them out: a requested address
 * (`metallb.io/loadBalancerIPs`, `spec.loadBalancerIP`) must lie in a pool (the one named by
 * `metallb.io/address-pool` if given) and may be taken from a pool with `autoAssign: false`; other
 * services get the lowest free address of the named pool, else of the auto-assign pools in name
 * order; `avoidBuggyIPs` skips .0 and .255; services with the same `metallb.io/allow-shared-ip` key,
 * disjoint ports and both `externalTrafficPolicy: Cluster` (or the same selector) share an address.
 * No pool, an unknown pool or a full one: EXTERNAL-IP stays `<pending>`. The `metallb.universe.tf/`
 * prefix of the annotations is still read (deprecated in MetalLB, not removed).
 */
import type { V1Service } from '@kubernetes/client-node';
import type { InputProblem } from '../topology/errors.js';
import type { NetworkSpec } from '../topology/types.js';
import { intToIp, ipToInt } from '../util/ipv4.js';
import { parseRange, type IpRange } from '../util/ip-ranges.js';
import { emptyMetallb, poolContaining, SHORTHAND_POOL, type LbPool, type MetallbState } from './metallb.js';
import type { ServiceState } from './types.js';

const PREFIXES = ['metallb.io/', 'metallb.universe.tf/'];
export const METALLB_IPS = 'metallb.io/loadBalancerIPs';
export const METALLB_POOL = 'metallb.io/address-pool';
export const METALLB_SHARING = 'metallb.io/allow-shared-ip';

/** The annotation `name` under either prefix (the current one wins). */
export function metallbAnnotation(annotations: Record<string, string> | undefined, name: string): string | undefined {
  for (const p of PREFIXES) {
    const v = annotations?.[`${p}${name}`];
    if (v !== undefined) return v;
  }
  return undefined;
}

export function shorthandMetallb(net: NetworkSpec): MetallbState {
  const m = emptyMetallb();
  if (net.loadBalancerPool)
    m.pools.push({ name: SHORTHAND_POOL, ranges: net.loadBalancerPool.map(parseRange).filter((r): r is IpRange => typeof r !== 'string'), autoAssign: true, avoidBuggyIPs: false, labels: {}, origin: 'spec.network.loadBalancerPool' });
  return m;
}

interface Holder {
  owner: string;
  key?: string;
  ports: Set<string>;
  shared: string;
}

const buggy = (ip: string) => /\.(0|255)$/.test(ip);

export function lbAllocator(m: MetallbState, reserved: Set<string>) {
  const used = new Map<string, Holder[]>();
  const holder = (s: ServiceState): Holder => ({
    owner: `${s.namespace}/${s.name}`,
    key: metallbAnnotation(s.annotations, 'allow-shared-ip') || undefined,
    ports: new Set(s.ports.map((p) => `${p.protocol}/${p.port}`)),
    // Sharing needs both eTP Cluster, or the same pods behind both.
    shared: s.externalTrafficPolicy === 'Cluster' ? 'Cluster' : `Local ${JSON.stringify(s.selector ?? {})}`,
  });
  const conflict = (ip: string, h: Holder): string | undefined => {
    for (const o of used.get(ip) ?? []) {
      if (o.owner === h.owner) continue;
      if (!h.key || o.key !== h.key) return `is already taken by ${o.owner}${o.key || h.key ? ' (sharing needs the same metallb.io/allow-shared-ip key on both)' : ''}`;
      const clash = [...h.ports].find((p) => o.ports.has(p));
      if (clash) return `is shared with ${o.owner}, which uses port ${clash} too`;
      if (o.shared !== h.shared) return `is shared with ${o.owner}, but sharing needs externalTrafficPolicy Cluster on both, or the same selector`;
    }
    return undefined;
  };
  const take = (ip: string, h: Holder) => used.set(ip, [...(used.get(ip) ?? []).filter((o) => o.owner !== h.owner), h]);
  const fits = (pool: LbPool, ip: string) => !(pool.avoidBuggyIPs && buggy(ip)) && !reserved.has(ip);
  const poolNames = () => m.pools.map((p) => p.name).join(', ');

  return {
    /** Requested addresses: checked (a problem names the field) and claimed before anything is allocated. */
    claimRequested(s: ServiceState, svc: V1Service, origin: string, problems: InputProblem[]): void {
      s.loadBalancerIPs = [];
      delete s.loadBalancerPool;
      if (m.pools.length === 0) return; // no pool (no LB controller): <pending>, as in a cluster without one
      const annotated = metallbAnnotation(svc.metadata?.annotations, 'loadBalancerIPs');
      const wanted = annotated !== undefined ? annotated.split(',').map((x) => x.trim()).filter(Boolean) : svc.spec?.loadBalancerIP ? [svc.spec.loadBalancerIP] : [];
      const field = annotated !== undefined ? `${origin}.metadata.annotations` : `${origin}.spec.loadBalancerIP`;
      const named = metallbAnnotation(svc.metadata?.annotations, 'address-pool');
      const h = holder(s);
      let from: string | undefined;
      for (const ip of wanted) {
        const pool = poolContaining(m, ip);
        const onlyShorthand = m.pools.length === 1 && m.pools[0]!.name === SHORTHAND_POOL;
        if (!pool) {
          problems.push({ path: field, message: onlyShorthand ? `${ip} is not in the lab's load-balancer pool (spec.network.loadBalancerPool ${m.pools[0]!.ranges.map((r) => r.text).join(', ')})` : `${ip} is not in any address pool (pools: ${poolNames()})` });
          continue;
        }
        if (named && pool.name !== named) problems.push({ path: field, message: `${ip} is in pool '${pool.name}', not in '${named}' that metallb.io/address-pool names` });
        else if (pool.avoidBuggyIPs && buggy(ip)) problems.push({ path: field, message: `${ip} ends in .0 or .255, which pool '${pool.name}' avoids (avoidBuggyIPs)` });
        else if (reserved.has(ip)) problems.push({ path: field, message: `${ip} is a machine's underlay address (or a gateway); MetalLB's addresses must be dedicated to it` });
        else {
          const why = conflict(ip, h);
          if (why) problems.push({ path: field, message: `load-balancer IP ${ip} ${why}` });
          else take(ip, h);
        }
        from = pool.name;
      }
      s.loadBalancerIPs = wanted;
      if (from && wanted.length) s.loadBalancerPool = from;
    },

    /** Keep what the service had, else share by key, else the lowest free address; nothing fits: <pending>. */
    allocate(s: ServiceState, before: ServiceState | undefined): void {
      if (m.pools.length === 0) return;
      const named = metallbAnnotation(s.annotations, 'address-pool');
      const candidates = named ? m.pools.filter((p) => p.name === named) : [...m.pools].filter((p) => p.autoAssign).sort((a, b) => a.name.localeCompare(b.name));
      const h = holder(s);
      const ok = (pool: LbPool, ip: string) => fits(pool, ip) && !conflict(ip, h);
      const had = before?.loadBalancerIPs[0];
      const hadPool = had ? candidates.find((p) => p.ranges.some((r) => ipToInt(had) >= r.first && ipToInt(had) <= r.last)) : undefined;
      let got: { ip: string; pool: LbPool } | undefined = had && hadPool && ok(hadPool, had) ? { ip: had, pool: hadPool } : undefined;
      if (!got && h.key)
        for (const [ip, holders] of used) {
          const pool = candidates.find((p) => p.ranges.some((r) => ipToInt(ip) >= r.first && ipToInt(ip) <= r.last));
          if (pool && holders.some((o) => o.key === h.key) && ok(pool, ip)) {
            got = { ip, pool };
            break;
          }
        }
      for (const pool of got ? [] : candidates) {
        for (const r of pool.ranges) {
          for (let n = r.first; n <= r.last && !got; n++) if (ok(pool, intToIp(n)) && !used.has(intToIp(n))) got = { ip: intToIp(n), pool };
          if (got) break;
        }
        if (got) break;
      }
      if (!got) return;
      take(got.ip, h);
      s.loadBalancerIPs = [got.ip];
      s.loadBalancerPool = got.pool.name;
    },
  };
}
