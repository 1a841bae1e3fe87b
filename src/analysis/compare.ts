import { prepareModel } from "../engine/prepare.js";
import { didYouMean } from "../lang/diagnostic.js";
import { outcomeDifferenceClaim } from "./claims.js";
import type { RunReport } from "./results.js";
import { type SimulateOptions, type SimulationResult, UsageError } from "./simulate.js";

/** How a host runs one Monte Carlo job: `simulate` on Node worker threads, `simulateInBrowser` on Web Workers. */
export type Simulator = (
  input: { file: string; text: string },
  options: SimulateOptions,
) => Promise<SimulationResult>;

export interface ScenarioDifference {
  outcome: string;
  scenario: string;
  difference: number | null;
  lo: number | null;
  hi: number | null;
}

export interface Comparison {
  model: string;
  runs: number;
  seed: number;
  scenarios: string[];
  /** Each scenario's own report; the first carries the model's claims. */
  reports: Record<string, RunReport>;
  /** For every outcome (and censored) and every scenario after the first: P(o | s) − P(o | first), paired. */
  differences: ScenarioDifference[];
}

const PAIRED = "brink-compare-";

/**
 * Run several scenarios of one model with the same seed — the same random numbers run by run — and report
 * each outcome's probability in each, with paired intervals for the differences from the first. One pass: the
 * differences are claims (built as data, so any scenario name works) evaluated with the first scenario's job,
 * so every scenario runs once over the same run indices.
 */
export async function compareScenarios(
  input: { file: string; text: string },
  scenarios: string[],
  options: Pick<SimulateOptions, "runs" | "seed" | "workers" | "onProgress" | "signal" | "trackedCells"> & {
    runs: number;
    seed: number;
  },
  simulate: Simulator,
): Promise<Comparison> {
  if (scenarios.length === 0) throw new UsageError("no scenarios to compare");
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
  const outcomes = model.program.outcomes.map((o) => o.name);
  const checks = rest.flatMap((s) => [...outcomes, "censored"].map((o) => ({ o, s })));
  const extraClaims = checks.map((c, i) =>
    outcomeDifferenceClaim(`${PAIRED}${i}`, c.o, c.s, first, model.loaded.time.steps),
  );
  const result = await simulate(input, {
    ...options,
    extraClaims,
    ...(first === "base" ? {} : { scenario: first }),
  });
  const mine = { ...result.report, claims: result.report.claims.filter((c) => !c.id.startsWith(PAIRED)) };
  const reports: Record<string, RunReport> = { [first]: mine };
  for (const s of rest) reports[s] = result.others[s]!;
  const paired = result.report.claims.filter((c) => c.id.startsWith(PAIRED));
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
