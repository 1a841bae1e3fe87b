import { describe, expect, it } from "vitest";
import {
  type BacktestOptions,
  type BacktestResult,
  backtest,
  parseHorizon,
  parseOrigins,
} from "../src/analysis/calibrate/backtest.js";
import { convergenceWarning, originConvergence } from "../src/analysis/calibrate/convergence.js";
import { parseObservations } from "../src/analysis/calibrate/observations.js";
import { normalQuantile } from "../src/compile/functions.js";
import { prepareModel } from "../src/engine/prepare.js";
import { hashUniform } from "../src/engine/rng.js";

/** A model and its observation series, the data given as text. */
function setup(modelText: string, data: Record<string, string>) {
  const model = prepareModel("m.yaml", modelText);
  const series = parseObservations(model.loaded, (_name, path) => ({ file: path, text: data[path]! }));
  return { model, series };
}

/** A seeded standard normal draw, independent of everything under test. */
const gauss = (seed: number, i: number) => normalQuantile(hashUniform(seed, i, 777));

const OPTIONS: Omit<BacktestOptions, "origins" | "horizonSteps"> = {
  priorsOnly: false,
  runs: 400,
  baselineK: 3,
  seed: 3,
  chains: 2,
  iterations: 300,
  burnIn: 200,
  particles: 100,
};

const STEPS = 100;
const NOISE_SD = 2;

/** A straight line with normal measurement noise: `slope` per step from `level`. */
const line = (slope: string, level: number) => `brink: 1
name: line
time: { start: 0, stop: ${STEPS}, dt: 1 }
params:
  slope: ${slope}
stocks:
  x: { init: ${level}, inflows: [rise] }
flows:
  rise: { eq: slope }
observations:
  y: { variable: x, file: y.csv, time: t, noise: normal, sd: ${NOISE_SD} }
`;

/** Data the line with slope 0.5 from 0 generates, drawn independently of Brink's streams. */
const lineCsv = `t,value\n${Array.from({ length: STEPS }, (_, i) => `${i + 1},${0.5 * (i + 1) + NOISE_SD * gauss(1, i)}`).join("\n")}\n`;
const ORIGINS = [20, 35, 50, 65, 80];

