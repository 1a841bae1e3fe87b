import type { Program } from "../compile/ir.js";
import { saveTotal } from "../model/load.js";
import { ExactSum, ExactSumArray } from "./exactsum.js";
import { PackReader, type PackSink, PackSizer, PackWriter } from "./pack.js";
import type { RunEnd } from "./run.js";
import { discardArray, RankSketches, type SketchJSON } from "./sketch.js";

/** What identifies a job: summaries merge only when these agree. */
export interface JobMeta {
  model: string;
  /** Hash of the model file's text, so summaries of different models never merge. */
  modelHash: string;
  scenario: string | null;
  seed: number;
  sampling: "random" | "lhs";
  /** Total runs of the design; only Latin hypercube needs it (its strata depend on it). */
  designRuns: number | null;
}

/** The dimensions of a summary: which outcomes and tracked variables, over how many steps and saves. */
export interface SummaryShape {
  outcomeNames: string[];
  trackedNames: string[];
  steps: number;
  saveCount: number;
}

export function shapeOf(program: Pick<Program, "outcomes" | "tracked" | "time">): SummaryShape {
  return {
    outcomeNames: program.outcomes.map((o) => o.name),
    trackedNames: program.tracked.map((t) => t.name),
    steps: program.time.steps,
    saveCount: saveTotal(program.time),
  };
}

export class SummaryMismatchError extends Error {}

/**
 * Which (tracked variable, save) cells a summary keeps quantiles, means and standard deviations of:
 * - "all": every cell (what `--json`, saved summaries, reports and the browser read);
 * - "last": only each variable's cell at the last save any run reached (what `brink run`'s text prints); the
 *   other cells report how many runs were still going there, and no statistics.
 * Cells kept are the same to the last bit either way: a "last" summary keeps the tree of runs of an "all" one.
 */
export type TrackedCells = "all" | "last";

/**
 * Runs are grouped in blocks of BLOCK consecutive run indices (aligned: block b holds runs b·BLOCK …).
 * Sums of tracked values are taken block by block, in run order, and block sums are added exactly. A block
 * split between chunks waits, as raw values, until its other runs arrive; so every sum is the same to the
 * last bit whatever the chunking, and the hot loop adds plain doubles.
 */
export const BLOCK = 64;

/** Runs of one block not yet summed: their indices, how many saves each wrote, and the values. */
interface PendingBlock {
  runs: number[];
  saves: number[];
  rows: Float64Array[];
}

export interface PackedSummary {
  meta: JobMeta;
  shape: SummaryShape;
  data: Float64Array;
  /** Absent: "all". */
  trackedCells?: TrackedCells;
}

export interface SummaryJSON extends SummaryShape {
  format: "brink-summary/3";
  meta: JobMeta;
  partial: boolean;
  ranges: [number, number][];
  runs: number;
  outcomeCounts: number[];
  outcomeTimes: [number, number][][];
  censored: number;
  /** One entry per (tracked variable, save time), variable-major: how many runs had a value, and exact sums. */
  tracked: { n: number; min: number | null; max: number | null; sum: number[]; sumSquares: number[] }[];
  /** The values behind tracked quantiles, by run range (see sketch.ts). */
  quantiles: SketchJSON;
  pending: { block: number; runs: number[]; saves: number[]; rows: number[][] }[];
}

/**
 * Everything a Monte Carlo job keeps, in memory bounded whatever the number of runs. Every part merges
 * exactly and associatively — counts add, outcome times are exact per-step counts, tracked values go into
 * rank-accurate quantile summaries over aligned run ranges and block-wise exact sums — so a job split over any
 * workers, chunks or machines gives
 * the same summary as one pass. Tracked statistics at a save time describe the runs still going then.
 */
