/** z for a two-sided 95% interval. */
export const Z975 = 1.959963984540054;

/** Wilson score interval for a binomial proportion (the default 95%). */
export function wilson(successes: number, n: number, z = Z975): { p: number; lo: number; hi: number } {
  if (n === 0) return { p: Number.NaN, lo: 0, hi: 1 };
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // At 0 or n successes the bound is exactly 0 or 1; rounding would leave a 1e-19 there.
  return {
    p,
    lo: successes === 0 ? 0 : Math.max(0, centre - half),
    hi: successes === n ? 1 : Math.min(1, centre + half),
  };
}

/** Quantile of sorted data by linear interpolation between order statistics (R's type 7). */
export function sortedQuantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
