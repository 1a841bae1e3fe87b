import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runAbcSmc } from "../src/analysis/calibrate/abc-smc.js";
import { calibrate } from "../src/analysis/calibrate/calibrate.js";
import { parseObservations } from "../src/analysis/calibrate/observations.js";
import { normalCdf } from "../src/compile/functions.js";
import { prepareModel } from "../src/engine/prepare.js";
import { DiagnosticError } from "../src/lang/diagnostic.js";
import { ROOT } from "./helpers.js";

function setup(modelText: string, data: Record<string, string>) {
  const model = prepareModel("m.yaml", modelText);
  const series = parseObservations(model.loaded, (_name, path) => ({ file: path, text: data[path]! }));
  return { model, series };
}

// theta ~ N(0, 2²); the model draws x = theta + N(0, 1) and x is observed once, without a measurement model.
const PRIOR_SD = 2;
const Y = 1.3;
const NOISY = `brink: 1
name: abc
time: { start: 0, stop: 1, dt: 1 }
params:
  theta: { dist: "normal(0, ${PRIOR_SD})" }
vars:
  x: theta + normal(0, 1)
observations:
  y: { variable: x, file: y.csv, time: t }
`;

/**
 * The exact ABC posterior at tolerance ε, by quadrature: prior(θ) · P(|θ + e − y| ≤ ε) with e ~ N(0, 1). As
 * ε → 0 it is the conjugate normal posterior: mean y·τ²/(τ² + 1), variance τ²/(τ² + 1).
 */
function abcPosterior(epsilon: number): { mean: number; sd: number } {
  let [m0, m1, m2] = [0, 0, 0];
  for (let k = 0; k <= 20_000; k++) {
    const t = -10 + k * 0.001;
    const w =
      Math.exp(-0.5 * (t / PRIOR_SD) ** 2) * (normalCdf(Y + epsilon - t) - normalCdf(Y - epsilon - t));
    m0 += w;
    m1 += w * t;
    m2 += w * t * t;
  }
  const mean = m1 / m0;
  return { mean, sd: Math.sqrt(m2 / m0 - mean * mean) };
}

