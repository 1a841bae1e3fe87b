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

/**
 * The mean of per-period values and the two-way cluster-robust variance of that mean (by origin, by observation
 * time, minus by the pair; CGM's fallback to the larger one-way variance when the sum is not positive), with the
 * degrees of freedom of its t interval (the fewer clusters − 1).
 */
function clusteredMean(values: readonly { origin: string; t: number; v: number }[]): {
  mean: number;
  variance: number;
  periods: number;
  origins: number;
  times: number;
  df: number;
} {
  const n = values.length;
  const mean = values.reduce((a, p) => a + p.v, 0) / n;
  // The cluster-robust variance of the mean with clusters given by `key`, and the number of clusters.
  const clustered = (key: (p: { origin: string; t: number }) => string | number) => {
    const sums = new Map<string | number, number>();
    for (const p of values) {
      const k = key(p);
      sums.set(k, (sums.get(k) ?? 0) + p.v - mean);
    }
    const g = sums.size;
    let s = 0;
    for (const u of sums.values()) s += u * u;
    return { variance: g > 1 ? (g / (g - 1)) * (s / (n * n)) : Number.NaN, clusters: g };
  };
  const byOrigin = clustered((p) => p.origin);
  const byTime = clustered((p) => p.t);
  const alone = clustered((p) => `${p.origin}\u0000${p.t}`);
  let variance = byOrigin.variance + byTime.variance - alone.variance;
  // The two-way sum can come out negative in small samples; then the larger one-way variance (CGM's advice).
  if (!(variance > 0)) variance = Math.max(byOrigin.variance, byTime.variance);
  return {
    mean,
    variance,
    periods: n,
    origins: byOrigin.clusters,
    times: byTime.clusters,
    df: Math.min(byOrigin.clusters, byTime.clusters) - 1,
  };
}

/** The mean of the differences and its interval, clustered by origin and by observation time. */
function pairedInterval(
  pairs: { origin: string; t: number; d: number }[],
): Omit<ForecastComparison, "series" | "baseline"> {
  const m = clusteredMean(pairs.map((p) => ({ origin: p.origin, t: p.t, v: p.d })));
  const counts = { periods: m.periods, origins: m.origins, times: m.times, difference: m.mean };
  if (m.df < 1 || !Number.isFinite(m.mean) || !(m.variance > 0)) return { ...counts, lo: null, hi: null };
  // A run that ran away scores ~1e290, whose square overflows: then the spread is measured on the differences
  // divided by the largest of them and scaled back, so the interval is finite (and wide), not ±Infinity.
  let sd = Math.sqrt(m.variance);
  if (!Number.isFinite(sd)) {
    const scale = Math.max(...pairs.map((p) => Math.abs(p.d)));
    sd =
      scale *
      Math.sqrt(clusteredMean(pairs.map((p) => ({ origin: p.origin, t: p.t, v: p.d / scale }))).variance);
  }
  const half = studentTQuantile(0.975, m.df) * sd;
  return { ...counts, lo: m.mean - half, hi: m.mean + half };
}

/** A score with the coverage flags a coverage interval reads. */
export interface CoverageOf extends ScoreOf {
  in50: boolean;
  in90: boolean;
}

export interface CoverageInterval {
  series: string;
  forecaster: string;
  periods: number;
  origins: number;
  times: number;
  /** The share of periods whose observation fell inside the forecaster's central 50% or 90% interval. */
  coverage50: number;
  coverage90: number;
  /** 95% intervals of those shares (see coverageIntervals); null with fewer than two origins or dates. */
  interval50: [number, number] | null;
  interval90: [number, number] | null;
}

/**
 * How sure is a coverage? A backtest's 90% coverage of, say, 0.98 over 89 periods is far less certain than 87
 * independent hits out of 89 would be: an origin's periods share its calibration, and overlapping origins share a
 * month. Each share gets a Wilson interval (Wilson 1927) at the effective sample size the dependence leaves —
 * n_eff = p(1 − p) / V, with V the two-way cluster-robust variance of the share (as for the CRPS differences),
 * at most the number of periods — and Student's t with the fewer clusters − 1 degrees of freedom for z. When
 * every period is inside (or none is) the share has no spread to measure the dependence by, so n_eff is the
 * smaller number of clusters (each origin or month counted once): conservative.
 */
export function coverageIntervals(
  periods: readonly ScoredPeriod<CoverageOf>[],
  forecasters: readonly string[],
): CoverageInterval[] {
  const seriesNames = [...new Set(periods.map((p) => p.series))];
  return seriesNames.flatMap((series) =>
    forecasters.flatMap((forecaster) => {
      const hits = periods.flatMap((p) => {
        if (p.series !== series) return [];
        const s = p.scores.find((x) => x.forecaster === forecaster);
        return s ? [{ origin: p.origin, t: p.t, in50: s.in50, in90: s.in90 }] : [];
      });
      if (!hits.length) return [];
      const share = (inside: (h: (typeof hits)[number]) => boolean) => {
        const m = clusteredMean(hits.map((h) => ({ origin: h.origin, t: h.t, v: inside(h) ? 1 : 0 })));
        return { m, interval: m.df < 1 ? null : wilsonClustered(m) };
      };
      const c50 = share((h) => h.in50);
      const c90 = share((h) => h.in90);
      return [
        {
          series,
          forecaster,
          periods: c90.m.periods,
          origins: c90.m.origins,
          times: c90.m.times,
          coverage50: c50.m.mean,
          coverage90: c90.m.mean,
          interval50: c50.interval,
          interval90: c90.interval,
        },
      ];
    }),
  );
}

function wilsonClustered(m: ReturnType<typeof clusteredMean>): [number, number] {
  const p = m.mean;
  const spread = p * (1 - p);
  const nEff =
    spread > 0 && m.variance > 0 ? Math.min(m.periods, spread / m.variance) : Math.min(m.origins, m.times);
  const z = studentTQuantile(0.975, m.df);
  const z2n = (z * z) / nEff;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt(spread / nEff + z2n / (4 * nEff));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Which forecaster the interval favours, in words: the model, the baseline, or neither when it spans 0. */
export function comparisonVerdict(c: ForecastComparison, model = "the model"): string {
  if (c.lo === null || c.hi === null) {
    if (c.origins < 2) return "one origin: no interval";
    if (c.times < 2) return "one date: no interval";
    if (!Number.isFinite(c.difference)) return "a score is not finite";
    return "no spread: no interval";
  }
  if (c.hi < 0) return model;
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
