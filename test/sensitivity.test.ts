import { describe, expect, it } from "vitest";
import {
  JansenSums,
  morrisDesign,
  morrisEffects,
  SaltelliDesign,
  studentT975,
} from "../src/analysis/sensitivity.js";
import { PackReader, PackWriter } from "../src/engine/pack.js";

/** The Ishigami function with a = 7, b = 0.1 on [−π, π]³, whose Sobol indices are known in closed form. */
const ishigami = (u: Float64Array) => {
  const [x1, x2, x3] = Array.from(u, (v) => -Math.PI + 2 * Math.PI * v) as [number, number, number];
  return Math.sin(x1) + 7 * Math.sin(x2) ** 2 + 0.1 * x3 ** 4 * Math.sin(x1);
};

describe("variance-based sensitivity", () => {
  const truth = [
    { first: 0.3139, total: 0.5576 },
    { first: 0.4424, total: 0.4424 },
    { first: 0, total: 0.2437 },
  ];
  /** Rows [from, to) of an Ishigami Saltelli design (plus `offset`), added up. */
  const ishigamiSums = (design: SaltelliDesign, from: number, to: number, offset = 0) => {
    const sums = new JansenSums(design.batches, 1, 3);
    const a = new Float64Array(3);
    const b = new Float64Array(3);
    for (let r = from; r < to; r++) {
      design.row(r, a, b);
      const fAB = [0, 1, 2].map((i) => {
        const mixed = Float64Array.from(a);
        mixed[i] = b[i]!;
        return [offset + ishigami(mixed)];
      });
      sums.addRow(design.batchOf(r), [offset + ishigami(a)], [offset + ishigami(b)], fAB);
    }
    return sums;
  };

  it("recovers the Ishigami indices within their jackknife intervals", () => {
    const design = new SaltelliDesign(16_384, 3, 11);
    const indices = ishigamiSums(design, 0, 16_384).indices(["x1", "x2", "x3"], 0);
    indices.forEach((ix, i) => {
      expect(truth[i]!.first, `S1 of ${ix.input}`).toBeGreaterThanOrEqual(ix.firstLo);
      expect(truth[i]!.first, `S1 of ${ix.input}`).toBeLessThanOrEqual(ix.firstHi);
      expect(truth[i]!.total, `ST of ${ix.input}`).toBeGreaterThanOrEqual(ix.totalLo);
      expect(truth[i]!.total, `ST of ${ix.input}`).toBeLessThanOrEqual(ix.totalHi);
      expect(ix.firstHi - ix.firstLo).toBeLessThan(0.05);
    });
  });

  it("gives jackknife intervals that cover the true indices about 95% of the time", () => {
    let covered = 0;
    let intervals = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const design = new SaltelliDesign(512, 3, seed);
      ishigamiSums(design, 0, 512)
        .indices(["x1", "x2", "x3"], 0)
        .forEach((ix, i) => {
          intervals += 2;
          if (ix.firstLo <= truth[i]!.first && truth[i]!.first <= ix.firstHi) covered++;
          if (ix.totalLo <= truth[i]!.total && truth[i]!.total <= ix.totalHi) covered++;
        });
    }
    expect(covered / intervals).toBeGreaterThan(0.85);
    expect(covered / intervals).toBeLessThan(1);
  });

  it("counts only the batches that get rows, which are the jackknife's", () => {
    // 17 rows asked in 16 batches: ⌈17/16⌉ = 2 rows each fill 9 batches; the 7 empty ones are no batches.
    const design = new SaltelliDesign(17, 3, 5, 16);
    expect(design.batches).toBe(9);
    expect(design.batchOf(16)).toBe(design.batches - 1);
    const sums = ishigamiSums(design, 0, 17);
    expect(sums.rows).toBe(17);
    expect(new SaltelliDesign(128, 3, 5, 16).batches).toBe(16);
    expect(new SaltelliDesign(2, 3, 5, 16).batches).toBe(2);
  });

  it("merges parts of a design in any order to the same bits as one pass", () => {
    const design = new SaltelliDesign(300, 3, 5, 7);
    const whole = new PackWriter();
    ishigamiSums(design, 0, 300).pack(whole);
    const merged = new JansenSums(design.batches, 1, 3);
    for (const [from, to] of [
      [250, 300],
      [0, 13],
      [13, 250],
    ] as const) {
      const part = new PackWriter();
      ishigamiSums(design, from, to).pack(part);
      merged.mergePacked(new PackReader(part.finish()));
    }
    const again = new PackWriter();
    merged.pack(again);
    expect(again.finish()).toEqual(whole.finish());
    expect(merged.rows).toBe(300);
    // What a part carries does not grow with its rows: a 10⁷-evaluation design moves and merges in kilobytes.
    // (Each of the batches × (5 + 2·inputs) exact sums packs as a count, a few partials and a non-finite part.)
    const cells = design.batches * (5 + 2 * 3);
    expect(whole.finish().length).toBeLessThanOrEqual(cells * 8);
  });

  it("keeps the indices of an output whose mean is 10⁸ times its spread (the variance is centred exactly)", () => {
    const design = new SaltelliDesign(2048, 3, 11);
    const names = ["x1", "x2", "x3"];
    const plain = ishigamiSums(design, 0, 2048).indices(names, 0);
    for (const offset of [1e8, -1e9]) {
      const shifted = ishigamiSums(design, 0, 2048, offset).indices(names, 0);
      // Only the outputs' own rounding differs: 1e9 + f keeps f to about 1e-7, which the indices average out.
      shifted.forEach((ix, i) => {
        for (const key of ["first", "firstLo", "firstHi", "total", "totalLo", "totalHi"] as const)
          expect(Math.abs(ix[key] - plain[i]![key]), `${key} of ${ix.input} at ${offset}`).toBeLessThan(1e-8);
      });
    }
    // Merged in other chunkings, the shifted sums are the same bits.
    const whole = new PackWriter();
    ishigamiSums(design, 0, 2048, 1e8).pack(whole);
    for (const cuts of [
      [0, 1, 2048],
      [0, 700, 1500, 2048],
      [0, 1024, 2047, 2048],
    ]) {
      const merged = new JansenSums(design.batches, 1, 3);
      for (let c = cuts.length - 1; c > 0; c--) {
        const part = new PackWriter();
        ishigamiSums(design, cuts[c - 1]!, cuts[c]!, 1e8).pack(part);
        merged.mergePacked(new PackReader(part.finish()));
      }
      const again = new PackWriter();
      merged.pack(again);
      expect(again.finish()).toEqual(whole.finish());
      expect(merged.indices(names, 0)).toEqual(ishigamiSums(design, 0, 2048, 1e8).indices(names, 0));
    }
  });

  it("states the Student t quantiles the intervals use", () => {
    expect(studentT975(1)).toBeCloseTo(12.7062, 3);
    expect(studentT975(15)).toBeCloseTo(2.1314, 3);
    expect(studentT975(1000)).toBeCloseTo(1.9623, 3);
  });

  it("Morris screening ranks an influential input above an inert one", () => {
    const trajectories = morrisDesign(3, 50, 5);
    const f = (u: Float64Array) => 10 * u[0]! + u[1]! ** 2;
    const effects = morrisEffects(
      ["strong", "weak", "inert"],
      trajectories,
      trajectories.map((t) => Float64Array.from(t.points, f)),
    );
    expect(effects[0]!.muStar).toBeCloseTo(10, 6);
    expect(effects[0]!.sigma).toBeCloseTo(0, 6);
    expect(effects[1]!.muStar).toBeGreaterThan(0);
    expect(effects[1]!.muStar).toBeLessThan(2);
    expect(effects[2]!.muStar).toBe(0);
  });
});

describe("the sensitivity job on worker threads", () => {
  it("gives the same indices on this thread and on a pool of two", async () => {
    const { readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { sensitivityAnalysis } = await import("../src/analysis/sensitivity-job.js");
    const { closeWorkers, designPool } = await import("../src/node/simulate.js");
    const { ROOT } = await import("./helpers.js");
    const file = join(ROOT, "models", "examples", "war-of-attrition.yaml");
    const input = { file, text: readFileSync(file, "utf8") };
    const options = { samples: 40, replicates: 2, seed: 3 };
    const here = await sensitivityAnalysis(input, options);
    const pooled = await sensitivityAnalysis(input, options, designPool(2));
    await closeWorkers();
    expect(pooled).toEqual(here);
    expect(here.evaluations).toBe(40 * (here.inputs.length + 2));
    const morris = { ...options, method: "morris" as const, samples: 6 };
    expect(await sensitivityAnalysis(input, morris, designPool(2))).toEqual(
      await sensitivityAnalysis(input, morris),
    );
    await closeWorkers();
  });
});
