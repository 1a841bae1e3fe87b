import { logGamma, normalQuantile } from "../compile/functions.js";
import type { Distribution } from "../model/distribution.js";

/**
 * Params are drawn by inverse transform: value = quantile(u) for one uniform u per param and run. One uniform
 * per param keeps draws aligned across scenarios, and stratified designs (Latin hypercube) need nothing more.
 */
export function quantile(d: Distribution, u: number): number {
  switch (d.kind) {
    case "fixed":
      return d.value;
    case "normal":
      return d.mean + d.sd * normalQuantile(u);
    case "lognormal":
      return Math.exp(d.mu + d.sigma * normalQuantile(u));
    case "uniform":
      return d.min + (d.max - d.min) * u;
    case "beta":
      return betaQuantile(u, d.alpha, d.beta);
    case "triangular": {
      const { min, mode, max } = d;
      const width = max - min;
      const split = (mode - min) / width;
      return u < split
        ? min + Math.sqrt(u * width * (mode - min))
        : max - Math.sqrt((1 - u) * width * (max - mode));
    }
    case "pert": {
      const { min, mode, max } = d;
      const width = max - min;
      const a = 1 + (4 * (mode - min)) / width;
      const b = 1 + (4 * (max - mode)) / width;
      return min + width * betaQuantile(u, a, b);
    }
  }
}

/** Continued fraction for the incomplete beta function (modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b): the Beta(a, b) CDF at x. */
export function betaCdf(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  const front = Math.exp(lnFront);
  // The continued fraction converges fast for x below the mean; use the symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** Beta quantile by safeguarded bisection on the CDF (monotone, so always converges; ~1e-15 in x). */
export function betaQuantile(u: number, a: number, b: number): number {
  let lo = 0;
  let hi = 1;
  let x = a / (a + b);
  for (let i = 0; i < 200; i++) {
    const f = betaCdf(x, a, b) - u;
    if (f === 0) return x;
    if (f < 0) lo = x;
    else hi = x;
    // Newton step when it stays inside the bracket, bisection otherwise.
    const lnPdf =
      (a - 1) * Math.log(x) + (b - 1) * Math.log(1 - x) + logGamma(a + b) - logGamma(a) - logGamma(b);
    const pdf = Math.exp(lnPdf);
    let next = pdf > 0 ? x - f / pdf : Number.NaN;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - x) < 1e-15 || hi - lo < 1e-15) return next;
    x = next;
  }
  return x;
}
