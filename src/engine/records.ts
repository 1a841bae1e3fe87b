import type { RunEnd } from "./run.js";

/** A tracked value at one save time, kept per run for claims about expectations and quantiles. */
export interface Probe {
  tracked: number;
  save: number;
}

/**
 * The most memory a job's per-run records may take (8 bytes a run, plus 8 per probe, per scenario). Only claims
 * bootstrapped over runs (a Q term combined with other terms) keep a whole job's records; other claims see each
 * chunk's records once and keep running statistics (src/analysis/claims-stream.ts).
 */
export const RECORD_BUDGET_BYTES = 2 ** 31;

/** Bytes of records one run takes with `probes` probes. */
export const recordBytesPerRun = (probes: number): number => 8 + 8 * probes;

/**
 * Per-run end states (and probed values) of runs start … start + capacity − 1: a chunk's, handed to the claims'
 * running statistics, or a whole job's for claims bootstrapped over runs. Claims that compare scenarios pair runs
 * by index — the same random numbers — so they need these rather than the summary's counts.
 * Eight bytes a run, plus eight per probe. Memory grows with the runs recorded, not with the runs asked for:
 * the arrays cover runs start … start + count − 1, `count` one past the furthest run recorded so far.
 */
export class RunRecords {
  outcome: Int32Array;
  step: Int32Array;
  values: Float64Array[];
  /** Runs covered by the arrays (unrecorded ones inside have outcome −2 and NaN values). */
  count = 0;
  private room: number;

  constructor(
    readonly start: number,
    /** The most runs these records may hold. */
    readonly capacity: number,
    readonly probes: Probe[],
    readonly trackedCount: number,
  ) {
    this.room = Math.min(capacity, 1024);
    this.outcome = new Int32Array(this.room).fill(-2);
    this.step = new Int32Array(this.room);
    this.values = probes.map(() => new Float64Array(this.room).fill(Number.NaN));
    this.outcome = this.outcome.subarray(0, 0);
    this.step = this.step.subarray(0, 0);
    this.values = this.values.map((v) => v.subarray(0, 0));
  }

  /** Make the arrays cover runs start … start + n − 1, growing the storage by doubling. */
  private cover(n: number): void {
    if (n <= this.count) return;
    if (n > this.capacity) throw new RangeError(`run ${this.start + n - 1} is outside these records`);
    let outcome = this.outcome.buffer.byteLength / 4 >= n ? new Int32Array(this.outcome.buffer) : null;
    if (!outcome) {
      this.room = Math.min(this.capacity, Math.max(n, this.room * 2));
      outcome = new Int32Array(this.room).fill(-2);
      outcome.set(this.outcome);
      const step = new Int32Array(this.room);
      step.set(this.step);
      this.step = step;
      this.values = this.values.map((v) => {
        const grown = new Float64Array(this.room).fill(Number.NaN);
        grown.set(v);
        return grown;
      });
    }
    this.count = n;
    this.outcome = outcome.subarray(0, n);
    this.step = new Int32Array(this.step.buffer).subarray(0, n);
    this.values = this.values.map((v) => new Float64Array(v.buffer).subarray(0, n));
  }

  record(run: number, end: RunEnd, saved: Float64Array): void {
    const i = run - this.start;
    this.cover(i + 1);
    this.outcome[i] = end.outcome;
    this.step[i] = end.timeIndex;
    this.probes.forEach((p, k) => {
      if (p.save < end.saves) this.values[k]![i] = saved[p.save * this.trackedCount + p.tracked]!;
    });
  }

  /** Copy another range's records into their place in this one. */
  absorb(part: { start: number; outcome: Int32Array; step: Int32Array; values: Float64Array[] }): void {
    const at = part.start - this.start;
    this.cover(at + part.outcome.length);
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
