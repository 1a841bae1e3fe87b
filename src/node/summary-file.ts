import { compileClaims } from "../analysis/check.js";
import { buildReport, type RunReport } from "../analysis/results.js";
import { prepareModel } from "../engine/prepare.js";
import { Summary, type SummaryJSON } from "../engine/summary.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import { readTextFile } from "./files.js";

/** A saved summary: the mergeable statistics plus the model they came from (so merging can check claims). */
export interface SummaryFile {
  summary: SummaryJSON;
  model: { file: string; text: string; scenario: string | null };
}

/** Summary files hold sketches and exact sums, far larger than a model, but still bounded when read. */
export const MAX_SUMMARY_BYTES = 256 * 1024 * 1024;

export const summaryFileText = (saved: SummaryFile) => JSON.stringify(saved);

/** Read one summary file; anything that is not one becomes a diagnostic at its first line. */
export function readSummaryFile(path: string): SummaryFile {
  const text = readTextFile(path, MAX_SUMMARY_BYTES, "summary files");
  try {
    const parsed = JSON.parse(text) as SummaryFile;
    if (!parsed.summary || !parsed.model) throw new Error("missing fields");
    return parsed;
  } catch (e) {
    throw new DiagnosticError([
      {
        file: path,
        line: 1,
        col: 1,
        message: `not a Brink summary file (${e instanceof Error ? e.message : String(e)})`,
      },
    ]);
  }
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
    const parsed = readSummaryFile(path);
    const s = Summary.fromJSON(parsed.summary);
    if (merged) merged.merge(s);
    else {
      merged = s;
      first = parsed;
    }
  }
  if (!merged || !first) throw new Error("mergeSummaryFiles needs at least one file");
  const model = prepareModel(
    first.model.file,
    first.model.text,
    first.model.scenario === null ? {} : { scenario: first.model.scenario },
  );
  const report = buildReport({
    time: model.loaded.time,
    summary: merged,
    claims: compileClaims(model.loaded),
  });
  return { summary: merged, model: first.model, report };
}
