/**
 * Pure numeric functions shared by the compiled kernel and the reference interpreter. They take no state
 * but their arguments, so both backends call the very same code and differ only in how equations are evaluated.
 */

// Wichura, Algorithm AS 241 (Applied Statistics 37(3), 1988): the standard normal quantile to ~1e-16.
const A = [
  3.387132872796366608, 133.14166789178437745, 1971.5909503065514427, 13731.693765509461125,
  45921.953931549871457, 67265.770927008700853, 33430.575583588128105, 2509.0809287301226727,
];
const B = [
  1, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077, 21213.794301586595867,
  39307.89580009271061, 28729.085735721942674, 5226.495278852854561,
];
const C = [
  1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055, 3.64784832476320460504,
  1.27045825245236838258, 0.24178072517745061177, 0.0227238449892691845833, 7.7454501427834140764e-4,
];
const D = [
  1, 2.05319162663775882187, 1.6763848301838038494, 0.68976733498510000455, 0.14810397642748007459,
  0.0151986665636164571966, 5.475938084995344946e-4, 1.05075007164441684324e-9,
];
const E = [
  6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358, 0.29656057182850489123,
  0.026532189526576123093, 0.0012426609473880784386, 2.71155556874348757815e-5, 2.01033439929228813265e-7,
];
const F = [
  1, 0.59983220655588793769, 0.13692988092273580531, 0.0148753612908506148525, 7.868691311456132591e-4,
  1.8463183175100546818e-5, 1.4215117583164458887e-7, 2.04426310338993978564e-15,
];

function poly(c: number[], x: number): number {
  let s = 0;
  for (let i = c.length - 1; i >= 0; i--) s = s * x + c[i]!;
  return s;
}

/** Φ⁻¹(p): the standard normal quantile. ±Infinity at 0 and 1. */
export function normalQuantile(p: number): number {
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (q * poly(A, r)) / poly(B, r);
  }
  let r = q < 0 ? p : 1 - p;
  if (r <= 0) return q < 0 ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  r = Math.sqrt(-Math.log(r));
  const z = r <= 5 ? poly(C, r - 1.6) / poly(D, r - 1.6) : poly(E, r - 5) / poly(F, r - 5);
  return q < 0 ? -z : z;
}

/** Φ(x), the standard normal CDF (via erfc, accurate to ~1e-15 relative in the body). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Complementary error function: a Chebyshev fit with fractional error below 1.2e-7 everywhere, enough for
 * CDFs in tests and reports.
 * Never used in the hot path. */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

// Lanczos approximation (g = 7, n = 9), |error| < 1e-15 for x > 0.5.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const xx = x - 1;
  let a = LANCZOS[0]!;
  const t = xx + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (xx + i);
  return 0.5 * Math.log(2 * Math.PI) + (xx + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Independent seeded uniform streams, one per random call site or `rate` trigger; draws lie in (0, 1). */
export interface RandomStreams {
  uniform(site: number): number;
}

/**
 * A Poisson draw. Small means invert the CDF with one uniform; large means use Hörmann's PTRS
 * transformed rejection (1993), which needs a few uniforms but is exact.
 */
export function poissonDraw(mean: number, rs: RandomStreams, site: number): number {
  if (!(mean > 0)) return mean === 0 ? 0 : Number.NaN;
  if (mean < 30) {
    let k = 0;
    let p = Math.exp(-mean);
    let cdf = p;
    const x = rs.uniform(site);
    while (x > cdf && k < 1000) {
      k++;
      p *= mean / k;
      cdf += p;
    }
    return k;
  }
  const slam = Math.sqrt(mean);
  const loglam = Math.log(mean);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const U = rs.uniform(site) - 0.5;
    const V = rs.uniform(site);
    const us = 0.5 - Math.abs(U);
    const k = Math.floor(((2 * a) / us + b) * U + mean + 0.43);
    if (us >= 0.07 && V <= vr) return k;
    if (k < 0 || (us < 0.013 && V > us)) continue;
    if (
      Math.log(V) + Math.log(invalpha) - Math.log(a / (us * us) + b) <=
      -mean + k * loglam - logGamma(k + 1)
    ) {
      return k;
    }
  }
}

/**
 * A gamma draw with the given shape and scale 1: Marsaglia & Tsang's squeeze-and-reject (2000) for shape ≥ 1,
 * and for shape < 1 a shape + 1 draw times U^(1/shape) (their boost). Exact; about 1.05 normals and
 * uniforms per draw from shape 1 up.
 */
export function gammaDraw(shape: number, rs: RandomStreams, site: number): number {
  if (!(shape > 0) || shape === Number.POSITIVE_INFINITY) return Number.NaN;
  if (shape < 1) return gammaDraw(shape + 1, rs, site) * rs.uniform(site) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normalQuantile(rs.uniform(site));
    const t = 1 + c * x;
    if (t <= 0) continue;
    const v = t * t * t;
    const u = rs.uniform(site);
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
  }
}

