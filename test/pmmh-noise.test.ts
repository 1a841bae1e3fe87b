import { describe, expect, it } from "vitest";
import type { ParticleFilter } from "../src/analysis/calibrate/particle-filter.js";
import { optimalScaling, pseudoMarginalAcceptance, runChain } from "../src/analysis/calibrate/pmmh.js";
import { normalCdf, normalQuantile } from "../src/compile/functions.js";
import { prepareModel } from "../src/engine/prepare.js";
import { hashUniform } from "../src/engine/rng.js";
import { ksDistance } from "./helpers.js";

/**
 * PMMH's step adaptation under a noisy likelihood estimate (docs/calibration.md, "The filter's noise"). The
 * sampler sees the likelihood only through the filter's `run`, so these tests hand it a stand-in filter whose
 * log-estimate is the exact log-likelihood plus Gaussian noise of a known sd σ, mean-corrected (−σ²/2) so that
 * the estimate of the likelihood is unbiased: PMMH's target is then the exact posterior, whatever σ is.
 */

const MODEL = `brink: 1
name: toy
time: { start: 0, stop: 1, dt: 1 }
params:
  mu: { dist: "normal(0, 1)" }
stocks:
  x: { init: 0 }
`;
const { program } = prepareModel("toy.yaml", MODEL);
const MU = program.params.findIndex((p) => p.name === "mu");

interface Stand {
  /** The exact log-likelihood at mu. */
  logLik: (mu: number) => number;
  /** The sd of the log-estimate at mu with n particles. */
  noise: (mu: number, n: number) => number;
  particles: number;
  targetSd?: number;
  maxParticles?: number;
  /**
   * Filled with (particles, mu, iteration) each time the sampler resizes the filter: the mu it had just
   * measured at, and the iteration (of `clock`) it did so in.
   */
  resized?: { n: number; mu: number; iteration: number }[];
  clock?: { iteration: number };
}

function standIn(s: Stand, particles = s.particles): ParticleFilter {
  let lastMu = Number.NaN;
  const filter = {
    program,
    particles,
    targetSd: s.targetSd ?? 0,
    maxParticles: s.maxParticles ?? 16 * s.particles,
    run(values: Float64Array, call: number) {
      const mu = values[MU]!;
      lastMu = mu;
      const sigma = s.noise(mu, particles);
      const eps = normalQuantile(hashUniform(99, call, particles));
      return {
        logLikelihood: s.logLik(mu) + sigma * eps - (sigma * sigma) / 2,
        failures: 0,
        ess: [],
        path: [],
      };
    },
    withParticles(n: number) {
      s.resized?.push({ n, mu: lastMu, iteration: s.clock?.iteration ?? -1 });
      return standIn(s, n);
    },
  };
  return filter as unknown as ParticleFilter;
}

// Data that make the posterior of mu normal: prior N(0, 1), likelihood N(mu; 1, 0.5²) → N(0.8, 0.2).
const DATA_MEAN = 1;
const DATA_SD = 0.5;
const logLik = (mu: number) => -((mu - DATA_MEAN) ** 2) / (2 * DATA_SD ** 2);
const POSTERIOR_MEAN = DATA_MEAN / DATA_SD ** 2 / (1 + 1 / DATA_SD ** 2);
const POSTERIOR_SD = 1 / Math.sqrt(1 + 1 / DATA_SD ** 2);

/** Mean absolute size of the moves a chain's kept draws made (in normal scores), over the moves it accepted. */
function meanMove(scores: Float64Array): number {
  let total = 0;
  let moves = 0;
  for (let k = 1; k < scores.length; k++) {
    const jump = Math.abs(scores[k]! - scores[k - 1]!);
    if (jump > 0) {
      total += jump;
      moves++;
    }
  }
  return moves ? total / moves : 0;
}

describe("the optimal scaling of pseudo-marginal random-walk Metropolis", () => {
  it("reproduces the published optima (Roberts et al. 1997; Sherlock et al. 2015)", () => {
    // Without noise: ℓ ≈ 2.38 and 23.4% acceptance.
    const exact = optimalScaling(0);
    expect(exact.ell).toBeCloseTo(2.38, 2);
    expect(exact.acceptance).toBeCloseTo(0.234, 3);
    // At the paper's optimal noise variance 3.283: ℓ ≈ 2.562 and 7.0% acceptance.
    const noisy = optimalScaling(Math.sqrt(3.283));
    expect(noisy.ell).toBeCloseTo(2.562, 2);
    expect(noisy.acceptance).toBeCloseTo(0.07, 3);
    // The target acceptance falls with the noise, and stays below what a zero move gets, 2Φ(−σ/√2).
    let previous = 1;
    for (const sigma of [0.5, 1, 1.5, 2, 3]) {
      const { acceptance } = optimalScaling(sigma);
      expect(acceptance).toBeLessThan(previous);
      expect(acceptance).toBeLessThan(2 * normalCdf(-sigma / Math.SQRT2));
      expect(acceptance).toBeCloseTo(pseudoMarginalAcceptance(optimalScaling(sigma).ell, sigma), 12);
      previous = acceptance;
    }
  });
});

