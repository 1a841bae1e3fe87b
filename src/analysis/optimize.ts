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

/** Known points every search evaluates first: the model's own decision values and every lever at its lower bound. */
export interface Anchors {
  defaults: Evaluated;
  lowerBounds: Evaluated;
}

/**
 * Maximise the objective subject to the constraints. `evaluate` runs one candidate (a value per decision);
 * results are cached by candidate, so rerunning with other bounds (a frontier) reuses every evaluation.
 *
 * The search starts from points that are often feasible — the model's own values, every lever at its lower
 * bound (for a chance constraint on harm, usually the safest plan), and every lever at its upper bound — and
 * ranks candidates feasibility-first. Cross-entropy iterations then move a sampling distribution toward the
 * best; candidates are clipped to the bounds, so corners are reachable. A final pattern search polishes the
 * best feasible plan lever by lever with halving steps, and when a step crosses a chance constraint it bisects
 * back toward the feasible side, so the answer sits at the constraint's edge rather than somewhere inside it.
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
  /** Most evaluations for the final pattern search (default: twice the cross-entropy phase's). */
  polishEvaluations?: number;
  onProgress?: (p: OptimizeProgress) => void;
}): Promise<{ best?: Evaluated; closest: Evaluated; evaluations: Evaluated[]; anchors: Anchors }> {
  const { decisions, constraints } = args;
  const k = decisions.length;
  const iterations = args.iterations ?? 8;
  const m = args.candidates ?? 10;
  const elite = Math.max(2, Math.ceil(m * (args.eliteFraction ?? 0.3)));
  const seed = args.seed ?? 1;
  const cache = args.cache ?? new Map<string, CandidateResult>();
  const clip = (x: number) => Math.min(1, Math.max(0, x));
  const toValues = (z: ArrayLike<number>) =>
    Object.fromEntries(
      decisions.map((d, i) => {
        const x = d.min + clip(z[i]!) * (d.max - d.min);
        return [d.name, d.integer ? Math.round(x) : Number(x.toPrecision(6))];
      }),
    );
  const toZ = (values: Record<string, number>) =>
    Float64Array.from(decisions, (d) => (d.max > d.min ? (values[d.name]! - d.min) / (d.max - d.min) : 0.5));
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
  const evaluate = async (values: Record<string, number>): Promise<Evaluated> => {
    const key = JSON.stringify(values);
    let result = cache.get(key);
    if (!result) {
      result = await args.evaluate(values);
      cache.set(key, result);
    }
    const e: Evaluated = { values, result, ...judge(result, constraints) };
    all.push(e);
    if (e.feasible && (!best || result.objective > best.result.objective)) best = e;
    if (!closest || rank(e, closest) < 0) closest = e;
    return e;
  };
  const progress = (iteration: number, total: number) =>
    args.onProgress?.({ iteration, iterations: total, evaluations: all.length, ...(best ? { best } : {}) });

  const starts = [
    toValues(
      Float64Array.from(decisions, (d) => (d.max > d.min ? (d.start - d.min) / (d.max - d.min) : 0.5)),
    ),
    toValues(new Float64Array(k)),
    toValues(new Float64Array(k).fill(1)),
  ];
  const [defaults, lowerBounds] = [await evaluate(starts[0]!), await evaluate(starts[1]!)];
  const firstBatch: Evaluated[] = [defaults, lowerBounds];
  if (JSON.stringify(starts[2]) !== JSON.stringify(starts[1])) firstBatch.push(await evaluate(starts[2]!));
  let mean = toZ(defaults.values);
  let sd = new Float64Array(k).fill(0.3);
  const polishRounds = 1;
  for (let it = 0; it < iterations; it++) {
    const batch: Evaluated[] = it === 0 ? [...firstBatch] : [];
    for (let c = batch.length; c < m; c++) {
      // Candidate 0 of later iterations is the current mean, so the search never loses its centre.
      const z = Float64Array.from({ length: k }, (_, i) =>
        c === 0
          ? mean[i]!
          : mean[i]! + sd[i]! * normalQuantile(hashUniform(seed, it * 1009 + c, mix32(i + 17))),
      );
      batch.push(await evaluate(toValues(z)));
    }
    const top = [...batch].sort(rank).slice(0, elite);
    const zs = top.map((e) => toZ(e.values));
    const newMean = Float64Array.from({ length: k }, (_, i) => zs.reduce((s, z) => s + z[i]!, 0) / zs.length);
    const newSd = Float64Array.from({ length: k }, (_, i) =>
      Math.sqrt(zs.reduce((s, z) => s + (z[i]! - newMean[i]!) ** 2, 0) / zs.length),
    );
    // Smoothed updates keep the search from collapsing on one lucky batch.
    mean = Float64Array.from(mean, (x, i) => 0.3 * x + 0.7 * newMean[i]!);
    sd = Float64Array.from(sd, (x, i) => Math.max(0.02, 0.3 * x + 0.7 * newSd[i]!));
    progress(it + 1, iterations + polishRounds);
  }

  // Pattern search from the best feasible plan: lever by lever, up and down by `step` (in units of the lever's
  // range), keeping a move only when it stays feasible and improves the objective. A move that improves the
  // objective but crosses a constraint is shrunk back toward the feasible side — either the moved lever itself
  // (bisected back) or another lever lowered just enough to pay for it (an exchange: more of a safe lever, less
  // of a risky one) — so the answer ends at the constraint's edge, corners included.
  const budget = all.length + (args.polishEvaluations ?? Math.max(8 * k, 2 * iterations * m));
  const key = (v: Record<string, number>) => JSON.stringify(v);
  /** Bisect lever j of `z` between a feasible value and an infeasible one; the feasible end found, if any. */
  const bisect = async (z: Float64Array, j: number, inside: number, outside: number) => {
    let found: Evaluated | undefined;
    for (let b = 0; b < 3 && all.length < budget; b++) {
      const mid = Float64Array.from(z);
      mid[j] = (inside + outside) / 2;
      const e = await evaluate(toValues(mid));
      if (e.feasible) {
        inside = mid[j]!;
        found = e;
      } else outside = mid[j]!;
    }
    return found;
  };
  for (let step = 0.25; best && step >= 1 / 64 && all.length < budget; ) {
    let improved = false;
    for (let i = 0; i < k && all.length < budget; i++) {
      for (const dir of [1, -1]) {
        const from: Evaluated = best;
        const z = toZ(from.values);
        const before = z[i]!;
        z[i] = clip(before + dir * step);
        if (key(toValues(z)) === key(from.values)) continue;
        const trial = await evaluate(toValues(z));
        if (!trial.feasible && trial.result.objective > from.result.objective) {
          await bisect(z, i, before, z[i]!);
          for (let j = 0; j < k && all.length < budget; j++) {
            if (j === i || z[j]! <= 0) continue;
            const lowered = Float64Array.from(z);
            lowered[j] = 0;
            if (!(await evaluate(toValues(lowered))).feasible) continue;
            await bisect(z, j, 0, z[j]!);
          }
        }
        if (best !== from) {
          improved = true;
          break;
        }
      }
    }
    if (!improved) step /= 2;
  }
  progress(iterations + polishRounds, iterations + polishRounds);
  return {
    ...(best ? { best } : {}),
    closest: closest!,
    evaluations: all,
    anchors: { defaults, lowerBounds },
  };
}
