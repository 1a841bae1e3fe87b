import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backtest } from "../src/analysis/calibrate/backtest.js";
import { calibrate } from "../src/analysis/calibrate/calibrate.js";
import { factorSeed, likelihoodFactors } from "../src/analysis/calibrate/factors.js";
import { parseObservations } from "../src/analysis/calibrate/observations.js";
import { evidenceTask } from "../src/analysis/weigh.js";
import { normalQuantile } from "../src/compile/functions.js";
import { prepareModel } from "../src/engine/prepare.js";
import { hashUniform } from "../src/engine/rng.js";
import { calibratePool, closeCalibrateWorkers } from "../src/node/calibrate-pool.js";
import { calibrateModelIn, scratchDir } from "./cli-helpers.js";
import { ar1Rows } from "./kalman.js";

/**
 * A likelihood that splits into independent factors is fitted factor by factor (factors.ts): which series split,
 * and that each factor's fit is exactly the fit of that part of the model alone.
 */

const gauss = (seed: number, i: number) => normalQuantile(hashUniform(seed, i, 4242));
const csvOf = (rows: { t: number; y: number }[]) =>
  `t,value\n${rows.map((r) => `${r.t},${r.y}`).join("\n")}\n`;
const DATA = {
  "x.csv": csvOf(ar1Rows(20, 0.8, 0.5, gauss)),
  "z.csv": csvOf(ar1Rows(20, 0.8, 0.5, (s, k) => gauss(s + 10, k))),
};

/**
 * Two AR(1) processes that share a fixed param and a constant var (neither varies, so neither ties them), each
 * observed; x's measurement sd is uncertain, and `unused` reaches no series. `extra` adds model text.
 */
function twoParts(
  extra: { params?: string; vars?: string; xFlow?: string; zFlow?: string; more?: string } = {},
) {
  return `brink: 1
name: two parts
time: { start: 0, stop: 20, dt: 1 }
params:
  phi_x: { dist: "uniform(0, 0.95)" }
  phi_z: { dist: "uniform(0, 0.95)" }
  sd_x: { dist: "0.3 to 0.8" }
  unused: { dist: "normal(0, 1)" }
  q: 0.8
${extra.params ?? ""}stocks:
  x: { init: 0, inflows: [move_x] }
  z: { init: 0, inflows: [move_z] }
flows:
  move_x: { eq: "${extra.xFlow ?? "(phi_x - 1) * x + q * scale * normal(0, 1)"}" }
  move_z: { eq: "${extra.zFlow ?? "(phi_z - 1) * z + q * scale * normal(0, 1)"}" }
vars:
  scale: { eq: "1" }
${extra.vars ?? ""}observations:
  x_seen: { variable: x, file: x.csv, time: t, noise: normal, sd: sd_x }
  z_seen: { variable: z, file: z.csv, time: t, noise: normal, sd: 0.5 }
${extra.more ?? ""}`;
}

function setup(text: string) {
  const model = prepareModel("m.yaml", text);
  const series = parseObservations(model.loaded, (_name, path) => ({
    file: path,
    text: DATA[path as keyof typeof DATA],
  }));
  return { model, series };
}

/** Each factor as (series names, param names). */
function factorsOf(text: string) {
  const { model, series } = setup(text);
  return likelihoodFactors(model.program, series).map((f) => [
    f.series.map((i) => series[i]!.name),
    f.params.map((i) => model.program.params[i]!.name),
  ]);
}

