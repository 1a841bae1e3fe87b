import type { ParamPlan } from "../../compile/ir.js";
import { modelHash } from "../../engine/montecarlo.js";
import type { PreparedModel } from "../../engine/prepare.js";
import { DiagnosticError } from "../../lang/diagnostic.js";
import { dateToDays, isIsoDate, modelTimeToDate, UNIT_DAYS } from "../../model/time.js";
import { calibrateAbc } from "./abc-smc.js";
import {
  type CalibrateJob,
  type CalibratePool,
  CONTROL_FIELDS,
  CONTROL_HEADER_BYTES,
  controlBuffer,
  jobFilterOptions,
} from "./calibrate-task.js";
import { type Evidence, evidenceFrom, evidencePlan, sumEvidence } from "./evidence.js";
import {
  factorFixed,
  factorSeed,
  type LikelihoodFactor,
  likelihoodFactors,
  withFixedParams,
} from "./factors.js";
import type { ObservationSeries } from "./observations.js";
import { ParticleFilter } from "./particle-filter.js";
import {
  Chain,
  combineChains,
  ess,
  NO_POSITIVE_LIKELIHOOD,
  type PmmhResult,
  type PosteriorParam,
  runPmmhInterleaved,
  splitRhat,
  uncertainParams,
  wholeThin,
} from "./pmmh.js";

/** The `brink calibrate` job: the posterior of a model's uncertain params given its observations. */

export interface CalibrateOptions {
  seed: number;
  chains: number;
  iterations: number;
  burnIn: number;
  /** Keep every `thin`-th iteration after burn-in (default 1). */
  thin?: number;
  /**
   * Worker threads for the chains and the filter runs of the state and the evidence (absent: this thread).
   * The posterior is the same either way, for any number of threads.
   */
  pool?: CalibratePool;
  /** Particles per likelihood estimate; a model that draws nothing needs (and gets) one. */
  particles: number;
  /**
   * Adaptive particle numbers: each chain, at half of burn-in, raises its particles so that the sd of the
   * log-likelihood estimate at its params is about this (absent: the particles stay as given), up to
   * `maxParticles` (default 16 × particles).
   */
  targetSd?: number;
  maxParticles?: number;
  /** The particle filter's look-ahead steps inside change periods (FilterOptions.lookahead; absent or 0: none). */
  lookahead?: number;
  /** PMMH: adapt the proposal's full covariance at half of burn-in, not only each param's sd (default false). */
  covariance?: boolean;
  /** Use observations up to this step only. */
  untilStep?: number;
  /** Filter runs for the log marginal likelihood estimate (0 or absent: not estimated). */
  evidenceDraws?: number;
  /** ABC-SMC (entries without a measurement model): the target tolerance (absent: 0) and particles (1000). */
  tolerance?: number;
  abcParticles?: number;
  /** ABC-SMC's progress, after each generation (PMMH's is onProgress). */
  onGeneration?: (generation: number, tolerance: number, ess: number, acceptance: number) => void;
  onProgress?: (chain: number, iteration: number, acceptance: number, ess: () => number) => void;
  shouldStop?: () => boolean;
  /**
   * Called every few iterations when the chains run on this thread; a caller on an event loop yields to it
   * there (progress, Ctrl-C). On a pool this thread is free: progress and stop are polled five times a second.
   */
  pause?: () => Promise<void>;
}

