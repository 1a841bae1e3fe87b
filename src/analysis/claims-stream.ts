import { addProduct, ExactSum, ExactSumArray, productError } from "../engine/exactsum.js";
import { RankSketches } from "../engine/sketch.js";
import type { SavedClaimStatistics } from "../engine/summary-file.js";
import type { ClaimAtom, CompiledClaim } from "./claims-compile.js";
import {
  type ClaimResult,
  compares,
  deltaMethodClaim,
  loneQuantile,
  needsRunValues,
  quantileClaim,
} from "./claims-evaluate.js";

/**
 * Claims evaluated from running statistics instead of every run's record, so that their memory does not grow
 * with the runs. Each claim keeps what its interval needs and nothing per run:
 *
 * - terms that are means (P of any scenario, E, P(var at T > x)): the count of runs, the exact sum of each basic
 *   per-run variable (an indicator, a value or a "still going" flag) and the exact sum of each pair's product —
 *   pairs across scenarios included, as the runs of one index share their random numbers. The delta method
 *   then reads the means and their covariance, as it does from records;
 * - a Q term alone against a number: the values in a rank sketch (src/engine/sketch.ts; exact up to its leaf
 *   size, then within its rank bound), whose order statistics give the estimate and interval.
 *
 * Sums are exact (src/engine/exactsum.ts) and the sketch is a function of the run indices it covers, so the
 * statistics, and the verdicts, are the same whatever the chunks, their order or the workers. A Q term combined
 * with anything else needs a paired bootstrap over runs; such claims (`needsRunValues`) keep records instead.
 */

/** One chunk's per-run values of one scenario: end states and probed values, run `start` first. */
export interface ChunkRuns {
  outcome: Int32Array;
  step: Int32Array;
  values: Float64Array[];
}

/** Where a scenario's values are in its chunks. */
export interface ScenarioLayout {
  outcomes: string[];
  /** Index in `ChunkRuns.values` of a probe (tracked index in the scenario being run, save); −1 if absent. */
  probe: (tracked: number, save: number) => number;
}

/** A per-run variable whose mean makes (part of) a term. */
type Basic =
  | { kind: "outcome"; scenario: string | null; index: number; censored: boolean; byStep: number }
  | { kind: "value"; scenario: string | null; probe: number; level: Extract<ClaimAtom, { kind: "L" }> | null }
  | { kind: "going"; scenario: string | null; probe: number };

interface MomentClaim {
  kind: "moments";
  claim: CompiledClaim;
  basics: Basic[];
  /** Indices into `basics` of each atom's numerator (and denominator). */
  atomBasics: number[][];
  /** sums[k] for k < m, then the products of pairs k ≤ l, row by row. */
  sums: ExactSumArray;
  runs: number;
}

interface QuantileClaim {
  kind: "quantile";
  claim: CompiledClaim;
  atom: Extract<ClaimAtom, { kind: "Q" }>;
  probe: number;
  /** The cell of `ClaimStatistics.sketch` holding this claim's values. */
  cell: number;
}

type Plan = MomentClaim | QuantileClaim;

/** Offset of the product sum of basics k ≤ l among `m` basics (after the m plain sums). */
const pairOffset = (m: number, k: number, l: number) => m + k * m - (k * (k - 1)) / 2 + (l - k);

/** Claim statistics as saved in a summary file (see ClaimStatistics.toJSON; the schema is the file's). */
export type ClaimStatisticsJSON = SavedClaimStatistics;

export class ClaimStatistics {
  private readonly plans: Plan[];
  private readonly byId = new Map<string, Plan>();
  /** Values of lone Q terms, one cell per claim. */
  private readonly sketch: RankSketches | null;

  /** `claims` must not need run values (see needsRunValues); `layout` tells where each scenario's values are. */
  constructor(claims: CompiledClaim[], layout: (scenario: string | null) => ScenarioLayout) {
    let cells = 0;
    this.plans = claims.map((claim): Plan => {
      if (needsRunValues(claim)) throw new RangeError(`claim ${claim.id} needs every run's values`);
      const q = loneQuantile(claim);
      if (q) {
        return {
          kind: "quantile",
          claim,
          atom: q,
          probe: layout(q.scenario).probe(q.tracked, q.save),
          cell: cells++,
        };
      }
      const basics: Basic[] = [];
      const atomBasics: number[][] = [];
      for (const atom of claim.atoms) {
        const at = basics.length;
        if (atom.kind === "P") {
          const censored = atom.outcome === "censored";
          const index = censored ? -1 : layout(atom.scenario).outcomes.indexOf(atom.outcome);
          basics.push({ kind: "outcome", scenario: atom.scenario, index, censored, byStep: atom.byStep });
          atomBasics.push([at]);
        } else {
          // E: the mean among runs still going at T; L: the share of them beyond the threshold (a ratio of means).
          const probe = layout(atom.scenario).probe(atom.tracked, atom.save);
          const level = atom.kind === "L" ? atom : null;
          basics.push({ kind: "value", scenario: atom.scenario, probe, level });
          basics.push({ kind: "going", scenario: atom.scenario, probe });
          atomBasics.push([at, at + 1]);
        }
      }
      const m = basics.length;
      return {
        kind: "moments",
        claim,
        basics,
        atomBasics,
        sums: new ExactSumArray(m + (m * (m + 1)) / 2),
        runs: 0,
      };
    });
    for (const plan of this.plans) this.byId.set(plan.claim.id, plan);
    this.sketch = cells > 0 ? new RankSketches(cells) : null;
  }

