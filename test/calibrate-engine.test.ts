import { describe, expect, it } from "vitest";
import { calibrate, type PosteriorFile } from "../src/analysis/calibrate/calibrate.js";
import {
  type CalibratePool,
  type CalibrateTask,
  runCalibrateTask,
} from "../src/analysis/calibrate/calibrate-task.js";
import { parseObservations } from "../src/analysis/calibrate/observations.js";
import { ParticleFilter } from "../src/analysis/calibrate/particle-filter.js";
import { ess, runChain, splitRhat } from "../src/analysis/calibrate/pmmh.js";
import { normalCdf, normalQuantile } from "../src/compile/functions.js";
import { prepareModel } from "../src/engine/prepare.js";
import { hashUniform } from "../src/engine/rng.js";
import { type ParamRows, Runner } from "../src/engine/run.js";
import { DiagnosticError } from "../src/lang/diagnostic.js";
import { calibratePool, closeCalibrateWorkers } from "../src/node/calibrate-pool.js";

/**
 * The calibration engine's plumbing: chains kept in arrays allocated once (thinning), the same posterior on a
 * pool of workers as on one thread, the diagnostics in the posterior file, and runs restarted from the
 * posterior's filtered state.
 */

const gauss = (seed: number, i: number) => normalQuantile(hashUniform(seed, i, 4242));

function setup(text: string, csv: string) {
  const model = prepareModel("m.yaml", text);
  const series = parseObservations(model.loaded, () => ({ file: "y.csv", text: csv }));
  return { model, series };
}

// A deterministic model with every kind of state a restart needs: stocks, a smooth's and a delay's hidden
// stocks, a `when` event's flags, a previous(x).
const DETERMINISTIC = `brink: 1
name: restart check
time: { start: 0, stop: 30, dt: 0.5 }
params:
  rate: { dist: "uniform(0.05, 0.3)" }
stocks:
  x: { init: 100, outflows: [out] }
  y: { init: 0, inflows: [out] }
flows:
  out: rate * x
vars:
  smoothed: smth1(x, 3)
  lagged: delay3(out, 2)
  x_before: previous(x, 100)
events:
  boost: { when: "x < 40", then: { y: y + 10 } }
track: [x, y, smoothed, lagged, x_before]
observations:
  obs: { variable: x, file: y.csv, time: t, noise: normal, sd: 2 }
`;
const deterministicData = `t,value\n${Array.from({ length: 8 }, (_, i) => `${i + 1},${100 * Math.exp(-0.12 * (i + 1)) + 2 * gauss(1, i)}`).join("\n")}\n`;

// A random walk with an uncertain drift, seen through noise: stochastic, so the filter's particles matter.
const SIGMA = 0.7;
const WALK = `brink: 1
name: walk
time: { start: 0, stop: 20, dt: 1 }
params:
  drift: { dist: "normal(0, 1)" }
stocks:
  x: { init: 0, inflows: [move] }
flows:
  move: { eq: "drift + ${SIGMA} * normal(0, 1)" }
observations:
  y: { variable: x, file: y.csv, time: t, noise: normal, sd: 0.5 }
`;
const walkData = (() => {
  let x = 0;
  const rows: string[] = [];
  for (let k = 1; k <= 10; k++) {
    x += 0.8 + SIGMA * gauss(2, k);
    rows.push(`${k},${x + 0.5 * gauss(3, k)}`);
  }
  return `t,value\n${rows.join("\n")}\n`;
})();

/** A pool that runs tasks on this thread, after a turn of the event loop, in an order of its own. */
function localPool(size: number): CalibratePool & { tasks: CalibrateTask[] } {
  const tasks: CalibrateTask[] = [];
  return {
    size,
    tasks,
    run: (task) => {
      tasks.push(task);
      // Later tasks finish first: the result must not depend on the order.
      return new Promise((resolve, reject) =>
        setTimeout(
          () => {
            try {
              resolve(runCalibrateTask(structuredClone(task)));
            } catch (e) {
              // As a worker thread's failure reaches the caller: a plain Error with the message.
              reject(new Error((e as Error).message));
            }
          },
          50 - (tasks.length % 5) * 10,
        ),
      );
    },
  };
}

const OPTIONS = { seed: 3, chains: 3, iterations: 120, burnIn: 60, particles: 40, evidenceDraws: 30 };

