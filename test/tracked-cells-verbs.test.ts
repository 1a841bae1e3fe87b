import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { compareScenarios } from "../src/node/compare.js";
import { formatComparison, formatOptimization } from "../src/node/format.js";
import { optimize } from "../src/node/optimize.js";
import { closeWorkers } from "../src/node/simulate.js";
import { example } from "./helpers.js";

afterAll(() => closeWorkers());

const input = (name: string) => ({ file: example(name), text: readFileSync(example(name), "utf8") });

/** The first save's point of each tracked variable of each report: summarised or not. */
const firstPoints = (reports: { tracked: Record<string, { q50: number | null; n: number }[]> }[]) =>
  reports.flatMap((r) => Object.values(r.tracked).map((points) => points[0]!));

describe("brink compare and optimize summarise only the tracked cells they print", () => {
  it("compare: the text is the same with every scenario summarised at its last save only", async () => {
    const model = input("war-of-attrition.yaml");
    const scenarios = ["base", "strong_defence"];
    for (const workers of [1, 2]) {
      const all = await compareScenarios(model, scenarios, { runs: 300, seed: 5, workers });
      const last = await compareScenarios(model, scenarios, {
        runs: 300,
        seed: 5,
        workers,
        trackedCells: "last",
      });
      expect(formatComparison(last)).toBe(formatComparison(all));
      expect(last.differences).toEqual(all.differences);
      // Every scenario's report, not only the first's, skipped the cells the text does not print.
      const skipped = firstPoints(Object.values(last.reports));
      expect(skipped).toHaveLength(2 * Object.keys(all.reports.base!.tracked).length);
      for (const p of skipped) {
        expect(p.n).toBeGreaterThan(0);
        expect(p.q50).toBeNull();
      }
      for (const p of firstPoints(Object.values(all.reports))) expect(p.q50).not.toBeNull();
    }
  });

  it("optimize: the same search and text with candidates and the chosen plan summarised at the last save", async () => {
    const model = input("calibrated-growth.yaml");
    const options = {
      maximize: "E(size at 10)",
      subjectTo: ["P(failure by 10) <= 0.5"],
      runs: 200,
      iterations: 2,
      candidates: 3,
      frontier: [0.3],
      workers: 1,
    };
    const all = await optimize(model, options);
    const last = await optimize(model, { ...options, candidateTrackedCells: "last", trackedCells: "last" });
    expect(formatOptimization(last)).toBe(formatOptimization(all));
    const { report: lastReport, ...lastSearch } = last;
    const { report: allReport, ...allSearch } = all;
    expect(lastSearch).toEqual(allSearch);
    expect(firstPoints([lastReport])[0]!.q50).toBeNull();
    expect(firstPoints([allReport])[0]!.q50).not.toBeNull();
    // Candidates alone summarised at the last save: the chosen plan's report (--json) is whole and the same.
    const candidates = await optimize(model, { ...options, candidateTrackedCells: "last" });
    expect(candidates).toEqual(all);
  });
});
