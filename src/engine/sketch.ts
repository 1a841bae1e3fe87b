import type { PackReader, PackSink } from "./pack.js";
import { mix32 } from "./rng.js";
import { sortDoubles } from "./sort-doubles.js";

/**
 * Quantiles of tracked values, accurate in rank and the same to the last bit whatever the workers, chunks or
 * merges. Runs are grouped into leaves of `leafRuns` consecutive run indices (aligned: leaf i holds runs
 * i·leafRuns …), and leaves into a binary tree over run indices. A leaf keeps every value of its runs, so a
 * job of up to `leafRuns` runs has exact quantiles. Two sibling nodes, once both are complete, are replaced by
 * their parent: their values, and if more than `capacity`, `capacity` of them picked at evenly spaced ranks
 * (at a quarter or three quarters of each slice W/capacity of the total weight W, the side fixed per node by a
 * hash), each standing for W/capacity runs. Which nodes
 * combine depends only on run indices, never on the order in which parts arrive, so the stored summary is a
 * function of the runs it covers — the deterministic, fixed-tree counterpart of the Manku–Rajagopalan–Lindsay
 * and KLL sketches.
 *
 * Rank guarantee: one combination moves any rank by at most 3W/(4·capacity), W the runs under that node; the
 * nodes of one tree level cover each run once, so a level adds at most 3n/(4·capacity) and the whole summary at
 * most 3·levels·n/(4·capacity), levels = ⌈log2(n / leafRuns)⌉ (0 below leafRuns runs: exact). As the side each
 * node keeps is up or down at random, the errors mostly cancel: about 0.1% of n at 10⁶ runs of the flagship's
 * 726 series points, where the bound is 0.9%. Memory per value
 * and save time is at most two leaves plus `capacity` per level, whatever the number of runs beyond that.
 */

/** Values kept per summary (all tracked variables and save times together) before leaves are compacted. */
export const QUANTILE_BUDGET = 1 << 21;

/** Leaf size and node capacity for a summary with `cells` (tracked variable, save time) pairs. */
export function sketchParams(cells: number): { leafRuns: number; capacity: number } {
  const leafRuns = Math.max(
    64,
    Math.min(1 << 16, Math.floor(QUANTILE_BUDGET / Math.max(1, cells) / 64) * 64),
  );
  return { leafRuns, capacity: Math.max(64, leafRuns / 4) };
}

/**
 * A chunk size (runs) rounded, when it is at least half a leaf, to a power of two of whole leaves. Chunks of a
 * job starting at run 0 are then aligned subtrees: each chunk's runs combine into a single node of
 * `capacity` values per cell, which is all that it hands over, instead of partly filled leaves and complete
 * leaves whose siblings are in another chunk (a leaf's worth of memory each, held by the receiver until the
 * rest arrives).
 */
export function leafAlignedChunk(runs: number, cells: number): number {
  const { leafRuns } = sketchParams(cells);
  if (runs * 2 < leafRuns) return runs;
  return 2 ** Math.floor(Math.log2(Math.max(1, Math.round(runs / leafRuns)))) * leafRuns;
}

/**
 * One cell's values in a node, sorted, each standing for `weight` runs. A node's cell has one weight: a leaf's
 * values and a node below `capacity` values weigh 1, a compacted node's values all weigh one slice, and a
 * node that combines a compacted child with an empty one keeps that child's weight (any other combination
 * is over `capacity` and compacted). So a weight per cell, not per value: half the memory, and merges that
 * read no weights.
 */
interface CellValues {
  values: Float64Array;
  weight: number;
}

interface Node {
  level: number;
  index: number;
  /** Runs of the node's range covered so far (a node above the leaves is always complete). */
  runs: number;
  /** Nodes above the leaves: per cell, sorted (views of `buffer`). Leaves: null. */
  cells: CellValues[] | null;
  /**
   * A leaf's values, cell c in [c·leafRuns, c·leafRuns + fill[c]), in no particular order: a leaf is sorted
   * only when something reads it — together with its sibling, once both are complete, as one sorted union
   * from which their parent is picked (no sort of each and merge), or in place when packed, saved or queried.
   */
  buffer: Float64Array | null;
  fill: Int32Array | null;
  /**
   * A leaf's room per cell in `buffer`: `leafRuns`, except for a leaf first met as part of another summary
   * (`absorbPartial`), which is made the size of that part and grown only if more of its runs arrive. A job's
   * last, incomplete leaf then takes its few runs' room on the merging thread, not a whole leaf's (megabytes).
   */
  stride: number;
}