describe("PMMH chains in arrays allocated once", () => {
  const { model, series } = setup(WALK, walkData);
  const filter = new ParticleFilter(model, series, { particles: 20, seed: 1 });
  const chain = (iterations: number, thin: number) =>
    runChain(filter, { chain: 0, iterations, burnIn: 20, seed: 1, thin }).chain;

  it("keeps every k-th iteration: the same draws the unthinned chain has there", () => {
    const all = chain(90, 1);
    const thinned = chain(90, 10);
    expect(thinned.kept).toBe(9);
    for (let k = 0; k < 9; k++) {
      expect(thinned.values[k]).toBe(all.values[10 * k + 9]);
      expect(thinned.scores[k]).toBe(all.scores[10 * k + 9]);
      expect(thinned.logLikelihood[k]).toBe(all.logLikelihood[10 * k + 9]);
    }
    // Acceptance counts every iteration after burn-in, kept or not.
    expect(thinned.acceptance).toBe(all.acceptance);
  });

  it("retains memory for the draws it keeps only, however long the chain runs", () => {
    const d = 1;
    for (const [iterations, thin] of [
      [100, 1],
      [1000, 10],
      [4000, 40],
    ] as const) {
      const c = chain(iterations, thin);
      // The chain's arrays are the only storage: their buffers are exactly the kept draws.
      expect(c.values.buffer.byteLength).toBe(100 * d * 8);
      expect(c.scores.buffer.byteLength).toBe(100 * d * 8);
      expect(c.logLikelihood.buffer.byteLength).toBe(100 * 8);
    }
  });
});

describe("calibration on a pool of workers", () => {
  it("gives the byte-identical posterior file with no pool, 2 workers and 3 (stochastic model)", async () => {
    const { model, series } = setup(WALK, walkData);
    const alone = await calibrate(model, "m.yaml", series, OPTIONS);
    const two = localPool(2);
    const pooled = await calibrate(model, "m.yaml", series, { ...OPTIONS, pool: two });
    const three = await calibrate(model, "m.yaml", series, { ...OPTIONS, pool: localPool(3) });
    expect(JSON.stringify(pooled)).toBe(JSON.stringify(alone));
    expect(JSON.stringify(three)).toBe(JSON.stringify(alone));
    // The chains, the state draws and the evidence's filter runs all went to the pool.
    const kinds = new Set(two.tasks.map((t) => t.kind));
    expect([...kinds].sort()).toEqual(["chain", "likelihoods", "states"]);
    expect(two.tasks.filter((t) => t.kind === "chain")).toHaveLength(3);
    expect(alone.evidence).not.toBeNull();
    expect(alone.partial).toBe(false);
  }, 60_000);

  it("gives the same posterior on worker threads (2) as on this thread", async () => {
    const { model, series } = setup(WALK, walkData);
    const alone = await calibrate(model, "m.yaml", series, OPTIONS);
    try {
      const pooled = await calibrate(model, "m.yaml", series, { ...OPTIONS, pool: calibratePool(2)! });
      expect(JSON.stringify(pooled)).toBe(JSON.stringify(alone));
    } finally {
      await closeCalibrateWorkers();
    }
  }, 60_000);

  it("a stop keeps every chain's draws so far on worker threads, marked partial", async () => {
    const { model, series } = setup(WALK, walkData);
    let calls = 0;
    let post: PosteriorFile;
    try {
      post = await calibrate(model, "m.yaml", series, {
        ...OPTIONS,
        iterations: 1_000_000,
        pool: calibratePool(2)!,
        // Asked by the pool's watcher every fifth of a second: stop at the fifth look.
        shouldStop: () => ++calls >= 5,
      });
    } finally {
      await closeCalibrateWorkers();
    }
    expect(post.partial).toBe(true);
    expect(post.evidence).toBeNull();
    expect(post.samples.length).toBe(post.chain_draws!.reduce((a, b) => a + b, 0));
    expect(post.samples.length).toBeLessThan(3_000_000);
  }, 60_000);
});

