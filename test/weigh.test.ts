import { describe, expect, it } from "vitest";
import { parseObservations } from "../src/analysis/calibrate/observations.js";
import {
  evidenceTask,
  posteriorWeights,
  type WeighOptions,
  weigh,
  weightsFrom,
} from "../src/analysis/weigh.js";
import { normalQuantile } from "../src/compile/functions.js";
import { prepareModel } from "../src/engine/prepare.js";
import { hashUniform } from "../src/engine/rng.js";

/** Posterior weights of rival scenarios on synthetic data generated, with a fixed seed, from one of them. */

const gauss = (seed: number, i: number) => normalQuantile(hashUniform(seed, i, 9191));
const csvOf = (rows: { t: number; y: number }[]) =>
  `t,value\n${rows.map((r) => `${r.t},${r.y}`).join("\n")}\n`;

function scenarios(text: string, data: Record<string, string>, names: string[]) {
  return names.map((name) => {
    const model = prepareModel("m.yaml", text, name === "base" ? {} : { scenario: name });
    const series = parseObservations(model.loaded, (_n, path) => ({ file: path, text: data[path]! }));
    return { name, model, series };
  });
}

const SMALL: WeighOptions = {
  seed: 3,
  chains: 2,
  iterations: 400,
  burnIn: 200,
  particles: 50,
  evidenceDraws: 400,
  every: "observation",
};

// A level that may drift: 'trend' (the truth) lets it, 'flat' holds it still. The observed value is the level
// plus normal noise; the level's start is uncertain in both.
const LINE = `brink: 1
name: trend or flat
time: { start: 0, stop: 40, dt: 1 }
params:
  start: { dist: "normal(0, 2)" }
  slope: { dist: "uniform(0, 1)" }
stocks:
  level: { init: start, inflows: [drift] }
flows:
  drift: slope
observations:
  y: { variable: level, file: y.csv, time: t, noise: normal, sd: 1 }
scenarios:
  trend: { doc: "the level drifts at an uncertain slope" }
  flat:
    doc: "the level does not move"
    params: { slope: 0 }
`;
// Data from 'trend' with start 0.5 and slope 0.3, seed 11.
const LINE_DATA = csvOf(
  Array.from({ length: 40 }, (_, i) => ({ t: i + 1, y: 0.5 + 0.3 * (i + 1) + gauss(11, i) })),
);

