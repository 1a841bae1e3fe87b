import { normalCdf, normalQuantile } from "../../compile/functions.js";
import type { ParamPlan } from "../../compile/ir.js";
import { quantile } from "../../engine/distributions.js";
import { hashName, hashUniform } from "../../engine/rng.js";
import type { ParticleFilter } from "./particle-filter.js";
import { uncertainParams } from "./pmmh.js";

/**
 * The log marginal likelihood (log evidence) log p(y) = log ∫ L(θ) p(θ) dθ, by importance sampling in the
 * sampler's normal scores z (where the prior is N(0, I)), with the particle filter's unbiased likelihood
 * estimate at each draw. The proposal is fitted to the PMMH draws: a normal with their mean and 1.5² times
 * their covariance, mixed with the prior at 10% ("defensive" importance sampling, Hesterberg 1995) so no
 * weight can exceed 10 L̂(θ) — the estimate Ẑ = mean of L̂(θ)·φ(z)/q(z) is then unbiased with finite variance
 * whenever the likelihood is bounded. Not the harmonic mean of the chain's likelihoods, whose variance can be
 * infinite (Newton & Raftery 1994). The reported error is the delta-method standard error of log Ẑ,
 * sd(w)/(√M·Ẑ), from the weights themselves; the ESS is (Σw)²/Σw².
 */

export interface Evidence {
  method: "importance sampling from a normal fitted to the posterior draws, 10% prior mixture";
  log_marginal_likelihood: number;
  /** Standard error of the log estimate (delta method). */
  se: number;
  draws: number;
  /** Effective sample size of the importance weights. */
  ess: number;
}

const EVIDENCE_KEY = hashName("calibrate:evidence");
/** Filter calls for the evidence are numbered apart from the chains' (below 64·1e7) and the states' (2^31 + k). */
const EVIDENCE_CALL = 2 ** 31 + 2 ** 20;
const PRIOR_SHARE = 0.1;
const INFLATE = 1.5;
const LOG_2PI = Math.log(2 * Math.PI);

/** Lower Cholesky factor of a symmetric positive-definite matrix (a tiny jitter keeps a degenerate one usable). */
function cholesky(a: number[][]): number[][] {
  const d = a.length;
  const l = a.map(() => new Array<number>(d).fill(0));
  for (let i = 0; i < d; i++)
    for (let j = 0; j <= i; j++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= l[i]![k]! * l[j]![k]!;
      l[i]![j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / l[j]![j]!;
    }
  return l;
}

export function estimateEvidence(
  filter: ParticleFilter,
  /** Per chain, the kept draws' normal scores, flat (d per draw), as PMMH keeps them. */
  chainScores: readonly ArrayLike<number>[],
  options: { draws: number; seed: number },
): Evidence | undefined {
  const plan = evidencePlan(filter.program.params, chainScores, options);
  if (!plan) return undefined;
  const P = filter.program.params.length;
  const logLikelihood = plan.calls.map((call, m) =>
    filter.run(plan.params.subarray(m * P, (m + 1) * P), call),
  );
  return evidenceFrom(
    plan,
    logLikelihood.map((r) => r.logLikelihood),
  );
}

/**
 * The log marginal likelihood of the data up to each of the filter's observation steps (`filter.steps` order),
 * from the same importance draws as `estimateEvidence` (whose proposal is fitted to the posterior given all the
 * data used, so earlier steps lean more on the prior share of the mixture: their ESS says how much). `brink
 * weigh` reads it as the evidence's path over time.
 */
export function estimateEvidencePath(
  filter: ParticleFilter,
  chainScores: readonly ArrayLike<number>[],
  options: { draws: number; seed: number },
): Evidence[] | undefined {
  const plan = evidencePlan(filter.program.params, chainScores, options);
  if (!plan) return undefined;
  const P = filter.program.params.length;
  const runs = plan.calls.map((call, m) => filter.run(plan.params.subarray(m * P, (m + 1) * P), call));
  return filter.steps.map((_, k) =>
    evidenceFrom(
      plan,
      runs.map((r) => r.path[k]!),
    ),
  );
}

/**
 * The importance-sampling draws of the evidence estimate: for draw m, the param values to run the filter with
 * (params[m·P … (m+1)·P), P the program's params), its filter call number, and its log prior and log proposal density.
 * The filter calls can then run anywhere (worker threads) before `evidenceFrom` combines them.
 */
export interface EvidencePlan {
  params: Float64Array;
  calls: number[];
  /** log prior and log proposal density at each draw (in normal scores). */
  logPrior: Float64Array;
  logProposal: Float64Array;
}

export function evidencePlan(
  params: readonly ParamPlan[],
  chainScores: readonly ArrayLike<number>[],
  options: { draws: number; seed: number },
): EvidencePlan | undefined {
  const free = uncertainParams(params);
  const d = free.length;
  if (d === 0) return undefined;
  const n = chainScores.reduce((a, c) => a + c.length / d, 0);
  if (n < d + 2 || options.draws < 2) return undefined;
  const mean = new Array<number>(d).fill(0);
  for (const c of chainScores) for (let k = 0; k < c.length; k++) mean[k % d]! += c[k]! / n;
  const cov = mean.map(() => new Array<number>(d).fill(0));
  for (const c of chainScores)
    for (let k = 0; k < c.length; k += d)
      for (let i = 0; i < d; i++)
        for (let j = 0; j < d; j++)
          cov[i]![j]! += (INFLATE ** 2 * (c[k + i]! - mean[i]!) * (c[k + j]! - mean[j]!)) / (n - 1);
  const l = cholesky(cov);
  const logDet = 2 * l.reduce((a, row, i) => a + Math.log(row[i]!), 0);
  /** log N(z; mean, cov), solving L u = z − mean. */
  const logFitted = (z: number[]) => {
    const u = new Array<number>(d).fill(0);
    let q = 0;
    for (let i = 0; i < d; i++) {
      let s = z[i]! - mean[i]!;
      for (let k = 0; k < i; k++) s -= l[i]![k]! * u[k]!;
      u[i] = s / l[i]![i]!;
      q += u[i]! * u[i]!;
    }
    return -0.5 * (q + logDet + d * LOG_2PI);
  };
  const logPrior = (z: number[]) => -0.5 * (z.reduce((a, x) => a + x * x, 0) + d * LOG_2PI);
  const P = params.length;
  const M = options.draws;
  const values = new Float64Array(M * P);
  const logPriors = new Float64Array(M);
  const logProposal = new Float64Array(M);
  const calls: number[] = [];
  for (let m = 0; m < M; m++) {
    const u = (i: number) => hashUniform(options.seed, m, EVIDENCE_KEY, i);
    const g = Array.from({ length: d }, (_, i) => normalQuantile(u(i + 1)));
    const z =
      u(0) < PRIOR_SHARE ? g : mean.map((mu, i) => mu + l[i]!.reduce((a, lik, k) => a + lik * g[k]!, 0));
    params.forEach((q, j) => {
      if (q.dist.kind === "fixed") values[m * P + j] = q.dist.value;
    });
    z.forEach((zi, i) => {
      const p = Math.min(1 - 1e-12, Math.max(1e-12, normalCdf(zi)));
      values[m * P + free[i]!] = quantile(params[free[i]!]!.dist, p);
    });
    const lp = logPrior(z);
    const a = Math.log(PRIOR_SHARE) + lp;
    const b = Math.log(1 - PRIOR_SHARE) + logFitted(z);
    const logQ = Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));
    logPriors[m] = lp;
    logProposal[m] = logQ;
    calls.push(EVIDENCE_CALL + m);
  }
  return { params: values, calls, logPrior: logPriors, logProposal };
}

