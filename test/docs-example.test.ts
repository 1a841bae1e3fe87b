import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkModelText } from "../src/analysis/check.js";
import { closeWorkers, simulate } from "../src/node/simulate.js";
import { ROOT } from "./helpers.js";

/** docs/model-format.md's complete example is a model that checks and runs as printed. */
describe("docs/model-format.md", () => {
  const doc = readFileSync(join(ROOT, "docs", "model-format.md"), "utf8");
  const example = /## A complete example[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1] ?? "";

  it("its complete example checks, with every section the page lists", () => {
    expect(example).not.toBe("");
    expect(checkModelText("siege.yaml", example).diagnostics).toEqual([]);
    for (const section of ["time", "params", "decisions", "stocks", "flows", "vars", "tables", "events"])
      expect(example, section).toMatch(new RegExp(`^${section}:`, "m"));
    for (const section of ["outcomes", "track", "claims", "scenarios", "groups"])
      expect(example, section).toMatch(new RegExp(`^${section}:`, "m"));
  });

  it("its complete example runs: every claim gets a verdict", async () => {
    try {
      const { report } = await simulate(
        { file: "siege.yaml", text: example },
        { runs: 400, seed: 1, workers: 1 },
      );
      expect(report.runs).toBe(400);
      expect(report.claims.length).toBeGreaterThan(0);
      for (const c of report.claims) expect(c.note, c.id).toBeUndefined();
    } finally {
      await closeWorkers();
    }
  });
});
