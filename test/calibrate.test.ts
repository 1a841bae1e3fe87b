import { describe, expect, it } from "vitest";
import {
  logLognormal,
  logNegativeBinomial,
  logNormal,
  logStudentT,
} from "../src/analysis/calibrate/likelihood.js";
import { parseObservations } from "../src/analysis/calibrate/observations.js";
import { ParticleFilter } from "../src/analysis/calibrate/particle-filter.js";
import { ess, runPmmh, splitRhat } from "../src/analysis/calibrate/pmmh.js";
import { normalCdf, normalQuantile } from "../src/compile/functions.js";
import { prepareModel } from "../src/engine/prepare.js";
import { hashUniform } from "../src/engine/rng.js";
import { ksDistance } from "./helpers.js";
import { ar1Model, ar1Rows, kalmanLogLik as kalmanOracle } from "./kalman.js";

/** A model and its observation series, the data given as text. */
function setup(modelText: string, data: Record<string, string>) {
  const model = prepareModel("m.yaml", modelText);
  const series = parseObservations(model.loaded, (_name, path) => ({ file: path, text: data[path]! }));
  return { model, series };
}

/** A seeded standard normal draw, independent of everything under test. */
const gauss = (seed: number, i: number) => normalQuantile(hashUniform(seed, i, 12345));

/** ∫ exp(f) over [a, b] by the midpoint rule. */
function integrateExp(f: (x: number) => number, a: number, b: number, n = 200_000): number {
  const h = (b - a) / n;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(f(a + (i + 0.5) * h)) * h;
  return s;
}

/** Every `step`-th value, so a KS test sees roughly independent draws. */
const thin = (xs: number[], step: number) => xs.filter((_, i) => i % Math.max(1, Math.round(step)) === 0);

describe("measurement models", () => {
  it("each density integrates (or sums) to 1 and has the stated mean", () => {
    expect(integrateExp((y) => logNormal(y, 2, 0.7), -8, 12)).toBeCloseTo(1, 6);
    expect(integrateExp((y) => logLognormal(y, 3, 0.4), 1e-9, 40)).toBeCloseTo(1, 5);
    expect(integrateExp((y) => logStudentT(y, 1, 2, 5), -4000, 4000, 2_000_000)).toBeCloseTo(1, 4);
    let total = 0;
    let mean = 0;
    let second = 0;
    for (let y = 0; y < 2000; y++) {
      const p = Math.exp(logNegativeBinomial(y, 12, 3));
      total += p;
      mean += y * p;
      second += y * y * p;
    }
    expect(total).toBeCloseTo(1, 10);
    expect(mean).toBeCloseTo(12, 8);
    expect(second - mean * mean).toBeCloseTo(12 + 144 / 3, 6);
  });

  it("Student-t approaches the normal as df grows; lognormal's median is the model value", () => {
    expect(logStudentT(1.3, 1, 2, 1e7)).toBeCloseTo(logNormal(1.3, 1, 2), 5);
    expect(integrateExp((y) => logLognormal(y, 3, 0.4), 1e-9, 3)).toBeCloseTo(0.5, 5);
  });
});

// ---- (1) a linear-Gaussian state-space model: the Kalman filter's exact likelihood ----------------------

const STEPS = 20;
const Q = 0.8; // sd of the state noise
const R = 0.5; // sd of the measurement noise
const AR1 = ar1Model(STEPS, Q, R);

/** Data from the AR(1) with phi = 0.7, drawn independently of Brink's streams. */
const ar1Data = () => ar1Rows(STEPS, Q, R, gauss);

/** The exact log-likelihood of these rows by the Kalman filter. */
const kalmanLogLik = (phi: number, rows: { y: number }[]) =>
  kalmanOracle(
    phi,
    Q,
    R,
    rows.map((r) => r.y),
  );

