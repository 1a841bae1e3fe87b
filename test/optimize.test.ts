import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { wilson } from "../src/analysis/stats.js";
import { optimize } from "../src/node/optimize.js";
import { closeWorkers } from "../src/node/simulate.js";
import { example } from "./helpers.js";

const file = example("calibrated-growth.yaml");
const input = { file, text: readFileSync(file, "utf8") };

afterAll(() => closeWorkers());

/**
 * Closed form: P(failure by 10) = 1 − exp(−0.01·g·10) and E(size at 10) = 10·g, so the optimum is the largest g
 * with the failure chance at the bound. Requiring the bound with 95% confidence moves it to the g whose
 * expected Wilson upper limit at N runs equals the bound.
 */
function confidentOptimum(alpha: number, runs: number): number {
  let lo = 0;
  let hi = 10;
  for (let i = 0; i < 100; i++) {
    const g = (lo + hi) / 2;
    const p = 1 - Math.exp(-0.1 * g);
    if (wilson(p * runs, runs).hi > alpha) hi = g;
    else lo = g;
  }
  return lo;
}

describe("brink optimize", () => {
  it("finds the constrained optimum of a model with a closed form, within 10%", async () => {
    const r = await optimize(input, {
      maximize: "E(size at 10)",
      subjectTo: ["P(failure by 10) <= 0.05"],
      runs: 4000,
      seed: 1,
      workers: 2,
    });
    const g = r.best!.values.growth_rate!;
    const exact = -Math.log(0.95) / 0.1;
    const target = confidentOptimum(0.05, 4000);
    expect(r.feasible).toBe(true);
    expect(g).toBeLessThanOrEqual(exact);
    expect(Math.abs(g - target) / exact).toBeLessThan(0.1);
    expect(r.best!.result.objective).toBeCloseTo(10 * g, 6);
    expect(r.best!.result.constraints[0]!.hi).toBeLessThanOrEqual(0.05);
  });

  it("gives the same answer for the same seed, and traces a monotone frontier", async () => {
    const options = {
      maximize: "E(size at 10)",
      subjectTo: ["P(failure by 10) <= 0.05"],
      runs: 2000,
      seed: 4,
      iterations: 5,
      frontier: [0.02, 0.05, 0.1],
    };
    const a = await optimize(input, { ...options, workers: 1 });
    const b = await optimize(input, { ...options, workers: 2 });
    expect(b.best!.values).toEqual(a.best!.values);
    expect(b.frontier).toEqual(a.frontier);
    const objectives = a.frontier.map((f) => f.objective!);
    expect(objectives[0]!).toBeLessThan(objectives[1]!);
    expect(objectives[1]!).toBeLessThan(objectives[2]!);
  });

  it("says how close it came when a constraint cannot be met", async () => {
    const r = await optimize(input, {
      maximize: "E(size at 10)",
      subjectTo: ["P(failure by 10) <= 0.0001"],
      runs: 1000,
      seed: 1,
      iterations: 3,
      candidates: 6,
    });
    expect(r.feasible).toBe(false);
    expect(r.best).toBeNull();
    expect(r.message).toMatch(
      /no candidate met every constraint with 95% confidence among \d+ tried, including the model's own values \(growth_rate = [\d.e-]+: missed by [\d.e-]+\) and every decision at its minimum \(growth_rate = 0: missed by [\d.e-]+\); the closest \(growth_rate = [\d.e-]+\) missed by [\d.e-]+: P\(failure by 10\) is [\d.e-]+ \[[\d.e-]+, [\d.e-]+\] against <= 0.0001/,
    );
    expect(r.anchors.lowerBounds.values).toEqual({ growth_rate: 0 });
    // Even growth_rate = 0 has a Wilson upper limit of 0.0038 at 1000 runs: about that far from the bound.
    expect(r.closest.violation).toBeGreaterThan(0.003);
    expect(r.closest.violation).toBeLessThan(0.01);
  });

  it("refuses models without decisions and malformed constraints", async () => {
    const sir = example("sir.yaml");
    await expect(
      optimize(
        { file: sir, text: readFileSync(sir, "utf8") },
        { maximize: "E(infected at 10)", subjectTo: ["P(epidemic_over) <= 0.5"] },
      ),
    ).rejects.toThrow(/declares no decisions/);
    await expect(
      optimize(input, { maximize: "E(size at 10)", subjectTo: ["P(failure) small"] }),
    ).rejects.toThrow(/must end in <= NUMBER/);
  });
});

/**
 * Levers that add to growth one for one but carry different failure hazards per unit. With the risk budget
 * P(failure by 10) <= 0.05, the optimum takes all of every safe lever (a corner) and only a sliver of the risky
 * one. Defaults at the upper bounds make the model's own plan infeasible.
 */
function levers(rates: Record<string, number>): { file: string; text: string } {
  const names = Object.keys(rates);
  const text = `brink: 1
name: levers
time: { start: 0, stop: 10, dt: 1 }
decisions:
${names.map((n) => `  ${n}: { value: 1, min: 0, max: 1 }`).join("\n")}
stocks:
  size: { init: 0, inflows: [growth] }
flows:
  growth: ${names.join(" + ")}
outcomes:
  failure: { rate: ${names.map((n) => `${rates[n]} * ${n}`).join(" + ")} }
track: [size]
`;
  return { file: "levers.yaml", text };
}

