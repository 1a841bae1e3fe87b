import { describe, expect, it } from "vitest";
import {
  binCounts,
  expectedLogBayesFactors,
  mutualInformation,
  runsTask,
  signposts,
} from "../src/analysis/signposts.js";
import { normalQuantile } from "../src/compile/functions.js";
import { prepareModel } from "../src/engine/prepare.js";
import { hashUniform } from "../src/engine/rng.js";

/** Signposts: the information estimates against closed forms, and the ranking on a model with a known answer. */

const normals = (n: number, mean: number, sd: number, seed: number) =>
  Float64Array.from({ length: n }, (_, i) => mean + sd * normalQuantile(hashUniform(seed, i, 5151)));

/** I(H; Y) for H uniform over two normals, by the trapezoid rule on a fine grid (the independent answer). */
function normalPairInformation(d: number, sd: number): number {
  const pdf = (x: number, m: number) => Math.exp(-0.5 * ((x - m) / sd) ** 2) / (sd * Math.sqrt(2 * Math.PI));
  let info = 0;
  const h = 1e-3;
  for (let x = -12 * sd; x <= d + 12 * sd; x += h) {
    const a = pdf(x, 0);
    const b = pdf(x, d);
    const m = (a + b) / 2;
    if (a > 0) info += 0.5 * a * Math.log(a / m) * h;
    if (b > 0) info += 0.5 * b * Math.log(b / m) * h;
  }
  return info;
}

describe("signpost information", () => {
  it("matches the closed forms for two normal predictive distributions", () => {
    for (const d of [0.5, 1, 2]) {
      const samples = [normals(40_000, 0, 1, 1), normals(40_000, d, 1, 2)];
      const { counts } = binCounts(samples);
      const info = mutualInformation(counts, [0.5, 0.5]);
      const exact = normalPairInformation(d, 1);
      expect(Math.abs(info - exact)).toBeLessThan(0.05 * exact + 0.003);
      // Expected log Bayes factor of A against B when A holds: KL(N(0,1) ‖ N(d,1)) = d²/2.
      const [ab, ba] = expectedLogBayesFactors(counts, [0.5, 0.5]);
      expect(Math.abs(ab! - (d * d) / 2)).toBeLessThan(0.06 * ((d * d) / 2) + 0.005);
      expect(Math.abs(ba! - (d * d) / 2)).toBeLessThan(0.06 * ((d * d) / 2) + 0.005);
    }
    // Unequal spreads: KL(N(0,1) ‖ N(0,2²)) = log 2 + 1/8 − 1/2.
    const [wide] = expectedLogBayesFactors(
      binCounts([normals(40_000, 0, 1, 3), normals(40_000, 0, 2, 4)]).counts,
      [0.5, 0.5],
    );
    expect(wide!).toBeCloseTo(Math.log(2) + 1 / 8 - 1 / 2, 1);
  });

  it("finds no information where the scenarios agree, and the whole prior entropy where they cannot overlap", () => {
    const same = binCounts([normals(20_000, 0, 1, 5), normals(20_000, 0, 1, 6)]);
    expect(mutualInformation(same.counts, [0.5, 0.5])).toBeLessThan(0.005);
    const apart = binCounts([normals(5000, 0, 1, 7), normals(5000, 100, 1, 8)]);
    expect(mutualInformation(apart.counts, [0.5, 0.5])).toBeCloseTo(Math.LN2, 10);
    expect(mutualInformation(apart.counts, [0.25, 0.75])).toBeCloseTo(
      -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75)),
      10,
    );
    // Runs that ended are a bin of their own: ending is informative too.
    const ended = binCounts([
      Float64Array.from([1, 2, Number.NaN, Number.NaN]),
      Float64Array.from([1, 2, 3, 4]),
    ]);
    expect(ended.counts[0]![ended.upper.length]).toBe(2);
    expect(mutualInformation(ended.counts, [0.5, 0.5])).toBeGreaterThan(0);
  });
});

// 'fast' and 'slow' differ in how fast `signal` grows; `chatter` is a random walk the scenarios share.
const MODEL = `brink: 1
name: signals
time: { start: 2026-01-01, stop: 1 year, dt: 1 week, save: 4 weeks }
params:
  rate: { dist: "uniform(0.5, 1.5)" }
stocks:
  signal: { init: 0, inflows: [grow] }
  chatter: { init: 0, inflows: [wander] }
flows:
  grow: "rate + normal(0, 1)"
  wander: "normal(0, 1)"
track: [signal, chatter]
scenarios:
  slow: { doc: "the signal grows at its base rate" }
  fast:
    doc: "the signal grows faster"
    params: { rate: "uniform(1.5, 2.5)" }
`;

