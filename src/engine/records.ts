import type { RunEnd } from "./run.js";

/** A tracked value at one save time, kept per run for claims about expectations and quantiles. */
export interface Probe {
  tracked: number;
  save: number;
}

/**
 * Per-run end states (and probed values) of runs start … start + count − 1. Claims that compare scenarios
 * pair runs by index — the same random numbers — so they need these rather than the summary's counts.
 * Eight bytes a run, plus eight per probe.
 */
export class RunRecords {
  readonly outcome: Int32Array;
  readonly step: Int32Array;
  readonly values: Float64Array[];

  constructor(
    readonly start: number,
    readonly count: number,
    readonly probes: Probe[],
    readonly trackedCount: number,
  ) {
    this.outcome = new Int32Array(count).fill(-2);
    this.step = new Int32Array(count);
    this.values = probes.map(() => new Float64Array(count).fill(Number.NaN));
  }

  record(run: number, end: RunEnd, saved: Float64Array): void {
    const i = run - this.start;
    this.outcome[i] = end.outcome;
    this.step[i] = end.timeIndex;
    this.probes.forEach((p, k) => {
      if (p.save < end.saves) this.values[k]![i] = saved[p.save * this.trackedCount + p.tracked]!;
    });
  }

  /** Copy another range's records into their place in this one. */
  absorb(part: { start: number; outcome: Int32Array; step: Int32Array; values: Float64Array[] }): void {
    const at = part.start - this.start;
    this.outcome.set(part.outcome, at);
    this.step.set(part.step, at);
    part.values.forEach((v, k) => this.values[k]!.set(v, at));
  }

  /** How many runs have been recorded (a partial job leaves gaps). */
  recorded(): number {
    let n = 0;
    for (const o of this.outcome) if (o !== -2) n++;
    return n;
  }
}
