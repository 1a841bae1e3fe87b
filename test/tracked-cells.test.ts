import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { runChunk } from "../src/engine/montecarlo.js";
import { type PreparedModel, prepareModel } from "../src/engine/prepare.js";
import {
  type JobMeta,
  Summary,
  SummaryMismatchError,
  shapeOf,
  type TrackedCells,
} from "../src/engine/summary.js";
import { formatReport } from "../src/node/format.js";
import { closeWorkers, simulate } from "../src/node/simulate.js";
import { example } from "./helpers.js";

afterAll(() => closeWorkers());

// Every run ends before the horizon (x crosses min(threshold, 100) by t ≈ 230 at the latest), so the last save
// any run reaches is not the horizon; runs whose threshold is under 100 end earlier still. 1001 saves of 4
// variables make leaves of 512 runs, so a few thousand runs compact nodes.
const THRESHOLD = `brink: 1
name: growth to a threshold
time: { start: 0, stop: 1000, dt: 1, save: 1 }
params:
  rate: { value: 0.02 }
  threshold: "50 to 500"
stocks:
  x: { init: 1, inflows: [growth] }
flows:
  growth: { eq: rate * x }
vars:
  half: { eq: x / 2 }
  room: { eq: threshold - x }
  share: { eq: x / threshold }
outcomes:
  crossed: { when: "x > min(threshold, 100)" }
track: [x, half, room, share]
`;

const meta = (model: PreparedModel): JobMeta => ({
  model: model.loaded.spec.name,
  modelHash: "0",
  scenario: model.loaded.scenario ?? null,
  seed: 7,
  sampling: "random",
  designRuns: null,
});

/** Runs [0, runs) summarised in chunks of `chunk`, merged in the given order of chunks. */
function summarise(
  model: PreparedModel,
  runs: number,
  chunk: number,
  cells: TrackedCells,
  order: (n: number) => number[],
): Summary {
  const m = meta(model);
  const into = new Summary(shapeOf(model.program), m, cells);
  const starts = Array.from({ length: Math.ceil(runs / chunk) }, (_, i) => i * chunk);
  for (const i of order(starts.length)) {
    const start = starts[i]!;
    const part = runChunk(model, { meta: m, start, end: Math.min(runs, start + chunk), trackedCells: cells });
    into.merge(part);
  }
  return into;
}

const forwards = (n: number) => Array.from({ length: n }, (_, i) => i);
const backwards = (n: number) => forwards(n).reverse();
/** Odd chunks first, then even ones: chunks that reach less come both before and after those that reach more. */
const interleaved = (n: number) => [
  ...forwards(n).filter((i) => i % 2),
  ...forwards(n).filter((i) => !(i % 2)),
];

/** The last save with a run still going, and every statistic there of every tracked variable. */
function lastSaveStats(summary: Summary) {
  let last = summary.saveCount - 1;
  while (last > 0 && summary.statsAt(0, last).n === 0) last--;
  return {
    last,
    stats: summary.trackedNames.map((_, j) => {
      const st = summary.statsAt(j, last);
      return [st.n, st.mean, st.sd, ...[0, 0.05, 0.25, 0.5, 0.75, 0.95, 1].map((q) => st.quantile(q))];
    }),
  };
}

