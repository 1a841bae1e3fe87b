import { compileClaims } from "../analysis/check.js";
import type { CompiledClaim } from "../analysis/claims.js";
import { evaluateClaim, needsRecords, needsRunValues } from "../analysis/claims.js";
import { ClaimStatistics } from "../analysis/claims-stream.js";
import { buildReport, type RunReport } from "../analysis/results.js";
import { pausedStateLength } from "../compile/codegen.js";
import { type PreparedModel, prepareModel } from "../engine/prepare.js";
import { type Summary, shapeOf } from "../engine/summary.js";
import { parseSummaryFile, type SummaryFile } from "../engine/summary-file.js";
import { type Diagnostic, DiagnosticError } from "../lang/diagnostic.js";
import { formatSupport, inSupport, priorSupport } from "../model/distribution.js";
import { loadModel } from "../model/load.js";
import { readTextFile } from "./files.js";
import { type JsonPath, jsonValuePosition } from "./json-position.js";

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

/** A problem with a saved summary against the model it names: what is wrong, and the JSON path it is at. */
interface ModelProblem {
  path: JsonPath;
  message: string;
}

/**
 * What in a saved summary that passed its own checks (schema, counts, model hash) no run of its model could have
 * written: a shape other than the model's (outcomes, tracked variables, steps, saves), or param rows (`brink run
 * --posterior`) that name no param of the model, hold a value its prior cannot take, or whose counts disagree.
 * The hash cannot catch these: anyone can recompute it after editing. The priors are the model's own, without
 * the scenario, as `brink run --posterior` checked the draws it was given.
 */
function modelProblem(saved: SummaryFile, model: PreparedModel): ModelProblem | undefined {
  const shape = shapeOf(model.program);
  const { summary } = saved;
  const names = (xs: string[]) => xs.map((x) => `'${x}'`).join(", ") || "none";
  if (summary.outcomeNames.join("\u0000") !== shape.outcomeNames.join("\u0000"))
    return {
      path: ["summary", "outcomeNames"],
      message: `its outcomes (${names(summary.outcomeNames)}) are not its model's (${names(shape.outcomeNames)})`,
    };
  if (summary.trackedNames.join("\u0000") !== shape.trackedNames.join("\u0000"))
    return {
      path: ["summary", "trackedNames"],
      message: `its tracked variables (${names(summary.trackedNames)}) are not its model's (${names(shape.trackedNames)})`,
    };
  for (const key of ["steps", "saveCount"] as const)
    if (summary[key] !== shape[key])
      return {
        path: ["summary", key],
        message: `${key} is ${summary[key]}, but its model's runs have ${shape[key]}`,
      };
  const rows = saved.model.paramRows;
  if (!rows) return undefined;
  const at = (message: string, ...rest: (string | number)[]): ModelProblem => ({
    path: ["model", "paramRows", ...rest],
    message,
  });
  const { params, values, states } = rows;
  if (params.length === 0) return at("its param rows name no params", "params");
  const seen = new Set<string>();
  const twice = params.findIndex((p) => seen.size === seen.add(p).size);
  if (twice >= 0) return at(`its param rows name '${params[twice]}' more than once`, "params", twice);
  const priors = loadModel(saved.model.file, saved.model.text).spec.params ?? {};
  const unknown = params.findIndex((p) => !Object.hasOwn(priors, p));
  if (unknown >= 0)
    return at(
      `its param rows name '${params[unknown]}', which is not a param of its model`,
      "params",
      unknown,
    );
  const count = values.length / params.length;
  if (values.length === 0 || !Number.isInteger(count))
    return at(
      `its param rows hold ${values.length} values, not a whole number of rows of ${params.length} params`,
      "values",
    );
  for (let column = 0; column < params.length; column++) {
    const name = params[column]!;
    const prior = priorSupport(priors[name]!);
    if (!prior) continue; // the model check (prepareModel) reported it already
    const { support, text: dist } = prior;
    for (let row = 0; row < count; row++) {
      const i = row * params.length + column;
      const value = values[i]!;
      if (inSupport(support, value)) continue;
      return at(
        support.lo === support.hi
          ? `row ${row} gives param '${name}' the value ${value}, but '${name}' is fixed at ${support.lo} in its model: no run of the model could have used it`
          : `row ${row} gives param '${name}' the value ${value}, outside the support ${formatSupport(support)} of its prior '${dist}': no run of the model could have used it`,
        "values",
        i,
      );
    }
  }
  if (states) {
    const width = pausedStateLength(model.program) - 1;
    if (states.width !== width)
      return at(
        `its start states are ${states.width} numbers each, but its model's paused state is ${width}`,
        "states",
        "width",
      );
    if (states.values.length !== count * width)
      return at(
        `its start states hold ${states.values.length} numbers, not ${count} rows (one a param row) of ${width}`,
        "states",
        "values",
      );
  }
  return undefined;
}

/** Read a summary file for merging and check it against `model` (the first file's when absent): see modelProblem. */
function readCheckedSummaryFile(
  path: string,
  model?: PreparedModel,
): { file: SummaryFile; summary: Summary; model: PreparedModel } {
  const text = readTextFile(path, MAX_SUMMARY_BYTES, "summary files");
  const { file, summary } = parseSummaryFile(path, text);
  const prepared =
    model ??
    prepareModel(file.model.file, file.model.text, {
      ...(file.model.scenario === null ? {} : { scenario: file.model.scenario }),
      ...(file.model.decisions ? { decisions: file.model.decisions } : {}),
    });
  const problem = modelProblem(file, prepared);
  if (problem) {
    const d: Diagnostic = {
      file: path,
      ...jsonValuePosition(text, problem.path),
      message: `not a valid Brink summary file: ${problem.path.join(".")}: ${problem.message}`,
    };
    throw new DiagnosticError([d]);
  }
  return { file, summary, model: prepared };
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
  let model: PreparedModel | undefined;
  const files: { path: string; file: SummaryFile; runs: number }[] = [];
  for (const path of paths) {
    // Every file is checked against the first's model (the merge then checks that their jobs are one).
    const { file: parsed, summary: s, model: prepared } = readCheckedSummaryFile(path, model);
    files.push({ path, file: parsed, runs: s.runs });
    if (merged) merged.merge(s);
    else {
      merged = s;
      first = parsed;
      model = prepared;
    }
  }
  if (!merged || !first || !model) throw new Error("mergeSummaryFiles needs at least one file");
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