/** The evidence estimate from the filter's log-likelihood estimate at each of the plan's draws. */
export function evidenceFrom(plan: EvidencePlan, logLikelihood: ArrayLike<number>): Evidence {
  return evidenceOf(
    Array.from(
      { length: plan.calls.length },
      (_, m) => logLikelihood[m]! + plan.logPrior[m]! - plan.logProposal[m]!,
    ),
  );
}

/** The evidence from log weights (one per draw): log of the mean weight, its delta-method error, the ESS. */
export function evidenceOf(logW: readonly number[]): Evidence {
  const M = logW.length;
  const max = Math.max(...logW);
  if (max === Number.NEGATIVE_INFINITY)
    return { method: METHOD, log_marginal_likelihood: max, se: Number.NaN, draws: M, ess: 0 };
  const w = logW.map((x) => Math.exp(x - max));
  const sum = w.reduce((a, b) => a + b, 0);
  const sumSq = w.reduce((a, b) => a + b * b, 0);
  const wMean = sum / M;
  const wVar = (sumSq - M * wMean * wMean) / (M - 1);
  return {
    method: METHOD,
    log_marginal_likelihood: max + Math.log(wMean),
    se: Math.sqrt(Math.max(0, wVar) / M) / wMean,
    draws: M,
    ess: (sum * sum) / sumSq,
  };
}

const METHOD = "importance sampling from a normal fitted to the posterior draws, 10% prior mixture" as const;

/**
 * The evidence of independent factors of a likelihood (factors.ts): their log marginal likelihoods add, and so do
 * the variances of the estimates; null if any factor has none.
 */
export function sumEvidence(parts: readonly (Evidence | null)[]): Evidence | null {
  if (parts.length === 1 || parts.some((p) => p === null)) return parts.length === 1 ? parts[0]! : null;
  const all = parts as Evidence[];
  return {
    method: METHOD,
    log_marginal_likelihood: all.reduce((a, p) => a + p.log_marginal_likelihood, 0),
    se: Math.sqrt(all.reduce((a, p) => a + p.se * p.se, 0)),
    draws: Math.min(...all.map((p) => p.draws)),
    ess: Math.min(...all.map((p) => p.ess)),
  };
}