describe("likelihood factors", () => {
  it("split series that share nothing that varies; params no series reads go to the first factor", () => {
    expect(factorsOf(twoParts())).toEqual([
      [["x_seen"], ["phi_x", "sd_x", "unused"]],
      [["z_seen"], ["phi_z"]],
    ]);
  });

  it("join series that share an uncertain param, a stock, a random draw or an outcome", () => {
    const one = [
      [
        ["x_seen", "z_seen"],
        ["phi_x", "phi_z", "sd_x", "unused"],
      ],
    ];
    // An uncertain param in both flows.
    expect(factorsOf(twoParts({ zFlow: "(phi_z - 1) * z + q * scale * normal(0, 1) + 0 * phi_x" }))).toEqual(
      one,
    );
    // A stock one reads from the other.
    expect(factorsOf(twoParts({ zFlow: "(phi_z - 1) * z + 0.1 * x + q * normal(0, 1)" }))).toEqual(one);
    // A shared random var (a common shock).
    expect(
      factorsOf(
        twoParts({
          vars: '  shock: { eq: "normal(0, 1)" }\n',
          xFlow: "(phi_x - 1) * x + q * shock",
          zFlow: "(phi_z - 1) * z + q * shock",
        }),
      ),
    ).toEqual(one);
    // An event that moves both stocks.
    expect(
      factorsOf(twoParts({ more: "events:\n  jolt: { rate: 0.1, then: { x: x + 1, z: z - 1 } }\n" })),
    ).toEqual(one);
    // An outcome ends every series' run.
    expect(factorsOf(twoParts({ more: "outcomes:\n  high: { when: x > 100 }\n" }))).toEqual(one);
  });

  it("join series through previous(), delays, smooths, init() and a 'when' event's trigger", () => {
    const one = [
      [
        ["x_seen", "z_seen"],
        ["phi_x", "phi_z", "sd_x", "unused"],
      ],
    ];
    for (const reach of ["previous(x)", "delay1(x, 2)", "smth1(x, 2)", "init(x)"])
      expect(
        factorsOf(twoParts({ zFlow: `(phi_z - 1) * z + 0.01 * ${reach} + q * normal(0, 1)` })),
        reach,
      ).toEqual(one);
    expect(factorsOf(twoParts({ more: "events:\n  cross: { when: x > 1, then: { z: 0 } }\n" }))).toEqual(one);
  });

  it("leave the model whole when no series reaches an uncertain param", () => {
    const fixedOnly = twoParts()
      .replace('phi_x: { dist: "uniform(0, 0.95)" }', "phi_x: 0.5")
      .replace('phi_z: { dist: "uniform(0, 0.95)" }', "phi_z: 0.5")
      .replace('sd_x: { dist: "0.3 to 0.8" }', "sd_x: 0.5");
    expect(factorsOf(fixedOnly)).toEqual([[["x_seen", "z_seen"], ["unused"]]]);
    expect(factorsOf(fixedOnly.replace('unused: { dist: "normal(0, 1)" }', "unused: 0"))).toEqual([
      [["x_seen", "z_seen"], []],
    ]);
  });

  it("put a series that depends on nothing uncertain into the first factor with params", () => {
    const text = twoParts({ more: "" }).replace(
      "observations:\n",
      "observations:\n  fixed_seen: { variable: scale, file: x.csv, time: t, noise: normal, sd: 1 }\n",
    );
    expect(factorsOf(text)).toEqual([
      [
        ["fixed_seen", "x_seen"],
        ["phi_x", "sd_x", "unused"],
      ],
      [["z_seen"], ["phi_z"]],
    ]);
  });
});

/** The model with one series' entry removed and the given params fixed at their prior medians. */
function block(text: string, drop: string, fix: Record<string, number>): string {
  let out = text
    .split("\n")
    .filter((l) => !l.startsWith(`  ${drop}:`))
    .join("\n");
  for (const [name, median] of Object.entries(fix))
    out = out.replace(new RegExp(`^  ${name}: \\{ dist: [^}]*\\}$`, "m"), `  ${name}: ${median}`);
  return out;
}

const OPTIONS = { chains: 2, iterations: 120, burnIn: 80, particles: 60, evidenceDraws: 40 };

