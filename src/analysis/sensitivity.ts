/**
 * Global sensitivity analysis, pure: designs and estimators, with the model evaluation passed in.
 * Variance-based indices use a Saltelli design (matrices A, B and A with column i from B) whose rows are points of
 * a 2k-dimensional Sobol' sequence, and Jansen's estimators kept as running sums, so a design of any size is
 * split by row range over workers or machines and merged exactly. The rows form independently shifted batches
 * (each a randomised quasi-Monte Carlo design); intervals come from a jackknife over batches. Morris screening
 * gives μ* and σ of elementary effects for models with many inputs.
 */
import { betaQuantile } from "../engine/distributions.js";
import { addProduct, ExactSum, ExactSumArray, productError } from "../engine/exactsum.js";
import type { PackReader, PackWriter } from "../engine/pack.js";
import { hashUniform, mix32 } from "../engine/rng.js";
import { SOBOL_MAX_DIMENSIONS, SobolSequence } from "./sobol-sequence.js";

export interface SobolIndex {
  input: string;
  first: number;
  firstLo: number;
  firstHi: number;
  total: number;
  totalLo: number;
  totalHi: number;
}

/** The most uncertain inputs a Sobol' design can vary: A and B together take two coordinates per input. */
export const SOBOL_MAX_INPUTS = Math.floor(SOBOL_MAX_DIMENSIONS / 2);

/**
 * The rows of a Saltelli design over k inputs: N rows in `batches` batches of ⌈N/batches⌉ consecutive rows, each
 * batch the leading points of the 2k-dimensional Sobol' sequence under its own seeded digital shift. Row r's A
 * point is the first k coordinates, its B point the last k. Every row is computed from its index alone.
 */
export class SaltelliDesign {
  readonly batches: number;
  readonly rowsPerBatch: number;
  private readonly sequences: SobolSequence[] = [];
  private readonly point: Float64Array;

  constructor(
    readonly rows: number,
    readonly inputs: number,
    readonly seed: number,
    batches = 16,
  ) {
    if (inputs > SOBOL_MAX_INPUTS)
      throw new RangeError(`a Sobol' design varies at most ${SOBOL_MAX_INPUTS} params, not ${inputs}`);
    this.rowsPerBatch = Math.ceil(rows / Math.max(1, Math.min(batches, rows)));
    // Only the batches that get rows: 17 rows in 16 batches of 2 fill 9, and the jackknife has 9 batches, not 16.
    this.batches = Math.max(1, Math.ceil(rows / this.rowsPerBatch));
    this.point = new Float64Array(2 * inputs);
  }

  batchOf(row: number): number {
    return Math.floor(row / this.rowsPerBatch);
  }

  /** Row r's A and B points, written into `a` and `b` (k values each). */
  row(r: number, a: Float64Array, b: Float64Array): void {
    const batch = this.batchOf(r);
    this.sequences[batch] ??= new SobolSequence(2 * this.inputs, {
      shift: { seed: this.seed, stream: batch },
    });
    const p = this.sequences[batch]!.point(r - batch * this.rowsPerBatch, this.point);
    a.set(p.subarray(0, this.inputs));
    b.set(p.subarray(this.inputs));
  }
}

/**
 * Jansen's estimators as running sums, per batch and target: n, Σf_A, Σf_B, Σf_A², Σf_B², and per input i
 * Σ(f_B − f_ABi)² and Σ(f_A − f_ABi)². Sums are exact (the squares f² added exactly too, as a product and its
 * rounding error), so adding rows or merging parts in any order gives the same bits, and the variance is centred
 * from them exactly: an output whose mean is 10⁸ times its spread keeps its indices.
 */
export class JansenSums {
  private readonly sums: ExactSumArray;
  private readonly width: number;

  constructor(
    readonly batches: number,
    readonly targets: number,
    readonly inputs: number,
  ) {
    this.width = 5 + 2 * inputs;
    this.sums = new ExactSumArray(batches * targets * this.width);
  }

