import { describe, expect, it } from "vitest";
import { calibrate } from "../src/analysis/calibrate/calibrate.js";
import {
  type CalibratePool,
  type CalibrateTask,
  runCalibrateTask,
} from "../src/analysis/calibrate/calibrate-task.js";
import { parseObservations } from "../src/analysis/calibrate/observations.js";
import { ADAPTIVE_BUDGET, ParticleFilter } from "../src/analysis/calibrate/particle-filter.js";
import { runPmmh } from "../src/analysis/calibrate/pmmh.js";
import { normalQuantile } from "../src/compile/functions.js";
import { prepareModel } from "../src/engine/prepare.js";
import { hashUniform } from "../src/engine/rng.js";
import { ksDistance } from "./helpers.js";
import { ar1Model, ar1Rows, kalmanLogLik as kalmanOracle } from "./kalman.js";

/**
 * Adaptive particle numbers (Doucet, Pitt, Deligiannidis & Kohn 2015; docs/calibration.md), checked on a
 * linear-Gaussian state-space model whose exact likelihood the Kalman filter gives: the filter's noise falls to
 * the target, and PMMH with the adapted filter samples the exact posterior.
 */

const STEPS = 20;
const Q = 0.8; // sd of the state noise
const R = 0.4; // sd of the measurement noise: tight, so that a few particles give a noisy estimate
const AR1 = ar1Model(STEPS, Q, R);

const gauss = (seed: number, i: number) => normalQuantile(hashUniform(seed, i, 777));

const rows = ar1Rows(STEPS, Q, R, gauss);
const csv = `t,value\n${rows.map((r) => `${r.t},${r.y}`).join("\n")}\n`;

/** The exact log-likelihood of the data by the Kalman filter. */
const kalmanLogLik = (phi: number) =>
  kalmanOracle(
    phi,
    Q,
    R,
    rows.map((r) => r.y),
  );

/** The grid posterior of phi (uniform prior on (0, 0.95) times the Kalman likelihood): its CDF, mean and sd. */
const grid = (() => {
  const n = 2000;
  const xs = Array.from({ length: n }, (_, i) => ((i + 0.5) / n) * 0.95);
  const logPost = xs.map(kalmanLogLik);
  const top = Math.max(...logPost);
  const w = logPost.map((l) => Math.exp(l - top));
  const total = w.reduce((a, b) => a + b);
  const cumulative: number[] = [];
  let running = 0;
  for (const x of w) {
    running += x;
    cumulative.push(running / total);
  }
  const mean = xs.reduce((a, x, i) => a + (x * w[i]!) / total, 0);
  const sd = Math.sqrt(xs.reduce((a, x, i) => a + ((x - mean) ** 2 * w[i]!) / total, 0));
  const cdf = (x: number) => cumulative[Math.min(n - 1, Math.max(0, Math.floor((x / 0.95) * n)))]!;
  return { cdf, mean, sd };
})();

const sdOf = (x: number[]) => {
  const m = x.reduce((a, b) => a + b) / x.length;
  return Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1));
};

function setup() {
  const model = prepareModel("m.yaml", AR1);
  const series = parseObservations(model.loaded, () => ({ file: "y.csv", text: csv }));
  return { model, series };
}

/** PMMH's draws of phi against the grid posterior: KS on draws thinned to the ESS, mean and sd. */
function expectGridPosterior(result: ReturnType<typeof runPmmh>) {
  const s = result.summary[0]!;
  expect(s.rhat).toBeLessThan(1.1);
  expect(s.ess).toBeGreaterThan(100);
  const draws = result.chains.flatMap((c) => Array.from(c.column(0)));
  const step = Math.max(1, Math.round(draws.length / s.ess));
  const thinned = draws.filter((_, i) => i % step === 0);
  expect(ksDistance(thinned, grid.cdf)).toBeLessThan(1.63 / Math.sqrt(thinned.length));
  expect(Math.abs(s.mean - grid.mean)).toBeLessThan(4 * (s.sd / Math.sqrt(s.ess)));
  expect(Math.abs(s.sd / grid.sd - 1)).toBeLessThan(0.2);
}

describe("adaptive particle numbers", () => {
  const { model, series } = setup();

  it("never take a filter's states past the memory budget, whatever --max-particles asks", () => {
    // 10⁷ particles of this one-stock model would hold gigabytes of state (5 GB measured through the CLI).
    const filter = new ParticleFilter(model, series, {
      particles: 10,
      seed: 6,
      targetSd: 1e-4,
      maxParticles: 1e7,
    });
    expect(filter.maxParticles).toBeLessThan(1e7);
    // Two generations of each particle's paused state (its width and the leading flag), and its recorded values.
    expect(filter.maxParticles * 2 * (filter.stateWidth + 1)).toBeLessThanOrEqual(ADAPTIVE_BUDGET);
    expect(filter.maxParticles).toBeGreaterThan(
      ADAPTIVE_BUDGET / (2 * (filter.stateWidth + 1) + 2 * (STEPS + 1)) - 1,
    );
    // A small request stays as given, and --particles is never lowered.
    expect(
      new ParticleFilter(model, series, { particles: 10, seed: 6, targetSd: 1, maxParticles: 300 })
        .maxParticles,
    ).toBe(300);
  });

  it("raise each chain's particles until the log-likelihood's sd is near the target, and sample the exact posterior", () => {
    const filter = new ParticleFilter(model, series, {
      particles: 10,
      seed: 6,
      targetSd: 1,
      maxParticles: 300,
    });
    // Ten particles are too few here.
    expect(sdOf(Array.from({ length: 30 }, (_, k) => filter.run([0.7, R], k).logLikelihood))).toBeGreaterThan(
      2,
    );
    const result = runPmmh(filter, { chains: 2, burnIn: 300, iterations: 1000, seed: 6 });
    for (const chain of result.chains) {
      expect(chain.particles).toBeGreaterThan(10);
      expect(chain.particles).toBeLessThanOrEqual(300);
      // At the chain's particles, the sd at the posterior mean is about the target (measured on 40 filters).
      const resized = filter.withParticles(chain.particles);
      const sd = sdOf(
        Array.from({ length: 40 }, (_, k) => resized.run([grid.mean, R], 5000 + k).logLikelihood),
      );
      expect(sd).toBeGreaterThan(0.3);
      expect(sd).toBeLessThan(1.8);
    }
    expectGridPosterior(result);
  }, 60_000);
});