export class Summary {
  runs = 0;
  /** True when the job stopped before all its runs were done. */
  partial = false;
  /** Run-index ranges [start, end) this summary covers, sorted and disjoint. */
  ranges: [number, number][] = [];
  readonly outcomeNames: string[];
  readonly outcomeCounts: Float64Array;
  /** outcomeTimes[o][k]: runs that ended in outcome o at step k. */
  readonly outcomeTimes: Float64Array[];
  censored = 0;
  readonly trackedNames: string[];
  readonly steps: number;
  readonly saveCount: number;
  /**
   * Cell j·saveCount + s: values of tracked variable j at save s, in `quantiles`, `sums` and `sumSquares`. A
   * summary of the last save only keeps there one cell per variable (j), that of save `reached` − 1.
   */
  readonly quantiles: RankSketches;
  sums: ExactSumArray;
  sumSquares: ExactSumArray;
  readonly trackedCells: TrackedCells;
  /** Last save only: runs by how many saves they wrote (0 … saveCount). */
  private readonly bySaves: Float64Array | null;
  /** Last save only: the most saves any run wrote, whose last is the save kept. */
  private reached = 0;
  /** Last save only: runs that wrote more than s saves, at index s (suffix sums of bySaves); cached until a run is added. */
  private goingAfter: Float64Array | undefined;
  private readonly pending = new Map<number, PendingBlock>();
  /** Runs of the current block waiting to enter the sketches and the pending store. */
  private current: PendingBlock | undefined;

  constructor(
    shape: SummaryShape,
    public meta: JobMeta,
    trackedCells: TrackedCells = "all",
  ) {
    this.outcomeNames = [...shape.outcomeNames];
    this.outcomeCounts = new Float64Array(this.outcomeNames.length);
    this.steps = shape.steps;
    this.outcomeTimes = this.outcomeNames.map(() => new Float64Array(this.steps + 1));
    this.trackedNames = [...shape.trackedNames];
    this.saveCount = shape.saveCount;
    this.trackedCells = trackedCells;
    const cells = this.trackedNames.length * this.saveCount;
    const kept = trackedCells === "last" ? this.trackedNames.length : cells;
    this.bySaves = trackedCells === "last" ? new Float64Array(this.saveCount + 1) : null;
    this.quantiles = new RankSketches(kept, cells);
    this.sums = new ExactSumArray(kept);
    this.sumSquares = new ExactSumArray(kept);
  }

  shape(): SummaryShape {
    return {
      outcomeNames: this.outcomeNames,
      trackedNames: this.trackedNames,
      steps: this.steps,
      saveCount: this.saveCount,
    };
  }

  /** Add one finished run; `saved` holds its tracked values (save-major, as the kernel writes them). */
  add(run: number, end: RunEnd, saved: Float64Array): void {
    if (end.outcome >= 0) {
      this.outcomeCounts[end.outcome]!++;
      this.outcomeTimes[end.outcome]![end.timeIndex]!++;
    } else this.censored++;
    this.runs++;
    this.addRange(run, run + 1);
    const nT = this.trackedNames.length;
    if (nT === 0) return;
    if (this.bySaves) {
      this.addLast(run, end.saves, saved);
      return;
    }
    const perRun = this.saveCount * nT;
    const block = this.enterBlock(run, perRun);
    const b = block.runs.length;
    block.runs.push(run);
    block.saves.push(end.saves);
    // A copy by hand: a subarray per run would be garbage at the rate runs are made.
    const into = this.blockValues!;
    const offset = b * perRun;
    for (let i = 0, n = end.saves * nT; i < n; i++) into[offset + i] = saved[i]!;
  }

  /** Scratch for the current block's values, run-major, one run's saves after another. */
  private blockValues: Float64Array | undefined;

  /** The pending block `run` belongs to, the one before flushed when it is another; scratch of `rowLength` a run. */
  private enterBlock(run: number, rowLength: number): PendingBlock {
    if (this.current && Math.floor(this.current.runs[0]! / BLOCK) !== Math.floor(run / BLOCK)) this.flush();
    if (!this.current) {
      this.blockValues ??= new Float64Array(BLOCK * rowLength);
      this.current = { runs: [], saves: [], rows: [] };
    }
    return this.current;
  }

