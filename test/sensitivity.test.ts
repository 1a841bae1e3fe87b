import { describe, expect, it } from "vitest";
import { morrisDesign, morrisEffects, saltelliDesign, sobolIndices } from "../src/analysis/sensitivity.js";

/** The Ishigami function with a = 7, b = 0.1 on [−π, π]³, whose Sobol indices are known in closed form. */
const ishigami = (u: Float64Array) => {
  const [x1, x2, x3] = Array.from(u, (v) => -Math.PI + 2 * Math.PI * v) as [number, number, number];
  return Math.sin(x1) + 7 * Math.sin(x2) ** 2 + 0.1 * x3 ** 4 * Math.sin(x1);
};

describe("variance-based sensitivity", () => {
  it("recovers the Ishigami indices within their bootstrap intervals", () => {
    const n = 20_000;
    const { A, B } = saltelliDesign(n, 3, 11);
    const fA = Float64Array.from(A, ishigami);
    const fB = Float64Array.from(B, ishigami);
    const fAB = [0, 1, 2].map((i) =>
      Float64Array.from(A, (row, r) => {
        const mixed = Float64Array.from(row);
        mixed[i] = B[r]![i]!;
        return ishigami(mixed);
      }),
    );
    const indices = sobolIndices(["x1", "x2", "x3"], fA, fB, fAB, { bootstrap: 400, seed: 3 });
    const truth = [
      { first: 0.3139, total: 0.5576 },
      { first: 0.4424, total: 0.4424 },
      { first: 0, total: 0.2437 },
    ];
    indices.forEach((ix, i) => {
      expect(truth[i]!.first, `S1 of ${ix.input}`).toBeGreaterThanOrEqual(ix.firstLo);
      expect(truth[i]!.first, `S1 of ${ix.input}`).toBeLessThanOrEqual(ix.firstHi);
      expect(truth[i]!.total, `ST of ${ix.input}`).toBeGreaterThanOrEqual(ix.totalLo);
      expect(truth[i]!.total, `ST of ${ix.input}`).toBeLessThanOrEqual(ix.totalHi);
      expect(ix.firstHi - ix.firstLo).toBeLessThan(0.1);
    });
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
