import { type ClaimResult, compileClaim, evaluateClaim } from "../src/analysis/claims.js";

/** Evaluate claim checks on made-up outcome-time counts (outcome → runs per step). */
export function claimsOf(checks: string[], times: Record<string, number[]>, censored: number): ClaimResult[] {
  const outcomes = Object.keys(times);
  const steps = Math.max(...Object.values(times).map((t) => t.length)) - 1;
  const runs =
    Object.values(times)
      .flat()
      .reduce((a, b) => a + b, 0) + censored;
  const time = { start: 0, stop: steps, dt: 1, steps, saveEvery: 1 };
  return checks.map((check, i) => {
    const c = compileClaim({ id: `c${i}`, check }, { outcomes, time }, () => ({ line: 1, col: 1 }), "t.yaml");
    if (Array.isArray(c)) throw new Error(c.map((d) => d.message).join("; "));
    return evaluateClaim(c, { runs, outcomeTimes: outcomes.map((o) => times[o]!), censored });
  });
}