  /** One design row's outputs for every target: fA[t], fB[t] and fAB[i][t]. */
  addRow(batch: number, fA: ArrayLike<number>, fB: ArrayLike<number>, fAB: ArrayLike<number>[]): void {
    const k = this.inputs;
    for (let t = 0; t < this.targets; t++) {
      const base = (batch * this.targets + t) * this.width;
      const a = fA[t]!;
      const b = fB[t]!;
      this.sums.add(base, 1);
      this.sums.add(base + 1, a);
      this.sums.add(base + 2, b);
      this.addSquare(base + 3, a);
      this.addSquare(base + 4, b);
      for (let i = 0; i < k; i++) {
        const ab = fAB[i]![t]!;
        this.sums.add(base + 5 + i, (b - ab) ** 2);
        this.sums.add(base + 5 + k + i, (a - ab) ** 2);
      }
    }
  }

  /** x² added exactly: the rounded square and its rounding error. */
  private addSquare(c: number, x: number): void {
    const p = x * x;
    this.sums.add(c, p);
    if (p - p === 0) {
      const e = productError(x, x, p);
      if (e !== 0) this.sums.add(c, e);
    }
  }

  pack(w: PackWriter): void {
    for (let c = 0; c < this.sums.size; c++) this.sums.pack(c, w);
  }

  mergePacked(r: PackReader): void {
    for (let c = 0; c < this.sums.size; c++) this.sums.mergePacked(c, r);
  }

  /** Rows added so far (over all batches). */
  get rows(): number {
    let n = 0;
    for (let b = 0; b < this.batches; b++) n += this.sums.value(b * this.targets * this.width);
    return n;
  }

  /**
   * First- and total-order indices of target t: V_i = V − ½·mean((f_B − f_ABi)²), S1 = V_i / V,
   * ST = ½·mean((f_A − f_ABi)²) / V, with 95% intervals from a delete-one-batch jackknife (Student t with
   * batches − 1 degrees of freedom). One batch gives no interval: its bounds equal the estimate.
   */
  indices(inputs: string[], t: number): SobolIndex[] {
    const k = this.inputs;
    // Every estimate, the leave-one-batch-out ones included, is of exact sums: a difference of rounded totals
    // would lose what the exact sums keep. (Made when needed: 1024 batches × 1000 inputs' sums are not kept.)
    const cell = (b: number, j: number) => this.sums.get((b * this.targets + t) * this.width + j);
    const total = Array.from({ length: this.width }, (_, j) => {
      const sum = new ExactSum();
      for (let b = 0; b < this.batches; b++) sum.merge(cell(b, j));
      return sum;
    });
    const estimate = (sum: (j: number) => ExactSum) => {
      const n = sum(0).value();
      const variance = pooledVariance(sum(1), sum(2), sum(3), sum(4), 2 * n);
      return inputs.map((_, i) => {
        // An output that (almost) never varies has no variance to apportion: report zeros, not noise.
        if (!(variance > 1e-12)) return { first: 0, total: 0 };
        return {
          first: (variance - sum(5 + i).value() / (2 * n)) / variance,
          total: sum(5 + k + i).value() / (2 * n) / variance,
        };
      });
    };
    const point = estimate((j) => total[j]!);
    const used = Array.from({ length: this.batches }, (_, b) => b).filter((b) => cell(b, 0).value() > 0);
    const g = used.length;
    const leaveOut = g < 2 ? [] : used.map((b) => estimate((j) => difference(total[j]!, cell(b, j))));
    const halfWidth = (pick: (e: { first: number; total: number }) => number, i: number) => {
      if (g < 2) return 0;
      const values = leaveOut.map((e) => pick(e[i]!));
      const mean = values.reduce((a, x) => a + x, 0) / g;
      const se = Math.sqrt(((g - 1) / g) * values.reduce((a, x) => a + (x - mean) ** 2, 0));
      return studentT975(g - 1) * se;
    };
    return inputs.map((input, i) => {
      const hf = halfWidth((e) => e.first, i);
      const ht = halfWidth((e) => e.total, i);
      return {
        input,
        first: point[i]!.first,
        firstLo: point[i]!.first - hf,
        firstHi: point[i]!.first + hf,
        total: point[i]!.total,
        totalLo: point[i]!.total - ht,
        totalHi: point[i]!.total + ht,
      };
    });
  }
}