describe("particle filter", () => {
  const rows = ar1Data();
  const csv = `t,y\n${rows.map((r) => `${r.t},${r.y}`).join("\n")}\n`;
  const { model, series } = setup(AR1.replace("file: y.csv, time: t,", "file: y.csv, time: t, value: y,"), {
    "y.csv": csv,
  });
  const paramsAt = (phi: number) => [phi, R];

  it("its likelihood estimate is unbiased: exp(ℓ̂ − ℓ) averages 1 within its Monte Carlo error", () => {
    const filter = new ParticleFilter(model, series, { particles: 200, seed: 9 });
    for (const phi of [0.3, 0.7]) {
      const exact = kalmanLogLik(phi, rows);
      const estimates = Array.from({ length: 40 }, (_, r) => filter.run(paramsAt(phi), r).logLikelihood);
      const ratios = estimates.map((l) => Math.exp(l - exact));
      const mean = ratios.reduce((a, b) => a + b) / ratios.length;
      const se = Math.sqrt(
        ratios.reduce((a, b) => a + (b - mean) ** 2, 0) / (ratios.length - 1) / ratios.length,
      );
      expect(Math.abs(mean - 1)).toBeLessThan(4 * se + 0.02);
      // And the estimate is useful: the sd of ℓ̂ is below 1, the range where PMMH mixes well.
      const meanLog = estimates.reduce((a, b) => a + b) / estimates.length;
      const sdLog = Math.sqrt(estimates.reduce((a, b) => a + (b - meanLog) ** 2, 0) / (estimates.length - 1));
      expect(sdLog).toBeLessThan(1);
    }
  });

  it("is exact with one particle when the model draws nothing", () => {
    const det = AR1.replace(` + ${Q} * normal(0, 1)`, "");
    const { model: m, series: s } = setup(det, { "y.csv": csv.replace("t,y", "t,value") });
    const filter = new ParticleFilter(m, s, { particles: 1, seed: 1 });
    const phi = 0.5;
    const expected = rows.reduce((a, r) => a + logNormal(r.y, 0, R), 0);
    expect(filter.run([phi, R], 0).logLikelihood).toBeCloseTo(expected, 10);
  });

  it("uses observations up to a step only when asked", () => {
    const exact = kalmanLogLik(0.7, rows.slice(0, 5));
    const filter = new ParticleFilter(model, series, { particles: 2000, seed: 3, untilStep: 5 });
    expect(filter.steps).toEqual([1, 2, 3, 4, 5]);
    expect(filter.run(paramsAt(0.7), 0).logLikelihood).toBeCloseTo(exact, 1);
  });

  it("samples the filtered state like the Kalman filter's, at the last observation and after it", () => {
    const phi = 0.7;
    const kalman = (upTo: number) => {
      let m = 0;
      let P = 0;
      for (const { y } of rows.slice(0, upTo)) {
        m = phi * m;
        P = phi * phi * P + Q * Q;
        const K = P / (P + R * R);
        m += K * (y - m);
        P *= 1 - K;
      }
      return { m, P };
    };
    const slot = model.program.slots.findIndex((x) => x.name === "x");
    const cases = [
      { until: 20, at: 20, ...kalman(20) },
      // Three steps past the last observation used: the prediction of the AR(1) from there.
      {
        until: 15,
        at: 18,
        m: phi ** 3 * kalman(15).m,
        P: phi ** 6 * kalman(15).P + Q * Q * (1 + phi ** 2 + phi ** 4),
      },
    ];
    for (const c of cases) {
      const filter = new ParticleFilter(model, series, {
        particles: 300,
        seed: 4,
        untilStep: c.until,
        stateStep: c.at,
      });
      const draws = Array.from({ length: 300 }, (_, k) => filter.sampleState(paramsAt(phi), k)![slot]!);
      const d = ksDistance(draws, (x) => normalCdf((x - c.m) / Math.sqrt(c.P)));
      expect(d).toBeLessThan(1.63 / Math.sqrt(draws.length));
    }
  });

  it("PMMH's posterior of phi matches the grid posterior of the exact likelihood (KS test)", () => {
    const filter = new ParticleFilter(model, series, { particles: 50, seed: 5 });
    const result = runPmmh(filter, { chains: 2, burnIn: 200, iterations: 1000, seed: 5 });
    // The grid posterior: uniform prior on (0, 0.95) times the Kalman likelihood.
    const n = 2000;
    const grid = Array.from({ length: n }, (_, i) => ((i + 0.5) / n) * 0.95);
    const logPost = grid.map((phi) => kalmanLogLik(phi, rows));
    const top = Math.max(...logPost);
    const weights = logPost.map((l) => Math.exp(l - top));
    const total = weights.reduce((a, b) => a + b);
    const cumulative: number[] = [];
    let running = 0;
    for (const w of weights) {
      running += w;
      cumulative.push(running / total);
    }
    const cdf = (x: number) => cumulative[Math.min(n - 1, Math.max(0, Math.floor((x / 0.95) * n)))]!;
    const gridMean = grid.reduce((a, phi, i) => a + (phi * weights[i]!) / total, 0);

    const draws = result.chains.flatMap((c) => c.draws.map((d) => d[0]!));
    const summary = result.summary[0]!;
    const gridSd = Math.sqrt(
      grid.reduce((a, phi, i) => a + ((phi - gridMean) ** 2 * weights[i]!) / total, 0),
    );
    expect(summary.name).toBe("phi");
    expect(summary.rhat).toBeLessThan(1.1);
    expect(summary.ess).toBeGreaterThan(100);
    const thinned = thin(draws, draws.length / summary.ess);
    // KS at the 1% level: D < 1.63/√n for n independent draws.
    expect(ksDistance(thinned, cdf)).toBeLessThan(1.63 / Math.sqrt(thinned.length));
    expect(Math.abs(summary.mean - gridMean)).toBeLessThan(4 * (summary.sd / Math.sqrt(summary.ess)));
    expect(Math.abs(summary.sd / gridSd - 1)).toBeLessThan(0.2);
    expect(result.acceptance).toBeGreaterThan(0.05);
  }, 120_000);
});

