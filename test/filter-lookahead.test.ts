import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { logNormal } from "../src/analysis/calibrate/likelihood.js";
import { parseObservations } from "../src/analysis/calibrate/observations.js";
import { ParticleFilter } from "../src/analysis/calibrate/particle-filter.js";
import { normalQuantile } from "../src/compile/functions.js";
import { prepareModel } from "../src/engine/prepare.js";
import { hashUniform } from "../src/engine/rng.js";
import { calibrateModelIn, scratchDir } from "./cli-helpers.js";

/**
 * Look-ahead inside change periods (FilterOptions.lookahead): the likelihood estimate stays unbiased and gets
 * less noisy. The oracle: a random walk with drift μ and step sd q, observed as its change over each 4-step
 * period with normal noise r. Consecutive periods share no step, so the changes are independent normals
 * N(4μ, 4q² + r²) and the likelihood is their product.
 */

const Q = 0.5;
const PERIODS = 10;
const modelText = (R: number) => `brink: 1
name: walk
time: { start: 0, stop: ${4 * PERIODS}, dt: 1 }
params:
  mu: { dist: "normal(0, 1)" }
stocks:
  x: { init: 0, inflows: [move] }
flows:
  move: { eq: "mu + ${Q} * normal(0, 1)" }
observations:
  y: { variable: x, file: y.csv, time: t, change: 4, noise: normal, sd: ${R} }
`;
const gauss = (k: number) => normalQuantile(hashUniform(77, k, 4242));

/** The walk with measurement sd R, its data (from μ = 0.3) and its exact log-likelihood. */
function walk(R: number) {
  const ys = Array.from(
    { length: PERIODS },
    (_, k) => 4 * 0.3 + Math.sqrt(4 * Q * Q) * gauss(2 * k) + R * gauss(2 * k + 1),
  );
  const csv = `t,value\n${ys.map((y, k) => `${4 * (k + 1)},${y}`).join("\n")}\n`;
  const model = prepareModel("m.yaml", modelText(R));
  const series = parseObservations(model.loaded, () => ({ file: "y.csv", text: csv }));
  const exact = (mu: number) =>
    ys.reduce((a, y) => a + logNormal(y, 4 * mu, Math.sqrt(4 * Q * Q + R * R)), 0);
  /** Log-likelihood estimates of `calls` filter runs at μ. */
  const estimates = (lookahead: number, mu: number, calls: number, particles = 50) => {
    const filter = new ParticleFilter(model, series, { particles, seed: 3, lookahead });
    return Array.from({ length: calls }, (_, c) => filter.run([mu], c).logLikelihood);
  };
  return { model, series, exact, estimates, files: { text: modelText(R), csv } };
}
const loose = walk(0.3);
const tight = walk(0.05);

/** log of the mean of exp(estimates), and its standard error by the delta method. */
function logMean(ls: number[]): { value: number; se: number } {
  const max = Math.max(...ls);
  const w = ls.map((l) => Math.exp(l - max));
  const m = w.reduce((a, b) => a + b, 0) / w.length;
  const v = w.reduce((a, b) => a + (b - m) ** 2, 0) / (w.length - 1);
  return { value: max + Math.log(m), se: Math.sqrt(v / w.length) / m };
}

const sd = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};

describe("look-ahead inside change periods", () => {
  it("keeps the likelihood estimate unbiased, at the data's drift and away from it", () => {
    // A measurement loose enough for the plain filter's estimate to be light-tailed, so the mean is testable.
    for (const mu of [0.3, 0.1]) {
      for (const lookahead of [0, 3]) {
        const { value, se } = logMean(loose.estimates(lookahead, mu, 800));
        expect(Math.abs(value - loose.exact(mu)), `mu ${mu}, lookahead ${lookahead}`).toBeLessThan(
          4 * se + 0.02,
        );
      }
    }
  }, 60_000);

  it("stays unbiased with a pilot of its own (more particles than the pilot's 64)", () => {
    const { value, se } = logMean(loose.estimates(3, 0.2, 300, 256));
    expect(Math.abs(value - loose.exact(0.2))).toBeLessThan(4 * se + 0.02);
  }, 60_000);

  it("makes it less noisy when the measurement is tight against the period's spread", () => {
    const plain = sd(tight.estimates(0, 0.3, 200));
    const ahead = sd(tight.estimates(3, 0.3, 200));
    expect(ahead).toBeLessThan(0.7 * plain);
  }, 60_000);

  it("reports the path and ESS at the observation steps only, and changes nothing when off", () => {
    const { model, series } = tight;
    const off = new ParticleFilter(model, series, { particles: 50, seed: 3 });
    const zero = new ParticleFilter(model, series, { particles: 50, seed: 3, lookahead: 0 });
    expect(zero.run([0.3], 5)).toEqual(off.run([0.3], 5));
    const on = new ParticleFilter(model, series, { particles: 50, seed: 3, lookahead: 3 });
    expect(on.steps).toEqual(off.steps);
    const r = on.run([0.3], 5);
    expect(r.path).toHaveLength(PERIODS);
    expect(r.ess).toHaveLength(PERIODS);
    expect(r.path[PERIODS - 1]).toBe(r.logLikelihood);
  });
});

describe("brink calibrate --lookahead", () => {
  it("records it in the posterior, gives the same file on worker threads, and refuses a bad value", async () => {
    const dir = scratchDir("lookahead");
    const { text, csv } = tight.files;
    writeFileSync(join(dir, "m.yaml"), text);
    writeFileSync(join(dir, "y.csv"), csv);
    const calibrateIn = (...extra: string[]) =>
      calibrateModelIn(dir, [
        "--iterations",
        "40",
        "--burn-in",
        "40",
        "--particles",
        "30",
        "--evidence-draws",
        "20",
        ...extra,
      ]);
    const here = await calibrateIn("--lookahead", "3", "--workers", "1", "-o", "a.json");
    expect(here.stderr).toBe("");
    const pooled = await calibrateIn("--lookahead", "3", "--workers", "2", "-o", "b.json");
    expect(pooled.status).toBe(0);
    const a = JSON.parse(readFileSync(join(dir, "a.json"), "utf8"));
    expect(a.lookahead).toBe(3);
    expect(readFileSync(join(dir, "b.json"), "utf8")).toBe(readFileSync(join(dir, "a.json"), "utf8"));
    await calibrateIn("-o", "c.json");
    expect(JSON.parse(readFileSync(join(dir, "c.json"), "utf8")).samples).not.toEqual(a.samples);
    const bad = await calibrateIn("--lookahead", "-1");
    expect(bad.status).toBe(2); // a usage error
    expect(bad.stderr).toMatch(/--lookahead/);
  }, 60_000);
});
