import { logGamma, normalQuantile } from "../compile/functions.js";

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

/**
 * P(T ≤ t) for Student's t with a whole number of degrees of freedom, in closed form: with θ = atan(t/√ν),
 * P(|T| ≤ t) is a finite series in sin θ and cos θ (Abramowitz & Stegun 26.7.3-4; odd ν adds 2θ/π).
 */
export function studentTCdf(t: number, df: number): number {
  if (!Number.isInteger(df) || df < 1)
    throw new RangeError(`degrees of freedom must be a whole number ≥ 1, not ${df}`);
  if (!Number.isFinite(t)) return t > 0 ? 1 : t < 0 ? 0 : Number.NaN;
  const theta = Math.atan(Math.abs(t) / Math.sqrt(df));
  const s = Math.sin(theta);
  const c2 = Math.cos(theta) ** 2;
  let inside: number;
  if (df % 2 === 0) {
    let term = 1;
    let sum = 1;
    for (let k = 2; k <= df - 2; k += 2) {
      term *= (c2 * (k - 1)) / k;
      sum += term;
    }
    inside = s * sum;
  } else {
    let sum = 0;
    if (df > 1) {
      let term = Math.cos(theta);
      sum = term;
      for (let k = 3; k <= df - 2; k += 2) {
        term *= (c2 * (k - 1)) / k;
        sum += term;
      }
    }
    inside = (2 / Math.PI) * (theta + s * sum);
  }
  return t >= 0 ? 0.5 + 0.5 * inside : 0.5 - 0.5 * inside;
}

/**
 * The p-quantile of Student's t with a whole number of degrees of freedom: closed forms for 1 and 2, otherwise
 * the Cornish-Fisher start (A&S 26.7.5), alone above 10⁴ degrees of freedom (where it is exact to ~1e-12), else
 * polished by Newton steps on `studentTCdf` kept inside a bracket of the root (a step that leaves it bisects).
 * The upper half is solved and the lower mirrored, so the CDF is never used where it cancels; accurate to ~1e-9
 * for p in [1e-6, 1 − 1e-6], and ±Infinity where p rounds to 0 or 1.
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1))
    return p === 0 ? Number.NEGATIVE_INFINITY : p === 1 ? Number.POSITIVE_INFINITY : Number.NaN;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  if (p === 0.5) return 0;
  if (df === 1) return Math.tan(Math.PI * (p - 0.5));
  if (df === 2) return (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
  const z = normalQuantile(p);
  const z2 = z * z;
  let t =
    z +
    (z * (z2 + 1)) / (4 * df) +
    (z * ((5 * z2 + 16) * z2 + 3)) / (96 * df ** 2) +
    (z * (((3 * z2 + 19) * z2 + 17) * z2 - 15)) / (384 * df ** 3);
  if (df > 1e4) return t;
  let lo = 0;
  let hi = Math.max(1, 2 * t);
  while (studentTCdf(hi, df) < p && hi < 1e300) hi *= 2;
  if (!(t > lo && t < hi)) t = 0.5 * (lo + hi);
  const logNorm = logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI);
  for (let i = 0; i < 200; i++) {
    const excess = studentTCdf(t, df) - p;
    if (excess > 0) hi = t;
    else lo = t;
    const density = Math.exp(logNorm - ((df + 1) / 2) * Math.log1p((t * t) / df));
    let next = t - excess / density;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    const done = Math.abs(next - t) <= 1e-13 * Math.max(1, Math.abs(t));
    t = next;
    if (done) break;
  }
  return t;
}