describe("brink signposts", () => {
  const both = ["slow", "fast"].map((name) => ({
    name,
    model: prepareModel("m.yaml", MODEL, { scenario: name }),
  }));
  const options = {
    runs: 400,
    seed: 2,
    fromStep: 0,
    toStep: 52,
    periodSteps: 4,
    periodLabel: "4 weeks",
    persistence: 3,
    top: 50,
  };

  it("ranks the observable that tells the scenarios apart first, with thresholds pointing the right way", async () => {
    const r = await signposts("m.yaml", both, options);
    expect(r.partial).toBe(false);
    // Each observable (level or change of each tracked variable) once, at its most informative date.
    expect(r.signposts).toHaveLength(4);
    expect(r.signposts[0]!.name).toBe("signal");
    expect(r.signposts[0]!.kind).toBe("level");
    // A level accumulates the difference: it says more later than sooner.
    const curve = r.curves.find((c) => c.observable === "signal")!.points;
    expect(curve.at(-1)!.information_bits).toBeGreaterThan(2 * curve[0]!.information_bits);
    expect(r.signposts[0]!.step).toBeGreaterThan(26);
    const chatter = r.signposts.filter((s) => s.name === "chatter");
    // Common random numbers: the shared walk is the same run by run, so it carries no information at all.
    for (const s of chatter) expect(s.information).toBe(0);
    // The signal's change per 4 weeks: larger favours 'fast', with odds above 1; staying there for three periods
    // in a row favours it more strongly.
    const change = r.signposts.find((s) => s.kind === "change" && s.name === "signal")!;
    const toFast = change.thresholds.filter((t) => t.scenario === "fast");
    expect(toFast[0]).toMatchObject({ direction: "above", periods: 1 });
    expect(toFast[0]!.odds).toBeGreaterThan(1);
    expect(toFast[1]).toMatchObject({ direction: "above", periods: 3 });
    expect(toFast[1]!.odds).toBeGreaterThan(toFast[0]!.odds);
    const toSlow = change.thresholds.find((t) => t.scenario === "slow")!;
    expect(toSlow.direction).toBe("at most");
    expect(toSlow.text).toMatch(
      /^if change of signal over 4 weeks is at most -?[0-9.]+ at 2026-\d\d-\d\d, the odds move [0-9.]+:1 toward slow\.$/,
    );
    // Means: faster growth, larger level.
    expect(r.signposts[0]!.predictive[1]!.mean).toBeGreaterThan(r.signposts[0]!.predictive[0]!.mean);
  });

  it("refuses a variable clock (time.clock), whose step times are not start + step · dt", async () => {
    const text = `brink: 1
name: clocked
time: { start: 0, stop: 10, dt: 1, clock: { dt: step } }
params:
  g: "0.5 to 1.5"
stocks:
  s: { init: 0, inflows: [inflow] }
flows:
  inflow: { eq: g }
vars:
  step: { eq: "if time < 2 then 1 else 0.25" }
track: [s]
scenarios:
  fast: { params: { g: "1.5 to 2.5" } }
`;
    const two = ["base", "fast"].map((name) => ({
      name,
      model: prepareModel("c.yaml", text, name === "base" ? {} : { scenario: name }),
    }));
    // Steps 0…34 run to time 10; a fixed grid would put the window's end at time 34.
    await expect(
      signposts("c.yaml", two, { ...options, toStep: two[0]!.model.program.time.steps, periodSteps: 1 }),
    ).rejects.toThrow(/time\.clock is not supported yet by signposts/);
  });

  it("runs a scenario from given posterior draws instead of its priors", async () => {
    // Every draw of 'slow' says rate 0.6; 'fast' keeps its prior uniform(1.5, 2.5). The signal's mean level after
    // 52 weeks is 52·rate (plus noise of sd √52/√400 over the runs).
    const r = await signposts("m.yaml", both, {
      ...options,
      fromStep: 48,
      top: 1,
      posteriors: [{ params: ["rate"], values: [0.6] }, undefined],
    });
    expect(r.predictive).toMatch(/posterior/);
    const [slow, fast] = r.signposts[0]!.predictive;
    expect(r.signposts[0]!.observable).toBe("signal");
    expect(Math.abs(slow!.mean - 52 * 0.6)).toBeLessThan(1.5);
    expect(Math.abs(fast!.mean - 52 * 2)).toBeLessThan(3);
  });

  it("the same seed gives the same signposts, here or in chunks on a pool", async () => {
    const a = await signposts("m.yaml", both, { ...options, runs: 1100 });
    const b = await signposts("m.yaml", both, { ...options, runs: 1100 });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    // A pool gets each scenario's runs in chunks (here three of 500, 500, 100), answered out of order.
    const tasks: string[] = [];
    const pool = {
      text: MODEL,
      run: async (task: Parameters<typeof runsTask>[0]) => {
        tasks.push(`${task.scenario}:${task.spec.from}-${task.spec.to}`);
        await new Promise((resolve) => setTimeout(resolve, task.spec.from === 0 ? 20 : 0));
        return runsTask(task);
      },
    };
    const c = await signposts("m.yaml", both, { ...options, runs: 1100 }, pool);
    expect(tasks).toEqual([
      "slow:0-500",
      "slow:500-1000",
      "slow:1000-1100",
      "fast:0-500",
      "fast:500-1000",
      "fast:1000-1100",
    ]);
    expect(JSON.stringify(c)).toBe(JSON.stringify(a));
  });
});
