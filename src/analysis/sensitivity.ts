/**
 * Global sensitivity analysis, pure: designs and estimators, with the model evaluation passed in.
 * Variance-based indices use Saltelli's design (matrices A, B and A with column i from B) and Jansen's
 * estimators; intervals come from a seeded bootstrap over design rows. Morris screening gives μ* and σ of
 * elementary effects for models with many inputs.
 */
import { hashUniform, mix32 } from "../engine/rng.js";

export interface SobolIndex {
  input: string;
  first: number;
  firstLo: number;
  firstHi: number;
  total: number;
  totalLo: number;
  totalHi: number;
}

/** Uniform design matrices A and B, N × k, from the seeded hash (reproducible for a seed). */
export function saltelliDesign(n: number, k: number, seed: number): { A: Float64Array[]; B: Float64Array[] } {
  const row = (r: number, which: number) =>
    Float64Array.from({ length: k }, (_, i) => hashUniform(seed, r, mix32(which * 7919 + i + 1)));
  return {
    A: Array.from({ length: n }, (_, r) => row(r, 1)),
    B: Array.from({ length: n }, (_, r) => row(r, 2)),
  };
}

/**
 * First- and total-order Sobol indices from outputs fA, fB (length N) and fAB[i] (A with column i from B):
 * V_i = V − ½·mean((fB − fABi)²) (Jansen), S1 = V_i / V, ST = ½·mean((fA − fABi)²) / V.
 */
export function sobolIndices(
  inputs: string[],
  fA: Float64Array,
  fB: Float64Array,
  fAB: Float64Array[],
  options: { bootstrap?: number; seed?: number } = {},
): SobolIndex[] {
  const n = fA.length;
  const estimate = (rows: Int32Array) => {
    let mean = 0;
    for (const r of rows) mean += fA[r]! + fB[r]!;
    mean /= 2 * rows.length;
    let variance = 0;
    for (const r of rows) variance += (fA[r]! - mean) ** 2 + (fB[r]! - mean) ** 2;
    variance /= 2 * rows.length - 1;
    return inputs.map((_, i) => {
      let a = 0;
      let b = 0;
      const ab = fAB[i]!;
      for (const r of rows) {
        a += (fB[r]! - ab[r]!) ** 2;
        b += (fA[r]! - ab[r]!) ** 2;
      }
      a /= 2 * rows.length;
      b /= 2 * rows.length;
      // An output that (almost) never varies has no variance to apportion: report zeros, not noise.
      return variance > 1e-12
        ? { first: (variance - a) / variance, total: b / variance }
        : { first: 0, total: 0 };
    });
  };
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const point = estimate(all);
  const B = options.bootstrap ?? 500;
  const seed = options.seed ?? 1;
  const firsts = inputs.map(() => new Float64Array(B));
  const totals = inputs.map(() => new Float64Array(B));
  for (let b = 0; b < B; b++) {
    const rows = Int32Array.from({ length: n }, (_, i) =>
      Math.floor(hashUniform(seed, b, mix32(i + 0x5bd1e995)) * n),
    );
    estimate(rows).forEach((e, i) => {
      firsts[i]![b] = e.first;
      totals[i]![b] = e.total;
    });
  }
  const pct = (xs: Float64Array, q: number) => {
    const s = Float64Array.from(xs).sort();
    return s[Math.min(s.length - 1, Math.max(0, Math.floor(q * (s.length - 1))))]!;
  };
  return inputs.map((input, i) => ({
    input,
    first: point[i]!.first,
    firstLo: pct(firsts[i]!, 0.025),
    firstHi: pct(firsts[i]!, 0.975),
    total: point[i]!.total,
    totalLo: pct(totals[i]!, 0.025),
    totalHi: pct(totals[i]!, 0.975),
  }));
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