export interface SketchNodeJSON {
  level: number;
  index: number;
  runs: number;
  cells: { values: number[]; weights?: number[] }[];
}

export interface SketchJSON {
  leafRuns: number;
  capacity: number;
  nodes: SketchNodeJSON[];
}

const keyOf = (level: number, index: number) => level * 2 ** 40 + index;

/** Which quarter of each slice a node's compaction keeps: a fixed pseudo-random choice per node. */
const sideOf = (level: number, index: number) =>
  mix32(mix32(level + 0x9e3779b9) ^ (index >>> 0) ^ Math.floor(index / 2 ** 32)) & 1 ? 0.75 : 0.25;

/**
 * Every node keeps its values in one buffer (cell c at c·stride, stride = leafRuns for leaves and capacity
 * above), taken from and handed back to a small pool rather than left to the collector: buffers are megabytes
 * each, made and dropped once per leaf, and garbage of that size — collected late, as the JavaScript heap
 * beside it is small, and held by each thread's allocator after it is freed — is what made resident memory
 * grow with worker threads. A few per size are enough: a summary fills one leaf at a time and combines
 * nodes as soon as their sibling is complete.
 */
const spareBuffers: Float64Array[] = [];
/** Spare buffers kept of each size. */
const SPARE_BUFFERS = 2;

/**
 * Frees a buffer's memory at once, where the host can (Node: `freeBufferNow`, installed by the worker entry and
 * `simulate`); by default a dropped buffer waits for the collector. The collector frees large buffers late —
 * each thread lets megabytes of them pile up before it looks — and a thread that keeps them is what made a
 * million-run job's resident memory peak at its end. Only a buffer nothing reads any more may be discarded:
 * every view of it becomes empty.
 */
let discard: (buffer: ArrayBuffer) => void = () => {};

/** Install how this thread frees a buffer at once (see `discard`). */
export function setBufferDiscarder(free: (buffer: ArrayBuffer) => void): void {
  discard = free;
}

/**
 * Free `array`'s memory at once (where the host can): it, and every view of its buffer, must be dead. An array
 * that is a part of a larger buffer (someone else's memory, such as a pool of Node Buffers) is left alone.
 */
export function discardArray(array: Float64Array | null | undefined): void {
  if (!array || !(array.buffer instanceof ArrayBuffer)) return;
  if (array.byteOffset !== 0 || array.byteLength !== array.buffer.byteLength || array.byteLength === 0)
    return;
  discard(array.buffer);
}

function takeBuffer(length: number): Float64Array {
  const i = spareBuffers.findIndex((b) => b.length === length);
  if (i < 0) return new Float64Array(length);
  const [buffer] = spareBuffers.splice(i, 1);
  return buffer!;
}

function releaseBuffer(buffer: Float64Array): void {
  const same = spareBuffers.filter((b) => b.length === buffer.length);
  if (same.length >= SPARE_BUFFERS) {
    spareBuffers.splice(spareBuffers.indexOf(same[0]!), 1);
    discardArray(same[0]);
  }
  spareBuffers.push(buffer);
}

/**
 * Free every spare buffer of this thread now (a worker between chunks: an idle worker holding two leaves'
 * and two nodes' room — tens of megabytes — while the caller merges the job's last chunks is the job's peak).
 */
export function dropSpareBuffers(): void {
  for (const buffer of spareBuffers.splice(0)) discardArray(buffer);
}

/** Room for the union of two leaves' values of one cell, reused. */
let unionScratch = new Float64Array(0);

/**
 * Two sibling nodes' values of one cell, merged in sorted order and, when more than `capacity`, compacted to
 * `capacity` values: one per equal slice of the total weight, the value at a quarter or at three quarters
 * of each slice (the side chosen by a hash of the node, so that the half-slice each compaction moves ranks by
 * goes up at some nodes and down at others instead of always one way), each carrying one slice. The merge is
 * walked, never built: ties go to `a` when its weight is at most `b`'s, and weights are summed in merged order,
 * so the arithmetic is that of compacting the merged list.
 */
