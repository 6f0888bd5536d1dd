/**
 * Go's time.ParseDuration, as metav1.Duration decodes it: an optional sign, then one or more
 * decimal numbers each with a unit (ns, us, µs, ms, s, m, h), e.g. "300ms", "1h2m3.5s"; "0" alone.
 * Returns milliseconds (fractions kept), or undefined for text Go would refuse.
 */
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseGoDuration(text: string): number | undefined {
  const m = /^([-+]?)(.*)$/.exec(text)!;
  const sign = m[1] === '-' ? -1 : 1;
  const body = m[2]!;
  if (body === '0') return 0;
  if (body === '') return undefined;
  let total = 0;
  let rest = body;
  while (rest.length) {
    const part = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!part) return undefined;
    total += Number(part[1]) * UNIT_MS[part[2]!]!;
    rest = rest.slice(part[0].length);
  }
  return sign * total;
}

/** A duration as Go prints it for the common whole values ("30s", "1m0s", "24h0m0s", "250ms"). */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  const h = Math.floor(s / 3600);
  const min = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h}h${min}m${sec}s`;
  if (min) return `${min}m${sec}s`;
  return `${sec}s`;
}
