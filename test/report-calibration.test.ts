import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseObservations } from "../src/analysis/calibrate/observations.js";
import { posteriorPredictive } from "../src/analysis/calibrate/predictive.js";
import { normalQuantile } from "../src/compile/functions.js";
import { prepareModel } from "../src/engine/prepare.js";
import { hashUniform } from "../src/engine/rng.js";
import { htmlReport } from "../src/node/report.js";
import {
  type CalibrationInput,
  calibrationSection,
  chainsOf,
  contractions,
  mostUpdated,
  predictiveChart,
  priorSample,
  toleranceChart,
  traceChart,
} from "../src/report/calibration.js";
import { hostile, hostileRunnableModel } from "./hostile-names.js";

/** A line seen through normal noise: y(t) = a + b·t, with an uncertain a, b and a third param c it ignores. */
const LINE = `brink: 1
name: line
time: { start: 0, stop: 10, dt: 1 }
params:
  a: { dist: "uniform(0, 10)" }
  b: { dist: "uniform(0, 2)" }
  c: { dist: "uniform(0, 1)" }
stocks:
  level: { init: a, inflows: [rise] }
flows:
  rise: b
observations:
  y: { variable: level, file: y.csv, time: t, noise: normal, sd: 0.5 }
`;
const DATA = "t,value\n2,3.1\n4,5.2\n6,6.8\n8,9.1\n";

function setup() {
  const model = prepareModel("line.yaml", LINE);
  const series = parseObservations(model.loaded, () => ({ file: "y.csv", text: DATA }));
  return { model, series };
}

/** Two chains of 300 draws: a near 1 (sd 0.1), b near 1 (sd 0.05), c spread over its prior. */
function posterior(): CalibrationInput["posterior"] {
  const g = (run: number, k: number) => normalQuantile(hashUniform(3, run, k));
  const samples = Array.from({ length: 600 }, (_, k) => [
    1 + 0.1 * g(1, k),
    1 + 0.05 * g(2, k),
    hashUniform(3, 3, k),
  ]);
  return {
    method: "pmmh",
    seed: 7,
    chains: 2,
    iterations: 300,
    partial: false,
    params: ["a", "b", "c"],
    samples,
    summary: [
      { name: "a", rhat: 1.01, ess: 500 },
      { name: "b", rhat: 1.02, ess: 450 },
      { name: "c", rhat: 1, ess: 580 },
    ],
    until: null,
  };
}

