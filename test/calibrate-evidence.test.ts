import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { estimateEvidence } from "../src/analysis/calibrate/evidence.js";
import { parseObservations } from "../src/analysis/calibrate/observations.js";
import { ParticleFilter } from "../src/analysis/calibrate/particle-filter.js";
import { runPmmh } from "../src/analysis/calibrate/pmmh.js";
import { normalQuantile } from "../src/compile/functions.js";
import { prepareModel } from "../src/engine/prepare.js";
import { hashUniform } from "../src/engine/rng.js";
import { ROOT } from "./helpers.js";
import { ar1Rows, kalmanLogLik } from "./kalman.js";

/** Log marginal likelihood estimates against exact answers. */

function setup(modelText: string, data: Record<string, string>) {
  const model = prepareModel("m.yaml", modelText);
  const series = parseObservations(model.loaded, (_name, path) => ({ file: path, text: data[path]! }));
  return { model, series };
}
const gauss = (seed: number, i: number) => normalQuantile(hashUniform(seed, i, 4242));
const csvOf = (rows: { t: number; y: number }[]) =>
  `t,value\n${rows.map((r) => `${r.t},${r.y}`).join("\n")}\n`;

function fitAndEstimate(
  model: ReturnType<typeof setup>["model"],
  series: ReturnType<typeof setup>["series"],
  particles: number,
) {
  const filter = new ParticleFilter(model, series, { particles, seed: 5 });
  const result = runPmmh(filter, { chains: 2, iterations: 600, burnIn: 300, seed: 5 });
  return estimateEvidence(
    filter,
    result.chains.map((c) => c.scores),
    { draws: 1500, seed: 5 },
  )!;
}

describe("log marginal likelihood", () => {
  it("matches the closed form of a linear model with a normal prior and normal noise", () => {
    // y_t = a·t + e_t, a ~ N(1, 2²), e_t ~ N(0, 1.5²): y ~ N(t, 2.25·I + 4·t·tᵀ).
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
    const { model, series } = setup(text, { "y.csv": csvOf(rows) });
    const tt = rows.reduce((a, r) => a + r.t * r.t, 0);
    const tr = rows.reduce((a, r) => a + r.t * (r.y - r.t), 0);
    const rr = rows.reduce((a, r) => a + (r.y - r.t) ** 2, 0);
    const s2 = 2.25;
    const g = 1 + (4 * tt) / s2;
    const quad = (rr - ((4 / s2) * tr * tr) / g) / s2;
    const exact =
      -0.5 * (rows.length * Math.log(2 * Math.PI) + rows.length * Math.log(s2) + Math.log(g) + quad);
    const e = fitAndEstimate(model, series, 1);
    expect(e.se).toBeLessThan(0.05);
    expect(Math.abs(e.log_marginal_likelihood - exact)).toBeLessThan(4 * e.se + 1e-3);
    expect(e.ess).toBeGreaterThan(500);
  });

  it("matches the grid integral of the Kalman likelihood of a stochastic AR(1), within its error", () => {
    const Q = 0.8;
    const R = 0.5;
    const text = `brink: 1
name: ar1
time: { start: 0, stop: 20, dt: 1 }
params:
  phi: { dist: "uniform(0, 0.95)" }
stocks:
  x: { init: 0, inflows: [move] }
flows:
  move: { eq: "(phi - 1) * x + ${Q} * normal(0, 1)" }
observations:
  y: { variable: x, file: y.csv, time: t, noise: normal, sd: ${R} }
`;
    const rows = ar1Rows(20, Q, R, gauss);
    const ys = rows.map((r) => r.y);
    const kalman = (phi: number) => kalmanLogLik(phi, Q, R, ys);
    // log ∫ L(φ)/0.95 dφ over [0, 0.95] by the midpoint rule, shifted by the largest term.
    const n = 20_000;
    const lls = Array.from({ length: n }, (_, i) => kalman(((i + 0.5) * 0.95) / n));
    const max = Math.max(...lls);
    const exact = max + Math.log(lls.reduce((a, l) => a + Math.exp(l - max), 0) / n);
    const { model, series } = setup(text, { "y.csv": csvOf(rows) });
    const e = fitAndEstimate(model, series, 100);
    expect(e.se).toBeLessThan(0.1);
    expect(Math.abs(e.log_marginal_likelihood - exact)).toBeLessThan(4 * e.se);
  }, 60_000);
});

describe("brink calibrate reports the log marginal likelihood", () => {
  it("in its table and its posterior file; --evidence-draws 0 leaves it out", () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-evidence-"));
    const args = [
      "calibrate",
      "models/examples/boarding-school-flu.yaml",
      "--iterations",
      "150",
      "--burn-in",
      "100",
    ];
    const run = (...extra: string[]) =>
      spawnSync(process.execPath, [join(ROOT, "bin", "brink.js"), ...args, ...extra], {
        cwd: ROOT,
        encoding: "utf8",
      });
    const text = run("--evidence-draws", "200", "-o", join(dir, "p.json"));
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(
      /log marginal likelihood -\d+(\.\d+)? ± \d.* \(importance sampling, 200 filter runs/,
    );
    const post = JSON.parse(readFileSync(join(dir, "p.json"), "utf8"));
    expect(post.evidence).toMatchObject({ draws: 200 });
    expect(Number.isFinite(post.evidence.log_marginal_likelihood)).toBe(true);
    const none = run("--evidence-draws", "0", "--json", "-o", join(dir, "q.json"));
    expect(JSON.parse(none.stdout).evidence).toBeNull();
  }, 60_000);
});
