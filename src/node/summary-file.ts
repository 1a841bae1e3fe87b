import { compileClaims } from "../analysis/check.js";
import type { CompiledClaim } from "../analysis/claims.js";
import { evaluateClaim, needsRecords, needsRunValues } from "../analysis/claims.js";
import { ClaimStatistics } from "../analysis/claims-stream.js";
import { buildReport, type RunReport } from "../analysis/results.js";
import { prepareModel } from "../engine/prepare.js";
import type { Summary } from "../engine/summary.js";
import { parseSummaryFile, type SummaryFile } from "../engine/summary-file.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import { readTextFile } from "./files.js";

export type { SummaryFile } from "../engine/summary-file.js";

/** Summary files hold sketches and exact sums, far larger than a model, but still bounded when read. */
export const MAX_SUMMARY_BYTES = 256 * 1024 * 1024;

export const summaryFileText = (saved: SummaryFile) => JSON.stringify(saved);

/**
 * Read one summary file: schema-checked, its counts checked against one another and its model text re-hashed
 * (src/engine/summary-file.ts); anything else becomes a diagnostic at its first line.
 */
export function readSummaryFile(path: string): { file: SummaryFile; summary: Summary } {
  return parseSummaryFile(path, readTextFile(path, MAX_SUMMARY_BYTES, "summary files"));
}

/**
 * Merge summary files saved by `brink run --save-summary` (disjoint runs of one job) and build the whole job's
 * report from the first file's model. Mismatched jobs and overlapping runs throw SummaryMismatchError.
 */
export function mergeSummaryFiles(paths: string[]): {
  summary: Summary;
  model: SummaryFile["model"];
  report: RunReport;
} {
  let merged: Summary | undefined;
  let first: SummaryFile | undefined;
  const files: { path: string; file: SummaryFile; runs: number }[] = [];
  for (const path of paths) {
    const { file: parsed, summary: s } = readSummaryFile(path);
    files.push({ path, file: parsed, runs: s.runs });
    if (merged) merged.merge(s);
    else {
      merged = s;
      first = parsed;
    }
  }
  if (!merged || !first) throw new Error("mergeSummaryFiles needs at least one file");
  const model = prepareModel(first.model.file, first.model.text, {
    ...(first.model.scenario === null ? {} : { scenario: first.model.scenario }),
    ...(first.model.decisions ? { decisions: first.model.decisions } : {}),
  });
  const claims = compileClaims(model.loaded);
  const statistics = mergedClaimStatistics(
    claims.filter((c) => needsRecords(c) && !needsRunValues(c)),
    files,
  );
  const summary = merged;
  const report = buildReport({
    time: model.loaded.time,
    summary,
    claims,
    ...(statistics
      ? {
          // Claims bootstrapped over every run's values stay undecided: a summary keeps no runs.
          evaluateFromRuns: (claim) =>
            needsRunValues(claim)
              ? evaluateClaim(claim, {
                  runs: summary.runs,
                  outcomeTimes: summary.outcomeTimes,
                  censored: summary.censored,
                })
              : statistics.result(claim),
        }
      : {}),
  });
  return { summary: merged, model: first.model, report };
}

/**
 * The claim statistics the files were saved with, merged: what lets `brink merge` decide E, Q and
 * other-scenario claims over all the runs. Undefined (those claims undecided) when a file has none — saved by a
 * stopped job or an older Brink. Statistics that contradict their file are a diagnostic at that file.
 */
function mergedClaimStatistics(
  claims: CompiledClaim[],
  files: { path: string; file: SummaryFile; runs: number }[],
): ClaimStatistics | undefined {
  if (claims.length === 0 || files.some((f) => !f.file.claims)) return undefined;
  const statistics = ClaimStatistics.forMerging(claims);
  for (const { path, file, runs } of files) {
    const saved = file.claims!;
    const fail = (message: string): never => {
      throw new DiagnosticError([
        {
          file: path,
          line: 1,
          col: 1,
          message: `not a valid Brink summary file: its claim statistics ${message}`,
        },
      ]);
    };
    if (saved.claims.some((c) => c.sums.length > 0 && c.runs !== runs))
      fail(`count other runs than its summary's ${runs}`);
    try {
      statistics.mergeJSON(saved);
    } catch (e) {
      fail(e instanceof Error ? e.message.replace(/^the saved claim statistics /, "") : String(e));
    }
  }
  return statistics;
}