/**
 * The best plan with the safe levers at 1: the risky lever's largest value whose expected Wilson upper limit
 * (1,000 runs) is at the bound. P(failure by 10) = 1 − exp(−10 · hazard), one step per time unit.
 */
function riskyAllowance(safeHazard: number, riskyRate: number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const r = (lo + hi) / 2;
    const p = 1 - Math.exp(-10 * (safeHazard + riskyRate * r));
    if (wilson(p * 1000, 1000).hi > 0.05) hi = r;
    else lo = r;
  }
  return lo;
}

describe("brink optimize finds corner optima with the default settings", () => {
  const options = { maximize: "E(size at 10)", subjectTo: ["P(failure by 10) <= 0.05"], workers: 1 };

  it("two levers: all of the safe one, a little of the risky one", async () => {
    const r = await optimize(levers({ safe: 0.001, risky: 0.02 }), options);
    expect(r.feasible).toBe(true);
    expect(r.best!.values.safe).toBe(1);
    const optimum = 10 * (1 + riskyAllowance(0.001, 0.02));
    expect(r.best!.result.objective).toBeGreaterThan(0.97 * optimum);
    expect(r.best!.result.constraints[0]!.hi).toBeLessThanOrEqual(0.05);
    // The model's own plan (everything at 1) is not feasible; the search says so and starts elsewhere too.
    expect(r.anchors.defaults.feasible).toBe(false);
    expect(r.anchors.lowerBounds.feasible).toBe(true);
  });

  it("three levers: two safe ones at their maximum", async () => {
    const r = await optimize(levers({ safe: 0.001, steady: 0.002, risky: 0.05 }), options);
    expect(r.feasible).toBe(true);
    expect(r.best!.values.safe).toBe(1);
    expect(r.best!.values.steady).toBe(1);
    const optimum = 10 * (2 + riskyAllowance(0.003, 0.05));
    expect(r.best!.result.objective).toBeGreaterThan(0.97 * optimum);
    expect(r.best!.result.constraints[0]!.hi).toBeLessThanOrEqual(0.05);
  });

  it("keeps the search's own claims out of what the user sees", async () => {
    const input2 = levers({ safe: 0.001, risky: 0.02 });
    const text = `${input2.text}claims:\n  - { id: rare-failure, check: P(failure) < 0.5 }\n`;
    const r = await optimize({ ...input2, text }, { ...options, iterations: 2, candidates: 4 });
    expect(r.report.claims.map((c) => c.id)).toEqual(["rare-failure"]);
    expect(JSON.stringify(r.report)).not.toMatch(/-1e300|constraint-0/);
    expect(r.message).toMatch(/P\(failure by 10\) is [\d.]+ \[[\d.]+, [\d.]+\] against <= 0.05/);
  });
});

describe("the optimisation report", () => {
  it("compares the optimised plan with the model's own values, the minimum and named scenarios, on any model", async () => {
    const { optimizationReport } = await import("../src/node/report.js");
    // A model that knows nothing of deployments: a scenario replaces the levers by one fixed growth `target`.
    const base = levers({ safe: 0.001, risky: 0.02 });
    const text = base.text
      .replace("decisions:\n", "decisions:\n  target: { value: 5, min: 0, max: 8 }\n")
      .concat("scenarios:\n  fixed: { flows: { growth: target / 10 } }\n  idle: { flows: { growth: 0 } }\n");
    const input2 = { file: "levers.yaml", text };
    const result = await optimize(input2, {
      maximize: "E(size at 10)",
      subjectTo: ["P(failure by 10) <= 0.05"],
      vary: ["safe", "risky"],
      runs: 300,
      iterations: 2,
      candidates: 4,
      frontier: [0.05],
      workers: 1,
    });
    const html = await optimizationReport(input2, result, {
      scenarios: ["fixed", "idle"],
      matchObjective: "target",
      workers: 1,
    });
    expect(html).toContain('id="chart-frontier"');
    expect(html).toContain('id="chart-policies"');
    expect(html).toContain("optimised decisions");
    expect(html).toMatch(/the model&#39;s own decisions \(safe = 1, risky = 1\)/);
    expect(html).toMatch(/every decision at its minimum \(safe = 0, risky = 0\)/);
    // The matched decision is the objective's estimate, kept within the decision's bounds [0, 8].
    const matched = Math.min(8, Number(result.best!.result.objective.toPrecision(4)));
    expect(html).toContain(`scenario fixed, target = ${matched.toLocaleString("en")}`);
    expect(html).toContain("scenario idle, target = ");
    expect(html).not.toMatch(/deployment|western_troops/);
    await expect(optimizationReport(input2, result, { scenarios: ["fixd"], workers: 1 })).rejects.toThrow(
      /unknown scenario 'fixd' — did you mean 'fixed'\?/,
    );
    await expect(optimizationReport(input2, result, { matchObjective: "size", workers: 1 })).rejects.toThrow(
      /no decision 'size'/,
    );
  });
});