describe("brink backtest on models with known answers", () => {
  it("the model that generated the data covers nominally and beats the naive baselines", async () => {
    const { model, series } = setup(line("0.5", 0), { "y.csv": lineCsv });
    const r = await backtest(model, "m.yaml", series, {
      ...OPTIONS,
      origins: ORIGINS,
      horizonSteps: 15,
    });
    const model_ = r.summary.find((s) => s.forecaster === "model")!.scores;
    // 5 origins × 15 periods; every baseline has enough history everywhere.
    expect(model_.periods).toBe(75);
    expect(r.skipped).toBe(0);
    // The forecast of each observation is N(0.5t, 2²) exactly, up to Monte Carlo error: coverage within about
    // three binomial sds of nominal (sd √(p(1−p)/75): 0.058 and 0.035).
    expect(Math.abs(model_.coverage50 - 0.5)).toBeLessThan(0.18);
    expect(Math.abs(model_.coverage90 - 0.9)).toBeLessThan(0.11);
    expect(Math.abs(model_.bias)).toBeLessThan(1);
    // Its CRPS is near that of the exact N(μ, 2²) forecast, E CRPS = 2(√2 − 1)/√π ≈ 0.467 · 2, and lower than
    // every baseline's.
    for (const s of r.summary.filter((x) => x.forecaster !== "model"))
      expect(model_.crps).toBeLessThan(s.scores.crps);
    // The PIT histogram counts every period.
    expect(model_.pitHistogram.reduce((a, b) => a + b, 0)).toBe(75);
  });

  it("a calibrated slope gives nearly nominal coverage too", async () => {
    const { model, series } = setup(line('{ dist: "uniform(0, 2)" }', 0), { "y.csv": lineCsv });
    const r = await backtest(model, "m.yaml", series, { ...OPTIONS, origins: ORIGINS, horizonSteps: 15 });
    const scores = r.summary.find((s) => s.forecaster === "model")!.scores;
    expect(Math.abs(scores.coverage90 - 0.9)).toBeLessThan(0.12);
    expect(Math.abs(scores.coverage50 - 0.5)).toBeLessThan(0.2);
    // Each origin's posterior learned the slope.
    for (const o of r.origins) {
      const slope = o.posterior!.summary[0]!;
      expect(Math.abs(slope.mean - 0.5)).toBeLessThan(4 * slope.sd + 0.02);
    }
    // One param: each origin's convergence is that param's R̂ and ESS.
    expect(originConvergence(r)).toEqual(
      r.origins.map((o) => ({
        label: o.label,
        acceptance: o.posterior!.acceptance,
        maxRhat: o.posterior!.summary[0]!.rhat,
        worst: "slope",
        minEss: o.posterior!.summary[0]!.ess,
        particles: null,
        ended: 0,
      })),
    );
  }, 60_000);

  it("a biased model loses to persistence on CRPS, and its bias and PIT show it", async () => {
    // The right slope but started 15 too high: every forecast is 15 above.
    const { model, series } = setup(line("0.5", 15), { "y.csv": lineCsv });
    const r = await backtest(model, "m.yaml", series, {
      ...OPTIONS,
      priorsOnly: true,
      origins: ORIGINS,
      horizonSteps: 5,
    });
    const byName = Object.fromEntries(r.summary.map((s) => [s.forecaster, s.scores]));
    expect(byName.model!.crps).toBeGreaterThan(byName.persistence!.crps);
    expect(byName.model!.bias).toBeGreaterThan(12);
    // Every observation falls below the forecasts: all PITs in the lowest bin.
    expect(byName.model!.pitHistogram[0]).toBe(byName.model!.periods);
    expect(byName.model!.coverage90).toBe(0);
  });

  it("a stochastic model is forecast from its filtered state at the origin", async () => {
    // A random walk seen through small noise: given the filtered state the forecast is sharp; from time 0
    // (what a forecast that ignored the state would be) its sd would grow like √t.
    const walk = `brink: 1
name: walk
time: { start: 0, stop: ${STEPS}, dt: 1 }
stocks:
  x: { init: 0, inflows: [move] }
flows:
  move: { eq: "normal(0, 1)" }
observations:
  y: { variable: x, file: y.csv, time: t, noise: normal, sd: 0.3 }
`;
    let x = 0;
    const rows: string[] = [];
    for (let k = 1; k <= STEPS; k++) {
      x += gauss(5, k);
      rows.push(`${k},${x + 0.3 * gauss(6, k)}`);
    }
    const { model, series } = setup(walk, { "y.csv": `t,value\n${rows.join("\n")}\n` });
    const origins = Array.from({ length: 19 }, (_, i) => 5 * (i + 1));
    const r = await backtest(model, "m.yaml", series, {
      ...OPTIONS,
      particles: 50,
      origins,
      horizonSteps: 3,
    });
    const byName = Object.fromEntries(r.summary.map((s) => [s.forecaster, s.scores]));
    const m = byName.model!;
    expect(m.periods).toBe(57);
    // The exact predictive is N(filtered mean, P + h + 0.09): coverage near nominal (binomial sds 0.066, 0.040).
    expect(Math.abs(m.coverage50 - 0.5)).toBeLessThan(0.2);
    expect(Math.abs(m.coverage90 - 0.9)).toBeLessThan(0.13);
    // The forecast spread is that of h steps of the walk, not of the whole path since time 0.
    for (const p of r.periods) expect(p.forecast.q95 - p.forecast.q05).toBeLessThan(2 * 1.645 * Math.sqrt(4));
    // Persistence is nearly the exact forecast here; the model is at least as good, within Monte Carlo error.
    expect(m.crps).toBeLessThan(byName.persistence!.crps * 1.1);
  }, 60_000);

  it("the same seed gives the same backtest", async () => {
    const { model, series } = setup(line('{ dist: "uniform(0, 2)" }', 0), { "y.csv": lineCsv });
    const opts = { ...OPTIONS, iterations: 50, burnIn: 50, runs: 100, origins: [30, 60], horizonSteps: 5 };
    const a = await backtest(model, "m.yaml", series, opts);
    const b = await backtest(model, "m.yaml", series, opts);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const c = await backtest(model, "m.yaml", series, { ...opts, seed: 4 });
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a));
  }, 60_000);
});

