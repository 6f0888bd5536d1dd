/** Read back the routes kemu owns in a namespace and bring them to the plan with one batch. */
import type { RoutePlan } from '../plan/types.js';
import { routeSpec } from '../plan/routes.js';
import { planHash } from '../plan/hash.js';
import { ipBatch, ipJson } from './run.js';

interface IpRoute {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  nexthops?: Array<{ gateway: string; dev: string }>;
}

const keyOf = (r: RoutePlan) => `${r.type} ${r.dst} ${r.via ?? ''} ${r.dev ?? ''} ${(r.nexthops ?? []).map((n) => `${n.via}@${n.dev}`).sort().join(',')}`;

function fromKernel(r: IpRoute): RoutePlan {
  if (r.type === 'blackhole') return { dst: r.dst, type: 'blackhole' };
  if (r.nexthops) return { dst: r.dst, type: 'unicast', nexthops: r.nexthops.map((n) => ({ via: n.gateway, dev: n.dev })) };
  return { dst: r.dst, type: 'unicast', via: r.gateway, dev: r.dev };
}

/**
 * syncRoutes, skipped when `built` (the lab record's) says this exact set was written last time and
 * nothing asks to look again (`fresh` namespace, or `verify` as `up` does). Records what it wrote.
 */
export async function syncRoutesIfChanged(built: Record<string, string>, netns: string, want: RoutePlan[], opts: { fresh?: boolean; verify?: boolean }): Promise<{ added: number; removed: number }> {
  const key = `routes:${netns}`;
  const hash = planHash(want);
  if (!opts.fresh && !opts.verify && built[key] === hash) return { added: 0, removed: 0 };
  const counts = await syncRoutes(netns, want, opts.fresh);
  built[key] = hash;
  return counts;
}

/**
 * Returns how many routes were added and removed. `fresh`: the namespace was just made, so there is
 * nothing of ours to read back.
 */
export async function syncRoutes(netns: string, want: RoutePlan[], fresh = false): Promise<{ added: number; removed: number }> {
  const have = fresh ? [] : (await ipJson<IpRoute[]>(netns, ['route', 'show', 'proto', 'static'])).map(fromKernel);
  const haveKeys = new Set(have.map(keyOf));
  const wantKeys = new Set(want.map(keyOf));
  const stale = have.filter((r) => !wantKeys.has(keyOf(r)));
  const missing = want.filter((r) => !haveKeys.has(keyOf(r)));
  await ipBatch(netns, [...stale.map((r) => `route del ${routeSpec(r)}`), ...missing.map((r) => `route replace ${routeSpec(r)}`)]);
  return { added: missing.length, removed: stale.length };
}