function combine(
  a: CellValues,
  b: CellValues,
  capacity: number,
  side: number,
  out: Float64Array,
): CellValues {
  const av = a.values;
  const bv = b.values;
  const na = av.length;
  const nb = bv.length;
  const n = na + nb;
  const wa = a.weight;
  const wb = b.weight;
  const aOnTie = wa <= wb;
  if (n <= capacity) {
    const values = out.subarray(0, n);
    if (nb === 0) values.set(av);
    if (na === 0) values.set(bv);
    if (nb === 0 || na === 0) return { values, weight: nb === 0 ? wa : wb };
    if (wa !== wb)
      throw new RangeError("a quantile summary node is malformed (mixed weights under capacity)");
    let i = 0;
    let j = 0;
    for (let k = 0; k < n; k++) {
      if (j >= nb || (i < na && (av[i]! < bv[j]! || (av[i] === bv[j] && aOnTie)))) values[k] = av[i++]!;
      else values[k] = bv[j++]!;
    }
    return { values, weight: wa };
  }
  let total = 0;
  if (wa === wb) for (let k = 0; k < n; k++) total += wa;
  else {
    let i = 0;
    let j = 0;
    for (let k = 0; k < n; k++) {
      if (j >= nb || (i < na && (av[i]! < bv[j]! || (av[i] === bv[j] && aOnTie)))) {
        total += wa;
        i++;
      } else {
        total += wb;
        j++;
      }
    }
  }
  const slice = total / capacity;
  const values = out.subarray(0, capacity);
  // The current item of the merge covers the weights [cum − its weight, cum); pick the item covering each
  // slice's chosen point.
  let i = 0;
  let j = 0;
  let current: number;
  let cum: number;
  if (j >= nb || (i < na && (av[i]! < bv[j]! || (av[i] === bv[j] && aOnTie)))) {
    current = av[i++]!;
    cum = wa;
  } else {
    current = bv[j++]!;
    cum = wb;
  }
  for (let k = 0; k < capacity; k++) {
    const target = (k + side) * slice;
    while (cum <= target && i + j < n) {
      if (j >= nb || (i < na && (av[i]! < bv[j]! || (av[i] === bv[j] && aOnTie)))) {
        current = av[i++]!;
        cum += wa;
      } else {
        current = bv[j++]!;
        cum += wb;
      }
    }
    values[k] = current;
  }
  return { values, weight: slice };
}

/** A sorted list with a weight per value (null: every value weighs 1), as quantiles read it. */
interface WeightedList {
  values: Float64Array;
  weights: Float64Array | null;
}

/** A sorted merge of a weighted list and a node's cell, keeping ties in (value, weight) order. */
function mergeIntoList(a: WeightedList, b: CellValues): WeightedList {
  const n = a.values.length + b.values.length;
  const values = new Float64Array(n);
  const weighted = a.weights !== null || b.weight !== 1;
  const weights = weighted ? new Float64Array(n) : null;
  const wb = b.weight;
  let i = 0;
  let j = 0;
  for (let k = 0; k < n; k++) {
    const wa = a.weights ? a.weights[i]! : 1;
    const takeA =
      j >= b.values.length ||
      (i < a.values.length && (a.values[i]! < b.values[j]! || (a.values[i] === b.values[j] && wa <= wb)));
    if (takeA) {
      values[k] = a.values[i]!;
      if (weights) weights[k] = wa;
      i++;
    } else {
      values[k] = b.values[j]!;
      if (weights) weights[k] = wb;
      j++;
    }
  }
  return { values, weights };
}

/** The one weight of a cell read from a file or another thread: weights that differ are not a summary's. */
function uniformWeight(weights: ArrayLike<number> | undefined): number {
  if (!weights || weights.length === 0) return 1;
  const w = weights[0]!;
  for (let i = 1; i < weights.length; i++)
    if (weights[i] !== w) throw new RangeError("a quantile summary cell has differing weights");
  return w;
}

/**
 * Quantile summaries of many cells (tracked variable × save time) that share their runs, so that they share
 * one tree: a node holds every cell's values for its run range.
 */
export class RankSketches {
  readonly leafRuns: number;
  readonly capacity: number;
  /** Values per cell (runs that were still going). */
  readonly counts: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;
  private readonly nodes = new Map<number, Node>();
  /**
   * One cell's sorted union of every node's values, kept until the next change or until another cell is
   * asked for: reports read a cell's quantiles together, and keeping every cell's would hold a second copy
   * of the whole summary.
   */
  private view: { cell: number; list: WeightedList } | undefined;

