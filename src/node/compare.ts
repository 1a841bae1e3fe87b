import { type Comparison, compareScenarios as compareOn } from "../analysis/compare.js";
import { simulate } from "./simulate.js";

export type { Comparison } from "../analysis/compare.js";

/** `compareScenarios` (src/analysis/compare.ts) on this machine's worker threads. */
export function compareScenarios(
  input: { file: string; text: string },
  scenarios: string[],
  options: { runs: number; seed: number; workers?: number },
): Promise<Comparison> {
  return compareOn(input, scenarios, options, simulate);
}