describe("summaries of the last save only (what brink run's text report reads)", () => {
  const cases: [string, PreparedModel, number][] = [
    ["runs that all end before the horizon", prepareModel("threshold.yaml", THRESHOLD), 3000],
    [
      "the SIR's uncertain scenario (some runs reach the horizon)",
      prepareModel(example("sir.yaml"), readFileSync(example("sir.yaml"), "utf8"), { scenario: "uncertain" }),
      6000,
    ],
  ];
  for (const [name, model, runs] of cases) {
    it(`keep the whole summary's numbers there to the last bit, for any chunks and merge order: ${name}`, () => {
      const whole = summarise(model, runs, runs, "all", forwards);
      const reference = lastSaveStats(whole);
      // The case is not trivial: several runs, with differing values, at the last save reached.
      expect(reference.stats[0]![0]).toBeGreaterThan(1);
      expect(reference.stats.some((st) => (st[4] as number) < (st[8] as number))).toBe(true);
      expect(whole.quantiles.leafRuns).toBeLessThan(runs / 2);
      for (const [chunk, order] of [
        [runs, forwards],
        [64, backwards],
        [100, interleaved],
        [37, forwards],
        [1000, backwards],
      ] as const) {
        const last = summarise(model, runs, chunk, "last", order);
        expect(lastSaveStats(last), `chunks of ${chunk}`).toEqual(reference);
        // Elsewhere: the runs still going, and no statistics.
        for (const s of [0, Math.floor(reference.last / 2)]) {
          const st = last.statsAt(1, s);
          expect(st.n).toBe(whole.statsAt(1, s).n);
          expect(st.mean).toBeNaN();
          expect(st.quantile(0.5)).toBeNaN();
        }
      }
    });
  }

  it("count the runs still going at every save after each merge, asked between merges", () => {
    const model = prepareModel("threshold.yaml", THRESHOLD);
    const m = meta(model);
    const whole = new Summary(shapeOf(model.program), m, "all");
    const last = new Summary(shapeOf(model.program), m, "last");
    for (const start of [0, 300, 600]) {
      const chunk = { meta: m, start, end: start + 300 };
      whole.merge(runChunk(model, chunk));
      last.merge(runChunk(model, { ...chunk, trackedCells: "last" }));
      // Every save is asked after each merge, so a count kept from before the merge would show.
      for (let s = 0; s < whole.saveCount; s += 50) expect(last.statsAt(0, s).n).toBe(whole.statsAt(0, s).n);
    }
    expect(last.statsAt(0, 0).n).toBe(900);
  });

  it("cannot be saved, nor merged with a summary of every save", () => {
    const model = prepareModel("threshold.yaml", THRESHOLD);
    const m = meta(model);
    const last = runChunk(model, { meta: m, start: 0, end: 10, trackedCells: "last" });
    expect(() => last.toJSON()).toThrow(/last save only/);
    const all = runChunk(model, { meta: m, start: 10, end: 20 });
    expect(() => all.merge(last)).toThrow(SummaryMismatchError);
    expect(() => last.merge(all)).toThrow(SummaryMismatchError);
  });

  it("give brink run's text report byte for byte, on the calling thread and on workers", async () => {
    const input = {
      file: example("war-of-attrition.yaml"),
      text: readFileSync(example("war-of-attrition.yaml"), "utf8"),
    };
    const reference = formatReport((await simulate(input, { runs: 600, seed: 3, workers: 1 })).report);
    for (const options of [{ workers: 1 }, { workers: 2, chunkSize: 50, threads: true }]) {
      const r = await simulate(input, { runs: 600, seed: 3, trackedCells: "last", ...options });
      expect(formatReport(r.report)).toBe(reference);
      // The points the text does not read carry their run counts but no statistics.
      const first = Object.values(r.report.tracked)[0]![1]!;
      expect(first.n).toBeGreaterThan(0);
      expect(first.q50).toBeNull();
      expect(first.mean).toBeNull();
    }
    // Asked for (--json, --save-summary, a library caller's default), every cell is summarised.
    const all = (await simulate(input, { runs: 600, seed: 3, workers: 1 })).report;
    expect(Object.values(all.tracked)[0]![1]!.q50).not.toBeNull();
  });
});

describe("a leaf first met as part of another summary", () => {
  // 1001 saves × 4 variables: leaves of 512 runs. Parts of a few runs arrive first, so the merging summary
  // makes each such leaf the size of its part and grows it when the rest of the leaf arrives.
  it("gives the same summary as one pass, whatever parts of it arrive first", () => {
    const model = prepareModel("threshold.yaml", THRESHOLD);
    const m = meta(model);
    // (A leaf still filling keeps its values in arrival order; the saved form is sorted.)
    const whole = runChunk(model, { meta: m, start: 0, end: 600 }).toJSON();
    for (const cuts of [
      [0, 3, 3, 600],
      [0, 500, 510, 530, 500, 510, 530, 600],
      [530, 600, 0, 3, 3, 512, 512, 530],
    ]) {
      const into = new Summary(shapeOf(model.program), m);
      // Pairs of [start, end): the parts, in the order they are merged.
      for (let i = 0; i < cuts.length; i += 2)
        if (cuts[i]! < cuts[i + 1]!)
          into.merge(runChunk(model, { meta: m, start: cuts[i]!, end: cuts[i + 1]! }));
      expect(into.toJSON()).toEqual(whole);
    }
    // A part of a leaf merged first, then the summary's own runs into that leaf (grown to a whole leaf's room).
    const grown = new Summary(shapeOf(model.program), m);
    grown.merge(runChunk(model, { meta: m, start: 512, end: 530 }));
    runChunk(model, { meta: m, start: 0, end: 512, into: grown });
    runChunk(model, { meta: m, start: 530, end: 600, into: grown });
    expect(grown.toJSON()).toEqual(whole);
  });
});
