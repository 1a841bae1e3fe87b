import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect } from "vitest";
import { compileClaims } from "../src/analysis/check.js";
import { buildReport, type RunReport } from "../src/analysis/results.js";
import { runMonteCarlo } from "../src/engine/montecarlo.js";
import { type PreparedModel, prepareModel } from "../src/engine/prepare.js";
import { Runner } from "../src/engine/run.js";
import { DiagnosticError, formatDiagnostic } from "../src/lang/diagnostic.js";

export const ROOT = resolve(__dirname, "..");
export const example = (name: string) => resolve(ROOT, "models", "examples", name);

/** A model file's text with one param's value or distribution replaced by a fixed value (fails if it has none). */
export function pin(source: string, param: string, value: number): string {
  const line = new RegExp(`^(  ${param}: \\{ )(?:value|dist): (?:"[^"]*"|[^,]+),`, "m");
  expect(source, param).toMatch(line);
  return source.replace(line, `$1value: ${value},`);
}

export function prepareFile(path: string, scenario?: string): PreparedModel {
  return prepareModel(path, readFileSync(path, "utf8"), scenario === undefined ? {} : { scenario });
}

export function prepareText(text: string, file = "model.yaml"): PreparedModel {
  return prepareModel(file, text);
}

/** Diagnostics of a text that must fail to prepare, formatted. */
export function diagnosticsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics.map(formatDiagnostic);
    throw e;
  }
  throw new Error("expected diagnostics, but it succeeded");
}

/** One run's tracked series: name → values at each save time. */
export function series(
  model: PreparedModel,
  run = 0,
  seed = 1,
  backend: "kernel" | "interpreter" = "kernel",
) {
  const runner = new Runner(model, seed, backend);
  const end = runner.run(run);
  const names = model.program.tracked.map((t) => t.name);
  const out: Record<string, number[]> = {};
  names.forEach((name, j) => {
    out[name] = [];
    for (let s = 0; s < end.saves; s++) out[name]!.push(runner.saved[s * names.length + j]!);
  });
  return { end, series: out };
}

export function report(model: PreparedModel, runs: number, seed = 1): RunReport {
  const summary = runMonteCarlo(model, { runs, seed });
  return buildReport({
    time: model.loaded.time,
    summary,
    claims: compileClaims(model.loaded),
  });
}

/** One random edit of a text: insert (0), delete (1) or replace (2) the character at `at` (wrapped to the length). */
export type TextEdit = [at: number, kind: number, ch: string];

/** Apply random edits in turn, as the fuzz tests do to valid models. */
export function applyEdits(text: string, edits: TextEdit[]): string {
  for (const [at, kind, ch] of edits) {
    const i = at % (text.length + 1);
    text =
      kind === 0
        ? text.slice(0, i) + ch + text.slice(i)
        : kind === 1
          ? text.slice(0, i) + text.slice(i + 1)
          : text.slice(0, i) + ch + text.slice(i + 1);
  }
  return text;
}

/** Kolmogorov–Smirnov distance between a sample and a CDF. */
export function ksDistance(sample: number[], cdf: (x: number) => number): number {
  const s = [...sample].sort((a, b) => a - b);
  let d = 0;
  s.forEach((x, i) => {
    const f = cdf(x);
    d = Math.max(d, Math.abs(f - i / s.length), Math.abs(f - (i + 1) / s.length));
  });
  return d;
}
