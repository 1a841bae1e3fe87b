import { describe, expect, it } from "vitest";
import {
  crpsNormal,
  crpsSample,
  logDensityNormal,
  logScoreSorted,
  naiveForecast,
  type PeriodScore,
  pitSorted,
  scoreNormal,
  scoreSample,
  sortedCopy,
  summarizeScores,
} from "../src/analysis/calibrate/scoring.js";
import { normalCdf, normalQuantile } from "../src/compile/functions.js";
import { hashUniform } from "../src/engine/rng.js";

/** A deterministic "sample" of N(mu, sd²): its n quantiles at (i + ½)/n. */
function normalGrid(mu: number, sd: number, n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => mu + sd * normalQuantile((i + 0.5) / n));
}

/** ∫ f over [a, b] by the midpoint rule. */
function integrate(f: (x: number) => number, a: number, b: number, n = 100_000): number {
  const h = (b - a) / n;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += f(a + (i + 0.5) * h) * h;
  return sum;
}

/** CRPS by numerical integration of (F(x) − 1{x ≥ y})², the definition, split at the jump. */
function crpsByIntegration(cdf: (x: number) => number, y: number, lo: number, hi: number): number {
  return integrate((x) => cdf(x) ** 2, lo, y) + integrate((x) => (1 - cdf(x)) ** 2, y, hi);
}

/** The pairwise definition of the sample CRPS, O(n²). */
function crpsPairwise(xs: number[], y: number): number {
  const n = xs.length;
  let a = 0;
  let b = 0;
  for (const x of xs) a += Math.abs(x - y);
  for (const x of xs) for (const z of xs) b += Math.abs(x - z);
  return a / n - b / (2 * n * n);
}

describe("CRPS", () => {
  it("closed form for the normal matches the integral definition", () => {
    for (const [mu, sd, y] of [
      [0, 1, 0],
      [2, 0.5, 3.1],
      [-1, 3, -7],
    ] as const) {
      const integral = crpsByIntegration((x) => normalCdf((x - mu) / sd), y, mu - 12 * sd, mu + 12 * sd);
      expect(crpsNormal(mu, sd, y)).toBeCloseTo(integral, 6);
    }
  });

  it("from a sample equals the pairwise definition, and a hand-worked case", () => {
    expect(crpsSample([1, 2, 3], 2)).toBeCloseTo(2 / 9, 14);
    const xs = Array.from({ length: 57 }, (_, i) => normalQuantile(hashUniform(7, i, 1)) * 2 + 1);
    for (const y of [-3, 0.4, 1, 6]) expect(crpsSample(xs, y)).toBeCloseTo(crpsPairwise(xs, y), 12);
  });

  it("from a large sample converges to the normal closed form", () => {
    const sample = normalGrid(5, 2, 20_000);
    for (const y of [5, 1, 9.5]) expect(crpsSample(sample, y)).toBeCloseTo(crpsNormal(5, 2, y), 3);
  });

  it("of a point forecast is the absolute error", () => {
    expect(crpsSample([4, 4, 4], 1)).toBe(3);
    expect(crpsNormal(4, 0, 1)).toBe(3);
  });
});