  /**
   * `cells` summaries, each with the leaf size and node capacity of a summary of `sizedFor` cells: a summary
   * that keeps only some cells of a larger one (`Summary` of the last save only) combines the same runs into
   * the same nodes, so its cells hold exactly the values the larger one's would.
   */
  constructor(
    readonly cells: number,
    sizedFor: number = cells,
  ) {
    ({ leafRuns: this.leafRuns, capacity: this.capacity } = sketchParams(sizedFor));
    this.counts = new Float64Array(cells);
    this.min = new Float64Array(cells).fill(Number.POSITIVE_INFINITY);
    this.max = new Float64Array(cells).fill(Number.NEGATIVE_INFINITY);
  }

  /** The incomplete leaf that run `run` belongs to (made when first needed, with room for `stride` runs). */
  private leafOf(run: number, stride = this.leafRuns): Node {
    const index = Math.floor(run / this.leafRuns);
    const key = keyOf(0, index);
    let node = this.nodes.get(key);
    if (!node) {
      node = {
        level: 0,
        index,
        runs: 0,
        cells: null,
        buffer: takeBuffer(this.cells * stride),
        fill: new Int32Array(this.cells),
        stride,
      };
      this.nodes.set(key, node);
    }
    if (node.runs === this.leafRuns) throw new RangeError(`run ${run} is counted twice`);
    return node;
  }

  /** Give `leaf` room for `values` values per cell (at most a whole leaf's), keeping those it has. */
  private roomFor(leaf: Node, values: number): void {
    if (values <= leaf.stride) return;
    const stride = this.leafRuns;
    const buffer = takeBuffer(this.cells * stride);
    for (let c = 0; c < this.cells; c++) buffer.set(this.leafCell(leaf, c), c * stride);
    if (leaf.buffer) this.releaseNodeBuffer(leaf.buffer);
    leaf.buffer = buffer;
    leaf.stride = stride;
  }

  /** Only the pool's two sizes go back to it: a small leaf's buffer is freed. */
  private releaseNodeBuffer(buffer: Float64Array): void {
    if (buffer.length === this.cells * this.leafRuns || buffer.length === this.cells * this.capacity)
      releaseBuffer(buffer);
    else discardArray(buffer);
  }

  private leafFor(firstRun: number, runs: number): Node {
    const leaf = this.leafOf(firstRun);
    this.roomFor(leaf, this.leafRuns);
    if (Math.floor((firstRun + runs - 1) / this.leafRuns) !== leaf.index)
      throw new RangeError(`runs ${firstRun}–${firstRun + runs - 1} cross the edge of a leaf`);
    return leaf;
  }

  /** Count `runs` more runs in `leaf`, whose values are in; complete it when it is full. */
  private addedRuns(leaf: Node, runs: number): void {
    leaf.runs += runs;
    if (leaf.runs > this.leafRuns) throw new RangeError(`runs of leaf ${leaf.index} are counted twice`);
    this.dropView();
    if (leaf.runs === this.leafRuns) this.climb(leaf);
  }

