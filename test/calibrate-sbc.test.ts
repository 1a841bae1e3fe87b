import { describe, expect, it } from "vitest";
import { parseObservations } from "../src/analysis/calibrate/observations.js";
import { ParticleFilter } from "../src/analysis/calibrate/particle-filter.js";
import { runPmmh } from "../src/analysis/calibrate/pmmh.js";
import { normalQuantile } from "../src/compile/functions.js";
import { prepareModel } from "../src/engine/prepare.js";
import { hashUniform } from "../src/engine/rng.js";

/**
 * Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018): draw a param from its
 * prior, data from the model given it, and the posterior given those data; the rank of the true param among
 * the posterior draws is uniform for every replicate exactly when the sampler draws from the right posterior.
 * A stochastic model (a random walk with an uncertain drift, seen through noise), so the particle filter's
 * likelihood estimate is in the loop.
 */

const STEPS = 10;
const MODEL = `brink: 1
name: drifting walk
time: { start: 0, stop: ${STEPS}, dt: 1 }
params:
  drift: { dist: "normal(0, 1)" }
stocks:
  x: { init: 0, inflows: [move] }
flows:
  move: { eq: "drift + 0.5 * normal(0, 1)" }
observations:
  y: { variable: x, file: y.csv, time: t, noise: normal, sd: 0.5 }
`;

const gauss = (seed: number, i: number) => normalQuantile(hashUniform(seed, i, 31337));
const REPLICATES = 42;
const CHAINS = 2;
const KEPT = 300;
const THIN = 30; // 2 × 300 / 30 = 20 posterior draws per replicate: ranks 0 … 20
const BINS = 7; // three ranks a bin, 6 replicates expected in each

describe("simulation-based calibration", () => {
  it("the ranks of prior draws among their posteriors are uniform (χ², fixed seed)", () => {
    const ranks: number[] = [];
    let posteriorSd = 0;
    for (let r = 0; r < REPLICATES; r++) {
      // The prior draw and the data it generates, drawn independently of Brink's own streams.
      const drift = gauss(1000 + r, 0);
      let x = 0;
      const rows: string[] = [];
      for (let k = 1; k <= STEPS; k++) {
        x += drift + 0.5 * gauss(2000 + r, k);
        rows.push(`${k},${x + 0.5 * gauss(3000 + r, k)}`);
      }
      const model = prepareModel("m.yaml", MODEL);
      const series = parseObservations(model.loaded, () => ({
        file: "y.csv",
        text: `t,value\n${rows.join("\n")}\n`,
      }));
      const filter = new ParticleFilter(model, series, { particles: 60, seed: r + 1 });
      const result = runPmmh(filter, { chains: CHAINS, iterations: KEPT, burnIn: 200, seed: r + 1 });
      const draws = result.chains.flatMap((c) =>
        c.draws.filter((_, i) => i % THIN === THIN - 1).map((d) => d[0]!),
      );
      expect(draws).toHaveLength((CHAINS * KEPT) / THIN);
      ranks.push(draws.filter((d) => d < drift).length);
      posteriorSd += result.summary[0]!.sd / REPLICATES;
    }
    const counts = new Array<number>(BINS).fill(0);
    const perBin = ((CHAINS * KEPT) / THIN + 1) / BINS;
    for (const rank of ranks) counts[Math.floor(rank / perBin)]!++;
    const expected = REPLICATES / BINS;
    const chi2 = counts.reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
    // χ² with 6 degrees of freedom: 22.46 is its 0.999 quantile (lenient: the test must not flake, and the seed
    // is fixed, so it is deterministic).
    expect(chi2, `rank histogram ${counts.join(" ")}`).toBeLessThan(22.46);
    // The data were informative: the posterior is much narrower than the prior (sd 1).
    expect(posteriorSd).toBeLessThan(0.5);
  }, 120_000);
});
