import type { Simulator } from "../analysis/compare.js";
import {
  type OptimizeOptions,
  type OptimizeResult,
  optimize as optimizeOn,
} from "../analysis/optimize-job.js";
import { simulate } from "./simulate.js";

export type { FrontierPoint, OptimizeOptions, OptimizeResult } from "../analysis/optimize-job.js";

/** `optimize` (src/analysis/optimize-job.ts) on this machine's worker threads, or on another simulator. */
export function optimize(
  input: { file: string; text: string },
  options: OptimizeOptions,
  simulator: Simulator = simulate,
): Promise<OptimizeResult> {
  return optimizeOn(input, options, simulator);
}
