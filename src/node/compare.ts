import type { RunReport } from "../analysis/results.js";
import { simulate } from "./simulate.js";

export interface Comparison {
  model: string;
  runs: number;
  seed: number;
  scenarios: string[];
  /** Each scenario's own report. */
  reports: Record<string, RunReport>;
  /** For every outcome (and censored) and every scenario after the first: P(o | s) − P(o | first), paired. */
  differences: {
    outcome: string;
    scenario: string;
    difference: number | null;
    lo: number | null;
    hi: number | null;
  }[];
}

/**
 * Run several scenarios of one model with the same seed — the same random numbers run by run — and report
 * each outcome's probability in each, with paired intervals for the differences from the first.
 */
export async function compareScenarios(
  input: { file: string; text: string },
  scenarios: string[],
  options: { runs: number; seed: number; workers?: number },
): Promise<Comparison> {
  if (scenarios.length === 0) throw new Error("no scenarios to compare");
  const reports: Record<string, RunReport> = {};
  for (const s of scenarios) {
    reports[s] = (await simulate(input, { ...options, ...(s === "base" ? {} : { scenario: s }) })).report;
  }
  const [first, ...rest] = scenarios as [string, ...string[]];
  const outcomes = [...new Set(scenarios.flatMap((s) => Object.keys(reports[s]!.outcomes)))];
  // The paired differences are claims about the first scenario, evaluated on records of each.
  const checks = rest.flatMap((s) =>
    [...outcomes, "censored"].map((o) => ({ o, s, check: `P(${o} | scenario = ${s}) > P(${o})` })),
  );
  const claimsText = checks.map((c, i) => `  - { id: "d${i}", check: "${c.check}" }`).join("\n");
  const withClaims = `${stripClaims(input.text)}\nclaims:\n${claimsText}\n`;
  const paired = (
    await simulate(
      { file: input.file, text: withClaims },
      { ...options, ...(first === "base" ? {} : { scenario: first }) },
    )
  ).report.claims;
  return {
    model: reports[first]!.model,
    runs: options.runs,
    seed: options.seed,
    scenarios,
    reports,
    differences: checks.map((c, i) => ({
      outcome: c.o,
      scenario: c.s,
      difference: paired[i]!.p,
      lo: paired[i]!.lo,
      hi: paired[i]!.hi,
    })),
  };
}

/** The model text without its top-level `claims:` block (the comparison adds its own). */
function stripClaims(text: string): string {
  const lines = text.split("\n");
  const out: string[] = [];
  let skipping = false;
  for (const line of lines) {
    if (/^claims\s*:/.test(line)) {
      skipping = true;
      continue;
    }
    if (skipping && /^\S/.test(line)) skipping = false;
    if (!skipping) out.push(line);
  }
  return out.join("\n");
}