describe("PMMH under a noisy likelihood estimate", () => {
  it("keeps its step within bounds when noise alone holds acceptance below the target, and samples the posterior", () => {
    // σ = 1.8: even a zero move is accepted with probability 2Φ(−1.8/√2) ≈ 0.20, below the 25% the step
    // adaptation aims for when it does not know σ (no target sd). Unbounded, it shrank the step every batch.
    const sigma = 1.8;
    const filter = standIn({ logLik, noise: () => sigma, particles: 100 });
    const draws: number[] = [];
    for (let chain = 0; chain < 4; chain++) {
      const { chain: c } = runChain(filter, { chain, iterations: 6000, burnIn: 4000, seed: 3 });
      // The kept draws' moves stay of the posterior's size: 0.12-1.2 posterior sds (seed 3), where the
      // unbounded adaptation left moves of about 1e-4. The scale's floor is 0.01 of 2.38/√d in the prior's
      // units in the first half of burn-in and 0.1 of it times the adapted sd after.
      expect(meanMove(c.scores)).toBeGreaterThan(0.05 * POSTERIOR_SD);
      expect(c.acceptance).toBeGreaterThan(0.01);
      draws.push(...Array.from(c.column(0)));
    }
    const mean = draws.reduce((a, b) => a + b) / draws.length;
    const sd = Math.sqrt(draws.reduce((a, b) => a + (b - mean) ** 2, 0) / (draws.length - 1));
    expect(Math.abs(mean - POSTERIOR_MEAN)).toBeLessThan(0.15);
    expect(Math.abs(sd / POSTERIOR_SD - 1)).toBeLessThan(0.25);
    // Thinned to about one draw per 50 (the noisy chain repeats itself), against the exact posterior.
    const thinned = draws.filter((_, i) => i % 50 === 0);
    const cdf = (x: number) => normalCdf((x - POSTERIOR_MEAN) / POSTERIOR_SD);
    expect(ksDistance(thinned, cdf)).toBeLessThan(1.63 / Math.sqrt(thinned.length));
  }, 30_000);

  it("aims at the acceptance of the optimal step under the measured noise", () => {
    // The noise falls as 1/√N but the particles are capped where it is still 2: the chain measures it, records
    // it, and adapts towards optimalScaling(2)'s 5.6% acceptance rather than an unreachable 25%.
    const filter = standIn({
      logLik,
      noise: (_mu, n) => 4 / Math.sqrt(n / 100),
      particles: 100,
      targetSd: 1,
      maxParticles: 400,
    });
    for (let chain = 0; chain < 3; chain++) {
      const { chain: c } = runChain(filter, { chain, iterations: 3000, burnIn: 2000, seed: 5 });
      expect(c.particles).toBe(400);
      // 24 replicates measure an sd of 2 within about ±30% (2 of their sds).
      expect(c.noiseSd).toBeGreaterThan(1.2);
      expect(c.noiseSd).toBeLessThan(3);
      // Aiming at 25%, which this noise puts out of reach (2Φ(−√2) ≈ 0.157 for a zero move), the step sat at
      // its floor and the accepted moves were 0.14-0.16 posterior sds; aiming at 5.6%, they are 0.76-1.18.
      expect(meanMove(c.scores)).toBeGreaterThan(0.4 * POSTERIOR_SD);
      expect(c.acceptance).toBeGreaterThan(0.02);
    }
  }, 30_000);

  it("re-checks the particles later in burn-in, raising them when the chain has moved somewhere noisier", () => {
    // No data (the posterior is the prior); the estimate is 4 times noisier above mu = 0 than below.
    type Resize = { n: number; mu: number; iteration: number };
    const resized: Resize[] = [];
    const clock = { iteration: 0 };
    const log: { resized: Resize[]; particles: number }[] = [];
    for (let chain = 0; chain < 8; chain++) {
      resized.length = 0;
      const filter = standIn({
        logLik: () => 0,
        noise: (mu, n) => (mu > 0 ? 2 : 0.5) / Math.sqrt(n / 10),
        particles: 10,
        targetSd: 1,
        maxParticles: 400,
        resized,
        clock,
      });
      clock.iteration = 0;
      const { chain: c } = runChain(filter, {
        chain,
        iterations: 200,
        burnIn: 400,
        seed: 2,
        // Called after each iteration: the next one is it + 1.
        onProgress: (it) => {
          clock.iteration = it + 1;
        },
      });
      log.push({ resized: [...resized], particles: c.particles });
    }
    for (const { resized: r, particles } of log) {
      // Resized only at the checks, at 1/4, 1/2 and 3/4 of burn-in (iterations 99, 199, 299 from 0).
      for (const { iteration } of r) expect([99, 199, 299]).toContain(iteration);
      // Never lowered, never past the cap; the chain ends with the last size chosen.
      for (let k = 1; k < r.length; k++) expect(r[k]!.n).toBeGreaterThan(r[k - 1]!.n);
      for (const { n } of r) expect(n).toBeLessThanOrEqual(400);
      expect(particles).toBe(r.length ? r.at(-1)!.n : 10);
      // Wherever it resized, it was in the noisy region (the quiet one needs no more than 10), and took
      // about what that region needs: 10·(2/1)² = 40 particles (from a 24-filter estimate of the sd).
      for (const { n, mu } of r) {
        expect(mu).toBeGreaterThan(0);
        expect(n).toBeGreaterThan(15);
      }
    }
    // Some chains were in the quiet region at a quarter of burn-in and in the noisy one later: only the
    // re-checks (at a half and three quarters) raised their particles.
    const late = log.filter((l) => l.resized.length > 0 && l.resized[0]!.iteration > 99);
    expect(late.length).toBeGreaterThan(0);
  }, 30_000);
});
