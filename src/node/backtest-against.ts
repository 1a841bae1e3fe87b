import { basename } from "node:path";
import { z } from "zod";
import type { BacktestResult } from "../analysis/calibrate/backtest.js";
import {
  compareForecasters,
  pairBacktests,
  type ScoredPeriod,
} from "../analysis/calibrate/compare-forecasts.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import { readTextFile } from "./files.js";
import { jsonValuePosition } from "./json-position.js";

/**
 * `brink backtest --against FILE`: another backtest's `--json` (a variant of the model, or a rival on the same
 * data) read, checked to be of the same origins and horizon, and set beside this one's forecasts period by
 * period. Only what the comparison reads is checked; the file is untrusted, so every field is.
 */

/** A backtest file's limits: far above any real backtest's, far below what would exhaust memory. */
const MAX_AGAINST_BYTES = 64 * 1024 * 1024;
const MAX_PERIODS = 200_000;

/** What `--against` reads of a backtest file; a CRPS written as null was not finite (JSON has no Infinity). */
const againstFile = z.object({
  brink_backtest: z.literal(1),
  model: z.object({ name: z.string().max(1000) }),
  horizon: z.object({ steps: z.number().int() }),
  origins: z.array(z.object({ step: z.number().int(), label: z.string().max(100) })).max(10_000),
  periods: z
    .array(
      z.object({
        series: z.string().max(1000),
        origin: z.string().max(100),
        at: z.string().max(100),
        t: z.number(),
        lead: z.number(),
        scores: z
          .array(z.object({ forecaster: z.string().max(1000), crps: z.number().nonnegative().nullable() }))
          .max(100),
      }),
    )
    .max(MAX_PERIODS),
});

export interface AgainstBacktest {
  file: string;
  /** The file's text, for positions in later errors. */
  text: string;
  /** The other backtest's model name and its label in tables: `model of FILE`. */
  model: string;
  label: string;
  origins: number[];
  horizonSteps: number;
  periods: ScoredPeriod[];
}

/** Read and check FILE; an error at the file (line:col of the offending value where there is one). */
export function readAgainst(path: string): AgainstBacktest {
  const text = readTextFile(path, MAX_AGAINST_BYTES, "backtest files");
  const fail = (message: string, at = { line: 1, col: 1 }) =>
    new DiagnosticError([{ file: path, ...at, message }]);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw fail(`not a backtest file (${(e as Error).message})`);
  }
  const parsed = againstFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.filter((k): k is string | number => typeof k !== "symbol");
    throw fail(
      `not a backtest file written by \`brink backtest --json\`: ${where.join(".") || "the top"}: ${issue.message}`,
      jsonValuePosition(text, where),
    );
  }
  const b = parsed.data;
  // One forecast per series, origin and date: a repeated period would silently replace the first.
  const seen = new Set<string>();
  const repeated = b.periods.findIndex(
    (p) => seen.size === seen.add(`${p.series}\u0000${p.origin}\u0000${p.at}`).size,
  );
  if (repeated >= 0) {
    const p = b.periods[repeated]!;
    throw fail(
      `period ${repeated} repeats the forecast of '${p.series}' from ${p.origin} for ${p.at}`,
      jsonValuePosition(text, ["periods", repeated]),
    );
  }
  return {
    text,
    file: path,
    model: b.model.name,
    label: `model of ${basename(path)}`,
    origins: b.origins.map((o) => o.step),
    horizonSteps: b.horizon.steps,
    // What the comparison reads; a CRPS written as null (JSON's Infinity or NaN) is not finite.
    periods: b.periods.map((p) => ({
      ...p,
      scores: p.scores.map((sc) => ({ forecaster: sc.forecaster, crps: sc.crps ?? Number.NaN })),
    })),
  };
}

/**
 * Whether the other backtest forecast from the same origins to the same horizon, in steps of the same time grid
 * (a model with another time step cannot be compared this way); an error at the file's value when not.
 */
export function checkAgainst(other: AgainstBacktest, origins: readonly number[], horizonSteps: number): void {
  const same = other.origins.length === origins.length && other.origins.every((s, i) => s === origins[i]);
  if (same && other.horizonSteps === horizonSteps) return;
  throw new DiagnosticError([
    {
      file: other.file,
      ...jsonValuePosition(other.text, same ? ["horizon", "steps"] : ["origins"]),
      message: `compares only backtests from the same origins to the same horizon, in the same time steps: this one's origins are at steps ${origins.join(", ")} with a horizon of ${horizonSteps} steps, this file's at ${other.origins.join(", ")} with ${other.horizonSteps}`,
    },
  ]);
}

/** This backtest's model against the other's, per series, on the periods both scored. */
export function againstComparisons(
  result: BacktestResult,
  other: AgainstBacktest,
): BacktestResult["against"] {
  const paired = pairBacktests(result.periods, other.periods, ["model", other.label]);
  return {
    file: other.file,
    model: other.model,
    comparisons: compareForecasters(paired, ["model", other.label]),
  };
}