  /**
   * `add` of a summary of the last save only: a run can have a value at the last save reached only if it is its
   * own last save, so only that row is kept (run-major in `blockValues`, one row a run). A run that reaches
   * further than any before makes every value kept so far one of a cell no longer kept.
   */
  private addLast(run: number, saves: number, saved: Float64Array): void {
    const nT = this.trackedNames.length;
    this.bySaves![saves]!++;
    this.goingAfter = undefined;
    if (saves > this.reached) this.reach(saves);
    const block = this.enterBlock(run, nT);
    const b = block.runs.length;
    block.runs.push(run);
    block.saves.push(saves);
    if (saves === 0) return;
    const into = this.blockValues!;
    for (let j = 0, from = (saves - 1) * nT; j < nT; j++) into[b * nT + j] = saved[from + j]!;
  }

  /** Keep the cells of save `saves` − 1 from now on: no run so far has a value there. */
  private reach(saves: number): void {
    this.reached = saves;
    this.quantiles.clearValues();
    this.sums = new ExactSumArray(this.quantiles.cells);
    this.sumSquares = new ExactSumArray(this.quantiles.cells);
    this.edgeTotals = undefined;
  }

  /** `flush` of a summary of the last save only: the block's rows of runs that wrote the last save reached. */
  private flushLast(block: PendingBlock): void {
    const values = this.blockValues!;
    const nT = this.trackedNames.length;
    const n = block.runs.length;
    const reached = this.reached;
    this.quantiles.addRuns(block.runs[0]!, n, (j, b) =>
      reached > 0 && block.saves[b] === reached ? values[b * nT + j] : undefined,
    );
    const id = Math.floor(block.runs[0]! / BLOCK);
    if (n === BLOCK && !this.pending.has(id)) {
      this.sumLast(values, block.saves, this.sums, this.sumSquares);
      return;
    }
    for (let b = 0; b < n; b++)
      block.rows.push(values.slice(b * nT, b * nT + (block.saves[b]! > 0 ? nT : 0)));
    this.addPending(id, block);
  }

  /**
   * `sumContiguous` of the last save only: rows run-major, one a run (its last save); a run counts when its last
   * save is the last reached. The same additions in the same order as the whole summary's for that cell.
   */
  private sumLast(
    values: Float64Array,
    saves: number[],
    sums: ExactSumArray,
    sumSquares: ExactSumArray,
  ): void {
    const nT = this.trackedNames.length;
    const n = saves.length;
    if (this.reached === 0) return;
    for (let j = 0; j < nT; j++) {
      let sum = 0;
      let squares = 0;
      let any = false;
      for (let b = 0; b < n; b++) {
        if (saves[b] !== this.reached) continue;
        const x = values[b * nT + j]!;
        sum += x;
        squares += x * x;
        any = true;
      }
      if (!any) continue;
      sums.add(j, sum);
      sumSquares.add(j, squares);
    }
  }

  /** Move the current block's runs into the quantile summaries and into the sums. */
  private flush(): void {
    const block = this.current;
    if (!block) return;
    this.current = undefined;
    if (this.bySaves) {
      this.flushLast(block);
      return;
    }
    const values = this.blockValues!;
    const nT = this.trackedNames.length;
    const perRun = this.saveCount * nT;
    const n = block.runs.length;
    this.quantiles.addSaved(block.runs[0]!, n, values, block.saves, nT, this.saveCount);
    const id = Math.floor(block.runs[0]! / BLOCK);
    if (n === BLOCK && !this.pending.has(id)) {
      this.sumContiguous(values, block.saves, this.sums, this.sumSquares);
      return;
    }
    for (let b = 0; b < n; b++) block.rows.push(values.slice(b * perRun, b * perRun + block.saves[b]! * nT));
    this.addPending(id, block);
  }

  private addPending(id: number, block: PendingBlock): void {
    this.edgeTotals = undefined;
    const existing = this.pending.get(id);
    const merged = existing
      ? {
          runs: [...existing.runs, ...block.runs],
          saves: [...existing.saves, ...block.saves],
          rows: [...existing.rows, ...block.rows],
        }
      : block;
    if (merged.runs.length === BLOCK) {
      this.pending.delete(id);
      this.sumPending(merged, this.sums, this.sumSquares);
    } else this.pending.set(id, merged);
  }

