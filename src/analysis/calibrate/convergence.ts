import type { BacktestResult } from "./backtest.js";

/**
 * Whether a posterior's chains settled, in one place for every verb that samples one (calibrate, backtest,
 * weigh). Kept free of the samplers so the CLI can format it without loading them.
 */

/**
 * Chains that disagree more than this (split R̂) get a warning wherever a posterior is used: Vehtari et al. (2021),
 * "Rank-normalization, folding, and localization", recommend below 1.01.
 */
export const RHAT_WARN = 1.01;

/** One calibrated origin's convergence, from its posterior's summary (so saved runs read the same). */
export interface OriginConvergence {
  label: string;
  acceptance: number;
  /** The largest split R̂ and the smallest ESS over the origin's params, and the param with that R̂. */
  maxRhat: number;
  worst: string;
  minEss: number;
  /** With adaptive particle numbers: the most particles a chain settled on. */
  particles: number | null;
  ended: number;
}

/**
 * A param's split R̂ as a verdict on its chains: R̂ is NaN when it cannot be computed — chains too short, or
 * stuck (no draw moved, so no within-chain variance) — and such chains have certainly not settled: +Infinity.
 */
export const settledRhat = (rhat: number): number => (Number.isNaN(rhat) ? Number.POSITIVE_INFINITY : rhat);

/** An R̂ as a warning states it. */
export const describeRhat = (rhat: number): string =>
  Number.isFinite(rhat) ? rhat.toFixed(3) : "not computable: stuck or too short chains";

/** Each calibrated origin's convergence, in order; empty with --priors-only (nothing was calibrated). */
export function originConvergence(r: Pick<BacktestResult, "origins">): OriginConvergence[] {
  return r.origins.flatMap((o) => {
    const summary = (o.posterior?.summary ?? []).map((s) => ({ ...s, rhat: settledRhat(s.rhat) }));
    if (!o.posterior || summary.length === 0) return [];
    const worst = summary.reduce((a, s) => (s.rhat > a.rhat ? s : a));
    return [
      {
        label: o.label,
        acceptance: o.posterior.acceptance,
        maxRhat: worst.rhat,
        worst: worst.name,
        // An ESS that cannot be computed (NaN) counts as none.
        minEss: Math.min(...summary.map((s) => (Number.isNaN(s.ess) ? 0 : s.ess))),
        particles: o.posterior.chain_particles?.length ? Math.max(...o.posterior.chain_particles) : null,
        ended: o.ended,
      },
    ];
  });
}

/**
 * A warning when some origin's chains disagree (split R̂ above RHAT_WARN): each such origin's forecasts come from
 * a posterior the sampler had not settled, so its scores carry the sampler's noise (another seed scores
 * differently) as well as the model's skill. Null when every origin converged.
 */
export function convergenceWarning(all: readonly OriginConvergence[]): string | null {
  const bad = all.filter((c) => c.maxRhat > RHAT_WARN);
  if (bad.length === 0) return null;
  const worst = bad.reduce((a, c) => (c.maxRhat > a.maxRhat ? c : a));
  return `the calibration's chains disagree at ${bad.length} of ${all.length} origins (split R-hat above ${RHAT_WARN}; largest ${describeRhat(worst.maxRhat)}, ${worst.worst} at ${worst.label}), so those origins' scores carry the sampler's noise as well as the model's skill (another seed scores them differently): raise --iterations and --burn-in, or add --covariance`;
}