/** a − b, exactly. */
function difference(a: ExactSum, b: ExactSum): ExactSum {
  const out = new ExactSum();
  out.merge(a);
  for (const x of b.toJSON()) out.add(-x);
  return out;
}

/**
 * The sample variance of the N = 2n values f_A and f_B from their exact sums: Σ(f − m)² about the rounded mean
 * m, expanded as Σf² − 2m·Σf + N·m² with every product added exactly, less N·(mean − m)² — so the one rounding
 * is the result's, however far the mean is from zero. (Σf² − (Σf)²/N in doubles cancels catastrophically.)
 */
function pooledVariance(sumA: ExactSum, sumB: ExactSum, squaresA: ExactSum, squaresB: ExactSum, N: number) {
  const sum = new ExactSum();
  sum.merge(sumA);
  sum.merge(sumB);
  const m = sum.value() / N;
  const squares = new ExactSum();
  squares.merge(squaresA);
  squares.merge(squaresB);
  if (!Number.isFinite(m) || !Number.isFinite(squares.value())) return Number.NaN;
  const centred = squares;
  for (const part of sum.canonical()) addProduct(centred, -2 * m, part);
  const mm = m * m;
  addProduct(centred, N, mm);
  addProduct(centred, N, productError(m, m, mm));
  // Σf − N·m: what the rounded mean leaves out.
  const rest = sum;
  addProduct(rest, -N, m);
  const d = rest.value();
  return (centred.value() - (d * d) / N) / (N - 1);
}

/** The 97.5% quantile of Student's t with ν degrees of freedom, through the beta quantile. */
export function studentT975(nu: number): number {
  const x = betaQuantile(0.05, nu / 2, 0.5);
  return Math.sqrt(nu * (1 / x - 1));
}

export interface MorrisEffect {
  input: string;
  /** Mean absolute elementary effect (per unit of the input's uniform scale). */
  muStar: number;
  sigma: number;
}

/** Morris trajectories on a p-level grid: r trajectories, each changing one input at a time by Δ = p/(2(p − 1)). */
export function morrisDesign(
  k: number,
  r: number,
  seed: number,
  levels = 4,
): { points: Float64Array[]; changed: number[] }[] {
  const delta = levels / (2 * (levels - 1));
  return Array.from({ length: r }, (_, t) => {
    const u = (j: number) => hashUniform(seed, t, mix32(j + 101));
    const start = Float64Array.from({ length: k }, (_, i) => Math.floor(u(i) * (levels / 2)) / (levels - 1));
    const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => u(k + a) - u(k + b));
    const points = [start];
    const changed: number[] = [];
    let current = start;
    for (const i of order) {
      const next = Float64Array.from(current);
      next[i] = current[i]! + delta <= 1 ? current[i]! + delta : current[i]! - delta;
      points.push(next);
      changed.push(i);
      current = next;
    }
    return { points, changed };
  });
}

export function morrisEffects(
  inputs: string[],
  trajectories: { points: Float64Array[]; changed: number[] }[],
  outputs: Float64Array[],
): MorrisEffect[] {
  const effects = inputs.map(() => [] as number[]);
  trajectories.forEach((tr, t) => {
    tr.changed.forEach((i, step) => {
      const dx = tr.points[step + 1]![i]! - tr.points[step]![i]!;
      effects[i]!.push((outputs[t]![step + 1]! - outputs[t]![step]!) / dx);
    });
  });
  return inputs.map((input, i) => {
    const e = effects[i]!;
    const mean = e.reduce((s, x) => s + x, 0) / e.length;
    const muStar = e.reduce((s, x) => s + Math.abs(x), 0) / e.length;
    const sigma = Math.sqrt(e.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, e.length - 1));
    return { input, muStar, sigma };
  });
}