  /** Lay a pending block's rows out in run order and sum them like a whole block. */
  private sumPending(block: PendingBlock, sums: ExactSumArray, sumSquares: ExactSumArray): void {
    const perRun = this.bySaves ? this.trackedNames.length : this.saveCount * this.trackedNames.length;
    const order = block.runs.map((_, i) => i).sort((a, b) => block.runs[a]! - block.runs[b]!);
    const values = new Float64Array(order.length * perRun);
    order.forEach((b, i) => values.set(block.rows[b]!, i * perRun));
    if (this.bySaves) {
      this.sumLast(
        values,
        order.map((b) => block.saves[b]!),
        sums,
        sumSquares,
      );
      return;
    }
    this.sumContiguous(
      values,
      order.map((b) => block.saves[b]!),
      sums,
      sumSquares,
    );
  }

  /**
   * The canonical block sum: per cell, a plain double sum over the block's runs in run order, then added
   * exactly into `sums`. Everything that sums tracked values goes through here.
   */
  private sumContiguous(
    values: Float64Array,
    saves: number[],
    sums: ExactSumArray,
    sumSquares: ExactSumArray,
  ): void {
    const nT = this.trackedNames.length;
    const perRun = this.saveCount * nT;
    const n = saves.length;
    for (let j = 0; j < nT; j++) {
      for (let s = 0; s < this.saveCount; s++) {
        const at = s * nT + j;
        let sum = 0;
        let squares = 0;
        let any = false;
        for (let b = 0; b < n; b++) {
          if (s >= saves[b]!) continue;
          const x = values[b * perRun + at]!;
          sum += x;
          squares += x * x;
          any = true;
        }
        if (!any) continue;
        const c = j * this.saveCount + s;
        sums.add(c, sum);
        sumSquares.add(c, squares);
      }
    }
  }

  private addRange(start: number, end: number): void {
    const last = this.ranges[this.ranges.length - 1];
    if (last && last[1] === start) last[1] = end;
    else {
      this.ranges.push([start, end]);
      if (last && last[1] > start) this.normaliseRanges();
    }
  }

  private normaliseRanges(): void {
    this.ranges.sort((a, b) => a[0] - b[0]);
    const out: [number, number][] = [];
    for (const [a, b] of this.ranges) {
      const prev = out[out.length - 1];
      if (prev && a < prev[1]) {
        throw new SummaryMismatchError(
          `run ranges overlap: runs ${a}–${Math.min(b, prev[1]) - 1} are counted twice`,
        );
      }
      if (prev && prev[1] === a) prev[1] = b;
      else out.push([a, b]);
    }
    this.ranges = out;
  }

  private checkCompatible(meta: JobMeta, shape: SummaryShape, trackedCells: TrackedCells): void {
    if (trackedCells !== this.trackedCells)
      throw new SummaryMismatchError("these summaries keep different tracked cells (all saves or the last)");
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (!same(this.meta, meta)) {
      throw new SummaryMismatchError(
        `these summaries are of different jobs: ${JSON.stringify(this.meta)} vs ${JSON.stringify(meta)}`,
      );
    }
    if (!same(this.shape(), shape))
      throw new SummaryMismatchError("these summaries track different outcomes or variables");
  }

  /** Fold another summary of the same job into this one. */
  merge(other: Summary): void {
    const packed = other.pack();
    this.mergePacked(packed);
    // Everything was copied out of it.
    discardArray(packed.data);
  }

  /**
   * The summary as one Float64Array (plus its job identity), for moving between threads: `mergePacked` on
   * the other side folds it in without building objects.
   */
  pack(): PackedSummary {
    this.flush();
    // Sized first, so that the array is made once at its final size (it can be tens of megabytes).
    const size = new PackSizer();
    this.packInto(size);
    const w = new PackWriter(size.size);
    this.packInto(w);
    return { meta: this.meta, shape: this.shape(), data: w.finish(), trackedCells: this.trackedCells };
  }

