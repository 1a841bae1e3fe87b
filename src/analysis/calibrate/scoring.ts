import { normalCdf } from "../../compile/functions.js";
import { sortedQuantile } from "../stats.js";

/**
 * Proper scoring of probabilistic forecasts, period by period: the forecast is a sample (the runs' values at
 * that period, at full resolution) or a normal distribution (the naive baselines); the observation is one
 * number. Scores are oriented as usual: CRPS lower is better, the log score (log predictive density) higher.
 */

const SQRT_PI = Math.sqrt(Math.PI);
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** Ascending copy of a sample. */
export function sortedCopy(sample: ArrayLike<number>): Float64Array {
  return Float64Array.from(sample).sort();
}

/**
 * CRPS of the sample's empirical distribution at y: E|X − y| − ½E|X − X'|, with the pair term in O(n) on the
 * sorted sample (Σᵢ Σⱼ |xᵢ − xⱼ| = 2 Σᵢ (2i − n + 1) x₍ᵢ₎, 0-based).
 */
export function crpsSorted(sorted: ArrayLike<number>, y: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  let absErr = 0;
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    const x = sorted[i]!;
    absErr += Math.abs(x - y);
    pairs += (2 * i - n + 1) * x;
  }
  return absErr / n - pairs / (n * n);
}

export function crpsSample(sample: ArrayLike<number>, y: number): number {
  return crpsSorted(sortedCopy(sample), y);
}

/** CRPS of N(mu, sd²) at y in closed form (Gneiting & Raftery 2007, eq. 21); sd 0 is a point forecast. */
export function crpsNormal(mu: number, sd: number, y: number): number {
  if (sd === 0) return Math.abs(y - mu);
  const z = (y - mu) / sd;
  const pdf = Math.exp(-0.5 * z * z - LOG_SQRT_2PI);
  return sd * (z * (2 * normalCdf(z) - 1) + 2 * pdf - 1 / SQRT_PI);
}

export function logDensityNormal(mu: number, sd: number, y: number): number {
  const z = (y - mu) / sd;
  return -0.5 * z * z - Math.log(sd) - LOG_SQRT_2PI;
}

/**
 * Log score of a sample at y: the log density of a Gaussian kernel estimate with Silverman's rule-of-thumb
 * bandwidth (0.9 · min(sd, IQR/1.34) · n^(−1/5)). −Infinity when the sample is a single point other than y.
 */
export function logScoreSorted(sorted: ArrayLike<number>, y: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += sorted[i]!;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (sorted[i]! - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  const iqr = (sortedQuantile(sorted, 0.75) - sortedQuantile(sorted, 0.25)) / 1.34;
  const spread = iqr > 0 ? Math.min(sd, iqr) : sd;
  const h = 0.9 * spread * n ** -0.2;
  if (!(h > 0)) return sorted[0] === y ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  // log Σ exp(terms), shifted by the largest term so far-off observations do not underflow to log 0.
  let best = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) best = Math.max(best, -0.5 * ((y - sorted[i]!) / h) ** 2);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(-0.5 * ((y - sorted[i]!) / h) ** 2 - best);
  return best + Math.log(sum / n) - Math.log(h) - LOG_SQRT_2PI;
}

/** PIT of y under the sample: P(X < y) + ½P(X = y) (the mid-PIT, so ties do not bias it). */
export function pitSorted(sorted: ArrayLike<number>, y: number): number {
  const n = sorted.length;
  let below = 0;
  let equal = 0;
  for (let i = 0; i < n; i++) {
    const x = sorted[i]!;
    if (x < y) below++;
    else if (x === y) equal++;
  }
  return (below + 0.5 * equal) / n;
}

/** Whether y lies in the sample's central interval of the given level (0.5 → 25%–75% quantiles). */
export function inCentralInterval(sorted: ArrayLike<number>, y: number, level: number): boolean {
  return y >= sortedQuantile(sorted, (1 - level) / 2) && y <= sortedQuantile(sorted, (1 + level) / 2);
}

/** The scores of one forecast period. `error` is the forecast's mean minus the observation. */
export interface PeriodScore {
  crps: number;
  logScore: number;
  in50: boolean;
  in90: boolean;
  pit: number;
  error: number;
}

