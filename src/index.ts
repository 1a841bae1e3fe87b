/** Brink's library API. */
export { checkModelText, compileClaims } from "./analysis/check.js";
export { type ClaimResult, compileClaim, evaluateClaim } from "./analysis/claims.js";
export { buildReport, type RunReport } from "./analysis/results.js";
export { compileModel } from "./compile/build.js";
export { generateKernelSource, makeKernel } from "./compile/codegen.js";
export { Interpreter } from "./compile/interpreter.js";
export type { Program } from "./compile/ir.js";
export { type MonteCarloOptions, runMonteCarlo } from "./engine/montecarlo.js";
export { type PreparedModel, prepareModel } from "./engine/prepare.js";
export { Runner } from "./engine/run.js";
export { type JobMeta, Summary, type SummaryJSON } from "./engine/summary.js";
export { type Diagnostic, DiagnosticError, formatDiagnostic } from "./lang/diagnostic.js";
export { parseExpr } from "./lang/parser.js";
export { type LoadedModel, loadModel } from "./model/load.js";
export { modelFileJsonSchema } from "./model/schema.js";
export { closeWorkers, type SimulateOptions, type SimulationResult, simulate } from "./node/simulate.js";
