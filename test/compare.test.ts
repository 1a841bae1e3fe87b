import { afterAll, describe, expect, it } from "vitest";
import { compareScenarios } from "../src/node/compare.js";
import { htmlReport } from "../src/node/report.js";
import { closeWorkers } from "../src/node/simulate.js";

afterAll(() => closeWorkers());

/** Valid models whose claims or scenario names would break (or inject) YAML if claims were spliced into text. */
const MODEL = (claims: string, scenarios: string) => `brink: 1
name: hazards
time: { start: 0, stop: 20, dt: 0.5 }
params:
  a_rate: 0.05
outcomes:
  a: { rate: a_rate }
${claims}
scenarios:
${scenarios}
`;
const MODELS = {
  "block-style claims": MODEL(
    "claims:\n  - { id: some-a, check: P(a) > 0.1 }",
    "  high_growth: { params: { a_rate: 0.1 } }\n  low_growth: { params: { a_rate: 0.02 } }",
  ),
  "flow-style claims": MODEL(
    'claims: [{ id: some-a, check: "P(a) > 0.1" }]',
    "  high_growth: { params: { a_rate: 0.1 } }",
  ),
};

/** Scenario names that would break (or inject) YAML: the loader refuses them, since names must be identifiers. */
const BAD_NAMES = {
  "a scenario named with a space": MODEL(
    "claims:\n  - { id: some-a, check: P(a) > 0.1 }",
    '  high growth: { params: { a_rate: 0.1 } }\n  "x\\", id: injected": { params: { a_rate: 0.02 } }',
  ),
  "a quote in a scenario name": MODEL(
    "claims:\n  - { id: some-a, check: P(a) > 0.1 }",
    "  \"the 'hawks'\": { params: { a_rate: 0.1 } }\n  'say \"when\"': { params: { a_rate: 0.02 } }",
  ),
};

describe("compare and report pass claims as data", () => {
  for (const [what, text] of Object.entries(MODELS)) {
    it(`compare works on a model with ${what}`, async () => {
      const input = { file: "m.yaml", text };
      const named = text.match(/^ {2}(\S.*?): \{ params/gm)!.map((l) => {
        const key = l.replace(/^ {2}/, "").replace(/: \{ params$/, "");
        return key.startsWith('"') ? JSON.parse(key) : key.startsWith("'") ? key.slice(1, -1) : key;
      });
      const r = await compareScenarios(input, ["base", ...named], { runs: 400, seed: 3, workers: 1 });
      expect(r.scenarios).toEqual(["base", ...named]);
      // The model's own claim is evaluated once, and none of the comparison's internal claims leak.
      expect(r.reports.base!.claims.map((c) => c.id)).toEqual(["some-a"]);
      for (const s of named) {
        const d = r.differences.find((x) => x.scenario === s && x.outcome === "a")!;
        expect(d.difference).toBeCloseTo(r.reports[s]!.outcomes.a!.p - r.reports.base!.outcomes.a!.p, 10);
        expect(d.lo!).toBeLessThanOrEqual(d.difference!);
      }
      const html = await htmlReport(input, { runs: 200, samples: 0, workers: 1 });
      for (const s of named)
        expect(html).toContain(
          s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/'/g, "&#39;").replace(/</g, "&lt;"),
        );
      expect(html).not.toContain("brink-compare-");
    });
  }

  for (const [what, text] of Object.entries(BAD_NAMES)) {
    it(`refuses a model with ${what}, naming the rule`, async () => {
      await expect(
        compareScenarios({ file: "m.yaml", text }, ["base"], { runs: 100, seed: 3, workers: 1 }),
      ).rejects.toThrow(/scenario '.*' is not a valid name: it contains/);
    });
  }

  it("a scenario named in the comparison may come first", async () => {
    const input = { file: "m.yaml", text: MODELS["block-style claims"] };
    const r = await compareScenarios(input, ["high_growth", "base"], { runs: 400, seed: 3, workers: 1 });
    const d = r.differences.find((x) => x.outcome === "a")!;
    expect(d.scenario).toBe("base");
    expect(d.difference!).toBeLessThan(0);
    expect(r.reports.high_growth!.claims.map((c) => c.id)).toEqual(["some-a"]);
  });
});