/** The posterior file `brink calibrate` writes. */
export interface PosteriorFile {
  brink_posterior: 1;
  /** `hash`: of the model's text, as summaries hash it; a restart (`brink run --from`) needs the same model. */
  model: { file: string; name: string; hash: string };
  until: { step: number; time: number; date?: string } | null;
  method: "pmmh" | "abc-smc";
  seed: number;
  particles: number;
  /** PMMH with adaptive particle numbers: the target sd of the log-likelihood estimate, and each chain's particles. */
  target_sd?: number;
  chain_particles?: number[];
  /**
   * PMMH with adaptive particle numbers: each chain's sd of the log-likelihood estimate at its particles, as last
   * measured in burn-in (null where it was not finite), which set its step adaptation's target acceptance.
   */
  chain_noise_sd?: (number | null)[];
  /** PMMH: the proposal's full covariance was adapted (absent: each param's sd only). */
  covariance?: boolean;
  /** The particle filter looked ahead this many steps inside change periods (absent: not at all). */
  lookahead?: number;
  chains: number;
  burn_in: number;
  iterations: number;
  /** PMMH: every `thin`-th iteration after burn-in was kept. */
  thin?: number;
  observations: { name: string; variable: string; used: number }[];
  partial: boolean;
  acceptance: number;
  /** Per uncertain param: posterior mean, sd, 5/50/95% quantiles, split R̂ and ESS. */
  summary: PosteriorParam[];
  params: string[];
  /** Equally weighted draws, chain after chain: samples[k][i] is param i (of `params`). */
  samples: number[][];
  /** PMMH: kept draws of each chain (samples holds chain 1's, then chain 2's, …). */
  chain_draws?: number[];
  chain_acceptance: number[];
  /**
   * Convergence over the chains that kept at least 4 draws: the largest split R̂ and the smallest ESS over
   * params (each param's are in `summary`).
   */
  diagnostics?: { max_rhat: number; min_ess: number; chains_used: number };
  /** The log marginal likelihood of the observations used, with its estimator and error; null if not estimated. */
  evidence: Evidence | null;
  /**
   * PMMH on a likelihood that splits into independent factors (factors.ts): each factor's series and params, the
   * seed its chains ran with, their acceptance (and particles), and its evidence; `evidence` is their sum. Absent
   * when the likelihood is one factor.
   */
  factors?: {
    observations: string[];
    params: string[];
    seed: number;
    acceptance: number;
    chain_acceptance: number[];
    chain_particles?: number[];
    chain_noise_sd?: (number | null)[];
    evidence?: Evidence | null;
  }[];
  /** With `--mle`: the maximum-likelihood params (mle.ts). */
  mle?: { params: Record<string, number>; log_likelihood: number; evaluations: number };
  /** ABC-SMC only: the tolerance schedule, the moves' acceptance by generation, simulations, why it stopped. */
  abc?: { tolerances: (number | null)[]; acceptances: number[]; simulations: number; stopped: string };
  /**
   * The filtered state at `until` (or at the last observation): for posterior draws `draws` (indices into
   * `samples`, evenly spaced), the stocks' values of one particle drawn given the observations, and its whole
   * state (`restart`: what a run resumes from — every slot, including delays' and smooths' hidden ones, each
   * event's flags, each previous(x), time and step; `width` numbers, in the pausable kernel's order).
   */
  state: {
    step: number;
    time: number;
    date?: string;
    stocks: string[];
    draws: number[];
    values: number[][];
    width: number;
    restart: number[][];
    /** Draws whose particle's run had ended in an outcome by then (left out of `values`). */
    ended: number;
  };
}

/** At most this many posterior draws get a filtered state. */
const STATE_DRAWS = 1000;

/**
 * The step of `--until`: an ISO date in a dated model, or a model time; undefined (with a reason) when it
 * is neither or lies outside the model's time.
 */
