import { type Comparison, compareScenarios as compareOn, type Simulator } from "../analysis/compare.js";
import type { TrackedCells } from "../engine/summary.js";
import { simulate } from "./simulate.js";

export type { Comparison } from "../analysis/compare.js";

/** `compareScenarios` (src/analysis/compare.ts) on this machine's worker threads, or on another simulator. */
export function compareScenarios(
  input: { file: string; text: string },
  scenarios: string[],
  options: { runs: number; seed: number; workers?: number; trackedCells?: TrackedCells },
  simulator: Simulator = simulate,
): Promise<Comparison> {
  return compareOn(input, scenarios, options, simulator);
}