describe("calibrating a likelihood of independent factors", () => {
  const text = twoParts();
  const { model, series } = setup(text);

  it("gives each factor exactly the posterior of its part of the model alone, and their evidences' sum", async () => {
    const post = await calibrate(model, "m.yaml", series, { ...OPTIONS, seed: 3 });
    expect(post.factors?.map((f) => [f.observations, f.params])).toEqual([
      [["x_seen"], ["phi_x", "sd_x", "unused"]],
      [["z_seen"], ["phi_z"]],
    ]);
    expect(post.factors?.[0]?.seed).toBe(3);
    expect(post.factors?.[1]?.seed).toBe(factorSeed(3, 1));
    // Part x alone (phi_z fixed at its prior median: it cannot move x's likelihood), with the same seed.
    const x = setup(block(text, "z_seen", { phi_z: 0.475 }));
    const xPost = await calibrate(x.model, "m.yaml", x.series, { ...OPTIONS, seed: 3 });
    // Part z alone, with the seed its factor ran with.
    const z = setup(block(text, "x_seen", { phi_x: 0.475, sd_x: Math.sqrt(0.3 * 0.8), unused: 0 }));
    const zPost = await calibrate(z.model, "m.yaml", z.series, { ...OPTIONS, seed: factorSeed(3, 1) });
    const column = (p: typeof post, name: string) => p.samples.map((row) => row[p.params.indexOf(name)]);
    for (const name of ["phi_x", "sd_x", "unused"]) expect(column(post, name)).toEqual(column(xPost, name));
    expect(column(post, "phi_z")).toEqual(column(zPost, "phi_z"));
    expect(post.evidence!.log_marginal_likelihood).toBeCloseTo(
      xPost.evidence!.log_marginal_likelihood + zPost.evidence!.log_marginal_likelihood,
      9,
    );
    // The state is drawn for the joint draws, from a filter of every series.
    expect(post.state.stocks).toEqual(["x", "z"]);
    expect(post.state.values.length).toBeGreaterThan(0);
  }, 60_000);

  it("forecasts each factor's series as a backtest of its part alone would", async () => {
    const options = {
      ...OPTIONS,
      evidenceDraws: 0,
      origins: [12],
      horizonSteps: 6,
      priorsOnly: false,
      runs: 50,
      baselineK: 3,
    };
    const both = await backtest(model, "m.yaml", series, { ...options, seed: 4 });
    const x = setup(block(text, "z_seen", { phi_z: 0.475 }));
    const xOnly = await backtest(x.model, "m.yaml", x.series, { ...options, seed: 4 });
    const forecasts = (r: typeof both, name: string) =>
      r.periods.filter((p) => p.series === name).map((p) => p.forecast);
    expect(forecasts(both, "x_seen").length).toBe(6);
    expect(forecasts(both, "x_seen")).toEqual(forecasts(xOnly, "x_seen"));
  }, 60_000);

  it("weighs scenarios by the sum of the factors' evidence paths (brink weigh)", async () => {
    const settings = { seed: 6, chains: 2, iterations: 80, burnIn: 60, particles: 40, evidenceDraws: 30 };
    const task = (t: string, seed: number) => {
      const { series: own } = setup(t);
      return evidenceTask({
        file: "m.yaml",
        text: t,
        scenario: "base",
        series: own,
        settings: { ...settings, seed },
      });
    };
    const both = await task(text, 6);
    const x = await task(block(text, "z_seen", { phi_z: 0.475 }), 6);
    const z = await task(
      block(text, "x_seen", { phi_x: 0.475, sd_x: Math.sqrt(0.3 * 0.8), unused: 0 }),
      factorSeed(6, 1),
    );
    if ("problem" in both || "problem" in x || "problem" in z) throw new Error("no evidence");
    expect(both.steps).toEqual(x.steps);
    const last = (e: typeof both) => e.path[e.path.length - 1]!;
    expect(last(both).log_marginal_likelihood).toBeCloseTo(
      last(x).log_marginal_likelihood + last(z).log_marginal_likelihood,
      9,
    );
    expect(last(both).se).toBeCloseTo(Math.hypot(last(x).se, last(z).se), 12);
  }, 60_000);

  it("backtests a model with nothing uncertain and independent series (one plain forecast each)", async () => {
    const fixedOnly = twoParts()
      .replace('phi_x: { dist: "uniform(0, 0.95)" }', "phi_x: 0.5")
      .replace('phi_z: { dist: "uniform(0, 0.95)" }', "phi_z: 0.5")
      .replace('sd_x: { dist: "0.3 to 0.8" }', "sd_x: 0.5")
      .replace('unused: { dist: "normal(0, 1)" }', "unused: 0");
    const m = setup(fixedOnly);
    const options = {
      ...OPTIONS,
      evidenceDraws: 0,
      origins: [12],
      horizonSteps: 4,
      priorsOnly: false,
      runs: 30,
      baselineK: 3,
    };
    const r = await backtest(m.model, "m.yaml", m.series, { ...options, seed: 2 });
    expect(r.periods.filter((p) => p.series === "z_seen")).toHaveLength(4);
  }, 60_000);

  it("says how it split the fit, and gives the same posterior on worker threads as on one (--workers)", async () => {
    const dir = scratchDir("factors");
    writeFileSync(join(dir, "m.yaml"), text);
    for (const [name, csv] of Object.entries(DATA)) writeFileSync(join(dir, name), csv);
    const calibrateIn = async (...extra: string[]) => {
      const r = await calibrateModelIn(dir, [
        "--iterations",
        "60",
        "--burn-in",
        "40",
        "--particles",
        "30",
        ...extra,
      ]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      return { stdout: r.stdout, ...JSON.parse(readFileSync(join(dir, extra[extra.length - 1]!), "utf8")) };
    };
    const here = await calibrateIn("-o", "here.json");
    expect(here.stdout).toContain(
      "fitted in 2 independent parts (no uncertain param, state or random draw in common): x_seen → phi_x, sd_x, unused",
    );
    const pooled = await calibrateIn("--workers", "2", "-o", "pooled.json");
    expect(here.factors).toHaveLength(2);
    expect(pooled.samples).toEqual(here.samples);
    expect(pooled.evidence).toEqual(here.evidence);
    expect(pooled.state).toEqual(here.state);
  }, 60_000);

  it("a stop keeps about everything every factor sampled: the factors' chains are woven, here and on a pool", async () => {
    const options = { ...OPTIONS, evidenceDraws: 0, seed: 5 };
    const full = await calibrate(model, "m.yaml", series, options);
    // Stop once chain 1 is 30 draws past burn-in (the progress reported is the factors' mean iteration).
    let at = { chain: 0, iteration: 0 };
    const stopped = await calibrate(model, "m.yaml", series, {
      ...options,
      onProgress: (chain, iteration) => {
        at = { chain, iteration };
      },
      shouldStop: () => at.chain === 1 && at.iteration >= options.burnIn + 30,
    });
    expect(stopped.partial).toBe(true);
    // Chain 0 whole; chain 1 about 30 draws in every factor (one factor after the other would have kept none
    // of chain 1: the second factor would not have started it).
    expect(stopped.chain_draws![0]).toBe(options.iterations);
    expect(stopped.chain_draws![1]).toBeGreaterThanOrEqual(29);
    expect(stopped.chain_draws![1]).toBeLessThanOrEqual(32);
    // What was kept is the complete run's draws, chain by chain.
    const [n0, n1] = stopped.chain_draws!;
    expect(stopped.samples.slice(0, n0)).toEqual(full.samples.slice(0, n0));
    expect(stopped.samples.slice(n0)).toEqual(
      full.samples.slice(options.iterations, options.iterations + n1!),
    );

    // On two threads, chain 0 of both factors runs first: a stop keeps draws of both, where queueing factor by
    // factor would have run the first factor's two chains and kept nothing paired.
    let looks = 0;
    let pooled: Awaited<ReturnType<typeof calibrate>>;
    try {
      pooled = await calibrate(model, "m.yaml", series, {
        ...options,
        iterations: 1_000_000,
        pool: calibratePool(2)!,
        // Asked by the pool's watcher every fifth of a second: stop at the fifth look.
        shouldStop: () => ++looks >= 5,
      });
    } finally {
      await closeCalibrateWorkers();
    }
    expect(pooled.partial).toBe(true);
    expect(pooled.chain_draws![0]).toBeGreaterThan(0);
    expect(pooled.samples.every((row) => row.every(Number.isFinite))).toBe(true);
  }, 60_000);
});