  /**
   * Add the values of `runs` runs, all in the leaf of run `firstRun`: `value(cell, b)` for run b of them, or
   * undefined where that run had ended.
   */
  addRuns(firstRun: number, runs: number, value: (cell: number, b: number) => number | undefined): void {
    const leaf = this.leafFor(firstRun, runs);
    const buffer = leaf.buffer!;
    const fill = leaf.fill!;
    const stride = leaf.stride;
    for (let c = 0; c < this.cells; c++) {
      let at = c * stride + fill[c]!;
      let lo = this.min[c]!;
      let hi = this.max[c]!;
      for (let b = 0; b < runs; b++) {
        const x = value(c, b);
        if (x === undefined) continue;
        buffer[at++] = x;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      const added = at - c * stride - fill[c]!;
      fill[c]! += added;
      this.counts[c]! += added;
      this.min[c] = lo;
      this.max[c] = hi;
    }
    this.addedRuns(leaf, runs);
  }

  /**
   * `addRuns` for runs laid out as the kernel saves them: run b's values at `values[b·perRun + s·tracked + j]`
   * for tracked variable j at save s < saves[b], cell j·saveCount + s. The summary's hot path.
   */
  addSaved(
    firstRun: number,
    runs: number,
    values: Float64Array,
    saves: ArrayLike<number>,
    tracked: number,
    saveCount: number,
  ): void {
    const leaf = this.leafFor(firstRun, runs);
    const buffer = leaf.buffer!;
    const fill = leaf.fill!;
    const stride = leaf.stride;
    const perRun = tracked * saveCount;
    // Runs that lasted to the end write every save; the others are checked value by value.
    let whole = true;
    for (let b = 0; b < runs; b++) if (saves[b]! < saveCount) whole = false;
    for (let j = 0; j < tracked; j++) {
      for (let s = 0; s < saveCount; s++) {
        const c = j * saveCount + s;
        const start = c * stride + fill[c]!;
        let at = start;
        let lo = this.min[c]!;
        let hi = this.max[c]!;
        for (let b = 0, from = s * tracked + j; b < runs; b++, from += perRun) {
          if (!whole && s >= saves[b]!) continue;
          const x = values[from]!;
          buffer[at++] = x;
          if (x < lo) lo = x;
          if (x > hi) hi = x;
        }
        fill[c]! += at - start;
        this.counts[c]! += at - start;
        this.min[c] = lo;
        this.max[c] = hi;
      }
    }
    this.addedRuns(leaf, runs);
  }

  /** A leaf's cell c (in arrival order while it is incomplete). */
  private leafCell(leaf: Node, c: number): Float64Array {
    const from = c * leaf.stride;
    return leaf.buffer!.subarray(from, from + leaf.fill![c]!);
  }

  /** Whether a node covers all the runs of its range. */
  private isComplete(node: Node): boolean {
    return node.level > 0 || node.runs === this.leafRuns;
  }

  /**
   * Cell c of the parent of two complete leaves, into `out` (capacity long): their values as one sorted union
   * (`union`, scratch), all of weight 1, so the merge walk of `combine` reduces to indexing — the item covering
   * weight `target` is the one at index ⌊target⌋ — with the same picks and the same arithmetic.
   */
  private combineLeaves(left: Node, right: Node, c: number, side: number, out: Float64Array): CellValues {
    const a = this.leafCell(left, c);
    const b = this.leafCell(right, c);
    const n = a.length + b.length;
    if (unionScratch.length < n) unionScratch = new Float64Array(2 * this.leafRuns);
    const union = unionScratch.subarray(0, n);
    union.set(a);
    union.set(b, a.length);
    sortDoubles(union);
    if (n <= this.capacity) {
      const values = out.subarray(0, n);
      values.set(union);
      return { values, weight: 1 };
    }
    // The total weight, n ones summed, is n exactly.
    const slice = n / this.capacity;
    const values = out.subarray(0, this.capacity);
    for (let k = 0; k < this.capacity; k++)
      values[k] = union[Math.min(n - 1, Math.floor((k + side) * slice))]!;
    return { values, weight: slice };
  }

  /** Replace complete siblings by their parent, as far up as they go. */
  private climb(node: Node): void {
    for (;;) {
      const sibling = this.nodes.get(keyOf(node.level, node.index ^ 1));
      if (!sibling || !this.isComplete(sibling)) return;
      const [left, right] = node.index % 2 === 0 ? [node, sibling] : [sibling, node];
      this.nodes.delete(keyOf(left.level, left.index));
      this.nodes.delete(keyOf(right.level, right.index));
      const side = sideOf(node.level + 1, node.index >> 1);
      const buffer = takeBuffer(this.cells * this.capacity);
      const parent: Node = {
        level: node.level + 1,
        index: node.index >> 1,
        runs: left.runs + right.runs,
        cells: Array.from({ length: this.cells }, (_, c) => {
          const out = buffer.subarray(c * this.capacity);
          return node.level === 0
            ? this.combineLeaves(left, right, c, side, out)
            : combine(left.cells![c]!, right.cells![c]!, this.capacity, side, out);
        }),
        buffer,
        fill: null,
        stride: this.capacity,
      };
      for (const child of [left, right]) if (child.buffer) this.releaseNodeBuffer(child.buffer);
      this.nodes.set(keyOf(parent.level, parent.index), parent);
      node = parent;
    }
  }

  /**
   * Fold in a complete node from another summary: cell c's values from `valuesOf(c)`, copied (so that a
   * node waiting for its sibling keeps no packed array alive) into a buffer of this summary's.
   */
  private absorb(
    level: number,
    index: number,
    runs: number,
    cellOf: (c: number) => { values: ArrayLike<number>; weight: number },
  ): void {
    const key = keyOf(level, index);
    if (this.nodes.has(key)) throw new RangeError(`runs of node ${level}/${index} are counted twice`);
    const stride = this.capacity;
    const buffer = takeBuffer(this.cells * stride);
    const cells: CellValues[] = [];
    for (let c = 0; c < this.cells; c++) {
      const { values, weight } = cellOf(c);
      if (values.length > stride) {
        releaseBuffer(buffer);
        throw new RangeError(`quantile node ${level}/${index} holds more values than it can`);
      }
      const into = buffer.subarray(c * stride, c * stride + values.length);
      into.set(values);
      cells.push({ values: into, weight });
    }
    const node: Node = { level, index, runs, cells, buffer, fill: null, stride };
    this.nodes.set(key, node);
    this.climb(node);
  }

  /** Append (part of) leaf `index` (`runs` runs, cell c's values from `valuesOf(c)`) to this summary's leaf. */
  private absorbPartial(index: number, runs: number, valuesOf: (c: number) => ArrayLike<number>): void {
    const leaf = this.leafOf(index * this.leafRuns, Math.min(this.leafRuns, runs));
    if (leaf.runs + runs > this.leafRuns) throw new RangeError(`runs of leaf ${index} are counted twice`);
    this.roomFor(leaf, leaf.runs + runs);
    for (let c = 0; c < this.cells; c++) {
      const xs = valuesOf(c);
      if (leaf.fill![c]! + xs.length > this.leafRuns)
        throw new RangeError(`leaf ${index} has more values than runs`);
      leaf.buffer!.set(xs, c * leaf.stride + leaf.fill![c]!);
      leaf.fill![c]! += xs.length;
    }
    this.addedRuns(leaf, runs);
  }

  /** Nodes in canonical order: by level, then index. */
  private sortedNodes(): Node[] {
    return [...this.nodes.values()].sort((a, b) => a.level - b.level || a.index - b.index);
  }

  /** One cell of a node, an incomplete leaf's values sorted (a copy). */
  private cellOf(node: Node, c: number): CellValues {
    if (node.cells) return node.cells[c]!;
    // In place: a leaf's order is nobody's business until it is read.
    const values = this.leafCell(node, c);
    sortDoubles(values);
    return { values, weight: 1 };
  }

  /**
   * Packed for another thread: nodes above the leaves as sorted values and one weight per cell; leaves, complete
   * or not, as their values in no particular order (the receiver appends them to its own leaf).
   */
  pack(w: PackSink): void {
    w.pushAll(this.counts);
    w.pushAll(this.min);
    w.pushAll(this.max);
    const nodes = this.sortedNodes();
    w.push(nodes.length);
    for (const node of nodes) {
      w.push(node.level);
      w.push(node.index);
      w.push(node.runs);
      for (let c = 0; c < this.cells; c++) {
        const values = node.cells ? node.cells[c]!.values : this.leafCell(node, c);
        w.push(values.length);
        w.push(node.cells ? node.cells[c]!.weight : 1);
        w.pushAll(values);
      }
    }
  }

  /**
   * Fold in a packed summary. With `values` false, only its runs are taken — its nodes enter the tree with
   * every cell empty, as if none of its runs had had a value — for a summary whose values are of cells this
   * one no longer keeps.
   */
  mergePacked(r: Pick<PackReader, "next" | "take">, values = true): void {
    for (let c = 0; c < this.cells; c++) {
      const count = r.next();
      if (values) this.counts[c]! += count;
    }
    for (let c = 0; c < this.cells; c++) {
      const lo = r.next();
      if (values) this.min[c] = Math.min(this.min[c]!, lo);
    }
    for (let c = 0; c < this.cells; c++) {
      const hi = r.next();
      if (values) this.max[c] = Math.max(this.max[c]!, hi);
    }
    const none = new Float64Array(0);
    const n = r.next();
    for (let k = 0; k < n; k++) {
      const level = r.next();
      const index = r.next();
      const runs = r.next();
      if (level === 0) {
        this.absorbPartial(index, runs, () => {
          const len = r.next();
          r.next();
          const xs = r.take(len);
          return values ? xs : none;
        });
        continue;
      }
      this.absorb(level, index, runs, () => {
        const len = r.next();
        const weight = r.next();
        const xs = r.take(len);
        // An empty cell weighs 1, as one combined from empty leaves does.
        return values ? { values: xs, weight } : { values: none, weight: 1 };
      });
    }
    this.dropView();
  }

  /**
   * Forget every value but keep the runs: each node's cells become empty (weight 1, as a cell combined from
   * empty leaves is), so that later values combine exactly as in a summary where these runs had none.
   */
  clearValues(): void {
    for (const node of this.nodes.values()) {
      if (node.fill) node.fill.fill(0);
      if (node.cells)
        for (let c = 0; c < this.cells; c++)
          node.cells[c] = { values: node.buffer!.subarray(0, 0), weight: 1 };
    }
    this.counts.fill(0);
    this.min.fill(Number.POSITIVE_INFINITY);
    this.max.fill(Number.NEGATIVE_INFINITY);
    this.dropView();
  }

  /** Hand this summary's leaf buffers back for reuse; the summary must not be used afterwards. */
  release(): void {
    for (const node of this.nodes.values()) if (node.buffer) this.releaseNodeBuffer(node.buffer);
    this.nodes.clear();
    this.dropView();
  }

  /** Free the kept cell view (nothing outside this class holds its arrays). */
  private dropView(): void {
    if (!this.view) return;
    discardArray(this.view.list.values);
    discardArray(this.view.list.weights);
    this.view = undefined;
  }

  /** All of one cell's values (with their weights), sorted: what its quantiles read. */
  private cellView(c: number): WeightedList {
    if (this.view?.cell !== c) {
      // The last cell's view and each partial merge are freed as soon as they are replaced: a report reads
      // every cell once, and leaving each to the collector piles up hundreds of megabytes of them.
      this.dropView();
      let list: WeightedList = { values: new Float64Array(0), weights: null };
      for (const node of this.sortedNodes()) {
        const merged = mergeIntoList(list, this.cellOf(node, c));
        discardArray(list.values);
        discardArray(list.weights);
        list = merged;
      }
      this.view = { cell: c, list };
    }
    return this.view.list;
  }

  /**
   * The value of rank q·(n − 1) among cell c's values (the lower order statistic: a value some run had, never
   * an interpolation), within the rank guarantee above; NaN when empty.
   */
  quantile(c: number, q: number): number {
    const n = this.counts[c]!;
    if (n === 0) return Number.NaN;
    if (q <= 0) return this.min[c]!;
    if (q >= 1) return this.max[c]!;
    const { values, weights } = this.cellView(c);
    const rank = q * (n - 1);
    if (!weights) return values[Math.floor(rank)]!;
    let seen = 0;
    for (let i = 0; i < values.length; i++) {
      seen += weights[i]!;
      if (seen > rank) return values[i]!;
    }
    return this.max[c]!;
  }

  toJSON(): SketchJSON {
    return {
      leafRuns: this.leafRuns,
      capacity: this.capacity,
      nodes: this.sortedNodes().map((node) => ({
        level: node.level,
        index: node.index,
        runs: node.runs,
        cells: Array.from({ length: this.cells }, (_, c) => {
          const { values, weight } = this.cellOf(node, c);
          return weight === 1
            ? { values: Array.from(values) }
            : { values: Array.from(values), weights: new Array<number>(values.length).fill(weight) };
        }),
      })),
    };
  }

  /** Fold in a saved summary's nodes; `counts`, `min` and `max` come with its cells. */
  mergeJSON(j: SketchJSON, counts: number[], min: (number | null)[], max: (number | null)[]): void {
    if (j.leafRuns !== this.leafRuns || j.capacity !== this.capacity)
      throw new RangeError("the quantile summaries were made with different sizes");
    for (let c = 0; c < this.cells; c++) {
      this.counts[c]! += counts[c]!;
      this.min[c] = Math.min(this.min[c]!, min[c] ?? Number.POSITIVE_INFINITY);
      this.max[c] = Math.max(this.max[c]!, max[c] ?? Number.NEGATIVE_INFINITY);
    }
    for (const node of j.nodes) {
      if (node.level === 0) {
        this.absorbPartial(node.index, node.runs, (c) => {
          if (uniformWeight(node.cells[c]!.weights) !== 1)
            throw new RangeError("a quantile summary leaf has weighted values");
          return node.cells[c]!.values;
        });
        continue;
      }
      this.absorb(node.level, node.index, node.runs, (c) => ({
        values: node.cells[c]!.values,
        weight: uniformWeight(node.cells[c]!.weights),
      }));
    }
    this.dropView();
  }
}
