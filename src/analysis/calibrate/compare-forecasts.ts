import { studentTQuantile } from "../stats.js";

/** A score as a comparison reads it. */
export interface ScoreOf {
  forecaster: string;
  crps: number;
}

/** What a comparison reads of a backtest period (BacktestPeriod has all of it). */
export interface ScoredPeriod<S extends ScoreOf = ScoreOf> {
  series: string;
  origin: string;
  at: string;
  t: number;
  scores: readonly S[];
}

/**
 * Is the model's forecast better than a baseline's, or only luckier? A backtest's mean CRPS over a few dozen
 * periods moves with the periods that happened, so each difference is reported with an interval: a
 * Diebold-Mariano comparison of the model's and the baseline's CRPS on the same periods (Diebold & Mariano
 * 1995), with the two dependences a rolling-origin backtest has built in. Periods forecast from one origin share
 * that origin's calibration and filtered state; and when origins' forecast windows overlap, the forecasts of one
 * month from different origins share that month's surprise. So the variance of the mean difference is clustered
 * both ways (Cameron, Gelbach & Miller 2011): by origin plus by observation time minus by the pair (each period
 * alone), each with its G/(G − 1) factor; and the critical value is Student's t with the smaller number of
 * clusters − 1 degrees of freedom. test/compare-forecasts.test.ts simulates backtests shaped like the flagship's
 * (8 origins three months apart, horizons of 3, 6 and 13 months): 94-96% coverage with origin luck, monthly
 * surprises or both, where clustering by origin alone covers 80% once windows overlap; monthly surprises that are
 * themselves correlated from month to month (AR(1), 0.7) bring it to about 89%. With 8 origins this is a rough
 * interval: what it can say is whether a gap is larger than the backtest's luck.
 */

export interface ForecastComparison {
  series: string;
  baseline: string;
  periods: number;
  /** Origins with at least one period here: one way of clustering. */
  origins: number;
  /** Distinct observation times among the periods: the other. */
  times: number;
  /** Model's mean CRPS − the baseline's over the same periods: negative when the model is better. */
  difference: number;
  /**
   * 95% interval of the difference; null with fewer than two origins, with no spread to measure (every origin
   * the same difference) or when a score is not finite (the difference is then ±Infinity or NaN).
   */
  lo: number | null;
  hi: number | null;
}

/**
 * For every series and every baseline in `forecasters` (the model first): the paired difference of mean CRPS
 * over the periods both scored, with its 95% interval (see above). `periods` may be any subset of a backtest's
 * periods — a horizon's, say.
 */
export function compareForecasters(
  periods: readonly ScoredPeriod[],
  forecasters: readonly string[],
): ForecastComparison[] {
  const [model, ...baselines] = forecasters;
  if (model === undefined) return [];
  const seriesNames = [...new Set(periods.map((p) => p.series))];
  return seriesNames.flatMap((series) =>
    baselines.flatMap((baseline) => {
      const pairs = periods.flatMap((p) => {
        if (p.series !== series) return [];
        const a = p.scores.find((s) => s.forecaster === model)?.crps;
        const b = p.scores.find((s) => s.forecaster === baseline)?.crps;
        return a !== undefined && b !== undefined ? [{ origin: p.origin, t: p.t, d: a - b }] : [];
      });
      if (!pairs.length) return [];
      return [{ series, baseline, ...pairedInterval(pairs) }];
    }),
  );
}

/** The mean of the differences and its interval, clustered by origin and by observation time. */
function pairedInterval(
  pairs: { origin: string; t: number; d: number }[],
): Omit<ForecastComparison, "series" | "baseline"> {
  const n = pairs.length;
  const mean = pairs.reduce((a, p) => a + p.d, 0) / n;
  // The cluster-robust variance of the mean with clusters given by `key`, and the number of clusters.
  const clustered = (key: (p: { origin: string; t: number }) => string | number) => {
    const sums = new Map<string | number, number>();
    for (const p of pairs) {
      const k = key(p);
      sums.set(k, (sums.get(k) ?? 0) + p.d - mean);
    }
    const g = sums.size;
    let s = 0;
    for (const u of sums.values()) s += u * u;
    return { variance: g > 1 ? (g / (g - 1)) * (s / (n * n)) : Number.NaN, clusters: g };
  };
  const byOrigin = clustered((p) => p.origin);
  const byTime = clustered((p) => p.t);
  const alone = clustered((p) => `${p.origin}\u0000${p.t}`);
  const counts = { periods: n, origins: byOrigin.clusters, times: byTime.clusters, difference: mean };
  const none = { ...counts, lo: null, hi: null };
  const df = Math.min(byOrigin.clusters, byTime.clusters) - 1;
  if (df < 1 || !Number.isFinite(mean)) return none;
  let variance = byOrigin.variance + byTime.variance - alone.variance;
  // The two-way sum can come out negative in small samples; then the larger one-way variance (CGM's advice).
  if (!(variance > 0)) variance = Math.max(byOrigin.variance, byTime.variance);
  if (!(variance > 0)) return none;
  const half = studentTQuantile(0.975, df) * Math.sqrt(variance);
  return { ...counts, lo: mean - half, hi: mean + half };
}

/** Which forecaster the interval favours, in words: the model, the baseline, or neither when it spans 0. */
export function comparisonVerdict(c: ForecastComparison): string {
  if (c.lo === null || c.hi === null) {
    if (c.origins < 2) return "one origin: no interval";
    if (c.times < 2) return "one date: no interval";
    if (!Number.isFinite(c.difference)) return "a score is not finite";
    return "no spread: no interval";
  }
  if (c.hi < 0) return "the model";
  if (c.lo > 0) return c.baseline;
  return "neither";
}

/**
 * Two backtests of the same series, origins and horizon (a model and a variant of it, say) as one set of periods
 * scored by two forecasters, `first` and `second` (their models' forecasts; the baselines are dropped), on the
 * periods both scored — ready for compareForecasters(…, [first, second]).
 */
export function pairBacktests<S extends ScoreOf>(
  first: readonly ScoredPeriod<S>[],
  second: readonly ScoredPeriod<S>[],
  names: readonly [string, string],
): ScoredPeriod<S>[] {
  const key = (p: ScoredPeriod<S>) => `${p.series}\u0000${p.origin}\u0000${p.at}`;
  const model = (p: ScoredPeriod<S>) => p.scores.find((s) => s.forecaster === "model");
  const others = new Map(second.map((p) => [key(p), model(p)]));
  return first.flatMap((p) => {
    const a = model(p);
    const b = others.get(key(p));
    return a && b
      ? [
          {
            ...p,
            scores: [
              { ...a, forecaster: names[0] },
              { ...b, forecaster: names[1] },
            ],
          },
        ]
      : [];
  });
}
