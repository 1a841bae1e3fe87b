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
 * the Cornish-Fisher start (A&S 26.7.5) polished by Newton steps on `studentTCdf`.
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1))
    return p === 0 ? Number.NEGATIVE_INFINITY : p === 1 ? Number.POSITIVE_INFINITY : Number.NaN;
  if (df === 1) return Math.tan(Math.PI * (p - 0.5));
  if (df === 2) return (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
  if (df > 1e4) return normalQuantile(p);
  const z = normalQuantile(p);
  const z2 = z * z;
  let t =
    z +
    (z * (z2 + 1)) / (4 * df) +
    (z * ((5 * z2 + 16) * z2 + 3)) / (96 * df ** 2) +
    (z * (((3 * z2 + 19) * z2 + 17) * z2 - 15)) / (384 * df ** 3);
  const logNorm = logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI);
  for (let i = 0; i < 8; i++) {
    const density = Math.exp(logNorm - ((df + 1) / 2) * Math.log1p((t * t) / df));
    const step = (studentTCdf(t, df) - p) / density;
    t -= step;
    if (Math.abs(step) < 1e-12 * Math.max(1, Math.abs(t))) break;
  }
  return t;
}