describe("log score, PIT and interval coverage", () => {
  it("a kernel estimate over a large normal sample approaches the normal log density", () => {
    const sorted = sortedCopy(normalGrid(0, 1, 20_000));
    for (const y of [0, 1, -2]) expect(logScoreSorted(sorted, y)).toBeCloseTo(logDensityNormal(0, 1, y), 1);
  });

  it("PIT is the share of the sample below the observation, ties counted half", () => {
    expect(pitSorted([1, 2, 3, 4], 2.5)).toBe(0.5);
    expect(pitSorted([1, 2, 2, 4], 2)).toBe(0.5);
    expect(pitSorted([1, 2, 3, 4], 0)).toBe(0);
  });

  it("a calibrated forecast covers 50% and 90% of outcomes and has a flat PIT histogram", () => {
    const sample = normalGrid(0, 1, 2000);
    const scores: PeriodScore[] = [];
    const n = 4000;
    for (let i = 0; i < n; i++) scores.push(scoreSample(sample, normalQuantile(hashUniform(3, i, 9))));
    const s = summarizeScores(scores);
    // Binomial sd of a coverage over 4000 periods is at most 0.008: allow 4 of them.
    expect(Math.abs(s.coverage50 - 0.5)).toBeLessThan(0.032);
    expect(Math.abs(s.coverage90 - 0.9)).toBeLessThan(0.02);
    expect(Math.abs(s.bias)).toBeLessThan(4 / Math.sqrt(n));
    // χ² test of the PIT histogram against uniform, 9 degrees of freedom: the 0.999 quantile is 27.9.
    const expected = n / 10;
    const chi2 = s.pitHistogram.reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(27.9);
  });

  it("an overconfident forecast under-covers and its PIT piles up at the ends", () => {
    const sample = normalGrid(0, 0.3, 2000);
    const scores = Array.from({ length: 2000 }, (_, i) =>
      scoreSample(sample, normalQuantile(hashUniform(4, i, 9))),
    );
    const s = summarizeScores(scores);
    expect(s.coverage90).toBeLessThan(0.5);
    expect(s.pitHistogram[0]! + s.pitHistogram[9]!).toBeGreaterThan(0.5 * 2000);
  });

  it("normal forecasts score like the same forecast given as a large sample", () => {
    const a = scoreNormal(1, 2, 2.5);
    const b = scoreSample(normalGrid(1, 2, 20_000), 2.5);
    expect(a.crps).toBeCloseTo(b.crps, 3);
    expect(a.logScore).toBeCloseTo(b.logScore, 1);
    expect(a.pit).toBeCloseTo(b.pit, 3);
    expect([a.in50, a.in90]).toEqual([b.in50, b.in90]);
    expect(a.error).toBeCloseTo(b.error, 6);
  });
});

describe("naive baselines", () => {
  it("persistence: the last value, with the random walk's sd √h times the one-step rms change", () => {
    const f = naiveForecast([1, 3, 2, 5], 2, { kind: "persistence" })!;
    expect(f.mean).toBe(5);
    expect(f.sd).toBeCloseTo(Math.sqrt(((4 + 1 + 9) / 3) * 2), 12);
  });

  it("mean of the last k, with sd s·√(1 + 1/k)", () => {
    const f = naiveForecast([10, 1, 2, 3, 4, 5], 7, { kind: "mean", k: 3 })!;
    expect(f.mean).toBe(4);
    expect(f.sd).toBeCloseTo(Math.sqrt(4 / 3), 12);
    expect(naiveForecast([1, 2], 1, { kind: "mean", k: 3 })).toBeUndefined();
  });

  it("drift: extends the line through the first and last values; exact on a line", () => {
    const f = naiveForecast([1, 3, 5, 7], 3, { kind: "drift" })!;
    expect(f).toEqual({ mean: 13, sd: 0 });
    const g = naiveForecast([0, 2, 1, 4, 3], 2, { kind: "drift" })!;
    const b = 3 / 4;
    const changes = [2, -1, 3, -1].map((c) => (c - b) ** 2).reduce((x, y) => x + y) / 3;
    expect(g.mean).toBeCloseTo(3 + 2 * b, 12);
    expect(g.sd).toBeCloseTo(Math.sqrt(changes * 2 * (1 + 2 / 4)), 12);
  });

  it("the drift sd covers a simulated random walk with drift at its nominal rate", () => {
    // Many independent walks of 30 steps with drift 0.5: the 90% interval of the 5-step forecast covers ~90%.
    let covered = 0;
    const walks = 3000;
    for (let w = 0; w < walks; w++) {
      const path = [0];
      for (let t = 1; t < 35; t++) path.push(path[t - 1]! + 0.5 + normalQuantile(hashUniform(11, w, t)));
      const f = naiveForecast(path.slice(0, 30), 5, { kind: "drift" })!;
      if (scoreNormal(f.mean, f.sd, path[34]!).in90) covered++;
    }
    expect(Math.abs(covered / walks - 0.9)).toBeLessThan(0.025);
  });
});