// Per-step draws, one function per random builtin so the kernel calls them without allocating argument arrays.
// Arguments outside a draw's domain (the registry's rules in builtins.ts) give NaN, which fails the run.
export const randomUniform = (rs: RandomStreams, s: number, a: number, b: number): number =>
  a <= b ? a + (b - a) * rs.uniform(s) : Number.NaN;
export const randomNormal = (rs: RandomStreams, s: number, m: number, sd: number): number =>
  sd >= 0 ? m + sd * normalQuantile(rs.uniform(s)) : Number.NaN;
export const randomLognormal = (rs: RandomStreams, s: number, mu: number, sigma: number): number =>
  sigma >= 0 ? Math.exp(mu + sigma * normalQuantile(rs.uniform(s))) : Number.NaN;
export const randomExponential = (rs: RandomStreams, s: number, mean: number): number =>
  mean >= 0 ? -mean * Math.log(rs.uniform(s)) : Number.NaN;
export const randomBernoulli = (rs: RandomStreams, s: number, p: number): number =>
  p >= 0 && p <= 1 ? (rs.uniform(s) < p ? 1 : 0) : Number.NaN;
export const randomPoisson = (rs: RandomStreams, s: number, mean: number): number => poissonDraw(mean, rs, s);
export const randomGamma = (rs: RandomStreams, s: number, shape: number, scale: number): number =>
  scale >= 0 ? scale * gammaDraw(shape, rs, s) : Number.NaN;
/** Student's t: a normal over the root of an independent chi-square(df)/df, itself a gamma(df/2, 2)/df. */
export const randomStudentT = (rs: RandomStreams, s: number, df: number): number => {
  if (!(df > 0)) return Number.NaN;
  const z = normalQuantile(rs.uniform(s));
  return df === Number.POSITIVE_INFINITY ? z : z / Math.sqrt((2 * gammaDraw(df / 2, rs, s)) / df);
};

export const xidz = (a: number, b: number, x: number): number => (b === 0 ? x : a / b);
export const zidz = (a: number, b: number): number => (b === 0 ? 0 : a / b);
export const safediv = (a: number, b: number, x?: number): number => (b === 0 ? (x ?? 0) : a / b);

/** Probability that a hazard `rate` (per time unit) fires within one step of length dt. */
export const hazardProbability = (rate: number, dt: number): number => 1 - Math.exp(-rate * dt);

/**
 * How many times a repeating `rate` event fires in one step: N ~ Poisson(rate·dt). The first uniform decides
 * N ≥ 1 exactly as a terminal outcome decides to fire (u < 1 − exp(−rate·dt)), so a step with at most one
 * firing draws what it always drew. Given N ≥ 1, small means invert the upper tail with that same uniform
 * (N = the largest n with u < P(N ≥ n)); large means (≥ 30) redraw with PTRS until N ≥ 1, which is exact
 * for the zero-truncated law. Both backends call this one function, so they stay bit-identical.
 */
export function eventFirings(rate: number, dt: number, rs: RandomStreams, site: number): number {
  const u = rs.uniform(site);
  let tail = hazardProbability(rate, dt);
  if (!(u < tail)) return 0;
  const mean = rate * dt;
  if (mean >= 30) {
    for (;;) {
      const n = poissonDraw(mean, rs, site);
      if (n >= 1) return n;
    }
  }
  let term = Math.exp(-mean) * mean; // P(N = 1)
  for (let n = 1; ; n++) {
    const next = tail - term; // P(N ≥ n + 1)
    if (!(u < next)) return n;
    // Past the mode, once a term no longer moves the tail what is left is rounding, not probability.
    if (next === tail && n > mean) return n;
    tail = next;
    term *= mean / (n + 1);
  }
}

/** The tolerance used when comparing the clock with a scheduled time, so k·dt rounding never skips a step. */
const TIME_EPS = 1e-9;

/**
 * Whether a variable clock (`time.clock`) saves at `elapsed` time units after the start, with saving period
 * `per` and step `h`: when elapsed is a multiple of per, within a billionth of a step either way.
 */
export function saveDue(elapsed: number, per: number, h: number): boolean {
  const r = elapsed % per;
  return r < TIME_EPS * h || per - r < TIME_EPS * h;
}

export function stepFn(t: number, dt: number, height: number, start: number): number {
  return t >= start - TIME_EPS * dt ? height : 0;
}

export function rampFn(t: number, dt: number, slope: number, start: number, end?: number): number {
  if (t < start - TIME_EPS * dt) return 0;
  const upTo = end !== undefined && t > end ? end : t;
  return slope * (upTo - start);
}

/** XMILE PULSE: magnitude/dt for the one step at `first` (and every `interval` after it, if > 0). */
export function pulseFn(t: number, dt: number, magnitude: number, first: number, interval?: number): number {
  if (t < first - TIME_EPS * dt) return 0;
  if (interval === undefined || !(interval > 0)) return Math.abs(t - first) < dt / 2 ? magnitude / dt : 0;
  const since = (t - first) % interval;
  return since < dt / 2 - TIME_EPS * dt || interval - since < dt / 2 ? magnitude / dt : 0;
}

