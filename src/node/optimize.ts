import {
  type OptimizeOptions,
  type OptimizeResult,
  optimize as optimizeOn,
} from "../analysis/optimize-job.js";
import { simulate } from "./simulate.js";

export type { FrontierPoint, OptimizeOptions, OptimizeResult } from "../analysis/optimize-job.js";

/** `optimize` (src/analysis/optimize-job.ts) on this machine's worker threads. */
export function optimize(
  input: { file: string; text: string },
  options: OptimizeOptions,
): Promise<OptimizeResult> {
  return optimizeOn(input, options, simulate);
}