/** A pool that runs tasks on this thread, in an order of its own (later tasks finish first). */
function localPool(size: number): CalibratePool {
  let n = 0;
  return {
    size,
    run: (task: CalibrateTask) =>
      new Promise((resolve) =>
        setTimeout(() => resolve(runCalibrateTask(structuredClone(task))), 40 - (n++ % 4) * 10),
      ),
  };
}

describe("adaptive particle numbers on a pool of workers", () => {
  it("give the byte-identical posterior file with no pool and with pools of 2 and 3, for a seed", async () => {
    const { model, series } = setup();
    const options = {
      seed: 4,
      chains: 3,
      iterations: 80,
      burnIn: 60,
      particles: 6,
      evidenceDraws: 0,
      targetSd: 1,
      maxParticles: 60,
    };
    const alone = await calibrate(model, "m.yaml", series, options);
    const two = await calibrate(model, "m.yaml", series, { ...options, pool: localPool(2) });
    const three = await calibrate(model, "m.yaml", series, { ...options, pool: localPool(3) });
    expect(JSON.stringify(two)).toBe(JSON.stringify(alone));
    expect(JSON.stringify(three)).toBe(JSON.stringify(alone));
    expect(alone.target_sd).toBe(1);
    expect(alone.chain_particles).toHaveLength(3);
    for (const n of alone.chain_particles!) expect(n).toBeGreaterThan(6);
    // Another seed gives another posterior.
    const other = await calibrate(model, "m.yaml", series, { ...options, seed: 5 });
    expect(JSON.stringify(other.samples)).not.toBe(JSON.stringify(alone.samples));
  }, 60_000);
});

// A line through data far from its intercept: the intercept and slope trade off (a ridge), which a proposal
// scaled param by param crosses slowly. Normal priors and noise make the posterior normal, in closed form.
const RIDGE = `brink: 1
name: ridge
time: { start: 0, stop: 12, dt: 1 }
params:
  slope: { dist: "normal(0, 3)" }
  intercept: { dist: "normal(0, 3)" }
stocks:
  x: { init: intercept, inflows: [grow] }
flows:
  grow: slope
observations:
  y: { variable: x, file: y.csv, time: t, noise: normal, sd: 1 }
`;

describe("a proposal with the posterior's full covariance", () => {
  const data = Array.from({ length: 5 }, (_, i) => ({ t: 8 + i, y: 2 + 0.5 * (8 + i) + gauss(9, i) }));
  const model = prepareModel("m.yaml", RIDGE);
  const series = parseObservations(model.loaded, () => ({
    file: "y.csv",
    text: `t,value\n${data.map((r) => `${r.t},${r.y}`).join("\n")}\n`,
  }));
  // Posterior precision and mean of (slope, intercept): prior precision 1/9 each, plus XᵀX, Xᵀy.
  const [a, b, c] = [
    1 / 9 + data.reduce((s, r) => s + r.t * r.t, 0),
    data.reduce((s, r) => s + r.t, 0),
    1 / 9 + data.length,
  ];
  const [u, v] = [data.reduce((s, r) => s + r.t * r.y, 0), data.reduce((s, r) => s + r.y, 0)];
  const det = a * c - b * b;
  const mean = [(c * u - b * v) / det, (a * v - b * u) / det];
  const sd = [Math.sqrt(c / det), Math.sqrt(a / det)];

  it("samples the exact posterior and mixes several times faster along the ridge", () => {
    const filter = new ParticleFilter(model, series, { particles: 1, seed: 1 });
    const options = { chains: 2, burnIn: 600, iterations: 2000, seed: 8 };
    const full = runPmmh(filter, { ...options, covariance: true });
    const diagonal = runPmmh(filter, options);
    for (const [i, s] of full.summary.entries()) {
      expect(s.rhat).toBeLessThan(1.05);
      expect(Math.abs(s.mean - mean[i]!)).toBeLessThan(4 * (sd[i]! / Math.sqrt(s.ess)));
      expect(Math.abs(s.sd / sd[i]! - 1)).toBeLessThan(0.15);
      expect(s.ess).toBeGreaterThan(3 * diagonal.summary[i]!.ess);
    }
  }, 30_000);
});