describe("whether each origin's calibration settled", () => {
  const param = (name: string, rhat: number, ess: number) => ({
    name,
    mean: 0,
    sd: 1,
    q05: -1,
    q50: 0,
    q95: 1,
    rhat,
    ess,
  });
  const origin = (label: string, summary: ReturnType<typeof param>[], chain_particles?: number[]) => ({
    label,
    step: 0,
    t: 0,
    posterior: { acceptance: 0.2, partial: false, summary, ...(chain_particles ? { chain_particles } : {}) },
    ended: 1,
  });
  const result = (origins: BacktestResult["origins"]) => ({ origins });

  it("reports each origin's worst param, its smallest ESS and its particles", () => {
    const r = result([
      origin("2024-01-07", [param("a", 1.004, 900), param("b", 1.3, 40)], [100, 340]),
      origin("2024-04-07", [param("a", 1.002, 800), param("b", 1.009, 500)]),
    ]);
    expect(originConvergence(r)).toEqual([
      {
        label: "2024-01-07",
        acceptance: 0.2,
        maxRhat: 1.3,
        worst: "b",
        minEss: 40,
        particles: 340,
        ended: 1,
      },
      {
        label: "2024-04-07",
        acceptance: 0.2,
        maxRhat: 1.009,
        worst: "b",
        minEss: 500,
        particles: null,
        ended: 1,
      },
    ]);
    // One of two origins above 1.01: the warning names how many, the worst and where, and what to do.
    const warning = convergenceWarning(originConvergence(r))!;
    expect(warning).toContain("at 1 of 2 origins");
    expect(warning).toContain("largest 1.300, b at 2024-01-07");
    expect(warning).toContain("--iterations");
  });

  it("counts chains whose R-hat cannot be computed (stuck, or too short) as unsettled", () => {
    // A stuck param's chains have no within-chain variance: R-hat and ESS are NaN.
    const r = result([origin("2024-01-07", [param("a", 1.002, 900), param("c", Number.NaN, Number.NaN)])]);
    expect(originConvergence(r)[0]).toMatchObject({
      maxRhat: Number.POSITIVE_INFINITY,
      worst: "c",
      minEss: 0,
    });
    expect(convergenceWarning(originConvergence(r))).toContain("at 1 of 1 origins");
    expect(convergenceWarning(originConvergence(r))).toContain("not computable");
  });

  it("says nothing when every origin settled, or when nothing was calibrated", () => {
    expect(convergenceWarning(originConvergence(result([origin("o", [param("a", 1.005, 700)])])))).toBeNull();
    const priorsOnly = result([{ label: "o", step: 0, t: 0, ended: 0 }]);
    expect(originConvergence(priorsOnly)).toEqual([]);
    expect(convergenceWarning(originConvergence(priorsOnly))).toBeNull();
  });
});

describe("origins and horizons", () => {
  const dated = `brink: 1
name: dated
time: { start: 2024-01-01, stop: 2024-03-01, dt: 1 day }
stocks:
  x: { init: 0 }
observations:
  y: { variable: x, file: y.csv, noise: normal, sd: 1 }
`;
  const csv = "date,value\n2024-01-05,1\n2024-01-10,2\n2024-01-20,3\n";
  const { model, series } = setup(dated, { "y.csv": csv });

  it("takes dates or model times, increasing, inside the data", () => {
    expect(parseOrigins(model, series, "2024-01-06, 2024-01-12")).toEqual({ steps: [5, 11] });
    expect(parseOrigins(model, series, "4,9")).toEqual({ steps: [4, 9] });
    expect(parseHorizon(model, "1 week")).toEqual({ steps: 7 });
    expect(parseHorizon(model, "3")).toEqual({ steps: 3 });
  });

  it("says what is wrong with a bad origin or horizon", () => {
    const error = (r: object) => ("error" in r ? (r.error as string) : "");
    expect(error(parseOrigins(model, series, "2024-02-30"))).toMatch(/not '2024-02-30'/);
    expect(error(parseOrigins(model, series, "soon"))).toMatch(/ISO dates .* not 'soon'/);
    expect(error(parseOrigins(model, series, "2024-01-02"))).toMatch(/2024-01-02 is outside the data/);
    expect(error(parseOrigins(model, series, "2024-01-20"))).toMatch(/outside the data/);
    expect(error(parseOrigins(model, series, "2025-01-01"))).toMatch(/outside the model's time/);
    expect(error(parseOrigins(model, series, "2024-01-12,2024-01-06"))).toMatch(
      /2024-01-06 is not after the origin before it \(2024-01-12\)/,
    );
    expect(error(parseOrigins(model, series, "2024-01-06,,2024-01-12"))).toMatch(/origin 2 is empty/);
    expect(error(parseHorizon(model, "a while"))).toMatch(/duration such as '7 days'/);
    expect(error(parseHorizon(model, "2 hours"))).toMatch(/shorter than one time step/);
  });
});
