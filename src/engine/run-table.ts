import type { RunEnd, Runner } from "./run.js";

/**
 * Where and how a job's per-run tables are written (`--runs-out`): the folder, the column names in the order the
 * table holds them, and the job's metadata for each file. Plain data, sent with every chunk task.
 */
export interface RunsOut {
  dir: string;
  params: string[];
  /** Decision values of the job (the same for every run; written as constant columns). */
  decisions: Record<string, number>;
  tracked: string[];
  /** Model time of each save. */
  saveTimes: number[];
  outcomes: string[];
  /** Key/value metadata of every file (model hash, seed, scenario, sampling, engine version, …). */
  metadata: Record<string, string>;
}

/** One chunk's per-run table as it travels from a worker: plain typed arrays (transferable, no object per run). */
export interface RunTableData {
  start: number;
  /** Runs recorded: start … start + count − 1. */
  count: number;
  /** Param values drawn, param-major: params[i · count + r]. */
  params: Float64Array;
  /** Index of the outcome that ended each run, −1 for censored. */
  outcome: Int32Array;
  /** Model time at which each run ended. */
  time: Float64Array;
  /** Tracked values, (save, tracked)-major: saved[(s · trackedCount + k) · count + r]; NaN after the run ended. */
  saved: Float64Array;
}

/**
 * Every run's params, end and tracked values at each save, for one chunk (`brink run --runs-out`). Sized for the
 * whole chunk up front: the caller bounds the chunk so that this fits (see runTableBytesPerRun).
 */
export class RunTable {
  readonly params: Float64Array;
  readonly outcome: Int32Array;
  readonly time: Float64Array;
  readonly saved: Float64Array;
  count = 0;

  constructor(
    readonly start: number,
    readonly capacity: number,
    readonly paramCount: number,
    readonly trackedCount: number,
    readonly saveCount: number,
  ) {
    this.params = new Float64Array(paramCount * capacity);
    this.outcome = new Int32Array(capacity);
    this.time = new Float64Array(capacity);
    this.saved = new Float64Array(saveCount * trackedCount * capacity).fill(Number.NaN);
  }

  record(run: number, end: RunEnd, runner: Runner): void {
    const r = run - this.start;
    const n = this.capacity;
    for (let i = 0; i < this.paramCount; i++) this.params[i * n + r] = runner.paramValue(i);
    this.outcome[r] = end.outcome;
    this.time[r] = end.time;
    const width = this.trackedCount;
    const saved = runner.saved;
    for (let s = 0; s < end.saves; s++)
      for (let k = 0; k < width; k++) this.saved[(s * width + k) * n + r] = saved[s * width + k]!;
    if (r + 1 > this.count) this.count = r + 1;
  }

  /** The recorded runs' columns, trimmed to `count` rows. */
  data(): RunTableData {
    const n = this.capacity;
    const c = this.count;
    if (c === n)
      return {
        start: this.start,
        count: c,
        params: this.params,
        outcome: this.outcome,
        time: this.time,
        saved: this.saved,
      };
    const trim = (a: Float64Array, columns: number) => {
      const out = new Float64Array(columns * c);
      for (let j = 0; j < columns; j++) out.set(a.subarray(j * n, j * n + c), j * c);
      return out;
    };
    return {
      start: this.start,
      count: c,
      params: trim(this.params, this.paramCount),
      outcome: this.outcome.slice(0, c),
      time: this.time.slice(0, c),
      saved: trim(this.saved, this.saveCount * this.trackedCount),
    };
  }
}

/** Bytes a run takes in a RunTable: its params, end and every tracked value at every save. */
export const runTableBytesPerRun = (params: number, tracked: number, saves: number): number =>
  8 * params + 4 + 8 + 8 * tracked * saves;
