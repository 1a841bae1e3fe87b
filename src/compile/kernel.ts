import type { RandomStreams } from "./functions.js";

/** A run that reached the horizon with no outcome. */
export const CENSORED = -1;
/** A value became NaN or infinite, or a hazard went negative; the interpreter is then asked where. */
export const NUMERIC_FAILURE = -2;

/**
 * One run of a model: reads params from `v` (other slots are scratch), writes the tracked values of each save
 * time into `out` (save-major), and returns the index of the outcome that ended the run, CENSORED or
 * NUMERIC_FAILURE. `result[0]` receives the end time, `result[1]` the number of saves written, `result[2]` the
 * last step reached.
 */
export type RunFunction = (
  v: Float64Array,
  out: Float64Array,
  rs: RandomStreams,
  result: Float64Array,
) => number;

/** Number of save times in a full run. */
export function saveCount(steps: number, saveEvery: number): number {
  return Math.floor(steps / saveEvery) + 1;
}
