/**
 * The `--probability` value of the i-th of n endpoint rules is 1/(n−i), printed like Go's
 * fmt.Sprintf("%0.10f", 1.0/float64(n)): ten decimals, correctly rounded from the exact binary value,
 * with exact ties rounded half to even (JS toFixed rounds ties up, which differs only for n = 2048).
 */
const cache = new Map<number, string>();

export function computeProbability(n: number): string {
  const hit = cache.get(n);
  if (hit !== undefined) return hit;
  const value = 1 / n;
  let text = value.toFixed(10);
  // toFixed(30) is exact for every 1/n whose tail could be a tie (only dyadic values terminate early).
  const exact = value.toFixed(30);
  if (exact.slice(12) === `5${'0'.repeat(19)}`) {
    const truncated = exact.slice(0, 12);
    const lastDigit = Number(truncated.at(-1));
    text = lastDigit % 2 === 0 ? truncated : value.toFixed(10);
  }
  if (cache.size < 1001) cache.set(n, text);
  return text;
}