  private packInto(w: PackSink): void {
    w.push(this.runs);
    w.push(this.censored);
    w.push(this.partial ? 1 : 0);
    w.push(this.ranges.length);
    for (const [a, b] of this.ranges) {
      w.push(a);
      w.push(b);
    }
    w.pushAll(this.outcomeCounts);
    for (const times of this.outcomeTimes) w.pushAll(times);
    if (this.bySaves) {
      w.push(this.reached);
      w.pushAll(this.bySaves);
    }
    this.quantiles.pack(w);
    for (let c = 0; c < this.quantiles.cells; c++) {
      this.sums.pack(c, w);
      this.sumSquares.pack(c, w);
    }
    w.push(this.pending.size);
    for (const [id, block] of this.canonicalPending()) {
      w.push(id);
      w.push(block.runs.length);
      block.runs.forEach((run, b) => {
        w.push(run);
        w.push(block.saves[b]!);
        w.pushAll(block.rows[b]!);
      });
    }
  }

  /** Hand back this summary's large buffers for reuse (after `pack`, when it is no longer needed). */
  release(): void {
    this.quantiles.release();
  }

  mergePacked(packed: PackedSummary): void {
    this.flush();
    this.checkCompatible(packed.meta, packed.shape, packed.trackedCells ?? "all");
    const r = new PackReader(packed.data);
    this.runs += r.next();
    this.censored += r.next();
    if (r.next() === 1) this.partial = true;
    const nRanges = r.next();
    for (let i = 0; i < nRanges; i++) this.ranges.push([r.next(), r.next()]);
    this.normaliseRanges();
    for (let o = 0; o < this.outcomeCounts.length; o++) this.outcomeCounts[o]! += r.next();
    for (const times of this.outcomeTimes) for (let k = 0; k < times.length; k++) times[k]! += r.next();
    // Last save only: values of a save short of the last reached are of cells no longer kept.
    let values = true;
    if (this.bySaves) {
      const reached = r.next();
      for (let k = 0; k < this.bySaves.length; k++) this.bySaves[k]! += r.next();
      this.goingAfter = undefined;
      if (reached > this.reached) this.reach(reached);
      values = reached === this.reached;
    }
    this.quantiles.mergePacked(r, values);
    const sums = values ? this.sums : new ExactSumArray(this.quantiles.cells);
    const sumSquares = values ? this.sumSquares : new ExactSumArray(this.quantiles.cells);
    for (let c = 0; c < this.quantiles.cells; c++) {
      sums.mergePacked(c, r);
      sumSquares.mergePacked(c, r);
    }
    const nT = this.trackedNames.length;
    const rowLength = (saves: number) => (this.bySaves ? (saves > 0 ? nT : 0) : saves * nT);
    const nPending = r.next();
    for (let i = 0; i < nPending; i++) {
      const id = r.next();
      const n = r.next();
      const block: PendingBlock = { runs: [], saves: [], rows: [] };
      for (let b = 0; b < n; b++) {
        block.runs.push(r.next());
        const saves = r.next();
        block.saves.push(saves);
        block.rows.push(packed.data.slice(r.pos, r.pos + rowLength(saves)));
        r.pos += rowLength(saves);
      }
      this.addPending(id, block);
    }
  }

  /** The incomplete blocks by id, each block's runs in run order: the same however its parts arrived. */
  private canonicalPending(): [number, PendingBlock][] {
    return [...this.pending]
      .sort((a, b) => a[0] - b[0])
      .map(([id, block]) => {
        const order = block.runs.map((_, i) => i).sort((a, b) => block.runs[a]! - block.runs[b]!);
        return [
          id,
          {
            runs: order.map((i) => block.runs[i]!),
            saves: order.map((i) => block.saves[i]!),
            rows: order.map((i) => block.rows[i]!),
          },
        ];
      });
  }

  private edgeTotals: { sums: ExactSumArray; squares: ExactSumArray } | undefined;

  /** Sums over the incomplete blocks (a job's edges), computed the same canonical way; cached until they change. */
  private pendingTotals(): { sums: ExactSumArray; squares: ExactSumArray } {
    if (!this.edgeTotals) {
      const sums = new ExactSumArray(this.quantiles.cells);
      const squares = new ExactSumArray(this.quantiles.cells);
      for (const id of [...this.pending.keys()].sort((a, b) => a - b))
        this.sumPending(this.pending.get(id)!, sums, squares);
      this.edgeTotals = { sums, squares };
    }
    return this.edgeTotals;
  }

