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
      "16:24: a Q(…) term can only be compared with numbers, E(…) and other Q(…) terms (a value is not a probability)",
    ]);
    expect(bad("E(level) > 1")).toEqual(["16:26: write E(var at TIME), e.g. E(western_fear at 2027-08-21)"]);
    expect(bad("P(a | time = 3) > 0")).toEqual(["16:30: a condition reads '| scenario = NAME'"]);
    expect(bad("P(level at 3) > 0.5")).toEqual([
      "16:26: write P(var at TIME > x), e.g. P(western_troops at 2027-08-21 > 5000)",
    ]);
    expect(bad("P(growth at 3 > 1) > 0.5")).toEqual([
      "16:26: 'growth' is not tracked — add it to 'track' to use it in E(…) or Q(…)",
    ]);
    expect(bad("Q50(level) > 1")).toEqual([
      "16:28: write Q50(var at TIME), e.g. Q50(western_troops at 2027-08-21)",
    ]);
    expect(bad("Q0(level at 3) > 1")[0]).toMatch(/unknown claim function 'Q0'/);
    expect(
      diagnosticsOf(() => prepareText(MODEL.replace("growth: uniform(0, 1)", "growth: level | 2")))[0],
    ).toMatch(/unexpected '\|'/);
  });
});

/** The same hazards; `faster` doubles the growth draws (so levels differ, outcomes do not). */
const LEVELS = MODEL.replace(
  /claims:[\s\S]*$/,
  `claims:
  - { id: above-mean, check: "P(level at 10 > 15) > 0.4" }
  - { id: below-mean, check: "P(level at 10 > 15) < 0.6" }
  - { id: median-q50, check: "Q50(level at 10) < 16" }
  - { id: median-q, check: "Q(level, 0.5 at 10) < 16" }
  - { id: faster-median, check: "Q50(level at 10 | scenario = faster) > Q50(level at 10)" }
  - { id: faster-share, check: "P(level at 10 > 17 | scenario = faster) > P(level at 10 > 17)" }
  - { id: riskier-paired, check: "P(a | scenario = riskier) > P(a)" }
scenarios:
  riskier: { params: { a_rate: 0.1 } }
  faster: { flows: { growth: "2 * uniform(0, 1)" } }
`,
);

describe("claims about levels and quantiles", () => {
  it("P(var at T > x) is the share of runs still going at T beyond x", async () => {
    const { report } = await simulate(
      { file: "levels.yaml", text: LEVELS },
      { runs: 4000, seed: 5, workers: 2 },
    );
    const byId = Object.fromEntries(report.claims.map((c) => [c.id, c]));
    // level at 10 is 10 + 0.5 × (a sum of 20 uniforms): symmetric about 15, so the share above 15 is 1/2.
    expect(byId["above-mean"]!.p!).toBeGreaterThan(0.47);
    expect(byId["above-mean"]!.p!).toBeLessThan(0.53);
    expect(byId["above-mean"]!.lo!).toBeLessThan(byId["above-mean"]!.p!);
    expect(byId["above-mean"]!.verdict).toBe("holds");
    expect(byId["below-mean"]!.verdict).toBe("holds");
    // Q50(…) is Q(…, 0.5 …), interval and all.
    expect({ ...byId["median-q50"]!, id: "", check: "" }).toEqual({
      ...byId["median-q"]!,
      id: "",
      check: "",
    });
  });

  it("compares quantiles and level probabilities between scenarios, paired", async () => {
    const { report } = await simulate(
      { file: "levels.yaml", text: LEVELS },
      { runs: 2000, seed: 5, workers: 2 },
    );
    const byId = Object.fromEntries(report.claims.map((c) => [c.id, c]));
    // faster doubles every draw: level − 10 doubles, so the median moves from about 15 to about 20.
    const median = byId["faster-median"]!;
    expect(median.verdict).toBe("holds");
    expect(median.p!).toBeGreaterThan(4.5);
    expect(median.p!).toBeLessThan(5.5);
    expect(median.lo!).toBeLessThan(median.p!);
    expect(median.hi!).toBeGreaterThan(median.p!);
    expect(byId["faster-share"]!.verdict).toBe("holds");
    // The same job gives the same bootstrap interval whatever the workers.
    const one = await simulate({ file: "levels.yaml", text: LEVELS }, { runs: 2000, seed: 5, workers: 1 });
    expect(one.report.claims).toEqual(report.claims);
  });

  it("a claim that names a scenario means the same under --scenario", async () => {
    const base = await simulate({ file: "levels.yaml", text: LEVELS }, { runs: 1500, seed: 2, workers: 1 });
    const riskier = await simulate(
      { file: "levels.yaml", text: LEVELS },
      { runs: 1500, seed: 2, workers: 1, scenario: "riskier" },
    );
    const faster = await simulate(
      { file: "levels.yaml", text: LEVELS },
      { runs: 1500, seed: 2, workers: 1, scenario: "faster" },
    );
    const paired = (r: typeof base) => r.report.claims.find((c) => c.id === "riskier-paired")!;
    // P(a) without a condition is the base model's, whichever scenario runs: the same number in all three.
    expect(paired(base).verdict).toBe("holds");
    expect(paired(riskier)).toEqual(paired(base));
    expect(paired(faster)).toEqual(paired(base));
    // A claim naming no scenario is about the scenario being run.
    const share = (r: typeof base) => r.report.claims.find((c) => c.id === "above-mean")!.p!;
    expect(share(faster)).toBeGreaterThan(share(base) + 0.2);
  });
});
