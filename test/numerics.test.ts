import { describe, expect, it } from "vitest";
import { wilson } from "../src/analysis/stats.js";
import { lookupFn, normalCdf, normalQuantile, pulseFn, rampFn, stepFn } from "../src/compile/functions.js";
import { betaCdf, betaQuantile, quantile } from "../src/engine/distributions.js";
import { SiteStreams } from "../src/engine/rng.js";
import { parseDistribution } from "../src/model/distribution.js";
import { claimsOf } from "./claims-helpers.js";

describe("distributions", () => {
  it('"a to b" puts a and b at the 5% and 95% quantiles', () => {
    for (const [a, b] of [
      [8, 20],
      [0.01, 0.03],
      [-3, 5],
      [0, 1],
    ] as const) {
      const d = parseDistribution(`${a} to ${b}`);
      expect(d.kind).toBe(a > 0 ? "lognormal" : "normal");
      expect(quantile(d, 0.05)).toBeCloseTo(a, 10);
      expect(quantile(d, 0.95)).toBeCloseTo(b, 10);
    }
  });

  it("the normal quantile inverts the CDF", () => {
    for (const p of [1e-10, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999]) {
      expect(normalCdf(normalQuantile(p))).toBeCloseTo(p, 6);
    }
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 14);
  });

  it("the beta quantile inverts the beta CDF, and PERT and triangular stay in range", () => {
    for (const [a, b] of [
      [2, 3],
      [0.5, 0.5],
      [5, 1.2],
    ] as const) {
      for (const u of [0.01, 0.25, 0.5, 0.9]) expect(betaCdf(betaQuantile(u, a, b), a, b)).toBeCloseTo(u, 10);
    }
    expect(betaCdf(0.5, 2, 2)).toBeCloseTo(0.5, 14);
    const pert = parseDistribution("pert(1, 2, 6)");
    const tri = parseDistribution("triangular(1, 2, 6)");
    for (const u of [0.001, 0.5, 0.999]) {
      expect(quantile(pert, u)).toBeGreaterThan(1);
      expect(quantile(pert, u)).toBeLessThan(6);
      expect(quantile(tri, u)).toBeGreaterThan(1);
    }
    expect(quantile(tri, 0.2)).toBeCloseTo(2, 12); // the mode sits at F = (2 − 1)/(6 − 1)
  });
});

describe("random streams", () => {
  it("draw inside (0, 1), reproducibly, with independent sites", () => {
    const s = new SiteStreams(["a", "b"]);
    s.reset(42, 7);
    const a = Array.from({ length: 1000 }, () => s.uniform(0));
    s.reset(42, 7);
    expect(Array.from({ length: 1000 }, () => s.uniform(0))).toEqual(a);
    s.reset(42, 7);
    const b = Array.from({ length: 1000 }, () => s.uniform(1));
    expect(b).not.toEqual(a);
    for (const x of [...a, ...b]) {
      expect(x).toBeGreaterThan(0);
      expect(x).toBeLessThan(1);
    }
    const mean = a.reduce((x, y) => x + y, 0) / a.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / 1000));
  });
});

describe("time and table functions", () => {
  it("step, ramp and pulse follow XMILE", () => {
    expect(stepFn(2.9999999999, 0.5, 4, 3)).toBe(4); // rounding of k·dt never skips the step
    expect(stepFn(2.5, 0.5, 4, 3)).toBe(0);
    expect(rampFn(5, 1, 2, 3)).toBe(4);
    expect(rampFn(9, 1, 2, 3, 6)).toBe(6);
    expect(pulseFn(3, 0.5, 10, 3)).toBe(20);
    expect(pulseFn(3.5, 0.5, 10, 3)).toBe(0);
    expect(pulseFn(5, 0.5, 10, 3, 2)).toBe(20);
    expect(pulseFn(6, 0.5, 10, 3, 2)).toBe(0);
  });

  it("lookup interpolates, clamps, extrapolates and steps", () => {
    const t = {
      xs: Float64Array.from([0, 1, 2]),
      ys: Float64Array.from([0, 10, 0]),
      type: "continuous" as const,
    };
    expect(lookupFn(t, 0.25)).toBe(2.5);
    expect(lookupFn(t, -1)).toBe(0);
    expect(lookupFn(t, 5)).toBe(0);
    expect(lookupFn({ ...t, type: "extrapolate" }, 3)).toBe(-10);
    expect(lookupFn({ ...t, type: "discrete" }, 1.9)).toBe(10);
  });
});

describe("intervals and claims", () => {
  it("Wilson intervals match published values", () => {
    // Newcombe (1998), Statistics in Medicine 17: 81/263 → 0.2553–0.3662; 0/10 → 0–0.2775.
    const w = wilson(81, 263);
    expect(w.lo).toBeCloseTo(0.2553, 4);
    expect(w.hi).toBeCloseTo(0.3662, 4);
    const z = wilson(0, 10);
    expect(z.lo).toBe(0);
    expect(z.hi).toBeCloseTo(0.2775, 4);
  });

  it("claim verdicts follow the interval of the margin", () => {
    // 1000 runs: a ends 600 (300 at step 1, 300 at step 2), b ends 200 (100 at steps 0 and 1), 200 censored.
    const r = claimsOf(
      [
        "P(a) > P(b)",
        "P(a) < 0.5",
        "P(b by 1) > 0.05",
        "P(a) - P(b) > 0.5",
        "P(censored) == 0.1",
        "P(a) - P(b) > 0.37",
        "P(a) / P(b) > 2.5",
      ],
      { a: [0, 300, 300], b: [100, 100, 0] },
      200,
    );
    expect(r.map((c) => c.verdict)).toEqual([
      "holds",
      "fails",
      "holds",
      "fails",
      "fails",
      "undecided",
      "holds",
    ]);
    // Margin a − b: variance (pa(1 − pa) + pb(1 − pb) + 2·pa·pb)/n = 0.00064, so ±1.96·0.0253.
    expect(r[0]!.p).toBeCloseTo(0.4, 12);
    expect(r[0]!.hi! - r[0]!.p!).toBeCloseTo(1.96 * Math.sqrt(0.00064), 2);
    expect(r[2]!.p).toBeCloseTo(0.2, 12);
    // Ratio by the delta method: gradient (1/pb, −pa/pb²) = (5, −15) gives variance 0.06, so ±1.96·0.245.
    expect(r[6]!.p).toBeCloseTo(3, 10);
    expect(r[6]!.hi! - r[6]!.p!).toBeCloseTo(1.96 * Math.sqrt(0.06), 2);
  });
});