describe("the calibration section", () => {
  const { model, series } = setup();
  const post = posterior();
  const priors = post.params.map((n) => model.program.params.find((p) => p.name === n)!.dist);

  it("gives each param's prior and posterior moments and its contraction", () => {
    const rows = contractions({ posterior: post, priors, predictive: [], predictiveRuns: 0 });
    // uniform(0, 10): mean 5, sd 10/√12; the quantile grid matches within its discretisation.
    expect(rows[0]!.priorMean).toBeCloseTo(5, 6);
    expect(rows[0]!.priorSd).toBeCloseTo(10 / Math.sqrt(12), 2);
    expect(rows[0]!.mean).toBeCloseTo(1, 1);
    expect(rows[0]!.sd).toBeGreaterThan(0.08);
    expect(rows[0]!.sd).toBeLessThan(0.12);
    expect(rows[0]!.contraction).toBeCloseTo(1 - (rows[0]!.sd / rows[0]!.priorSd) ** 2, 12);
    // c keeps its prior: contraction near 0.
    expect(Math.abs(rows[2]!.contraction)).toBeLessThan(0.15);
    // a (sd 0.1 of 2.9) and b (0.05 of 0.58) contract most; c last.
    expect(mostUpdated(rows).slice(0, 2).sort()).toEqual([0, 1]);
    expect(mostUpdated(rows)[2]).toBe(2);
    expect(priorSample(priors[0]!, true)[0]).toBeCloseTo(0.1, 1);
  });

  it("the posterior predictive of a point posterior is the measurement model around the line", () => {
    // Every draw at a = 1, b = 1: level at t is 1 + t; observations y ~ N(1 + t, 0.5²).
    const point = { params: ["a", "b", "c"], samples: [[1, 1, 0.5]] };
    const pred = posteriorPredictive(model, series, point, { runs: 4000, seed: 2 });
    expect(pred.map((p) => p.t)).toEqual([2, 4, 6, 8]);
    for (const p of pred) {
      expect(p.n).toBe(4000);
      expect(p.q50).toBeCloseTo(1 + p.t, 1);
      // 5% and 95% quantiles of N(1 + t, 0.5²): ∓0.822, within sampling error.
      expect(Math.abs(p.q05 - (1 + p.t - 0.5 * 1.6449))).toBeLessThan(0.05);
      expect(Math.abs(p.q95 - (1 + p.t + 0.5 * 1.6449))).toBeLessThan(0.05);
    }
    expect(pred.map((p) => p.observed)).toEqual([3.1, 5.2, 6.8, 9.1]);
    // Same seed → same fan.
    expect(posteriorPredictive(model, series, point, { runs: 200, seed: 2 })).toEqual(
      posteriorPredictive(model, series, point, { runs: 200, seed: 2 }),
    );
  });

  it("has a density chart per param, traces per chain, pairs of the most-updated params and the fan", async () => {
    const predictive = posteriorPredictive(model, series, post, { runs: 300, seed: 1 });
    const section = await calibrationSection({ posterior: post, priors, predictive, predictiveRuns: 300 });
    const ids = section.charts.map((c) => c.id);
    expect(ids.filter((i) => i.includes("density"))).toHaveLength(3);
    expect(ids.filter((i) => i.includes("trace"))).toHaveLength(3);
    expect(ids).toContain("chart-calibration-predictive-0");
    expect(ids.filter((i) => i.includes("pair"))).toHaveLength(3);
    const trace = section.charts.find((c) => c.id === "chart-calibration-trace-0")!.svg;
    // A legend entry per chain: two here.
    const chainSpec = traceChart({ posterior: post, priors, predictive, predictiveRuns: 300 }, 0) as {
      data: { values: { chain: string; iteration: number }[] };
    };
    expect([...new Set(chainSpec.data.values.map((v) => v.chain))]).toEqual(["1", "2"]);
    expect(Math.max(...chainSpec.data.values.map((v) => v.iteration))).toBe(300);
    expect(trace).toContain("chain");
    // The fan carries the observations as points over its bands.
    const fan = predictiveChart(predictive, "y") as {
      data: { values: { observed: number; q05: number; q95: number }[] };
      layer: { mark: { type: string }; encoding: { y: { field: string } } }[];
    };
    expect(fan.data.values.map((v) => v.observed)).toEqual([3.1, 5.2, 6.8, 9.1]);
    expect(fan.layer.some((l) => l.mark.type === "point" && l.encoding.y.field === "observed")).toBe(true);
    expect(fan.layer.some((l) => l.mark.type === "area" && l.encoding.y.field === "q05")).toBe(true);
    const table = section.tables[0]!;
    expect(table.columns).toContain("contraction");
    expect(table.rows.map((r) => r[0])).toEqual(["a", "b", "c"]);
    expect(section.intro).toContain("2 chains of 300");
  });
});

describe("the calibration section of an ABC-SMC posterior", () => {
  it("shows the tolerance schedule instead of traces, and no R-hat", async () => {
    const { model } = setup();
    const post = { ...posterior(), method: "abc-smc", chains: 1, abc: { tolerances: [4, 2, 1, 0.5] } };
    const priors = post.params.map((n) => model.program.params.find((p) => p.name === n)!.dist);
    const section = await calibrationSection({ posterior: post, priors, predictive: [], predictiveRuns: 0 });
    const ids = section.charts.map((c) => c.id);
    expect(ids).toContain("chart-calibration-tolerance");
    expect(ids.some((i) => i.includes("trace"))).toBe(false);
    expect(section.tables[0]!.columns).not.toContain("R-hat");
    expect(section.intro).toContain("ABC-SMC");
  });
});

