import type { Program } from "../compile/ir.js";
import type { RunEnd } from "./run.js";

/**
 * What a Monte Carlo job keeps. Outcome counts and outcome times (as exact counts per step) merge by
 * addition, so a summary built from any partition of the runs is identical. Tracked values are kept exactly
 * here, per run; they are NaN after a run ended, so quantiles at a time describe the runs still going then.
 */
export class Summary {
  runs = 0;
  readonly outcomeNames: string[];
  readonly outcomeCounts: Float64Array;
  /** outcomeTimes[o][k]: runs that ended in outcome o at step k. Censored runs end at the last step. */
  readonly outcomeTimes: Float64Array[];
  censored = 0;
  readonly trackedNames: string[];
  readonly saveCount: number;
  /** values[j] holds run-major blocks of saveCount values for tracked variable j. */
  private values: Float64Array[];
  private capacity: number;

  /** True when the job stopped before all its runs were done. */
  partial = false;

  constructor(program: Pick<Program, "outcomes" | "tracked" | "time">) {
    this.outcomeNames = program.outcomes.map((o) => o.name);
    this.outcomeCounts = new Float64Array(this.outcomeNames.length);
    this.outcomeTimes = this.outcomeNames.map(() => new Float64Array(program.time.steps + 1));
    this.trackedNames = program.tracked.map((t) => t.name);
    this.saveCount = Math.floor(program.time.steps / program.time.saveEvery) + 1;
    this.capacity = 64;
    this.values = this.trackedNames.map(() => new Float64Array(this.capacity * this.saveCount));
  }

  /** Add one finished run; `saved` holds its tracked values (save-major, as the kernel writes them). */
  add(end: RunEnd, saved: Float64Array): void {
    if (end.outcome >= 0) {
      this.outcomeCounts[end.outcome]!++;
      this.outcomeTimes[end.outcome]![end.timeIndex]!++;
    } else this.censored++;
    if (this.runs === this.capacity) this.grow();
    const nT = this.trackedNames.length;
    const base = this.runs * this.saveCount;
    for (let j = 0; j < nT; j++) {
      const column = this.values[j]!;
      for (let s = 0; s < this.saveCount; s++)
        column[base + s] = s < end.saves ? saved[s * nT + j]! : Number.NaN;
    }
    this.runs++;
  }

  private grow(): void {
    this.capacity *= 2;
    this.values = this.values.map((old) => {
      const next = new Float64Array(this.capacity * this.saveCount);
      next.set(old);
      return next;
    });
  }

  /** Values of tracked variable j at save s over runs still going then, ascending. */
  sortedAt(j: number, s: number): Float64Array {
    const column = this.values[j]!;
    const out = new Float64Array(this.runs);
    let n = 0;
    for (let r = 0; r < this.runs; r++) {
      const x = column[r * this.saveCount + s]!;
      if (!Number.isNaN(x)) out[n++] = x;
    }
    return out.subarray(0, n).sort();
  }
}
