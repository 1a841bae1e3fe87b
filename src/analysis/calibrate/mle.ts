import { normalCdf } from "../../compile/functions.js";
import { quantile } from "../../engine/distributions.js";
import type { PreparedModel } from "../../engine/prepare.js";
import type { PosteriorFile } from "./calibrate.js";
import type { ObservationSeries } from "./observations.js";
import { ParticleFilter } from "./particle-filter.js";
import { uncertainParams } from "./pmmh.js";

/**
 * The maximum-likelihood params (`brink calibrate --mle`): Nelder–Mead (1965) on the particle filter's
 * log-likelihood, in the sampler's normal scores (param i is quantile_i(Φ(z_i)), so a bounded prior's bounds
 * are never crossed; the maximum itself does not depend on the coordinates). It starts from given points (the
 * posterior draws with the highest likelihood) and restarts from its own best point until a restart no longer
 * improves it. For a model that draws no random numbers the filter's likelihood is exact and this is the MLE —
 * for normal noise with a fixed sd, the least-squares fit. For a stochastic model every evaluation uses the
 * same filter call (common random numbers), so the answer is a simulated MLE for that seed.
 */

export interface MleResult {
  /** Each uncertain param's value at the maximum. */
  params: Record<string, number>;
  log_likelihood: number;
  /** Likelihood evaluations used. */
  evaluations: number;
}

/** Filter call of every MLE evaluation, apart from the chains' and the states'. */
const MLE_CALL = 2 ** 32;

export function maximumLikelihood(
  filter: ParticleFilter,
  starts: readonly (readonly number[])[],
  options: { maxEvaluations?: number; tolerance?: number } = {},
): MleResult {
  const params = filter.program.params;
  const free = uncertainParams(params);
  const d = free.length;
  const values = Float64Array.from(params, (q) => (q.dist.kind === "fixed" ? q.dist.value : 0));
  const toValue = (z: readonly number[], i: number) =>
    quantile(params[free[i]!]!.dist, Math.min(1 - 1e-15, Math.max(1e-15, normalCdf(z[i]!))));
  let evaluations = 0;
  const negLogLik = (z: readonly number[]) => {
    evaluations++;
    for (let i = 0; i < d; i++) values[free[i]!] = toValue(z, i);
    const ll = filter.run(values, MLE_CALL).logLikelihood;
    return Number.isFinite(ll) ? -ll : Number.POSITIVE_INFINITY;
  };
  // Normal scores of the starting params: z = Φ⁻¹(F(θ)), by bisection on the quantile function.
  const toScore = (x: number, i: number) => {
    let [lo, hi] = [-8, 8];
    for (let k = 0; k < 60; k++) {
      const mid = (lo + hi) / 2;
      if (quantile(params[free[i]!]!.dist, normalCdf(mid)) < x) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  };
  const maxEvaluations = options.maxEvaluations ?? 4000;
  const tolerance = options.tolerance ?? 1e-10;
  let best = { z: starts.length ? starts[0]!.map(toScore) : new Array<number>(d).fill(0), f: 0 };
  best.f = negLogLik(best.z);
  for (const s of starts.slice(1)) {
    const z = s.map(toScore);
    const f = negLogLik(z);
    if (f < best.f) best = { z, f };
  }
  for (let restart = 0; restart < 10 && evaluations < maxEvaluations; restart++) {
    const next = nelderMead(negLogLik, best.z, 0.5, tolerance, maxEvaluations - evaluations);
    const improved = best.f - next.f;
    if (next.f < best.f) best = next;
    if (!(improved > tolerance)) break;
  }
  return {
    params: Object.fromEntries(free.map((q, i) => [params[q]!.name, toValue(best.z, i)])),
    log_likelihood: -best.f,
    evaluations,
  };
}

/** Nelder–Mead minimisation (standard coefficients: reflect 1, expand 2, contract ½, shrink ½). */
export function nelderMead(
  f: (x: readonly number[]) => number,
  start: readonly number[],
  step: number,
  tolerance: number,
  maxEvaluations: number,
): { z: number[]; f: number } {
  const d = start.length;
  let simplex = [start.slice(), ...start.map((_, i) => start.map((x, j) => (i === j ? x + step : x)))];
  let values = simplex.map(f);
  let used = simplex.length;
  const along = (a: readonly number[], b: readonly number[], t: number) =>
    a.map((x, i) => x + t * (b[i]! - x));
  while (used < maxEvaluations) {
    const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
    simplex = order.map((i) => simplex[i]!);
    values = order.map((i) => values[i]!);
    if (Math.abs(values[d]! - values[0]!) <= tolerance * (1 + Math.abs(values[0]!))) break;
    const centroid = new Array<number>(d).fill(0);
    for (let k = 0; k < d; k++) for (let i = 0; i < d; i++) centroid[i]! += simplex[k]![i]! / d;
    const worst = simplex[d]!;
    const reflected = along(centroid, worst, -1);
    const fr = f(reflected);
    used++;
    if (fr < values[0]!) {
      const expanded = along(centroid, worst, -2);
      const fe = f(expanded);
      used++;
      [simplex[d], values[d]] = fe < fr ? [expanded, fe] : [reflected, fr];
    } else if (fr < values[d - 1]!) {
      [simplex[d], values[d]] = [reflected, fr];
    } else {
      const contracted = fr < values[d]! ? along(centroid, reflected, 0.5) : along(centroid, worst, 0.5);
      const fc = f(contracted);
      used++;
      if (fc < Math.min(fr, values[d]!)) [simplex[d], values[d]] = [contracted, fc];
      else {
        for (let k = 1; k <= d; k++) {
          simplex[k] = along(simplex[0]!, simplex[k]!, 0.5);
          values[k] = f(simplex[k]!);
        }
        used += d;
      }
    }
  }
  const i = values.indexOf(Math.min(...values));
  return { z: simplex[i]!, f: values[i]! };
}

/**
 * The MLE for a PMMH posterior (`brink calibrate --mle`): started from the posterior's median and mean, with the
 * posterior's particles, seed and observations (up to its `until`).
 */
export function posteriorMle(
  model: PreparedModel,
  series: readonly ObservationSeries[],
  post: PosteriorFile,
): MleResult {
  const filter = new ParticleFilter(model, series, {
    particles: post.particles,
    seed: post.seed,
    ...(post.until ? { untilStep: post.until.step } : {}),
    ...(post.lookahead ? { lookahead: post.lookahead } : {}),
  });
  const mean = post.summary.map((s) => s.mean);
  const median = post.summary.map((s) => s.q50);
  return maximumLikelihood(filter, [median, mean]);
}