  /** Fold in runs start … start + count − 1, whose values `runsOf` gives per scenario (index 0 is run start). */
  addChunk(start: number, count: number, runsOf: (scenario: string | null) => ChunkRuns): void {
    for (const plan of this.plans) {
      if (plan.kind === "moments") this.addMoments(plan, count, runsOf);
    }
    const sketch = this.sketch;
    if (!sketch) return;
    const quantiles = this.plans.filter((p): p is QuantileClaim => p.kind === "quantile");
    const columns = quantiles.map((p) => runsOf(p.atom.scenario).values[p.probe]);
    // The sketch takes runs one leaf (an aligned range of run indices) at a time.
    for (let a = start; a < start + count; ) {
      const b = Math.min(start + count, (Math.floor(a / sketch.leafRuns) + 1) * sketch.leafRuns);
      sketch.addRuns(a, b - a, (cell, i) => {
        const x = columns[cell]?.[a - start + i];
        return x === undefined || Number.isNaN(x) ? undefined : x;
      });
      a = b;
    }
  }

  private addMoments(plan: MomentClaim, count: number, runsOf: (scenario: string | null) => ChunkRuns): void {
    const { basics, sums } = plan;
    const m = basics.length;
    const x = new Float64Array(m);
    // An indicator (0 or 1) times anything is exact; only value × value products carry a rounding error.
    const exactProducts = basics.map((b) => b.kind !== "value" || b.level !== null);
    const sources = basics.map((b) => {
      const runs = runsOf(b.scenario);
      return { runs, values: b.kind === "outcome" ? null : (runs.values[b.probe] ?? null) };
    });
    for (let i = 0; i < count; i++) {
      for (let k = 0; k < m; k++) {
        const b = basics[k]!;
        const { runs, values } = sources[k]!;
        if (b.kind === "outcome") {
          // An outcome a scenario removed never happens there.
          x[k] =
            (b.censored || b.index >= 0) &&
            runs.outcome[i] === b.index &&
            (b.index < 0 || runs.step[i]! <= b.byStep)
              ? 1
              : 0;
        } else {
          const v = values ? values[i]! : Number.NaN;
          const going = !Number.isNaN(v);
          x[k] =
            b.kind === "going"
              ? going
                ? 1
                : 0
              : !going
                ? 0
                : b.level
                  ? compares(v, b.level.op, b.level.threshold)
                    ? 1
                    : 0
                  : v;
        }
      }
      for (let k = 0; k < m; k++) {
        const xk = x[k]!;
        if (xk !== 0) sums.add(k, xk);
        for (let l = k; l < m; l++) {
          const xl = x[l]!;
          const p = xk * xl;
          if (p === 0 && xk - xk === 0 && xl - xl === 0) continue;
          const c = pairOffset(m, k, l);
          sums.add(c, p);
          if (!exactProducts[k] && !exactProducts[l] && p - p === 0) {
            const e = productError(xk, xl, p);
            if (e !== 0) sums.add(c, e);
          }
        }
      }
    }
    plan.runs += count;
  }

  /** The claim's verdict, estimate and interval (the claim must be one of those given to the constructor). */
  result(claim: CompiledClaim): ClaimResult {
    const plan = this.byId.get(claim.id);
    if (!plan) throw new RangeError(`claim ${claim.id} has no statistics`);
    if (plan.kind === "quantile") {
      const sketch = this.sketch!;
      const c = plan.cell;
      const n = sketch.counts[c]!;
      // quantile() reads the value of rank ⌊q·(n − 1)⌋; asking half a rank above k lands on k itself.
      const at = (k: number) => (n === 1 ? sketch.min[c]! : sketch.quantile(c, (k + 0.5) / (n - 1)));
      return quantileClaim(claim, n, at, plan.atom.q);
    }
    const { basics, sums, runs: n, atomBasics } = plan;
    const m = basics.length;
    const totals = Array.from({ length: m }, (_, k) => sums.get(k));
    const means = Float64Array.from(totals, (t) => t.value() / n);
    const cov = new Float64Array(m * m);
    for (let k = 0; k < m; k++) {
      for (let l = k; l < m; l++) {
        cov[k * m + l] = cov[l * m + k] =
          centredProductSum(sums.get(pairOffset(m, k, l)), totals[k]!, totals[l]!, means[k]!, means[l]!, n) /
          n /
          n;
      }
    }
    return deltaMethodClaim(claim, {
      n,
      means,
      cov,
      atomValue: (i, mu) => {
        const [a, b] = atomBasics[i]!;
        return b === undefined ? mu[a!]! : mu[a!]! / mu[b]!;
      },
      // As on records: only P terms' indicators get the variance floor (E's and P(var at T > x)'s parts do not).
      indicator: basics.map((b) => b.kind === "outcome"),
    });
  }

