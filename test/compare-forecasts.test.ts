import { describe, expect, it } from "vitest";
import type { BacktestPeriod } from "../src/analysis/calibrate/backtest.js";
import {
  type CoverageOf,
  compareForecasters,
  comparisonVerdict,
  coverageIntervals,
  pairBacktests,
  type ScoredPeriod,
} from "../src/analysis/calibrate/compare-forecasts.js";
import { studentTCdf, studentTQuantile } from "../src/analysis/stats.js";
import { normalQuantile } from "../src/compile/functions.js";
import { hashUniform } from "../src/engine/rng.js";

const gauss = (seed: number, i: number, k: number) => normalQuantile(hashUniform(seed, i, k));

/** A scored period: only what the comparison reads is filled in. */
function period(series: string, origin: string, t: number, crps: Record<string, number>): BacktestPeriod {
  return {
    series,
    origin,
    at: String(t),
    t,
    lead: 1,
    observed: 0,
    forecast: { mean: 0, q05: 0, q25: 0, q50: 0, q75: 0, q95: 0, runs: 1 },
    scores: Object.entries(crps).map(([forecaster, c]) => ({
      forecaster,
      crps: c,
      logScore: 0,
      in50: true,
      in90: true,
      pit: 0.5,
      error: 0,
    })),
  };
}

describe("Student's t", () => {
  it("gives the tables' quantiles for small and large degrees of freedom", () => {
    // Two-sided 95% critical values (any statistics table) and one 90% value.
    const table: [number, number, number][] = [
      [0.975, 1, 12.7062],
      [0.975, 2, 4.3027],
      [0.975, 3, 3.1824],
      [0.975, 4, 2.7764],
      [0.975, 5, 2.5706],
      [0.975, 7, 2.3646],
      [0.975, 10, 2.2281],
      [0.975, 30, 2.0423],
      [0.975, 120, 1.9799],
      [0.95, 4, 2.1318],
    ];
    for (const [p, df, t] of table) {
      expect(studentTQuantile(p, df)).toBeCloseTo(t, 3);
      expect(studentTQuantile(1 - p, df)).toBeCloseTo(-t, 3);
    }
  });

  it("its CDF and quantile invert each other, and the CDF is Φ in the limit", () => {
    for (const df of [1, 2, 3, 6, 9, 25, 200]) {
      for (const p of [0.01, 0.2, 0.5, 0.8, 0.995])
        expect(studentTCdf(studentTQuantile(p, df), df)).toBeCloseTo(p, 10);
    }
    expect(studentTCdf(1.96, 5000)).toBeCloseTo(0.975, 3);
    expect(studentTCdf(0, 7)).toBe(0.5);
    expect(() => studentTCdf(1, 2.5)).toThrow(/whole number/);
  });

  it("stays finite, ordered and continuous out to the tails and past 10⁴ degrees of freedom", () => {
    for (const df of [3, 10, 31, 1000, 9999]) {
      const qs = [1e-12, 1e-6, 0.01, 0.5, 0.99, 1 - 1e-6].map((p) => studentTQuantile(p, df));
      expect(qs.every(Number.isFinite)).toBe(true);
      for (let i = 1; i < qs.length; i++) expect(qs[i]!).toBeGreaterThan(qs[i - 1]!);
    }
    // A&S 26.7.5 alone above 10⁴ meets the polished values below it.
    expect(studentTQuantile(0.975, 10_001) / studentTQuantile(0.975, 10_000) - 1).toBeLessThan(1e-9);
    // scipy.stats.t.ppf(1e-6, 3).
    expect(studentTQuantile(1e-6, 3)).toBeCloseTo(-103.2995, 3);
    expect(studentTQuantile(0, 5)).toBe(Number.NEGATIVE_INFINITY);
  });
});