describe("a hand-edited posterior file stays within bounds", () => {
  it("draws one chain when the file's iterations would split the draws into more chains than it ran", () => {
    const post = posterior();
    expect(chainsOf(post).map((c) => c.length)).toEqual([300, 300]);
    expect(chainsOf({ ...post, iterations: 1 })).toHaveLength(1);
    expect(chainsOf({ ...post, iterations: 0.001 })).toHaveLength(1);
    expect(chainsOf({ ...post, iterations: 1, chains: 1e9 })).toHaveLength(1);
    // A stopped run's last chain is shorter: still two chains.
    expect(chainsOf({ ...post, samples: post.samples.slice(0, 450) }).map((c) => c.length)).toEqual([
      300, 150,
    ]);
  });

  it("thins a tolerance schedule of absurd length to a drawable one", () => {
    const spec = toleranceChart(Array.from({ length: 100_000 }, (_, g) => 1 / (g + 1))) as {
      data: { values: { generation: number }[] };
    };
    expect(spec.data.values.length).toBeLessThanOrEqual(400);
    expect(spec.data.values[0]!.generation).toBe(1);
  });
});

describe("brink report --posterior", () => {
  const dir = mkdtempSync(join(tmpdir(), "brink-report-calib-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("adds the calibration section, and keeps hostile text out of the markup", async () => {
    writeFileSync(join(dir, "y.csv"), DATA);
    const file = join(dir, "line.yaml");
    const [payload] = hostile("calibration");
    const text = LINE.replace("name: line", `name: ${JSON.stringify(`line ${payload}`)}`);
    writeFileSync(file, text);
    const postFile = join(dir, "post.json");
    writeFileSync(
      postFile,
      JSON.stringify({ brink_posterior: 1, ...posterior(), model: { file, name: payload } }),
    );
    const html = await htmlReport(
      { file, text },
      { runs: 200, samples: 0, posterior: postFile, predictiveRuns: 200 },
    );
    expect(html).toContain("<h2>Calibration</h2>");
    expect(html).toContain('id="chart-calibration-predictive-0"');
    expect(html).toContain('id="table-calibration"');
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;img src=x");
  });

  it("refuses a posterior naming params the model does not have (a hostile name among them)", async () => {
    const file = join(dir, "runnable.yaml");
    const text = hostileRunnableModel();
    writeFileSync(file, text);
    const postFile = join(dir, "bad.json");
    const [payload] = hostile("param");
    writeFileSync(postFile, JSON.stringify({ brink_posterior: 1, params: [payload], samples: [[1]] }));
    await expect(htmlReport({ file, text }, { runs: 50, samples: 0, posterior: postFile })).rejects.toThrow(
      /are not params of/,
    );
  });

  it("refuses a posterior naming a param twice, or none", async () => {
    const file = join(dir, "line-twice.yaml");
    writeFileSync(join(dir, "y.csv"), DATA);
    writeFileSync(file, LINE);
    const twice = join(dir, "twice.json");
    writeFileSync(
      twice,
      JSON.stringify({ brink_posterior: 1, params: ["a", "b", "a"], samples: [[1, 1, 2]] }),
    );
    await expect(
      htmlReport({ file, text: LINE }, { runs: 50, samples: 0, posterior: twice }),
    ).rejects.toThrow(/names 'a' more than once/);
    const none = join(dir, "none.json");
    writeFileSync(none, JSON.stringify({ brink_posterior: 1, params: [], samples: [[]] }));
    await expect(htmlReport({ file, text: LINE }, { runs: 50, samples: 0, posterior: none })).rejects.toThrow(
      /holds no params/,
    );
  });

  it("renders a hostile model's posterior with its text escaped", async () => {
    const file = join(dir, "runnable2.yaml");
    const text = hostileRunnableModel();
    writeFileSync(file, text);
    const postFile = join(dir, "k.json");
    const samples = Array.from({ length: 50 }, (_, i) => [0.1 + i / 500]);
    writeFileSync(
      postFile,
      JSON.stringify({
        brink_posterior: 1,
        method: "pmmh",
        seed: 1,
        chains: 1,
        iterations: 50,
        params: ["k"],
        samples,
      }),
    );
    const html = await htmlReport({ file, text }, { runs: 50, samples: 0, posterior: postFile });
    expect(html).toContain("<h2>Calibration</h2>");
    expect(html).toContain('id="chart-calibration-density-0"');
    for (const p of hostile("runnable")) expect(html).not.toContain(p);
    expect(html).not.toMatch(/<(img|script)\b/i);
    expect(html).not.toMatch(/<svg onload/i);
  });
});