export function scoreSample(sample: ArrayLike<number>, y: number): PeriodScore {
  const sorted = sortedCopy(sample);
  let mean = 0;
  for (let i = 0; i < sorted.length; i++) mean += sorted[i]!;
  mean /= sorted.length;
  return {
    crps: crpsSorted(sorted, y),
    logScore: logScoreSorted(sorted, y),
    in50: inCentralInterval(sorted, y, 0.5),
    in90: inCentralInterval(sorted, y, 0.9),
    pit: pitSorted(sorted, y),
    error: mean - y,
  };
}

/** z of the upper end of a central normal interval: Φ⁻¹(0.75) and Φ⁻¹(0.95). */
const Z75 = 0.6744897501960817;
const Z95 = 1.6448536269514722;

export function scoreNormal(mu: number, sd: number, y: number): PeriodScore {
  const pit = sd > 0 ? normalCdf((y - mu) / sd) : y > mu ? 1 : y < mu ? 0 : 0.5;
  return {
    crps: crpsNormal(mu, sd, y),
    logScore: sd > 0 ? logDensityNormal(mu, sd, y) : y === mu ? Infinity : -Infinity,
    in50: Math.abs(y - mu) <= Z75 * sd,
    in90: Math.abs(y - mu) <= Z95 * sd,
    pit,
    error: mu - y,
  };
}

/** Scores over many periods: means, interval coverage, the PIT histogram and the bias (mean error). */
export interface ScoreSummary {
  periods: number;
  crps: number;
  logScore: number;
  coverage50: number;
  coverage90: number;
  /** Counts of PIT values in `bins` equal bins of [0, 1]. */
  pitHistogram: number[];
  bias: number;
}

export function summarizeScores(scores: readonly PeriodScore[], bins = 10): ScoreSummary {
  const n = scores.length;
  const mean = (f: (s: PeriodScore) => number) => scores.reduce((a, s) => a + f(s), 0) / n;
  const pitHistogram = new Array<number>(bins).fill(0);
  for (const s of scores) pitHistogram[Math.min(bins - 1, Math.floor(s.pit * bins))]!++;
  return {
    periods: n,
    crps: mean((s) => s.crps),
    logScore: mean((s) => s.logScore),
    coverage50: mean((s) => Number(s.in50)),
    coverage90: mean((s) => Number(s.in90)),
    pitHistogram,
    bias: mean((s) => s.error),
  };
}

// ---- naive baselines ----------------------------------------------------------------------------------

export type Baseline = { kind: "persistence" } | { kind: "mean"; k: number } | { kind: "drift" };

/**
 * A naive forecast h periods past the end of `history` (equally spaced observations), as a normal
 * distribution whose sd comes from the method's own one-step residuals over the history:
 * - persistence (random walk): mean y_T, sd σ√h, σ² the mean squared one-step change;
 * - mean of the last k: their mean, sd s·√(1 + 1/k), s their sample sd (iid values around a fixed level);
 * - drift: y_T + h·b with b = (y_T − y_1)/(T − 1), sd σ√(h(1 + h/(T − 1))), σ the sd of the one-step
 *   changes about b — the random walk's h innovations plus h times the error of the estimated drift.
 * Undefined when the history is too short for the method (fewer than 2 values, or k).
 */
export function naiveForecast(
  history: readonly number[],
  h: number,
  baseline: Baseline,
): { mean: number; sd: number } | undefined {
  const n = history.length;
  const last = history[n - 1]!;
  switch (baseline.kind) {
    case "persistence": {
      if (n < 2) return undefined;
      let ss = 0;
      for (let i = 1; i < n; i++) ss += (history[i]! - history[i - 1]!) ** 2;
      return { mean: last, sd: Math.sqrt((ss / (n - 1)) * h) };
    }
    case "mean": {
      const k = baseline.k;
      if (n < k || k < 2) return undefined;
      const tail = history.slice(n - k);
      const m = tail.reduce((a, b) => a + b, 0) / k;
      const s2 = tail.reduce((a, b) => a + (b - m) ** 2, 0) / (k - 1);
      return { mean: m, sd: Math.sqrt(s2 * (1 + 1 / k)) };
    }
    case "drift": {
      if (n < 3) return undefined;
      const b = (last - history[0]!) / (n - 1);
      let ss = 0;
      for (let i = 1; i < n; i++) ss += (history[i]! - history[i - 1]! - b) ** 2;
      const s2 = ss / (n - 2);
      return { mean: last + h * b, sd: Math.sqrt(s2 * h * (1 + h / (n - 1))) };
    }
  }
}
