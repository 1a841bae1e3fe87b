import { basename } from "node:path";
import { z } from "zod";
import type { BacktestResult } from "../analysis/calibrate/backtest.js";
import {
  compareForecasters,
  pairBacktests,
  type ScoredPeriod,
} from "../analysis/calibrate/compare-forecasts.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import { canonicalUnit, UNIT_DAYS } from "../model/time.js";
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
  horizon: z.object({ steps: z.number().int(), time: z.number(), unit: z.string().max(40).nullable() }),
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
  /** The origins as dates (or model times in an undated model), and the horizon in model time. */
  origins: string[];
  horizon: { time: number; unit: string | null };
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
    origins: b.origins.map((o) => o.label),
    horizon: { time: b.horizon.time, unit: b.horizon.unit },
    // What the comparison reads; a CRPS written as null (JSON's Infinity or NaN) is not finite.
    periods: b.periods.map((p) => ({
      ...p,
      scores: p.scores.map((sc) => ({ forecaster: sc.forecaster, crps: sc.crps ?? Number.NaN })),
    })),
  };
}

/**
 * Whether the other backtest forecast from the same origins (as dates, or model times in an undated model) to
 * the same horizon (as a duration: 52 weeks is 364 days), whatever its model's time step; an error at the file's
 * value when not. Periods then pair by series, origin and date.
 */
export function checkAgainst(
  other: AgainstBacktest,
  origins: readonly string[],
  horizon: { time: number; unit: string | null },
): void {
  const same = other.origins.length === origins.length && other.origins.every((s, i) => s === origins[i]);
  if (same && sameDuration(other.horizon, horizon)) return;
  const length = (h: { time: number; unit: string | null }) => `${h.time}${h.unit ? ` ${h.unit}s` : ""}`;
  throw new DiagnosticError([
    {
      file: other.file,
      ...jsonValuePosition(other.text, same ? ["horizon", "time"] : ["origins"]),
      message: `compares only backtests from the same origins to the same horizon: this one's origins are ${origins.join(", ")} with a horizon of ${length(horizon)}, this file's ${other.origins.join(", ")} with ${length(other.horizon)}`,
    },
  ]);
}

/** Two horizons of the same length: in days where both units are calendar units, else in the same unit. */
function sameDuration(a: { time: number; unit: string | null }, b: { time: number; unit: string | null }) {
  const days = (h: typeof a) => {
    const unit = h.unit === null ? undefined : canonicalUnit(h.unit);
    return unit === undefined ? undefined : h.time * UNIT_DAYS[unit]!;
  };
  const [da, db] = [days(a), days(b)];
  if (da !== undefined && db !== undefined) return Math.abs(da - db) <= 1e-9 * Math.max(1, Math.abs(da));
  return a.unit === b.unit && a.time === b.time;
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
