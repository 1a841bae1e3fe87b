import { compileClaims } from "../analysis/check.js";
import { buildReport, type RunReport } from "../analysis/results.js";
import { prepareModel } from "../engine/prepare.js";
import type { Summary } from "../engine/summary.js";
import { parseSummaryFile, type SummaryFile } from "../engine/summary-file.js";
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
  for (const path of paths) {
    const { file: parsed, summary: s } = readSummaryFile(path);
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
  const report = buildReport({
    time: model.loaded.time,
    summary: merged,
    claims: compileClaims(model.loaded),
  });
  return { summary: merged, model: first.model, report };
}