// ---- (2) a deterministic model with normal noise: the conjugate normal posterior ------------------------

const LINE = `brink: 1
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

describe("PMMH on a deterministic model", () => {
  const rows = Array.from({ length: 10 }, (_, i) => ({ t: i + 1, y: 0.6 * (i + 1) + 1.5 * gauss(7, i) }));
  const csv = `t,value\n${rows.map((r) => `${r.t},${r.y}`).join("\n")}\n`;
  const { model, series } = setup(LINE, { "y.csv": csv });
  // x_t = a·t, y_t ~ N(a·t, 1.5²), a ~ N(1, 2²): the posterior is normal.
  const precision = 1 / 4 + rows.reduce((s, r) => s + (r.t * r.t) / 2.25, 0);
  const postMean = (1 / 4 + rows.reduce((s, r) => s + (r.t * r.y) / 2.25, 0)) / precision;
  const postSd = Math.sqrt(1 / precision);
  const run = (seed: number) =>
    runPmmh(new ParticleFilter(model, series, { particles: 1, seed }), {
      chains: 4,
      burnIn: 400,
      iterations: 2000,
      seed,
    });

  it("matches the conjugate posterior (mean, sd, KS) with healthy diagnostics", () => {
    const result = run(11);
    const s = result.summary[0]!;
    expect(s.rhat).toBeLessThan(1.05);
    expect(s.ess).toBeGreaterThan(500);
    expect(result.acceptance).toBeGreaterThan(0.15);
    expect(result.acceptance).toBeLessThan(0.6);
    expect(Math.abs(s.mean - postMean)).toBeLessThan(4 * (postSd / Math.sqrt(s.ess)));
    expect(Math.abs(s.sd / postSd - 1)).toBeLessThan(0.1);
    const draws = result.chains.flatMap((c) => c.draws.map((d) => d[0]!));
    const thinned = thin(draws, draws.length / s.ess);
    const d = ksDistance(thinned, (x) => normalCdf((x - postMean) / postSd));
    expect(d).toBeLessThan(1.63 / Math.sqrt(thinned.length));
  });

  it("gives the same posterior for the same seed and another for another seed", () => {
    const a = run(3);
    const b = run(3);
    const c = run(4);
    expect(b.chains).toEqual(a.chains);
    expect(c.chains[0]!.draws).not.toEqual(a.chains[0]!.draws);
  });
});

describe("PMMH with an uncertain noise param", () => {
  it("calibrates a measurement sd like the grid posterior of the exact likelihood", () => {
    const text = LINE.replace(
      'a: { dist: "normal(1, 2)" }',
      'a: 0.6\n  noise: { dist: "uniform(0.5, 4)" }',
    ).replace("sd: 1.5", "sd: noise");
    const rows = Array.from({ length: 10 }, (_, i) => ({ t: i + 1, y: 0.6 * (i + 1) + 1.5 * gauss(8, i) }));
    const csv = `t,value\n${rows.map((r) => `${r.t},${r.y}`).join("\n")}\n`;
    const { model, series } = setup(text, { "y.csv": csv });
    const result = runPmmh(new ParticleFilter(model, series, { particles: 1, seed: 2 }), {
      chains: 4,
      burnIn: 400,
      iterations: 2000,
      seed: 2,
    });
    expect(result.params).toEqual(["noise"]);
    const logLik = (sd: number) => rows.reduce((a, r) => a + logNormal(r.y, 0.6 * r.t, sd), 0);
    const n = 4000;
    const grid = Array.from({ length: n }, (_, i) => 0.5 + ((i + 0.5) / n) * 3.5);
    const w = grid.map(logLik);
    const top = Math.max(...w);
    const weights = w.map((l) => Math.exp(l - top));
    const total = weights.reduce((a, b) => a + b);
    const cumulative: number[] = [];
    let running = 0;
    for (const x of weights) {
      running += x;
      cumulative.push(running / total);
    }
    const cdf = (x: number) => cumulative[Math.min(n - 1, Math.max(0, Math.floor(((x - 0.5) / 3.5) * n)))]!;
    const s = result.summary[0]!;
    const draws = result.chains.flatMap((c) => c.draws.map((d) => d[0]!));
    const thinned = thin(draws, draws.length / s.ess);
    expect(s.rhat).toBeLessThan(1.05);
    expect(ksDistance(thinned, cdf)).toBeLessThan(1.63 / Math.sqrt(thinned.length));
  });
});

describe("chain diagnostics", () => {
  it("R-hat is near 1 for chains from one distribution and large for chains that disagree", () => {
    const chain = (seed: number, shift: number) =>
      Array.from({ length: 1000 }, (_, i) => gauss(seed, i) + shift);
    expect(splitRhat([chain(1, 0), chain(2, 0), chain(3, 0)])).toBeLessThan(1.01);
    expect(splitRhat([chain(1, 0), chain(2, 3)])).toBeGreaterThan(1.5);
  });

  it("ESS is about n for independent draws and about n(1−ρ)/(1+ρ) for an AR(1) chain", () => {
    const iid = [Array.from({ length: 4000 }, (_, i) => gauss(5, i))];
    expect(ess(iid) / 4000).toBeGreaterThan(0.85);
    expect(ess(iid) / 4000).toBeLessThan(1.15);
    const rho = 0.8;
    const ar: number[] = [0];
    for (let i = 1; i < 20000; i++) ar.push(rho * ar[i - 1]! + Math.sqrt(1 - rho * rho) * gauss(6, i));
    const expected = (20000 * (1 - rho)) / (1 + rho);
    expect(ess([ar]) / expected).toBeGreaterThan(0.75);
    expect(ess([ar]) / expected).toBeLessThan(1.33);
  });
});
