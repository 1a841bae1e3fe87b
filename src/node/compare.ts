import type { RunReport } from "../analysis/results.js";
import { prepareModel } from "../engine/prepare.js";
import { didYouMean } from "../lang/diagnostic.js";
import { simulate, UsageError } from "./simulate.js";

export interface Comparison {
  model: string;
  runs: number;
  seed: number;
  scenarios: string[];
  /** Each scenario's own report; the first carries the model's claims. */
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
 * each outcome's probability in each, with paired intervals for the differences from the first. One pass: the
 * differences are claims about the first scenario, so every scenario runs once over the same run indices.
 */
export async function compareScenarios(
  input: { file: string; text: string },
  scenarios: string[],
  options: { runs: number; seed: number; workers?: number },
): Promise<Comparison> {
  if (scenarios.length === 0) throw new Error("no scenarios to compare");
  const [first, ...rest] = scenarios as [string, ...string[]];
  // The model itself says which scenarios and outcomes there are; nothing needs to run for that.
  const model = prepareModel(input.file, input.text, first === "base" ? {} : { scenario: first });
  const known = model.loaded.scenarios;
  for (const s of rest) {
    if (s !== "base" && !known.includes(s)) {
      throw new UsageError(
        `unknown scenario '${s}'${didYouMean(s, known)} (this model has: ${known.length ? known.join(", ") : "none"}; 'base' is the base model)`,
      );
    }
  }
  const outcomesOf = model.program.outcomes.map((o) => o.name);
  const checks = rest.flatMap((s) =>
    [...outcomesOf, "censored"].map((o) => ({ o, s, check: `P(${o} | scenario = ${s}) > P(${o})` })),
  );
  const claimsText = checks.map((c, i) => `  - { id: "brink-compare-${i}", check: "${c.check}" }`).join("\n");
  const text = appendClaims(input.text, claimsText);
  const result = await simulate(
    { file: input.file, text },
    { ...options, ...(first === "base" ? {} : { scenario: first }) },
  );
  const reports: Record<string, RunReport> = {};
  const mine = {
    ...result.report,
    claims: result.report.claims.filter((c) => !c.id.startsWith("brink-compare-")),
  };
  reports[first] = mine;
  for (const s of rest) reports[s] = result.others[s]!;
  const paired = result.report.claims.filter((c) => c.id.startsWith("brink-compare-"));
  return {
    model: mine.model,
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

/** The model text with more claims after its own (adding a `claims:` block when it has none). */
function appendClaims(text: string, claims: string): string {
  if (claims.trim() === "") return text;
  const lines = text.split("\n");
  const start = lines.findIndex((l) => /^claims\s*:\s*$/.test(l));
  if (start < 0) return `${text.trimEnd()}\nclaims:\n${claims}\n`;
  let end = start + 1;
  while (end < lines.length && (lines[end]!.trim() === "" || /^\s/.test(lines[end]!))) end++;
  return [...lines.slice(0, end), claims, ...lines.slice(end)].join("\n");
}