describe("brink weigh", () => {
  it("moves the weight to the scenario that generated the data as the data grow", async () => {
    const r = await weigh("m.yaml", scenarios(LINE, { "y.csv": LINE_DATA }, ["trend", "flat"]), SMALL);
    expect(r.partial).toBe(false);
    expect(r.observations).toBe(40);
    expect(r.series).toHaveLength(40);
    const trend = r.series.map((p) => p.weights[0]!.weight);
    // With one observation the scenarios are hard to tell apart; by the end the truth holds nearly all the weight.
    expect(trend[0]).toBeLessThan(0.9);
    expect(r.weights[0]!.weight).toBeGreaterThan(0.999);
    expect(r.weights[0]!.lo).toBeGreaterThan(0.99);
    // …and it got there: over the last ten observations the truth's weight never drops below 0.99.
    for (const w of trend.slice(-10)) expect(w).toBeGreaterThan(0.99);
    // The rise is a trend: the log Bayes factor of the truth grows with the data (rank correlation with t).
    const logBf = r.series.map(
      (p) => p.weights[0]!.log_marginal_likelihood - p.weights[1]!.log_marginal_likelihood,
    );
    const increasing = logBf.slice(1).filter((x, i) => x > logBf[i]!).length;
    expect(increasing / (logBf.length - 1)).toBeGreaterThan(0.6);
    // Weights sum to 1 at every point; each interval holds its point.
    for (const p of r.series) {
      expect(p.weights.reduce((a, w) => a + w.weight, 0)).toBeCloseTo(1, 12);
      for (const w of p.weights) {
        expect(w.lo).toBeLessThanOrEqual(w.weight + 1e-12);
        expect(w.hi).toBeGreaterThanOrEqual(w.weight - 1e-12);
      }
    }
    // --until: fewer observations, the same first points.
    const early = await weigh("m.yaml", scenarios(LINE, { "y.csv": LINE_DATA }, ["trend", "flat"]), {
      ...SMALL,
      untilStep: 5,
    });
    expect(early.observations).toBe(5);
    expect(early.series).toHaveLength(5);
  }, 60_000);

  it("the evidence's path matches the closed form of the data so far at every step", async () => {
    // y_t = a·t + e_t, a ~ N(1, 2²), e_t ~ N(0, 1.5²): the first k values are N(t, 2.25·I + 4·t·tᵀ).
    const text = `brink: 1
name: line
time: { start: 0, stop: 10, dt: 1 }
params:
  a: { dist: "normal(1, 2)" }
stocks:
  x: { init: 0, inflows: [grow] }
flows:
  grow: a
observations:
  y: { variable: x, file: y.csv, time: t, noise: normal, sd: 1.5 }
`;
    const rows = Array.from({ length: 10 }, (_, i) => ({ t: i + 1, y: 0.6 * (i + 1) + 1.5 * gauss(7, i) }));
    const exact = (k: number) => {
      const r = rows.slice(0, k);
      const tt = r.reduce((a, x) => a + x.t * x.t, 0);
      const tr = r.reduce((a, x) => a + x.t * (x.y - x.t), 0);
      const rr = r.reduce((a, x) => a + (x.y - x.t) ** 2, 0);
      const g = 1 + (4 * tt) / 2.25;
      const quad = (rr - ((4 / 2.25) * tr * tr) / g) / 2.25;
      return -0.5 * (k * Math.log(2 * Math.PI) + k * Math.log(2.25) + Math.log(g) + quad);
    };
    const r = await weigh("m.yaml", scenarios(text, { "y.csv": csvOf(rows) }, ["base"]), {
      ...SMALL,
      evidenceDraws: 1500,
    });
    expect(r.series).toHaveLength(10);
    for (const [k, p] of r.series.entries()) {
      const e = p.weights[0]!;
      expect(e.se).toBeGreaterThan(0);
      expect(Math.abs(e.log_marginal_likelihood - exact(k + 1))).toBeLessThan(4 * e.se + 1e-3);
    }
  }, 60_000);

  it("prior weights enter as stated: a prior ratio multiplies the posterior odds", async () => {
    const s = scenarios(LINE, { "y.csv": LINE_DATA }, ["trend", "flat"]);
    const even = await weigh("m.yaml", s, { ...SMALL, untilStep: 3 });
    const skewed = await weigh("m.yaml", s, { ...SMALL, untilStep: 3, priorWeights: [1, 4] });
    expect(skewed.prior_weights).toEqual([0.2, 0.8]);
    const odds = (w: { weight: number }[]) => w[0]!.weight / w[1]!.weight;
    expect(odds(skewed.weights)).toBeCloseTo(odds(even.weights) / 4, 10);
  }, 60_000);

  // A random walk with an uncertain drift, seen through noise: stochastic, so each evidence has Monte Carlo error.
  const WALK = `brink: 1
name: walk
time: { start: 0, stop: 15, dt: 1 }
params:
  drift: { dist: "normal(0, 1)" }
stocks:
  x: { init: 0, inflows: [step] }
flows:
  step: drift + normal(0, 0.5)
observations:
  y: { variable: x, file: y.csv, time: t, noise: normal, sd: 0.7 }
scenarios:
  a: { doc: "one thesis" }
  b: { doc: "the same thesis under another name" }
`;
  const WALK_DATA = csvOf(
    Array.from({ length: 15 }, (_, i) => ({ t: i + 1, y: 0.2 * (i + 1) + gauss(5, i) })),
  );

  it("keeps equal weights for identical scenarios, within the evidence's Monte Carlo error", async () => {
    const both = scenarios(WALK, { "y.csv": WALK_DATA }, ["a", "b"]);
    // Same seed: common random numbers make the two estimates the same number.
    const same = await weigh("m.yaml", both, SMALL);
    expect(same.weights[0]!.weight).toBe(0.5);
    expect(same.evidence[0]!.se).toBeGreaterThan(0);
    expect(same.weights[0]!.lo).toBeLessThan(0.5);
    expect(same.weights[0]!.hi).toBeGreaterThan(0.5);
    // Independent estimates (other seeds) of the same evidence differ by Monte Carlo error only: the weights
    // computed from them hold 0.5 within their intervals.
    const other = await weigh("m.yaml", both, { ...SMALL, seed: 8 });
    const ea = same.evidence[0]!;
    const eb = other.evidence[1]!;
    expect(ea.log_marginal_likelihood).not.toBe(eb.log_marginal_likelihood);
    expect(Math.abs(ea.log_marginal_likelihood - eb.log_marginal_likelihood)).toBeLessThan(
      4 * Math.hypot(ea.se, eb.se),
    );
    const w = posteriorWeights(["a", "b"], [ea, eb], [0.5, 0.5], 1, 4000);
    expect(w[0]!.lo).toBeLessThan(0.5);
    expect(w[0]!.hi).toBeGreaterThan(0.5);
  }, 60_000);

  it("the same seed gives the same weights, here or on a pool", async () => {
    const both = scenarios(WALK, { "y.csv": WALK_DATA }, ["a", "b"]);
    const x = await weigh("m.yaml", both, { ...SMALL, untilStep: 6 });
    const y = await weigh("m.yaml", both, { ...SMALL, untilStep: 6 });
    expect(JSON.stringify(y)).toBe(JSON.stringify(x));
    // A pool (worker threads in the CLI) prepares each scenario itself from the file's text.
    const pool = { text: WALK, run: evidenceTask };
    const z = await weigh("m.yaml", both, { ...SMALL, untilStep: 6 }, pool);
    expect(JSON.stringify(z)).toBe(JSON.stringify(x));
  }, 60_000);

  it("weightsFrom and the bootstrap interval agree with direct computation", () => {
    expect(weightsFrom([-10, -10 + Math.log(3)], [0.5, 0.5])).toEqual([
      expect.closeTo(0.25, 12),
      expect.closeTo(0.75, 12),
    ]);
    // A scenario that cannot produce the data gets weight 0; none can: NaN.
    expect(weightsFrom([Number.NEGATIVE_INFINITY, -3], [0.5, 0.5])).toEqual([0, 1]);
    expect(
      weightsFrom([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY], [0.5, 0.5]).every(Number.isNaN),
    ).toBe(true);
    // With one estimate uncertain (se s) and log odds d, the weight's 95% interval is the logistic of d ± 1.96 s.
    const d = 1;
    const s = 0.5;
    const [w] = posteriorWeights(
      ["a", "b"],
      [
        { log_marginal_likelihood: d, se: s },
        { log_marginal_likelihood: 0, se: 0 },
      ],
      [0.5, 0.5],
      2,
      20000,
    );
    const logistic = (x: number) => 1 / (1 + Math.exp(-x));
    expect(w!.weight).toBeCloseTo(logistic(d), 12);
    expect(w!.lo).toBeCloseTo(logistic(d - 1.96 * s), 2);
    expect(w!.hi).toBeCloseTo(logistic(d + 1.96 * s), 2);
  });

  it("refuses an observation entry without a measurement model, at the entry", async () => {
    const text = LINE.replace("noise: normal, sd: 1 }", "}");
    const run = weigh("m.yaml", scenarios(text, { "y.csv": LINE_DATA }, ["trend", "flat"]), SMALL);
    await expect(run).rejects.toThrow(/observation 'y' has no measurement model/);
    await run.catch((e: { diagnostics: { line: number }[] }) => {
      expect(e.diagnostics[0]!.line).toBe(text.split("\n").findIndex((l) => l.startsWith("  y:")) + 1);
    });
  });

  it("refuses a model without observations, at the file", async () => {
    const text = LINE.slice(0, LINE.indexOf("observations:")) + LINE.slice(LINE.indexOf("scenarios:"));
    await expect(weigh("m.yaml", scenarios(text, {}, ["trend", "flat"]), SMALL)).rejects.toThrow(
      /no 'observations'/,
    );
  });
});
