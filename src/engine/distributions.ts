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
      return betaQuantileOf(u, shapeOf(d, d.alpha, d.beta));
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
      return min + width * betaQuantileOf(u, shapeOf(d, a, b));
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

/**
 * What a Beta(a, b) quantile needs besides x, computed once per shape: log Γ(a + b) − log Γ(a) − log Γ(b) (the
 * log of 1/B(a, b)) and the switch point of the continued fraction.
 */
interface BetaShape {
  a: number;
  b: number;
  /** log Γ(a + b) − log Γ(a) − log Γ(b). */
  lnInvBeta: number;
  /** Below this x the continued fraction for I_x(a, b) converges fast; above it, that for 1 − I_x. */
  split: number;
  /** x and dx/du at u = i / GUESS_NODES, i = 0 … GUESS_NODES, interleaved (cubic Hermite first guesses). */
  table: Float64Array;
}

/**
 * A shape with its first-guess table, built when the shape is first used (a fraction of a millisecond). Every
 * draw of the shape then starts from the table, so a draw's value depends on u alone — not on how many draws
 * came before in this thread — and runs stay the same whatever the workers and chunks.
 */
function betaShape(a: number, b: number): BetaShape {
  const shape: BetaShape = {
    a,
    b,
    lnInvBeta: logGamma(a + b) - logGamma(a) - logGamma(b),
    split: (a + 1) / (a + b + 2),
    table: new Float64Array(2 * (GUESS_NODES + 1)),
  };
  fillGuessTable(shape);
  return shape;
}

/** Intervals of the first-guess table. */
const GUESS_NODES = 256;

/**
 * The quantile function at u = i / GUESS_NODES and its slope 1 / pdf: one full solve per node, after which a draw
 * in the inner intervals starts within about 1e-6 of its answer and needs a Halley step or two.
 */
function fillGuessTable(s: BetaShape): void {
  const table = s.table;
  for (let i = 1; i < GUESS_NODES; i++) {
    const x = solveBeta(i / GUESS_NODES, s, betaGuess(i / GUESS_NODES, s.a, s.b));
    table[2 * i] = x;
    table[2 * i + 1] = 1 / Math.exp((s.a - 1) * Math.log(x) + (s.b - 1) * Math.log(1 - x) + s.lnInvBeta);
  }
}

/** A first guess from the table (cubic Hermite between nodes), or NaN in the outer intervals, where x(u) is steep. */
function tableGuess(u: number, table: Float64Array): number {
  const t = u * GUESS_NODES;
  const i = Math.floor(t);
  if (i < 1 || i >= GUESS_NODES - 1) return Number.NaN;
  const f = t - i;
  const h = 1 / GUESS_NODES;
  const x0 = table[2 * i]!;
  const m0 = table[2 * i + 1]! * h;
  const x1 = table[2 * i + 2]!;
  const m1 = table[2 * i + 3]! * h;
  const f2 = f * f;
  const f3 = f2 * f;
  return (2 * f3 - 3 * f2 + 1) * x0 + (f3 - 2 * f2 + f) * m0 + (-2 * f3 + 3 * f2) * x1 + (f3 - f2) * m1;
}

/** Shapes by distribution, so a param's draws compute its log-gamma constants once, not in every iteration. */
const SHAPES = new WeakMap<Distribution, BetaShape>();
/** Shapes by (a, b) for `betaQuantile` callers, a few kept. */
const SHAPES_BY_VALUE = new Map<string, BetaShape>();

function shapeOf(d: Distribution, a: number, b: number): BetaShape {
  let shape = SHAPES.get(d);
  if (shape === undefined) {
    shape = betaShape(a, b);
    SHAPES.set(d, shape);
  }
  return shape;
}

/** I_x(a, b) for 0 < x < 1, with the shape's constants. */
function regularisedBeta(x: number, s: Pick<BetaShape, "a" | "b" | "lnInvBeta" | "split">): number {
  const front = Math.exp(s.lnInvBeta + s.a * Math.log(x) + s.b * Math.log(1 - x));
  if (x < s.split) return (front * betaContinuedFraction(x, s.a, s.b)) / s.a;
  return 1 - (front * betaContinuedFraction(1 - x, s.b, s.a)) / s.b;
}

/** The regularised incomplete beta function I_x(a, b): the Beta(a, b) CDF at x. */
export function betaCdf(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnInvBeta = logGamma(a + b) - logGamma(a) - logGamma(b);
  return regularisedBeta(x, { a, b, lnInvBeta, split: (a + 1) / (a + b + 2) });
}