/** A graphical function: points sorted by x; values outside the range clamp (or extrapolate). */
export interface Table {
  xs: Float64Array;
  ys: Float64Array;
  type: "continuous" | "extrapolate" | "discrete";
}

export function lookupFn(table: Table, x: number): number {
  const { xs, ys } = table;
  const n = xs.length;
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= xs[0]!) {
    if (table.type === "extrapolate" && n > 1 && x < xs[0]!) {
      return ys[0]! + ((ys[1]! - ys[0]!) * (x - xs[0]!)) / (xs[1]! - xs[0]!);
    }
    return ys[0]!;
  }
  if (x >= xs[n - 1]!) {
    if (table.type === "extrapolate" && n > 1 && x > xs[n - 1]!) {
      return ys[n - 1]! + ((ys[n - 1]! - ys[n - 2]!) * (x - xs[n - 1]!)) / (xs[n - 1]! - xs[n - 2]!);
    }
    return ys[n - 1]!;
  }
  // Binary search for the segment [xs[lo], xs[lo+1]] containing x.
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! <= x) lo = mid;
    else hi = mid;
  }
  if (table.type === "discrete") return ys[lo]!;
  const x0 = xs[lo]!;
  const x1 = xs[hi]!;
  if (x1 === x0) return ys[hi]!;
  return ys[lo]! + ((ys[hi]! - ys[lo]!) * (x - x0)) / (x1 - x0);
}

export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

export const clamp = (x: number, lo: number, hi: number): number => Math.min(Math.max(x, lo), hi);

/**
 * How much of `request` a demand profile takes at priority level x (Vensim's ALLOCATE AVAILABLE profiles, as
 * its documentation defines them): 1 rectangular, 2 triangular, 3 normal, 4 exponential, each centred on
 * `priority` with spread `width`; all of it at low x, none at high x. NaN for another profile or a width ≤ 0.
 */
function profileDemand(request: number, profile: number, priority: number, width: number, x: number): number {
  if (!(width > 0)) return Number.NaN;
  const d = x - priority;
  switch (Math.round(profile)) {
    case 1:
      return d <= -width / 2 ? request : d < width / 2 ? request * (0.5 - d / width) : 0;
    case 2:
      if (d <= -width / 2) return request;
      if (d < 0) return request * (1 - (2 * (d + width / 2) ** 2) / width ** 2);
      return d < width / 2 ? (2 * request * (width / 2 - d) ** 2) / width ** 2 : 0;
    case 3:
      return request * 0.5 * erfc(d / (Math.SQRT2 * width));
    case 4:
      return d < 0 ? request * (1 - 0.5 * Math.exp(d / width)) : request * 0.5 * Math.exp(-d / width);
    default:
      return Number.NaN;
  }
}

/**
 * Vensim's ALLOCATE AVAILABLE: what the i-th (from 1) of several requesters gets of `supply`, each described by
 * four numbers (request, profile, priority, width). Everyone gets their request when the supply covers it all
 * (negative requests count as 0); otherwise the priority level x at which the profiles' demands add up to the
 * supply is found by bisection (the total falls as x rises), and the i-th gets its demand at x.
 */
export function allocateAvailable(i: number, supply: number, ...requesters: number[]): number {
  const n = requesters.length / 4;
  const k = Math.round(i) - 1;
  if (!Number.isInteger(n) || !(k >= 0 && k < n) || Number.isNaN(supply)) return Number.NaN;
  const request = (j: number) => Math.max(0, requesters[4 * j]!);
  let all = 0;
  for (let j = 0; j < n; j++) all += request(j);
  if (supply >= all) return request(k);
  if (supply <= 0) return 0;
  const total = (x: number) => {
    let sum = 0;
    for (let j = 0; j < n; j++)
      if (request(j) > 0)
        sum += profileDemand(
          request(j),
          requesters[4 * j + 1]!,
          requesters[4 * j + 2]!,
          requesters[4 * j + 3]!,
          x,
        );
    return sum;
  };
  // Every demand is whole 40 widths below its priority and nothing 40 widths above (exp(-40) ≈ 4e-18).
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < n; j++) {
    if (request(j) <= 0) continue;
    lo = Math.min(lo, requesters[4 * j + 2]! - 40 * requesters[4 * j + 3]!);
    hi = Math.max(hi, requesters[4 * j + 2]! + 40 * requesters[4 * j + 3]!);
  }
  if (Number.isNaN(total(lo))) return Number.NaN;
  for (let step = 0; step < 200; step++) {
    const mid = (lo + hi) / 2;
    if (mid <= lo || mid >= hi) break;
    if (total(mid) > supply) lo = mid;
    else hi = mid;
  }
  return request(k) > 0
    ? profileDemand(
        request(k),
        requesters[4 * k + 1]!,
        requesters[4 * k + 2]!,
        requesters[4 * k + 3]!,
        (lo + hi) / 2,
      )
    : 0;
}
