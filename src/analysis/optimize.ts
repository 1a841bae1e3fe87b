/**
 * Chance-constrained stochastic optimisation by the cross-entropy method. Why CEM: decision spaces here are
 * small (a handful of rule parameters or schedule steps), every evaluation is a noisy Monte Carlo estimate, and
 * CEM needs only a ranking of candidates — robust to noise, no gradients, trivially deterministic for a seed.
 * Every candidate is judged on the same run indices (common random numbers), so differences between candidates
 * are not drowned by run noise, and a constraint counts as met only when its whole 95% interval is on the right
 * side of its bound.
 */
import { normalQuantile } from "../compile/functions.js";
import { hashUniform, mix32 } from "../engine/rng.js";

export interface DecisionVariable {
  name: string;
  min: number;
  max: number;
  integer: boolean;
  start: number;
}

/** How a candidate fared: the objective's estimate and, for each constraint, its verdict and interval. */
export interface CandidateResult {
  objective: number;
  objectiveLo: number;
  objectiveHi: number;
  constraints: { estimate: number; lo: number; hi: number }[];
}

export interface Constraint {
  /** The constrained quantity must be `op` the bound with 95% confidence. */
  op: "<=" | ">=";
  bound: number;
}

export interface Evaluated {
  values: Record<string, number>;
  result: CandidateResult;
  feasible: boolean;
  /** How far the worst constraint's interval is on the wrong side of its bound (0 when feasible). */
  violation: number;
}

export interface OptimizeProgress {
  iteration: number;
  iterations: number;
  evaluations: number;
  best?: Evaluated;
}

export function judge(
  result: CandidateResult,
  constraints: Constraint[],
): { feasible: boolean; violation: number } {
  let violation = 0;
  constraints.forEach((c, i) => {
    const r = result.constraints[i]!;
    const v = c.op === "<=" ? r.hi - c.bound : c.bound - r.lo;
    violation = Math.max(violation, v);
  });
  return { feasible: violation <= 0, violation: Math.max(0, violation) };
}

/**
 * Maximise the objective subject to the constraints. `evaluate` runs one candidate (a value per decision);
 * results are cached by candidate, so rerunning with other bounds (a frontier) reuses every evaluation.
 */
export async function crossEntropyMaximize(args: {
  decisions: DecisionVariable[];
  constraints: Constraint[];
  evaluate: (values: Record<string, number>) => Promise<CandidateResult>;
  cache?: Map<string, CandidateResult>;
  iterations?: number;
  candidates?: number;
  eliteFraction?: number;
  seed?: number;
  onProgress?: (p: OptimizeProgress) => void;
}): Promise<{ best?: Evaluated; closest: Evaluated; evaluations: Evaluated[] }> {
  const { decisions, constraints } = args;
  const k = decisions.length;
  const iterations = args.iterations ?? 8;
  const m = args.candidates ?? 10;
  const elite = Math.max(2, Math.ceil(m * (args.eliteFraction ?? 0.3)));
  const seed = args.seed ?? 1;
  const cache = args.cache ?? new Map<string, CandidateResult>();
  const toValues = (z: Float64Array) =>
    Object.fromEntries(
      decisions.map((d, i) => {
        const x = d.min + Math.min(1, Math.max(0, z[i]!)) * (d.max - d.min);
        return [d.name, d.integer ? Math.round(x) : Number(x.toPrecision(6))];
      }),
    );
  let mean = Float64Array.from(decisions, (d) => (d.max > d.min ? (d.start - d.min) / (d.max - d.min) : 0.5));
  let sd = new Float64Array(k).fill(0.3);
  const all: Evaluated[] = [];
  let best: Evaluated | undefined;
  let closest: Evaluated | undefined;
  const rank = (a: Evaluated, b: Evaluated) =>
    a.feasible !== b.feasible
      ? a.feasible
        ? -1
        : 1
      : a.feasible
        ? b.result.objective - a.result.objective
        : a.violation - b.violation;
  for (let it = 0; it < iterations; it++) {
    const batch: Evaluated[] = [];
    for (let c = 0; c < m; c++) {
      // Candidate 0 is the current mean, so the search never loses its centre.
      const z = Float64Array.from({ length: k }, (_, i) =>
        c === 0
          ? mean[i]!
          : mean[i]! + sd[i]! * normalQuantile(hashUniform(seed, it * 1009 + c, mix32(i + 17))),
      );
      const values = toValues(z);
      const key = JSON.stringify(values);
      let result = cache.get(key);
      if (!result) {
        result = await args.evaluate(values);
        cache.set(key, result);
      }
      const j = judge(result, constraints);
      const e: Evaluated = { values, result, ...j };
      batch.push(e);
      all.push(e);
      if (j.feasible && (!best || result.objective > best.result.objective)) best = e;
      if (!closest || rank(e, closest) < 0) closest = e;
    }
    const top = [...batch].sort(rank).slice(0, elite);
    const zs = top.map((e) =>
      Float64Array.from(decisions, (d) =>
        d.max > d.min ? (e.values[d.name]! - d.min) / (d.max - d.min) : 0.5,
      ),
    );
    const newMean = Float64Array.from({ length: k }, (_, i) => zs.reduce((s, z) => s + z[i]!, 0) / zs.length);
    const newSd = Float64Array.from({ length: k }, (_, i) =>
      Math.sqrt(zs.reduce((s, z) => s + (z[i]! - newMean[i]!) ** 2, 0) / zs.length),
    );
    // Smoothed updates keep the search from collapsing on one lucky batch.
    mean = Float64Array.from(mean, (x, i) => 0.3 * x + 0.7 * newMean[i]!);
    sd = Float64Array.from(sd, (x, i) => Math.max(0.02, 0.3 * x + 0.7 * newSd[i]!));
    args.onProgress?.({ iteration: it + 1, iterations, evaluations: all.length, ...(best ? { best } : {}) });
  }
  return { ...(best ? { best } : {}), closest: closest!, evaluations: all };
}