  /**
   * The statistics as saved with a summary file (`brink run --save-summary`), so that `brink merge` can decide
   * these claims over the merged runs: each claim's id and check (to refuse statistics of other claims), its run
   * count and exact sums as canonical partials, and the lone-Q sketch.
   */
  toJSON(): ClaimStatisticsJSON {
    const sketch = this.sketch;
    return {
      claims: this.plans.map((plan) => {
        const { id, check } = plan.claim;
        if (plan.kind !== "moments") return { id, check, runs: 0, sums: [] };
        const m = plan.basics.length;
        const size = m + (m * (m + 1)) / 2;
        return {
          id,
          check,
          runs: plan.runs,
          sums: Array.from({ length: size }, (_, c) => plan.sums.get(c).toJSON()),
        };
      }),
      sketch: sketch
        ? {
            nodes: sketch.toJSON(),
            counts: Array.from(sketch.counts),
            min: Array.from(sketch.min, (x) => (Number.isFinite(x) ? x : null)),
            max: Array.from(sketch.max, (x) => (Number.isFinite(x) ? x : null)),
          }
        : null,
    };
  }

  /** Fold in saved statistics of other runs of the same claims; throws a RangeError if they are of other claims. */
  mergeJSON(saved: ClaimStatisticsJSON): void {
    const same =
      saved.claims.length === this.plans.length &&
      saved.claims.every(
        (c, i) => c.id === this.plans[i]!.claim.id && c.check === this.plans[i]!.claim.check,
      );
    if (!same) throw new RangeError("the saved claim statistics are of other claims");
    saved.claims.forEach((c, i) => {
      const plan = this.plans[i]!;
      if (plan.kind !== "moments") return;
      const m = plan.basics.length;
      if (c.sums.length !== m + (m * (m + 1)) / 2)
        throw new RangeError(`claim ${c.id}: saved sums of another shape`);
      plan.runs += c.runs;
      c.sums.forEach((parts, cell) => {
        for (const x of parts) plan.sums.add(cell, x);
      });
    });
    if (this.sketch && saved.sketch) {
      const { nodes, counts, min, max } = saved.sketch;
      this.sketch.mergeJSON(nodes, counts, min, max);
    } else if (this.sketch || saved.sketch)
      throw new RangeError("the saved claim statistics are of other claims");
  }

  /**
   * Statistics that only merge saved ones and give results (what `brink merge` needs): with no runs to fold in,
   * the claims' outcome and probe positions in each scenario are not needed.
   */
  static forMerging(claims: CompiledClaim[]): ClaimStatistics {
    return new ClaimStatistics(claims, () => ({ outcomes: [], probe: () => -1 }));
  }

  /**
   * Everything these statistics hold, in canonical form (exact sums as their canonical partials, the sketch's
   * nodes in order): the same list for the same runs however they were chunked, and its length is the memory
   * the statistics keep.
   */
  state(): number[] {
    const out: number[] = [];
    for (const plan of this.plans) {
      if (plan.kind !== "moments") continue;
      out.push(plan.runs);
      const size = plan.basics.length + (plan.basics.length * (plan.basics.length + 1)) / 2;
      for (let c = 0; c < size; c++) {
        const parts = plan.sums.get(c).toJSON();
        out.push(parts.length, ...parts);
      }
    }
    if (this.sketch) {
      const j = this.sketch.toJSON();
      out.push(...this.sketch.counts, ...this.sketch.min, ...this.sketch.max);
      for (const node of j.nodes) {
        out.push(node.level, node.index, node.runs);
        for (const c of node.cells) out.push(c.values.length, ...c.values, ...(c.weights ?? []));
      }
    }
    return out;
  }
}

/**
 * Σ (x − mx)(y − my) over the runs, from the exact sums Σxy, Σx and Σy and the rounded means: expanded as
 * Σxy − my·Σx − mx·Σy + n·mx·my and every product added exactly, so the one rounding is the result's.
 */
function centredProductSum(
  xy: ExactSum,
  x: ExactSum,
  y: ExactSum,
  mx: number,
  my: number,
  n: number,
): number {
  if (!Number.isFinite(mx) || !Number.isFinite(my) || !Number.isFinite(xy.value())) return Number.NaN;
  const sum = new ExactSum();
  sum.merge(xy);
  for (const part of x.canonical()) addProduct(sum, -my, part);
  for (const part of y.canonical()) addProduct(sum, -mx, part);
  const p = mx * my;
  addProduct(sum, n, p);
  addProduct(sum, n, productError(mx, my, p));
  return sum.value();
}