describe("data no prior draw can produce", () => {
  it("are an error at the model's observations, on this thread and on a pool alike", async () => {
    const ending = WALK.replace("observations:", 'outcomes:\n  over: { when: "time >= 2" }\nobservations:');
    const { model, series } = setup(ending, walkData);
    // At the section's first entry, the line after its key.
    const line = ending.split("\n").indexOf("observations:") + 2;
    for (const pool of [undefined, localPool(2)]) {
      const failure = await calibrate(model, "m.yaml", series, {
        ...OPTIONS,
        particles: 5,
        ...(pool ? { pool } : {}),
      }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(DiagnosticError);
      const d = (failure as DiagnosticError).diagnostics[0]!;
      expect(d.line).toBe(line);
      expect(d.message).toContain("no draw from the prior gives the observations a positive likelihood");
    }
  }, 60_000);
});

describe("the posterior file's diagnostics", () => {
  it("R-hat and ESS over the chains, as computed from the file's own samples", async () => {
    const { model, series } = setup(DETERMINISTIC, deterministicData);
    const post = await calibrate(model, "m.yaml", series, {
      ...OPTIONS,
      chains: 4,
      burnIn: 300,
      iterations: 800,
      thin: 2,
    });
    expect(post.chain_draws!).toEqual([400, 400, 400, 400]);
    const byChain = post.chain_draws!.map((n, c) =>
      post.samples.slice(c * 400, c * 400 + n).map((row) => row[0]!),
    );
    expect(post.diagnostics!.max_rhat).toBe(splitRhat(byChain));
    expect(post.diagnostics!.min_ess).toBe(ess(byChain));
    expect(post.diagnostics!.chains_used).toBe(4);
    expect(post.summary[0]!.rhat).toBe(post.diagnostics!.max_rhat);
    // A known case: one param, four chains from the same posterior, so R-hat near 1.
    expect(post.diagnostics!.max_rhat).toBeLessThan(1.1);
    expect(post.diagnostics!.min_ess).toBeGreaterThan(100);
  }, 60_000);
});

/** Param rows for runs r = 0 … of draws `draws` (no start states). */
function drawRows(post: PosteriorFile): ParamRows {
  return { params: post.params, values: post.state.draws.flatMap((d) => post.samples[d]!) };
}

describe("runs restarted from the posterior's filtered state", () => {
  it("a deterministic model's restarted run retraces the original run from the restart on, exactly", async () => {
    const { model, series } = setup(DETERMINISTIC, deterministicData);
    const post = await calibrate(model, "m.yaml", series, { ...OPTIONS, untilStep: 10 });
    expect(post.state.step).toBe(10);
    expect(post.state.restart.length).toBe(post.state.draws.length);
    expect(post.state.width).toBe(post.state.restart[0]!.length);
    const rows = drawRows(post);
    const plain = new Runner(model, 1, "kernel", { kind: "random" }, rows);
    const restarted = new Runner(
      model,
      1,
      "kernel",
      { kind: "random" },
      {
        ...rows,
        states: { width: post.state.width, values: post.state.restart.flat() },
      },
    );
    const nT = model.program.tracked.length;
    let boosted = 0;
    for (let r = 0; r < post.state.draws.length; r += 7) {
      const a = plain.run(r);
      const b = restarted.run(r);
      expect(b).toEqual(a);
      // From the restart's save (step 10) on, every tracked value is the same number.
      expect(restarted.saved.subarray(10 * nT, a.saves * nT)).toEqual(
        plain.saved.subarray(10 * nT, a.saves * nT),
      );
      // Before it, the restarted run holds its start's values.
      expect(restarted.saved.subarray(0, nT)).toEqual(plain.saved.subarray(10 * nT, 11 * nT));
      const last = (a.saves - 1) * nT;
      if (plain.saved[last]! + plain.saved[last + 1]! > 105) boosted++;
    }
    // The event fired after the restart in some runs, so its state was carried over and used.
    expect(boosted).toBeGreaterThan(0);
  }, 60_000);

  it("a stochastic model's restarted forecasts have the walk's distribution from the filtered state", async () => {
    const { model, series } = setup(WALK, walkData);
    const post = await calibrate(model, "m.yaml", series, {
      ...OPTIONS,
      iterations: 400,
      evidenceDraws: 0,
      untilStep: 10,
    });
    const rows = drawRows(post);
    const runner = new Runner(
      model,
      9,
      "kernel",
      { kind: "random" },
      {
        ...rows,
        states: { width: post.state.width, values: post.state.restart.flat() },
      },
    );
    const h = 6;
    const xSlot = model.program.slots.findIndex((s) => s.name === "x");
    const z: number[] = [];
    const n = post.state.draws.length;
    for (let r = 0; r < n; r++) {
      runner.run(r);
      const start = post.state.restart[r]![xSlot]!;
      const drift = post.samples[post.state.draws[r]!]![0]!;
      // x(10 + h) = x(10) + h·drift + σ·√h·N(0, 1) given the state and the draw's drift.
      z.push((runner.saved[10 + h]! - start - h * drift) / (SIGMA * Math.sqrt(h)));
    }
    z.sort((a, b) => a - b);
    let d = 0;
    z.forEach((x, i) => {
      const f = normalCdf(x);
      d = Math.max(d, Math.abs(f - i / z.length), Math.abs(f - (i + 1) / z.length));
    });
    // KS at the 1% level.
    expect(d).toBeLessThan(1.63 / Math.sqrt(z.length));
    // And the forecasts start where the data say the walk was (the last observation, seen with sd 0.5).
    const lastObserved = series[0]!.points.at(-1)!.value;
    expect(lastObserved).toBeGreaterThan(2);
    const starts = post.state.restart.map((row) => row[xSlot]!);
    expect(Math.abs(starts.reduce((a, b) => a + b, 0) / starts.length - lastObserved)).toBeLessThan(1);
  }, 60_000);
});
