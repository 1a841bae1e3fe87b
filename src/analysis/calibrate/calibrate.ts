import type { PreparedModel } from "../../engine/prepare.js";
import { DiagnosticError } from "../../lang/diagnostic.js";
import { dateToDays, isIsoDate, modelTimeToDate, UNIT_DAYS } from "../../model/time.js";
import { calibrateAbc } from "./abc-smc.js";
import { type Evidence, estimateEvidence } from "./evidence.js";
import type { ObservationSeries } from "./observations.js";
import { ParticleFilter } from "./particle-filter.js";
import { type PmmhResult, type PosteriorParam, runPmmhAsync, uncertainParams } from "./pmmh.js";

/** The `brink calibrate` job: the posterior of a model's uncertain params given its observations. */

export interface CalibrateOptions {
  seed: number;
  chains: number;
  iterations: number;
  burnIn: number;
  /** Particles per likelihood estimate; a model that draws nothing needs (and gets) one. */
  particles: number;
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
  /** Called every few iterations; a caller on an event loop yields to it there (progress, Ctrl-C). */
  pause?: () => Promise<void>;
}

/** The posterior file `brink calibrate` writes. */
export interface PosteriorFile {
  brink_posterior: 1;
  model: { file: string; name: string };
  until: { step: number; time: number; date?: string } | null;
  method: "pmmh" | "abc-smc";
  seed: number;
  particles: number;
  chains: number;
  burn_in: number;
  iterations: number;
  observations: { name: string; variable: string; used: number }[];
  partial: boolean;
  acceptance: number;
  /** Per uncertain param: posterior mean, sd, 5/50/95% quantiles, split R̂ and ESS. */
  summary: PosteriorParam[];
  params: string[];
  /** Equally weighted draws, chain after chain: samples[k][i] is param i (of `params`). */
  samples: number[][];
  chain_acceptance: number[];
  /** The log marginal likelihood of the observations used, with its estimator and error; null if not estimated. */
  evidence: Evidence | null;
  /** With `--mle`: the maximum-likelihood params (mle.ts). */
  mle?: { params: Record<string, number>; log_likelihood: number; evaluations: number };
  /** ABC-SMC only: the tolerance schedule, the moves' acceptance by generation, simulations, why it stopped. */
  abc?: { tolerances: (number | null)[]; acceptances: number[]; simulations: number; stopped: string };
  /**
   * The filtered state at `until` (or at the last observation): for posterior draws `draws` (indices into
   * `samples`, evenly spaced), the stocks' values of one particle drawn given the observations.
   */
  state: {
    step: number;
    time: number;
    date?: string;
    stocks: string[];
    draws: number[];
    values: number[][];
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
  const filter = new ParticleFilter(model, series, {
    particles,
    seed: options.seed,
    ...(options.untilStep !== undefined ? { untilStep: options.untilStep } : {}),
  });
  const result: PmmhResult = await runPmmhAsync(
    filter,
    {
      chains: options.chains,
      iterations: options.iterations,
      burnIn: options.burnIn,
      seed: options.seed,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.shouldStop ? { shouldStop: options.shouldStop } : {}),
    },
    options.pause ?? (() => Promise.resolve()),
  );
  const { time } = model.loaded;
  const samples = result.chains.flatMap((c) => c.draws);
  const evidence =
    options.evidenceDraws && !result.partial
      ? (estimateEvidence(
          filter,
          result.chains.map((c) => c.scores),
          { draws: options.evidenceDraws, seed: options.seed },
        ) ?? null)
      : null;
  const lastObserved = filter.steps[filter.steps.length - 1] ?? 0;
  const state = filteredState(model, series, options, particles, samples, options.untilStep ?? lastObserved);
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
  return {
    brink_posterior: 1,
    model: { file, name: model.loaded.spec.name },
    until,
    method: "pmmh",
    seed: options.seed,
    particles,
    chains: options.chains,
    burn_in: options.burnIn,
    iterations: options.iterations,
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
    chain_acceptance: result.chains.map((c) => c.acceptance),
    evidence,
    state,
  };
}

/** The state at `step` for evenly spaced posterior draws: one particle each, from a filter run with its params. */
export function filteredState(
  model: PreparedModel,
  series: readonly ObservationSeries[],
  options: CalibrateOptions,
  particles: number,
  samples: number[][],
  step: number,
): PosteriorFile["state"] {
  const p = model.program;
  const { time } = model.loaded;
  const filter = new ParticleFilter(model, series, {
    particles,
    seed: options.seed,
    stateStep: step,
    ...(options.untilStep !== undefined ? { untilStep: options.untilStep } : {}),
  });
  const free = uncertainParams(p.params);
  const stocks = p.slots.flatMap((s, i) => (s.kind === "stock" ? [{ name: s.name, slot: i }] : []));
  const n = Math.min(STATE_DRAWS, samples.length);
  const draws: number[] = [];
  const values: number[][] = [];
  let ended = 0;
  const params = Float64Array.from(p.params, (q) => (q.dist.kind === "fixed" ? q.dist.value : 0));
  for (let k = 0; k < n; k++) {
    const index = Math.floor((k * samples.length) / n);
    free.forEach((q, i) => {
      params[q] = samples[index]![i]!;
    });
    // Filter calls for states are numbered apart from the chains' (1e7 per chain).
    const slots = filter.sampleState(params, 2 ** 31 + k);
    if (!slots) {
      ended++;
      continue;
    }
    draws.push(index);
    values.push(stocks.map((s) => slots[s.slot]!));
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
    ended,
  };
}
