import { studentTQuantile } from "../stats.js";
import type { BacktestPeriod } from "./backtest.js";

/**
 * Is the model's forecast better than a baseline's, or only luckier? A backtest's mean CRPS over a few dozen
 * periods moves with the periods that happened, so each difference is reported with an interval: a
 * Diebold-Mariano comparison of the model's and the baseline's CRPS on the same periods (Diebold & Mariano
 * 1995), with the dependence a rolling-origin backtest has built in. Periods forecast from one origin share that
 * origin's calibration and state, so they are one cluster; and origins whose forecast windows overlap score the
 * same months, so neighbouring clusters correlate. The variance of the mean difference is therefore the clusters'
 * (origins') sums with Bartlett-weighted cross terms up to the number of later origins that overlap (a Newey-West
 * variance over origins, as Driscoll & Kraay do over time), and the interval uses Student's t with origins − 1
 * degrees of freedom, since the clusters, not the periods, are the sample. With 8 origins this is a rough
 * interval, not a fine one: what it can say is whether a gap is larger than the backtest's own luck.
 */

export interface ForecastComparison {
  series: string;
  baseline: string;
  periods: number;
  /** Origins with at least one period here: the clusters. */
  origins: number;
  /** Model's mean CRPS − the baseline's over the same periods: negative when the model is better. */
  difference: number;
  /** 95% interval of the difference; null with fewer than two origins. */
  lo: number | null;
  hi: number | null;
  /** Bartlett lag of the variance over origins: how many later origins' scored periods overlap an origin's. */
  lag: number;
}

/** Student-t quantile for the two-sided 95% interval. */
const LEVEL = 0.975;

/**
 * For every series and every baseline in `forecasters` (the model first): the paired difference of mean CRPS
 * over the periods both scored, with its 95% interval (see above). `periods` may be any subset of a backtest's
 * periods — a horizon's, say.
 */
export function compareForecasters(
  periods: readonly BacktestPeriod[],
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
        return a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b)
          ? [{ origin: p.origin, t: p.t, d: a - b }]
          : [];
      });
      if (!pairs.length) return [];
      return [{ series, baseline, ...pairedInterval(pairs) }];
    }),
  );
}

/** The mean of the differences and its interval, origins as clusters (in the order they first appear). */
function pairedInterval(
  pairs: { origin: string; t: number; d: number }[],
): Omit<ForecastComparison, "series" | "baseline"> {
  const clusters = new Map<string, { sum: number; n: number; first: number; last: number }>();
  for (const { origin, t, d } of pairs) {
    const c = clusters.get(origin) ?? { sum: 0, n: 0, first: t, last: t };
    c.sum += d;
    c.n += 1;
    c.first = Math.min(c.first, t);
    c.last = Math.max(c.last, t);
    clusters.set(origin, c);
  }
  const list = [...clusters.values()].sort((a, b) => a.first - b.first);
  const n = pairs.length;
  const g = list.length;
  const mean = list.reduce((a, c) => a + c.sum, 0) / n;
  // Later origins whose first scored period comes before this origin's last one.
  const lag = Math.min(
    g - 1,
    Math.max(0, ...list.map((c, i) => list.slice(i + 1).filter((later) => later.first <= c.last).length)),
  );
  if (g < 2) return { periods: n, origins: g, difference: mean, lo: null, hi: null, lag };
  const u = list.map((c) => c.sum - c.n * mean);
  let s = u.reduce((a, x) => a + x * x, 0);
  for (let l = 1; l <= lag; l++) {
    const w = 1 - l / (lag + 1);
    for (let i = l; i < g; i++) s += 2 * w * u[i]! * u[i - l]!;
  }
  const se = Math.sqrt(Math.max(0, (g / (g - 1)) * s)) / n;
  const half = studentTQuantile(LEVEL, g - 1) * se;
  return { periods: n, origins: g, difference: mean, lo: mean - half, hi: mean + half, lag };
}

/** Which forecaster the interval favours, in words: the model, the baseline, or neither when it spans 0. */
export function comparisonVerdict(c: ForecastComparison): string {
  if (c.lo === null || c.hi === null) return "one origin: no interval";
  if (c.hi < 0) return "the model";
  if (c.lo > 0) return c.baseline;
  return "neither (interval spans 0)";
}