export function untilStep(model: PreparedModel, text: string): { step: number } | { error: string } {
  const { time } = model.loaded;
  let t: number;
  if (isIsoDate(text)) {
    if (time.origin === undefined || time.unit === undefined)
      return { error: `--until ${text} is a date but the model's time is not dated` };
    t = (dateToDays(text) - dateToDays(time.origin)) / UNIT_DAYS[time.unit]!;
  } else if (/^[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?$/.test(text)) t = Number(text);
  else return { error: `--until takes an ISO date (YYYY-MM-DD) or a model time, not '${text}'` };
  const step = Math.floor((t - time.start) / time.dt + 1e-9);
  if (step < 0 || step > time.steps) return { error: `--until ${text} is outside the model's time` };
  return { step };
}

export async function calibrate(
  model: PreparedModel,
  file: string,
  series: readonly ObservationSeries[],
  options: CalibrateOptions,
): Promise<PosteriorFile> {
  const { source } = model.loaded;
  if (series.length === 0)
    throw new DiagnosticError([
      source.error(0, "nothing to calibrate against: the model has no 'observations'"),
    ]);
  if (uncertainParams(model.program.params).length === 0)
    throw new DiagnosticError([
      source.error(0, "nothing to calibrate: the model has no uncertain params (params with a 'dist')"),
    ]);
  // Entries without a measurement model have no likelihood: ABC-SMC (abc-smc.ts).
  if (series.some((s) => s.noise.kind === "none")) return calibrateAbc(model, file, series, options);
  const particles = model.program.randomSites.length === 0 ? 1 : options.particles;
  const factors = likelihoodFactors(model.program, series);
  const progress = factorProgress(options.onProgress, factors.length);
  const plans = factors.map((_, k) => planFactor(model, series, options, particles, factors, k, progress(k)));
  const fits = await fitFactors(model, plans, options);
  const result = fits.length === 1 ? fits[0]!.result : mergeFactors(model.program.params, fits);
  const thin = wholeThin(options.thin);
  const { time } = model.loaded;
  const samples = result.chains.flatMap((c) => c.draws);
  const evidences =
    options.evidenceDraws && !result.partial
      ? await Promise.all(fits.map((fit) => factorEvidence(fit, options)))
      : [];
  const evidence = evidences.length === 0 ? null : sumEvidence(evidences);
  const lastObserved = Math.max(0, ...fits.map((f) => f.filter.steps[f.filter.steps.length - 1] ?? 0));
  const state = await filteredState(
    model,
    series,
    options,
    // The state's filter has as many particles as the chains settled on: a state drawn from fewer is as noisy
    // as the estimate adaptive particle numbers were raised to avoid.
    Math.max(particles, ...result.chains.map((c) => c.particles)),
    samples,
    options.untilStep ?? lastObserved,
  );
  const until =
    options.untilStep === undefined
      ? null
      : {
          step: options.untilStep,
          time: time.start + options.untilStep * time.dt,
          ...(time.origin !== undefined && time.unit !== undefined
            ? { date: modelTimeToDate(time.start + options.untilStep * time.dt, time.origin, time.unit) }
            : {}),
        };
  const used = result.chains.filter((c) => c.kept >= 4);
  return {
    brink_posterior: 1,
    model: { file, name: model.loaded.spec.name, hash: modelHash(model.loaded.source.text) },
    until,
    method: "pmmh",
    seed: options.seed,
    particles,
    ...(options.covariance ? { covariance: true } : {}),
    ...(options.lookahead ? { lookahead: options.lookahead } : {}),
    ...(options.targetSd && particles > 1
      ? {
          target_sd: options.targetSd,
          chain_particles: result.chains.map((c) => c.particles),
          chain_noise_sd: result.chains.map((c) => (Number.isFinite(c.noiseSd) ? c.noiseSd : null)),
        }
      : {}),
    chains: options.chains,
    burn_in: options.burnIn,
    iterations: options.iterations,
    thin,
    observations: series.map((s) => ({
      name: s.name,
      variable: s.variable,
      used: s.points.filter((p) => options.untilStep === undefined || p.step <= options.untilStep).length,
    })),
    partial: result.partial,
    acceptance: result.acceptance,
    summary: result.summary,
    params: result.params,
    samples,
    chain_draws: result.chains.map((c) => c.kept),
    chain_acceptance: result.chains.map((c) => c.acceptance),
    diagnostics: {
      max_rhat: Math.max(...result.params.map((_, i) => splitRhat(used.map((c) => c.column(i))))),
      min_ess: Math.min(...result.params.map((_, i) => ess(used.map((c) => c.column(i))))),
      chains_used: used.length,
    },
    evidence,
    ...(fits.length > 1
      ? {
          factors: fits.map((fit, k) => ({
            observations: fit.series.map((x) => x.name),
            params: fit.result.params,
            seed: fit.seed,
            acceptance: fit.result.acceptance,
            chain_acceptance: fit.result.chains.map((c) => c.acceptance),
            ...(options.targetSd && particles > 1
              ? {
                  chain_particles: fit.result.chains.map((c) => c.particles),
                  chain_noise_sd: fit.result.chains.map((c) =>
                    Number.isFinite(c.noiseSd) ? c.noiseSd : null,
                  ),
                }
              : {}),
            ...(evidences.length ? { evidence: evidences[k]! } : {}),
          })),
        }
      : {}),
    state,
  };
}

/** One factor's PMMH: its own series, its own params free and the rest fixed, its own seed. */
interface FactorPlan {
  model: PreparedModel;
  series: ObservationSeries[];
  seed: number;
  filter: ParticleFilter;
  job: CalibrateJob;
  /** The calibration's options with this factor's seed and progress reporter. */
  options: CalibrateOptions;
}

interface FactorFit extends FactorPlan {
  result: PmmhResult;
}

/**
 * Plan factor k of the likelihood (factors.ts). A single factor is the whole model, run exactly as before; the
 * others get their own seed, so that their chains' random numbers are independent of each other's.
 */
function planFactor(
  whole: PreparedModel,
  allSeries: readonly ObservationSeries[],
  options: CalibrateOptions,
  particles: number,
  factors: readonly LikelihoodFactor[],
  k: number,
  onProgress: CalibrateOptions["onProgress"],
): FactorPlan {
  const factor = factors[k]!;
  const single = factors.length === 1;
  const fixed = single ? [] : factorFixed(whole.program, factor);
  const model = withFixedParams(whole, fixed);
  const series = single ? [...allSeries] : factor.series.map((i) => allSeries[i]!);
  const seed = factorSeed(options.seed, k);
  const own: CalibrateOptions = { ...options, seed, ...(onProgress ? { onProgress } : {}) };
  const job = { ...jobOf(model, series, own, particles), ...(fixed.length ? { fixed } : {}) };
  return {
    model,
    series,
    seed,
    filter: new ParticleFilter(model, series, jobFilterOptions(job)),
    job,
    options: own,
  };
}

/**
 * Every factor's PMMH, their chains woven together so that a stop (Ctrl-C) leaves them all at about the same
 * point and the merged posterior keeps about everything sampled: on this thread iteration by iteration
 * (runPmmhInterleaved), on a pool chain c of every factor queued before chain c + 1 of any. Each factor's draws
 * are the same either way.
 */
async function fitFactors(
  whole: PreparedModel,
  plans: readonly FactorPlan[],
  options: CalibrateOptions,
): Promise<FactorFit[]> {
  const results = await (options.pool
    ? chainsOnPool(plans, options.pool, options)
    : runPmmhInterleaved(
        plans.map((p) => ({
          filter: p.filter,
          options: {
            chains: options.chains,
            iterations: options.iterations,
            burnIn: options.burnIn,
            seed: p.seed,
            thin: wholeThin(options.thin),
            ...(options.covariance ? { covariance: true } : {}),
            ...(p.options.onProgress ? { onProgress: p.options.onProgress } : {}),
            ...(options.shouldStop ? { shouldStop: options.shouldStop } : {}),
          },
        })),
        options.pause ?? (() => Promise.resolve()),
      )
  ).catch((e: unknown) => {
    // Data no prior draw can produce (every particle ended in an outcome, or a density of 0) are the model's.
    if (e instanceof Error && e.message === NO_POSITIVE_LIKELIHOOD)
      throw new DiagnosticError([
        whole.loaded.source.at(
          ["observations"],
          `${NO_POSITIVE_LIKELIHOOD}: each particle's run ended in an outcome before an observation, or gave one a density of 0 — check the observations against the model and its priors`,
        ),
      ]);
    throw e;
  });
  return plans.map((p, k) => ({ ...p, result: results[k]! }));
}

/**
 * Each factor's progress reporter, reporting as the whole calibration's: chain c has done the mean of its
 * iterations over the factors (each factor runs every chain), so a bar fills once, whether the factors run one
 * after another or side by side.
 */
function factorProgress(
  report: CalibrateOptions["onProgress"],
  count: number,
): (k: number) => CalibrateOptions["onProgress"] {
  if (!report || count === 1) return () => report;
  const done = new Map<number, number[]>();
  return (k) => (chain, iteration, acceptance, chainEss) => {
    const row = done.get(chain) ?? new Array<number>(count).fill(-1);
    done.set(chain, row);
    row[k] = iteration;
    const mean = row.reduce((a, x) => a + x + 1, 0) / count;
    report(chain, Math.max(0, Math.floor(mean) - 1), acceptance, chainEss);
  };
}

/**
 * The factors' chains as one posterior: chain c's draw i holds each factor's chain c draw i (the factors are
 * independent, so pairing draws by index samples their product). A stopped run keeps, per chain, the draws every
 * factor has. The estimate at a draw is the sum of the factors' (their likelihoods multiply).
 */
function mergeFactors(params: readonly ParamPlan[], fits: readonly FactorFit[]): PmmhResult {
  const free = uncertainParams(params);
  const column = new Map(free.map((q, i) => [params[q]!.name, i]));
  const width = free.length;
  const chains = fits[0]!.result.chains.map((_, c) => {
    const parts = fits.map((f) => f.result.chains[c]!);
    const kept = Math.min(...parts.map((ch) => ch.kept));
    const values = new Float64Array(kept * width);
    const scores = new Float64Array(kept * width);
    const logLikelihood = new Float64Array(kept);
    parts.forEach((ch, f) => {
      const own = fits[f]!.result.params.map((name) => column.get(name)!);
      for (let d = 0; d < kept; d++) {
        logLikelihood[d]! += ch.logLikelihood[d]!;
        own.forEach((to, from) => {
          values[d * width + to] = ch.values[d * ch.width + from]!;
          scores[d * width + to] = ch.scores[d * ch.width + from]!;
        });
      }
    });
    const noise = parts.map((ch) => ch.noiseSd);
    return new Chain(
      width,
      values,
      scores,
      logLikelihood,
      parts.reduce((a, ch) => a + ch.acceptance, 0) / parts.length,
      // The most particles any factor's filter settled on (the filter of the whole model needs at least those).
      Math.max(...parts.map((ch) => ch.particles)),
      // The sum of independent estimates has the root of the summed variances.
      noise.every(Number.isFinite) ? Math.sqrt(noise.reduce((a, x) => a + x * x, 0)) : Number.NaN,
    );
  });
  return combineChains(
    params,
    chains,
    fits.some((f) => f.result.partial),
  );
}

/** One factor's log marginal likelihood (its params' priors against its series). */
async function factorEvidence(fit: FactorFit, options: CalibrateOptions): Promise<Evidence | null> {
  const plan = evidencePlan(
    fit.model.program.params,
    fit.result.chains.map((c) => c.scores),
    { draws: options.evidenceDraws ?? 0, seed: fit.seed },
  );
  if (!plan) return null;
  const logLikelihood = await filterCalls(
    "likelihoods",
    { job: fit.job, filter: fit.filter, model: fit.model, series: fit.series, options },
    plan.params,
    plan.calls,
  );
  return evidenceFrom(plan, logLikelihood);
}

/** What every worker task of this calibration shares. */
function jobOf(
  model: PreparedModel,
  series: readonly ObservationSeries[],
  options: CalibrateOptions,
  particles: number,
): CalibrateJob {
  return {
    file: model.loaded.source.file,
    text: model.loaded.source.text,
    series: [...series],
    particles,
    seed: options.seed,
    ...(options.untilStep !== undefined ? { untilStep: options.untilStep } : {}),
    ...(options.targetSd ? { targetSd: options.targetSd } : {}),
    ...(options.maxParticles ? { maxParticles: options.maxParticles } : {}),
    ...(options.covariance ? { covariance: true } : {}),
    ...(options.lookahead ? { lookahead: options.lookahead } : {}),
  };
}

/**
 * The factors' chains on worker threads, one task each, queued chain by chain (chain c of every factor before
 * chain c + 1 of any), so that a stop finds the factors' chains equally far. A chain depends only on its job
 * (seed, chain), so each factor's result is the one runPmmh gives on this thread. Progress and the stop request
 * travel through shared memory, one buffer per factor; a stop makes every running chain return what it has kept,
 * a queued one starts stopped, and the results are partial.
 */
async function chainsOnPool(
  plans: readonly FactorPlan[],
  pool: CalibratePool,
  options: CalibrateOptions,
): Promise<PmmhResult[]> {
  const controls = plans.map(() => controlBuffer(options.chains));
  const stops = controls.map((control) => new Int32Array(control, 0, 1));
  const progresses = controls.map((control) => new Float64Array(control, CONTROL_HEADER_BYTES));
  const stopAll = () => {
    for (const stop of stops) Atomics.store(stop, 0, 1);
  };
  const watch = () => {
    if (options.shouldStop?.()) stopAll();
    plans.forEach((plan, k) => {
      const progress = progresses[k]!;
      for (let c = 0; c < options.chains; c++) {
        const done = progress[c * CONTROL_FIELDS]!;
        if (!(done > 0)) continue;
        const e = progress[c * CONTROL_FIELDS + 2]!;
        plan.options.onProgress?.(c, done - 1, progress[c * CONTROL_FIELDS + 1]!, () => e);
      }
    });
  };
  const timer = setInterval(watch, 200);
  try {
    const tasks = plans.map(() => new Array<ReturnType<CalibratePool["run"]>>(options.chains));
    for (let chain = 0; chain < options.chains; chain++)
      plans.forEach((plan, k) => {
        tasks[k]![chain] = pool
          .run({
            kind: "chain",
            job: plan.job,
            chain,
            iterations: options.iterations,
            burnIn: options.burnIn,
            thin: wholeThin(options.thin),
            control: controls[k]!,
          })
          .catch((e: unknown) => {
            // One chain failed: the others stop too, so no thread is left running for a result nobody reads.
            stopAll();
            throw e;
          });
      });
    const results = await Promise.all(tasks.map((t) => Promise.all(t)));
    const stopped = results.some((rs) => rs.some((r) => r.kind === "chain" && r.stopped));
    return results.map((rs, k) => {
      const chains = rs.map((r) => {
        if (r.kind !== "chain") throw new Error("a chain task returned something else");
        return new Chain(
          r.width,
          r.values,
          r.scores,
          r.logLikelihood,
          r.acceptance,
          r.particles,
          r.noiseSd ?? Number.NaN,
        );
      });
      return combineChains(plans[k]!.model.program.params, chains, stopped);
    });
  } finally {
    clearInterval(timer);
  }
}

interface CallContext {
  job: CalibrateJob;
  /** The filter on this thread for these calls (absent: made when needed). */
  filter?: ParticleFilter;
  model: PreparedModel;
  series: readonly ObservationSeries[];
  options: CalibrateOptions;
  stateStep?: number;
}

/** Results of independent filter calls, on the pool in batches (the same numbers as on this thread) or here. */
async function filterCalls(
  kind: "likelihoods",
  context: CallContext,
  params: Float64Array,
  calls: readonly number[],
): Promise<Float64Array>;
async function filterCalls(
  kind: "states",
  context: CallContext,
  params: Float64Array,
  calls: readonly number[],
): Promise<{ states: Float64Array; width: number; found: Uint8Array }>;
async function filterCalls(
  kind: "likelihoods" | "states",
  context: CallContext,
  params: Float64Array,
  calls: readonly number[],
): Promise<Float64Array | { states: Float64Array; width: number; found: Uint8Array }> {
  const { model, options, job, stateStep } = context;
  const P = model.program.params.length;
  const n = calls.length;
  const pool = options.pool;
  if (!pool) {
    const filter =
      context.filter ?? new ParticleFilter(model, context.series, jobFilterOptions(job, stateStep));
    if (kind === "likelihoods")
      return Float64Array.from(
        calls,
        (call, j) => filter.run(params.subarray(j * P, (j + 1) * P), call).logLikelihood,
      );
    const width = filter.stateWidth;
    const states = new Float64Array(n * width).fill(Number.NaN);
    const found = new Uint8Array(n);
    calls.forEach((call, j) => {
      const state = filter.sampleState(params.subarray(j * P, (j + 1) * P), call);
      if (state) {
        states.set(state, j * width);
        found[j] = 1;
      }
    });
    return { states, width, found };
  }
  // A few batches per thread, so threads that finish early take more.
  const batches = Math.max(1, Math.min(n, pool.size * 4));
  const bounds = Array.from({ length: batches + 1 }, (_, b) => Math.floor((b * n) / batches));
  const results = await Promise.all(
    Array.from({ length: batches }, (_, b) =>
      pool.run({
        kind,
        job,
        ...(stateStep !== undefined ? { stateStep } : {}),
        params: params.slice(bounds[b]! * P, bounds[b + 1]! * P),
        calls: Float64Array.from(calls.slice(bounds[b]!, bounds[b + 1]!)),
      }),
    ),
  );
  if (kind === "likelihoods") {
    const out = new Float64Array(n);
    results.forEach((r, b) => {
      if (r.kind !== "likelihoods") throw new Error("a likelihood task returned something else");
      out.set(r.logLikelihood, bounds[b]!);
    });
    return out;
  }
  let width = 0;
  const parts = results.map((r) => {
    if (r.kind !== "states") throw new Error("a state task returned something else");
    width = r.width;
    return r;
  });
  const states = new Float64Array(n * width);
  const found = new Uint8Array(n);
  parts.forEach((r, b) => {
    states.set(r.states, bounds[b]! * width);
    found.set(r.found, bounds[b]!);
  });
  return { states, width, found };
}

/** The state at `step` for evenly spaced posterior draws: one particle each, from a filter run with its params. */
export async function filteredState(
  model: PreparedModel,
  series: readonly ObservationSeries[],
  options: CalibrateOptions,
  particles: number,
  samples: number[][],
  step: number,
): Promise<PosteriorFile["state"]> {
  const job = jobOf(model, series, options, particles);
  const p = model.program;
  const { time } = model.loaded;
  const free = uncertainParams(p.params);
  const stocks = p.slots.flatMap((s, i) => (s.kind === "stock" ? [{ name: s.name, slot: i }] : []));
  const n = Math.min(STATE_DRAWS, samples.length);
  const P = p.params.length;
  const params = new Float64Array(n * P);
  const indices: number[] = [];
  for (let k = 0; k < n; k++) {
    const index = Math.floor((k * samples.length) / n);
    indices.push(index);
    p.params.forEach((q, j) => {
      params[k * P + j] = q.dist.kind === "fixed" ? q.dist.value : 0;
    });
    free.forEach((q, i) => {
      params[k * P + q] = samples[index]![i]!;
    });
  }
  // Filter calls for states are numbered apart from the chains' (1e7 per chain).
  const calls = Array.from({ length: n }, (_, k) => 2 ** 31 + k);
  const { states, width, found } = await filterCalls(
    "states",
    { job, model, series, options, stateStep: step },
    params,
    calls,
  );
  const draws: number[] = [];
  const values: number[][] = [];
  const restart: number[][] = [];
  let ended = 0;
  for (let k = 0; k < n; k++) {
    if (found[k] !== 1) {
      ended++;
      continue;
    }
    const row = states.subarray(k * width, (k + 1) * width);
    draws.push(indices[k]!);
    values.push(stocks.map((s) => row[s.slot]!));
    restart.push(Array.from(row));
  }
  return {
    step,
    time: time.start + step * time.dt,
    ...(time.origin !== undefined && time.unit !== undefined
      ? { date: modelTimeToDate(time.start + step * time.dt, time.origin, time.unit) }
      : {}),
    stocks: stocks.map((s) => s.name),
    draws,
    values,
    width,
    restart,
    ended,
  };
}