describe("the model against a baseline, with origins as the sample", () => {
  it("the difference is the difference of the mean CRPS over the periods both scored", () => {
    const periods = [
      period("y", "a", 1, { model: 1, persistence: 3, drift: 2 }),
      period("y", "a", 2, { model: 2, persistence: 3, drift: 1 }),
      period("y", "b", 3, { model: 4, persistence: 1, drift: 2 }),
      // The baseline could not forecast this one: left out of the pair, not of the series.
      period("y", "b", 4, { model: 9 }),
      period("z", "a", 1, { model: 5, persistence: 5, drift: 5 }),
    ];
    const c = compareForecasters(periods, ["model", "persistence", "drift"]);
    expect(c.map((x) => [x.series, x.baseline, x.periods, x.origins])).toEqual([
      ["y", "persistence", 3, 2],
      ["y", "drift", 3, 2],
      ["z", "persistence", 1, 1],
      ["z", "drift", 1, 1],
    ]);
    expect(c[0]!.difference).toBeCloseTo((1 + 2 + 4) / 3 - (3 + 3 + 1) / 3, 12);
    expect(c[1]!.difference).toBeCloseTo((1 + 2 + 4) / 3 - (2 + 1 + 2) / 3, 12);
    // One origin: no interval, and the words say so.
    expect(c[2]).toMatchObject({ difference: 0, lo: null, hi: null });
    expect(comparisonVerdict(c[2]!)).toMatch(/no interval/);
  });

  it("with equal origins that share no month, the interval is the t interval of the origins' means", () => {
    // 6 origins, 4 periods each, a window of 4 steps every 10: no month forecast twice.
    const periods: BacktestPeriod[] = [];
    const originMeans: number[] = [];
    for (let o = 0; o < 6; o++) {
      let sum = 0;
      for (let k = 0; k < 4; k++) {
        const d = 0.3 + gauss(5, o, k);
        sum += d;
        periods.push(period("y", `o${o}`, 10 * o + k, { model: 10 + d, persistence: 10 }));
      }
      originMeans.push(sum / 4);
    }
    const [c] = compareForecasters(periods, ["model", "persistence"]);
    const m = originMeans.reduce((a, b) => a + b, 0) / 6;
    const sd = Math.sqrt(originMeans.reduce((a, b) => a + (b - m) ** 2, 0) / 5);
    const half = studentTQuantile(0.975, 5) * (sd / Math.sqrt(6));
    expect(c!.times).toBe(24);
    expect(c!.difference).toBeCloseTo(m, 12);
    expect(c!.lo).toBeCloseTo(m - half, 10);
    expect(c!.hi).toBeCloseTo(m + half, 10);
  });

  it("counts the observation times, which cluster the forecasts of one month from overlapping origins", () => {
    // Windows of 12 steps every 5 from 5 origins: 32 distinct times.
    const periods = Array.from({ length: 5 }, (_, o) =>
      Array.from({ length: 12 }, (_, k) => period("y", `o${o}`, 5 * o + k, { model: k % 3, persistence: 1 })),
    ).flat();
    expect(compareForecasters(periods, ["model", "persistence"])[0]).toMatchObject({
      periods: 60,
      origins: 5,
      times: 32,
    });
  });

  it("covers about 95% in backtests shaped like the flagship's, where months are shared across origins", () => {
    // 8 origins three months apart, 13 monthly leads: each month is forecast from up to 5 origins. The
    // differences carry a month's surprise (shared by every origin that forecasts it) besides noise.
    const trials = 1000;
    let covered = 0;
    for (let r = 0; r < trials; r++) {
      const periods: BacktestPeriod[] = [];
      for (let o = 0; o < 8; o++)
        for (let k = 1; k <= 13; k++) {
          const t = 3 * o + k;
          periods.push(
            period("y", `o${o}`, t, {
              model: -0.5 + gauss(21, r, t) + 0.3 * gauss(22, r * 8 + o, k),
              persistence: 0,
            }),
          );
        }
      const [c] = compareForecasters(periods, ["model", "persistence"]);
      if (c!.lo! <= -0.5 && -0.5 <= c!.hi!) covered++;
    }
    // By origin alone this design covers about 80%.
    expect(covered / trials).toBeGreaterThan(0.925);
    expect(covered / trials).toBeLessThan(0.975);
  });

  it("the interval covers the true difference about 95% of the time when periods within an origin correlate", () => {
    // Each origin's periods share a random offset (its calibration's luck) besides their own noise; true mean
    // difference −0.5. The interval treats origins as the sample, so it covers nominally; one that treated the
    // 80 periods as independent would be far too narrow (checked below).
    const trials = 1000;
    let covered = 0;
    let naiveCovered = 0;
    for (let r = 0; r < trials; r++) {
      const periods: BacktestPeriod[] = [];
      const ds: number[] = [];
      for (let o = 0; o < 8; o++) {
        const shared = gauss(11, r, o);
        for (let k = 0; k < 10; k++) {
          const d = -0.5 + shared + 0.5 * gauss(12, r * 8 + o, k);
          ds.push(d);
          periods.push(period("y", `o${o}`, 20 * o + k, { model: d, persistence: 0 }));
        }
      }
      const [c] = compareForecasters(periods, ["model", "persistence"]);
      if (c!.lo! <= -0.5 && -0.5 <= c!.hi!) covered++;
      const m = ds.reduce((a, b) => a + b, 0) / ds.length;
      const se = Math.sqrt(ds.reduce((a, b) => a + (b - m) ** 2, 0) / (ds.length - 1) / ds.length);
      if (Math.abs(m + 0.5) <= 1.96 * se) naiveCovered++;
    }
    // Binomial sd at 0.95 over 1,000 trials: 0.007.
    expect(covered / trials).toBeGreaterThan(0.925);
    expect(covered / trials).toBeLessThan(0.975);
    expect(naiveCovered / trials).toBeLessThan(0.6);
  });

  it("gives no interval where there is no spread to measure or a score is not finite", () => {
    const same = ["a", "b", "c"].flatMap((o, i) => [
      period("y", o, 2 * i, { model: 1, persistence: 2 }),
      period("y", o, 2 * i + 1, { model: 3, persistence: 4 }),
    ]);
    const flat = compareForecasters(same, ["model", "persistence"])[0]!;
    expect(flat).toMatchObject({ difference: -1, lo: null, hi: null });
    expect(comparisonVerdict(flat)).toBe("no spread: no interval");
    const blown = [...same, period("y", "c", 9, { model: Number.POSITIVE_INFINITY, persistence: 1 })];
    expect(compareForecasters(blown, ["model", "persistence"])[0]).toMatchObject({
      periods: 7,
      difference: Number.POSITIVE_INFINITY,
      lo: null,
      hi: null,
    });
    expect(comparisonVerdict(compareForecasters(blown, ["model", "persistence"])[0]!)).toBe(
      "a score is not finite",
    );
  });

  it("gives a finite interval when the scores are finite but their squares overflow (a run that ran away)", () => {
    const periods = (scale: number) =>
      ["a", "b", "c", "d"].flatMap((o, i) =>
        [0, 1, 2].map((k) =>
          period("y", o, 3 * i + k, { model: scale * (2 + gauss(11, i, k)), persistence: 0 }),
        ),
      );
    const plain = compareForecasters(periods(1), ["model", "persistence"])[0]!;
    const huge = compareForecasters(periods(1e290), ["model", "persistence"])[0]!;
    expect(Number.isFinite(huge.lo) && Number.isFinite(huge.hi)).toBe(true);
    expect(huge.difference / 1e290).toBeCloseTo(plain.difference, 10);
    expect(huge.lo! / 1e290).toBeCloseTo(plain.lo!, 8);
    expect(huge.hi! / 1e290).toBeCloseTo(plain.hi!, 8);
    expect(comparisonVerdict(huge)).toBe(comparisonVerdict(plain));
  });

  it("names the better forecaster only when the interval excludes 0", () => {
    const base = { series: "y", baseline: "persistence", periods: 8, origins: 4, times: 8 };
    expect(comparisonVerdict({ ...base, difference: -2, lo: -3, hi: -1 })).toBe("the model");
    // Against another model (--against), this one is named as such.
    expect(comparisonVerdict({ ...base, difference: -2, lo: -3, hi: -1 }, "this model")).toBe("this model");
    expect(comparisonVerdict({ ...base, difference: 2, lo: 1, hi: 3 })).toBe("persistence");
    expect(comparisonVerdict({ ...base, difference: -1, lo: -3, hi: 1 })).toMatch(/neither/);
  });

  it("pairs two backtests' model forecasts period by period, for a model against its variant", () => {
    const a = [
      period("y", "o1", 1, { model: 2, persistence: 9 }),
      period("y", "o1", 2, { model: 4, persistence: 9 }),
      period("y", "o2", 2, { model: 6, persistence: 9 }),
    ];
    // The variant has no forecast of the last period; it has one the first backtest lacks.
    const b = [
      period("y", "o1", 1, { model: 1, persistence: 9 }),
      period("y", "o1", 2, { model: 5, persistence: 9 }),
      period("y", "o3", 5, { model: 0, persistence: 9 }),
    ];
    const paired = pairBacktests(a, b, ["base", "variant"]);
    expect(paired.map((p) => [p.origin, p.t, p.scores.map((s) => [s.forecaster, s.crps])])).toEqual([
      [
        "o1",
        1,
        [
          ["base", 2],
          ["variant", 1],
        ],
      ],
      [
        "o1",
        2,
        [
          ["base", 4],
          ["variant", 5],
        ],
      ],
    ]);
    expect(compareForecasters(paired, ["base", "variant"])[0]).toMatchObject({ periods: 2, difference: 0 });
  });
});