/** Beta quantile: the x with I_x(a, b) = u (to ~1e-15 in x); the same number `quantile` draws for beta(a, b). */
export function betaQuantile(u: number, a: number, b: number): number {
  const key = `${a},${b}`;
  let shape = SHAPES_BY_VALUE.get(key);
  if (shape === undefined) {
    if (SHAPES_BY_VALUE.size >= 64) SHAPES_BY_VALUE.clear();
    shape = betaShape(a, b);
    SHAPES_BY_VALUE.set(key, shape);
  }
  return betaQuantileOf(u, shape);
}

/**
 * A first guess at the Beta(a, b) quantile (Numerical Recipes, 3rd ed., §6.14: a normal approximation for
 * a, b ≥ 1, the tails' power laws otherwise), close enough that Halley's method needs a few steps.
 */
function betaGuess(u: number, a: number, b: number): number {
  if (a >= 1 && b >= 1) {
    const pp = u < 0.5 ? u : 1 - u;
    const t = Math.sqrt(-2 * Math.log(pp));
    let z = (2.30753 + t * 0.27061) / (1 + t * (0.99229 + t * 0.04481)) - t;
    if (u < 0.5) z = -z;
    const al = (z * z - 3) / 6;
    const h = 2 / (1 / (2 * a - 1) + 1 / (2 * b - 1));
    const w = (z * Math.sqrt(al + h)) / h - (1 / (2 * b - 1) - 1 / (2 * a - 1)) * (al + 5 / 6 - 2 / (3 * h));
    return a / (a + b * Math.exp(2 * w));
  }
  const lna = Math.log(a / (a + b));
  const lnb = Math.log(b / (a + b));
  const t = Math.exp(a * lna) / a;
  const v = Math.exp(b * lnb) / b;
  const w = t + v;
  return u < t / w ? (a * w * u) ** (1 / a) : 1 - (b * w * (1 - u)) ** (1 / b);
}

/**
 * Halley's method on I_x(a, b) − u from a close first guess, inside a bracket that every CDF evaluation narrows;
 * a step that would leave the bracket bisects it instead, so it always converges (the CDF is monotone).
 */
function betaQuantileOf(u: number, s: BetaShape): number {
  if (!(u > 0)) return 0;
  if (!(u < 1)) return 1;
  const guess = tableGuess(u, s.table);
  return solveBeta(u, s, guess > 0 && guess < 1 ? guess : betaGuess(u, s.a, s.b));
}

function solveBeta(u: number, s: BetaShape, guess: number): number {
  const { a, b } = s;
  const a1 = a - 1;
  const b1 = b - 1;
  let lo = 0;
  let hi = 1;
  let x = guess > 0 && guess < 1 ? guess : 0.5;
  for (let i = 0; i < 200; i++) {
    // I_x(a, b) as regularisedBeta computes it, its front factor kept for the density (front / (x (1 − x))).
    const front = Math.exp(s.lnInvBeta + a * Math.log(x) + b * Math.log(1 - x));
    const cdf =
      x < s.split
        ? (front * betaContinuedFraction(x, a, b)) / a
        : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
    const f = cdf - u;
    if (f === 0) return x;
    if (f < 0) lo = x;
    else hi = x;
    const pdf = front / (x * (1 - x));
    const newton = f / pdf;
    // Halley's correction (f''/f' = (a−1)/x − (b−1)/(1−x)), damped as Numerical Recipes does.
    let next = x - newton / (1 - 0.5 * Math.min(1, newton * (a1 / x - b1 / (1 - x))));
    // A step below the last bit of x: converged.
    if (next === x) return x;
    // Halley from a close guess converges in a few steps; past that (a guess far off in a steep tail, where its
    // steps crawl), bisection finishes the job.
    const halley = i < 8 && next > lo && next < hi;
    if (!halley) {
      next = (lo + hi) / 2;
      // The bracket is two neighbouring numbers: nothing between them to find.
      if (next === lo || next === hi) return next;
    }
    // Halley converges cubically: a step this small leaves an error far below one part in 1e15. The bracket's
    // width counts relative to the distance from the nearer end of [0, 1], where the tails need the digits.
    if (halley && Math.abs(next - x) <= 1e-7 * Math.min(x, 1 - x)) return next;
    if (hi - lo <= 1e-15 * Math.min(hi, 1 - lo)) return next;
    x = next;
  }
  return x;
}
