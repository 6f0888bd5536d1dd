/**
 * Kubernetes resource quantities ("100m", "0.5", "128Mi", "1e3"): parsing cpu to millicores and memory
 * to bytes, and formatting them back. Values are computed exactly (as BigInt fractions) and rounded up,
 * as the API server rounds a quantity to the precision it is stored with.
 */

const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_SUFFIX: Record<string, number> = { m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

// Binary suffixes come first in the alternation so "Mi" is not read as "M"; "1E" is exa, "1E3" an exponent.
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;
// Past this a decimal exponent makes the value overflow a double (or round up to the smallest unit).
const MAX_EXPONENT = 400;

/** ceil(q × 10^scale), or undefined when q is not a quantity, is negative or is too large. */
function parseScaled(q: string | number, scale: number): number | undefined {
  const m = QUANTITY.exec(typeof q === 'number' ? String(q) : q);
  if (!m) return undefined;
  const [, sign, number, suffix, exponent] = m;
  const [whole, fraction = ''] = number!.split('.');
  const mantissa = BigInt((whole ?? '') + fraction || '0');
  if (mantissa === 0n) return 0;
  if (sign === '-') return undefined;
  const binary = suffix !== undefined && suffix in BINARY_SUFFIX ? BINARY_SUFFIX[suffix]! : 0;
  const decimalSuffix = suffix !== undefined && suffix in DECIMAL_SUFFIX ? DECIMAL_SUFFIX[suffix]! : 0;
  const exp = (exponent === undefined ? 0 : Number(exponent)) + decimalSuffix + scale - fraction.length;
  if (exp > MAX_EXPONENT) return undefined;
  if (exp < -MAX_EXPONENT) return 1;
  let num = mantissa << BigInt(binary);
  let den = 1n;
  if (exp >= 0) num *= 10n ** BigInt(exp);
  else den = 10n ** BigInt(-exp);
  const value = Number((num + den - 1n) / den);
  return Number.isFinite(value) ? value : undefined;
}

/** A cpu quantity in millicores ("100m" → 100, "0.5" → 500, 2 → 2000). */
export function parseCpu(q: string | number): number | undefined {
  return parseScaled(q, 3);
}

/** A memory quantity in bytes ("128Mi", "1G", "129e6", "1000m" → 1). */
export function parseMemory(q: string | number): number | undefined {
  return parseScaled(q, 0);
}

/** Bytes in the largest binary unit that divides them exactly (134217728 → "128Mi", 1500 → "1500"). */
export function formatMemory(bytes: number): string {
  for (const [suffix, shift] of Object.entries(BINARY_SUFFIX).reverse()) {
    const unit = 2 ** shift;
    if (bytes !== 0 && bytes % unit === 0) return `${bytes / unit}${suffix}`;
  }
  return String(bytes);
}

/** Millicores as Kubernetes prints them: whole cores plain ("2"), the rest in m ("1500m"). */
export function formatCpu(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}