describe("coverage with an interval that allows for shared origins and months", () => {
  /** A flagship-shaped backtest (8 origins three months apart, `leads` monthly leads) whose hits come from a
   * latent normal z: a month's surprise (weight wm, shared by every origin forecasting it), the origin's luck
   * (wo) and the period's own noise; inside the 90% (50%) interval when |z| < 1.645 (0.674), so the true
   * coverage is 0.9 (0.5). */
  const design = (r: number, wm: number, wo: number, leads = 13) => {
    const periods: ScoredPeriod<CoverageOf>[] = [];
    for (let o = 0; o < 8; o++)
      for (let k = 1; k <= leads; k++) {
        const t = 3 * o + k;
        const z =
          Math.sqrt(wm) * gauss(31, r, t) +
          Math.sqrt(wo) * gauss(32, r, o) +
          Math.sqrt(1 - wm - wo) * gauss(33, r * 8 + o, k);
        periods.push({
          series: "y",
          origin: `o${o}`,
          at: String(t),
          t,
          scores: [{ forecaster: "model", crps: 0, in50: Math.abs(z) < 0.6745, in90: Math.abs(z) < 1.6449 }],
        });
      }
    return periods;
  };

  it("covers the true coverage about 95% of the time, where a plain binomial interval would not", () => {
    for (const [wm, wo] of [
      [0.5, 0.3],
      [0, 0.7],
    ] as const) {
      const trials = 1000;
      let covered = 0;
      let naive = 0;
      for (let r = 0; r < trials; r++) {
        const [c] = coverageIntervals(design(r, wm, wo), ["model"]);
        const [lo, hi] = c!.interval90!;
        if (lo <= 0.9 && 0.9 <= hi) covered++;
        // Wilson at the 104 periods as if they were independent.
        const p = c!.coverage90;
        const n = c!.periods;
        const z2n = 1.96 ** 2 / n;
        const centre = (p + z2n / 2) / (1 + z2n);
        const half = (1.96 / (1 + z2n)) * Math.sqrt((p * (1 - p)) / n + z2n / (4 * n));
        if (centre - half <= 0.9 && 0.9 <= centre + half) naive++;
      }
      // Measured: 0.955 and 0.908, against 0.82 and 0.60 for the plain interval (rough with 8 origins).
      expect(covered / trials, `months ${wm}, origins ${wo}`).toBeGreaterThan(0.88);
      expect(covered / trials, `months ${wm}, origins ${wo}`).toBeLessThan(0.99);
      expect(naive / trials, `months ${wm}, origins ${wo}`).toBeLessThan(0.87);
    }
  });

  it("reports both coverages, and an interval from the clusters when every period is inside", () => {
    const periods = design(3, 0.5, 0.3);
    const [c] = coverageIntervals(periods, ["model"]);
    const inside = (f: (s: CoverageOf) => boolean) =>
      periods.filter((p) => f(p.scores[0]!)).length / periods.length;
    expect(c).toMatchObject({ series: "y", forecaster: "model", periods: 104, origins: 8, times: 34 });
    expect(c!.coverage50).toBe(inside((s) => s.in50));
    expect(c!.coverage90).toBe(inside((s) => s.in90));
    expect(c!.interval50![0]).toBeLessThan(c!.coverage50);
    expect(c!.interval50![1]).toBeGreaterThan(c!.coverage50);
    // All inside: no spread to measure the dependence, so each of the 8 origins counts once — a wide interval
    // below 1 (Wilson at n = 8 with t at 7 df), not the point 1.
    const all = periods.map((p) => ({ ...p, scores: [{ ...p.scores[0]!, in90: true }] }));
    const [full] = coverageIntervals(all, ["model"]);
    expect(full!.coverage90).toBe(1);
    expect(full!.interval90![1]).toBe(1);
    expect(full!.interval90![0]).toBeGreaterThan(0.5);
    expect(full!.interval90![0]).toBeLessThan(0.8);
    // One origin: no interval.
    const one = periods.filter((p) => p.origin === "o0");
    expect(coverageIntervals(one, ["model"])[0]!.interval90).toBeNull();
  });
});
