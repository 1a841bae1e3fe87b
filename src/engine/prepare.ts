import { compileModel } from "../compile/build.js";
import { makeKernel } from "../compile/codegen.js";
import type { Program } from "../compile/ir.js";
import type { RunFunction } from "../compile/kernel.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import { type LoadedModel, type LoadOptions, loadModel, saveTotal } from "../model/load.js";

/** A model ready to run: loaded and checked, lowered to a Program, and compiled to a kernel. */
export interface PreparedModel {
  loaded: LoadedModel;
  program: Program;
  kernel: RunFunction;
}

/** Most (tracked value, save time) pairs a summary keeps: each has exact sums and quantile values. */
export const MAX_TRACKED_SAVES = 2 ** 17;
/** Most exact outcome-time counts a summary keeps (one per outcome per step). */
export const MAX_OUTCOME_STEPS = 2 ** 23;

/**
 * Load, check and compile a model file's text. Throws DiagnosticError on any problem, including a model whose
 * summaries would not fit in memory. The kernel is generated when first used, so a host that only plans a job
 * (the browser page, whose workers run it) never evaluates code and can run under a Content-Security-Policy
 * without 'unsafe-eval' (docs/security.md).
 */
export function prepareModel(file: string, text: string, options: LoadOptions = {}): PreparedModel {
  const read = loadModel(file, text, options);
  const program = compileModel(read);
  // A variable clock's schedule is known once compiled (time.clock): the loaded model's time carries it too.
  const loaded = program.time === read.time ? read : { ...read, time: program.time };
  checkBudgets(loaded, program);
  let kernel: RunFunction | undefined;
  return {
    loaded,
    program,
    get kernel() {
      kernel ??= makeKernel(program);
      return kernel;
    },
  };
}

/** Refuse, before anything is allocated, a model whose summaries would not fit in memory. */
export function checkBudgets(loaded: LoadedModel, program: Program): void {
  const { steps } = program.time;
  const saves = saveTotal(program.time);
  const tracked = program.tracked.length;
  const outcomes = program.outcomes.length;
  const n = (x: number) => x.toLocaleString("en");
  const problems: string[] = [];
  if (saves * tracked > MAX_TRACKED_SAVES) {
    problems.push(
      `${n(saves)} save times × ${n(tracked)} tracked values = ${n(saves * tracked)} series points, more than the ${n(MAX_TRACKED_SAVES)} a summary keeps; save less often (time: save), or track fewer values`,
    );
  }
  if ((steps + 1) * outcomes > MAX_OUTCOME_STEPS) {
    problems.push(
      `${n(steps + 1)} steps × ${n(outcomes)} outcomes = ${n((steps + 1) * outcomes)} outcome-time counts, more than the ${n(MAX_OUTCOME_STEPS)} a summary keeps; use a longer dt or a shorter horizon`,
    );
  }
  if (problems.length)
    throw new DiagnosticError(problems.map((message) => loaded.source.at(["time"], message)));
}
