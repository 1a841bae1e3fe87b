import { afterAll, describe, expect, it } from "vitest";
import { checkModelText } from "../src/analysis/check.js";
import { closeWorkers, simulate } from "../src/node/simulate.js";
import { diagnosticsOf, prepareText } from "./helpers.js";

afterAll(() => closeWorkers());

/** Two competing hazards; the scenario `riskier` doubles the first. Paired runs share their random draws. */
const MODEL = `brink: 1
name: hazards
time: { start: 0, stop: 20, dt: 0.5 }
params:
  a_rate: 0.05
  b_rate: 0.03
stocks:
  level: { init: 10, inflows: [growth] }
flows:
  growth: uniform(0, 1)
outcomes:
  a: { rate: a_rate }
  b: { rate: b_rate }
track: [level]
claims:
  - { id: a-first, check: P(a) > P(b) }
  - { id: paired, check: "P(a) < P(a | scenario = riskier)" }
  - { id: mean-level, check: E(level at 10) > 14 }
  - { id: median-level, check: "Q(level, 0.5 at 10) < 16" }
  - { id: level-grows, check: E(level at 10) > E(level at 0) }
scenarios:
  riskier: { params: { a_rate: 0.1 } }
`;

describe("claims with E, Q and scenarios", () => {
  it("evaluate from runs, with paired intervals across scenarios", async () => {
    const { report } = await simulate(
      { file: "hazards.yaml", text: MODEL },
      { runs: 4000, seed: 3, workers: 2 },
    );
    const byId = Object.fromEntries(report.claims.map((c) => [c.id, c]));
    expect(byId["a-first"]!.verdict).toBe("holds");
    expect(byId.paired!.verdict).toBe("holds");
    // level = 10 + the sum of 20 uniform(0, 1)·0.5 draws by t = 10: mean 15, among runs still going.
    expect(byId["mean-level"]!.p!).toBeCloseTo(15, 0);
    expect(byId["mean-level"]!.verdict).toBe("holds");
    expect(byId["median-level"]!.verdict).toBe("holds");
    expect(byId["level-grows"]!.verdict).toBe("holds");
    // Pairing: the riskier scenario reuses each run's draws, so the difference's interval is much tighter
    // than the two separate Wilson intervals would allow.
    const base = report.outcomes.a!;
    const separateHalfWidth = (base.hi - base.lo) / 2;
    expect((byId.paired!.hi! - byId.paired!.lo!) / 2).toBeLessThan(1.6 * separateHalfWidth);
    expect(byId.paired!.p!).toBeLessThan(0);
  });

  it("are the same for any number of workers", async () => {
    const one = await simulate({ file: "hazards.yaml", text: MODEL }, { runs: 600, seed: 8, workers: 1 });
    const two = await simulate(
      { file: "hazards.yaml", text: MODEL },
      { runs: 600, seed: 8, workers: 2, chunkSize: 77 },
    );
    expect(JSON.stringify(two.report.claims)).toBe(JSON.stringify(one.report.claims));
  });

  it("bad claims get diagnostics with positions", () => {
    const bad = (check: string) => {
      const text = MODEL.replace("claims:\n", `claims:\n  - { id: bad, check: "${check}" }\n`);
      return checkModelText("h.yaml", text).diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`);
    };
    expect(bad("P(a | scenario = riskyer) > 0")).toEqual([
      "16:41: unknown scenario 'riskyer' — did you mean 'riskier'?",
    ]);
    expect(bad("E(growth at 3) > 0")).toEqual([
      "16:26: 'growth' is not tracked — add it to 'track' to use it in E(…) or Q(…)",
    ]);
    expect(bad("Q(level, 0.5 at 3) > P(a)")).toEqual([
      "16:24: a Q(…) term can only be compared with a number (its interval comes from order statistics)",
    ]);
    expect(bad("E(level) > 1")).toEqual(["16:26: write E(var at TIME), e.g. E(western_fear at 2027-08-21)"]);
    expect(bad("P(a | time = 3) > 0")).toEqual(["16:30: a condition reads '| scenario = NAME'"]);
    expect(
      diagnosticsOf(() => prepareText(MODEL.replace("growth: uniform(0, 1)", "growth: level | 2")))[0],
    ).toMatch(/unexpected '\|'/);
  });
});