  /** Runs still going, mean, standard deviation and quantiles of tracked variable j at save s. */
  statsAt(j: number, s: number): { n: number; mean: number; sd: number; quantile: (q: number) => number } {
    this.flush();
    if (this.bySaves) {
      // Suffix sums once, not a sum over the later saves at every call: a report asks for every save.
      if (!this.goingAfter) {
        const after = new Float64Array(this.bySaves.length);
        for (let k = this.bySaves.length - 2; k >= 0; k--) after[k] = after[k + 1]! + this.bySaves[k + 1]!;
        this.goingAfter = after;
      }
      const going = this.goingAfter[s]!;
      if (s !== this.reached - 1)
        return { n: going, mean: Number.NaN, sd: Number.NaN, quantile: () => Number.NaN };
    }
    const c = this.bySaves ? j : j * this.saveCount + s;
    const n = this.quantiles.counts[c]!;
    const sum = this.sums.get(c);
    const squares = this.sumSquares.get(c);
    if (this.pending.size) {
      const edges = this.pendingTotals();
      sum.merge(edges.sums.get(c));
      squares.merge(edges.squares.get(c));
    }
    const mean = sum.value() / n;
    const variance = n > 1 ? Math.max(0, (squares.value() - n * mean * mean) / (n - 1)) : 0;
    return { n, mean, sd: Math.sqrt(variance), quantile: (q) => this.quantiles.quantile(c, q) };
  }

  toJSON(): SummaryJSON {
    if (this.bySaves) throw new Error("a summary of the last save only cannot be saved");
    this.flush();
    return {
      format: "brink-summary/3",
      meta: this.meta,
      ...this.shape(),
      partial: this.partial,
      ranges: this.ranges,
      runs: this.runs,
      outcomeCounts: Array.from(this.outcomeCounts),
      outcomeTimes: this.outcomeTimes.map((times) => {
        const nonzero: [number, number][] = [];
        times.forEach((c, k) => {
          if (c > 0) nonzero.push([k, c]);
        });
        return nonzero;
      }),
      censored: this.censored,
      tracked: Array.from({ length: this.quantiles.cells }, (_, c) => {
        const n = this.quantiles.counts[c]!;
        return {
          n,
          min: n ? this.quantiles.min[c]! : null,
          max: n ? this.quantiles.max[c]! : null,
          sum: this.sums.get(c).toJSON(),
          sumSquares: this.sumSquares.get(c).toJSON(),
        };
      }),
      quantiles: this.quantiles.toJSON(),
      pending: this.canonicalPending().map(([block, p]) => ({
        block,
        runs: p.runs,
        saves: p.saves,
        rows: p.rows.map((r) => Array.from(r)),
      })),
    };
  }

  static fromJSON(j: SummaryJSON): Summary {
    if (j.format !== "brink-summary/3")
      throw new SummaryMismatchError(`not a Brink summary (format ${String(j.format)})`);
    const s = new Summary(j, j.meta);
    s.runs = j.runs;
    s.partial = j.partial;
    s.ranges = j.ranges.map((r) => [r[0], r[1]]);
    s.censored = j.censored;
    j.outcomeCounts.forEach((c, o) => {
      s.outcomeCounts[o] = c;
      for (const [k, n] of j.outcomeTimes[o]!) s.outcomeTimes[o]![k] = n;
    });
    s.quantiles.mergeJSON(
      j.quantiles,
      j.tracked.map((cell) => cell.n),
      j.tracked.map((cell) => cell.min),
      j.tracked.map((cell) => cell.max),
    );
    j.tracked.forEach((cell, c) => {
      s.sums.mergeInto(c, ExactSum.fromJSON(cell.sum));
      s.sumSquares.mergeInto(c, ExactSum.fromJSON(cell.sumSquares));
    });
    for (const p of j.pending)
      s.pending.set(p.block, { runs: p.runs, saves: p.saves, rows: p.rows.map((r) => Float64Array.from(r)) });
    return s;
  }
}