describe("adaptive ABC-SMC", () => {
  const { model, series } = setup(NOISY, { "y.csv": `t,value\n1,${Y}\n` });

  it("an entry without a measurement model parses as 'none' with a distance scale", () => {
    expect(series[0]!.noise).toEqual({ kind: "none", scale: 1 });
    const scaled = setup(NOISY.replace("time: t }", "time: t, noise: none, scale: 2 }"), {
      "y.csv": "t,value\n1,1\n",
    });
    expect(scaled.series[0]!.noise).toEqual({ kind: "none", scale: 2 });
    expect(() =>
      setup(NOISY.replace("time: t }", "time: t, noise: none, sd: 2 }"), { "y.csv": "t,value\n1,1\n" }),
    ).toThrow(/noise 'none' takes 'scale', not 'sd'/);
  });

  it("matches the exact ABC posterior at each tolerance, and the conjugate posterior as the tolerance shrinks", async () => {
    const conjugate = {
      mean: (Y * PRIOR_SD ** 2) / (PRIOR_SD ** 2 + 1),
      sd: Math.sqrt(PRIOR_SD ** 2 / (PRIOR_SD ** 2 + 1)),
    };
    // The quadrature itself: within 0.5% of the conjugate answer at tolerance 0.2, wider at 1.5.
    expect(abcPosterior(0.02).mean).toBeCloseTo(conjugate.mean, 3);
    expect(abcPosterior(0.02).sd).toBeCloseTo(conjugate.sd, 3);
    expect(Math.abs(abcPosterior(0.2).sd / conjugate.sd - 1)).toBeLessThan(0.006);
    expect(abcPosterior(1.5).sd).toBeGreaterThan(conjugate.sd * 1.1);
    for (const tolerance of [1.5, 0.2]) {
      const r = await runAbcSmc(model, series, { seed: 4, particles: 1000, tolerance });
      expect(r.stopped).toBe("tolerance");
      expect(r.tolerances[r.tolerances.length - 1]).toBe(tolerance);
      // The schedule only ever tightens.
      for (let g = 1; g < r.tolerances.length; g++)
        expect(r.tolerances[g]!).toBeLessThanOrEqual(r.tolerances[g - 1]!);
      const exact = abcPosterior(tolerance);
      const draws = r.samples.map((s) => s[0]!);
      expect(draws.length).toBeGreaterThan(450);
      const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
      const sd = Math.sqrt(draws.reduce((a, b) => a + (b - mean) ** 2, 0) / (draws.length - 1));
      // Stated tolerance: mean within 0.12 (≈ 0.13 posterior sd), sd within 10%.
      expect(Math.abs(mean - exact.mean)).toBeLessThan(0.12);
      expect(Math.abs(sd / exact.sd - 1)).toBeLessThan(0.1);
      if (tolerance === 0.2) {
        expect(Math.abs(mean - conjugate.mean)).toBeLessThan(0.12);
        expect(Math.abs(sd / conjugate.sd - 1)).toBeLessThan(0.1);
      }
    }
  });

  it("same seed → same posterior; another seed → another sample", async () => {
    const a = await runAbcSmc(model, series, { seed: 9, particles: 200, tolerance: 0.3 });
    const b = await runAbcSmc(model, series, { seed: 9, particles: 200, tolerance: 0.3 });
    const c = await runAbcSmc(model, series, { seed: 10, particles: 200, tolerance: 0.3 });
    expect(b.samples).toEqual(a.samples);
    expect(b.tolerances).toEqual(a.tolerances);
    expect(c.samples).not.toEqual(a.samples);
  });

  it("a deterministic line fitted by distance: the posterior closes on the least-squares line", async () => {
    // level = a + b·t with no noise in the model; data from a = 2, b = 0.5 plus fixed deviations.
    const LINE = `brink: 1
name: line
time: { start: 0, stop: 10, dt: 1 }
params:
  a: { dist: "uniform(0, 5)" }
  b: { dist: "uniform(0, 2)" }
stocks:
  level: { init: a, inflows: [rise] }
flows:
  rise: b
observations:
  y: { variable: level, file: y.csv, time: t, noise: none, scale: 0.1 }
`;
    const dev = [0.1, -0.05, 0.02, -0.08, 0.06, -0.03];
    const ts = [1, 3, 4, 6, 8, 10];
    const ys = ts.map((t, i) => 2 + 0.5 * t + dev[i]!);
    const line = setup(LINE, { "y.csv": `t,value\n${ts.map((t, i) => `${t},${ys[i]}`).join("\n")}\n` });
    // Least squares, in closed form.
    const tm = ts.reduce((a, b) => a + b, 0) / ts.length;
    const ym = ys.reduce((a, b) => a + b, 0) / ys.length;
    const bHat =
      ts.reduce((s, t, i) => s + (t - tm) * (ys[i]! - ym), 0) / ts.reduce((s, t) => s + (t - tm) ** 2, 0);
    const aHat = ym - bHat * tm;
    const r = await runAbcSmc(line.model, line.series, { seed: 1, particles: 500, tolerance: 0 });
    const mean = (i: number) => r.samples.reduce((s, x) => s + x[i]!, 0) / r.samples.length;
    const final = r.tolerances[r.tolerances.length - 1]!;
    // The RMS residual of the least-squares line (in units of scale) bounds the distance from below.
    const rmsHat = Math.sqrt(
      ts.reduce((s, t, i) => s + ((aHat + bHat * t - ys[i]!) / 0.1) ** 2, 0) / ts.length,
    );
    expect(final).toBeGreaterThanOrEqual(rmsHat - 1e-9);
    expect(final).toBeLessThan(rmsHat * 1.2);
    expect(Math.abs(mean(0) - aHat)).toBeLessThan(0.05);
    expect(Math.abs(mean(1) - bHat)).toBeLessThan(0.01);
  });

  it("brink calibrate dispatches to it, and refuses entries that mix a likelihood and a distance", async () => {
    const post = await calibrate(model, "m.yaml", series, {
      seed: 2,
      chains: 4,
      iterations: 10,
      burnIn: 10,
      particles: 10,
      abcParticles: 300,
      tolerance: 0.2,
    });
    expect(post.method).toBe("abc-smc");
    expect(post.abc!.tolerances[0]).toBeNull();
    expect(post.abc!.stopped).toBe("tolerance");
    expect(post.samples.length).toBeGreaterThan(100);
    expect(post.params).toEqual(["theta"]);
    const mixed = setup(
      NOISY.replace(
        "  y: { variable: x, file: y.csv, time: t }",
        "  y: { variable: x, file: y.csv, time: t }\n  z: { variable: x, file: y.csv, time: t, noise: normal, sd: 1 }",
      ),
      { "y.csv": "t,value\n1,1\n" },
    );
    const err = await calibrate(mixed.model, "m.yaml", mixed.series, {
      seed: 1,
      chains: 1,
      iterations: 10,
      burnIn: 10,
      particles: 10,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiagnosticError);
    expect((err as DiagnosticError).diagnostics[0]!.message).toMatch(
      /observation 'z' has a measurement model/,
    );
    expect((err as DiagnosticError).diagnostics[0]!.line).toBe(10);
  });
});

describe("brink calibrate on a model without a measurement model", () => {
  it("writes an ABC-SMC posterior, the same for the same seed", () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-abc-"));
    try {
      const run = (out: string) =>
        spawnSync(
          process.execPath,
          [
            join(ROOT, "bin", "brink.js"),
            "calibrate",
            "test/fixtures/abc/noisy-line.yaml",
            "--tolerance",
            "0.5",
            "--abc-particles",
            "300",
            "--json",
            "-o",
            join(dir, out),
          ],
          { cwd: ROOT, encoding: "utf8" },
        );
      const a = run("a.json");
      expect(a.stderr).toBe("");
      expect(a.status).toBe(0);
      const post = JSON.parse(a.stdout);
      expect(post.method).toBe("abc-smc");
      expect(post.params).toEqual(["a", "b"]);
      expect(post.abc.stopped).toBe("tolerance");
      expect(post.abc.tolerances.at(-1)).toBe(0.5);
      expect(post.summary[0].rhat).toBeNull();
      expect(run("b.json").stdout).toBe(a.stdout);
      const bad = spawnSync(
        process.execPath,
        [
          join(ROOT, "bin", "brink.js"),
          "calibrate",
          "test/fixtures/abc/noisy-line.yaml",
          "--tolerance",
          "-1",
        ],
        { cwd: ROOT, encoding: "utf8" },
      );
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/--tolerance must be a number ≥ 0/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
