import { type PreparedModel, prepareModel } from "../../engine/prepare.js";
import { withFixedParams } from "./factors.js";
import type { ObservationSeries } from "./observations.js";
import { type FilterOptions, ParticleFilter } from "./particle-filter.js";
import { runChain } from "./pmmh.js";

/**
 * The calibration work a worker thread does: one PMMH chain, or a batch of particle-filter calls (filtered
 * states, likelihood estimates). Every result depends only on the task (seed, chain, call numbers), never on
 * which thread ran it or what it ran before, so a calibration gives the same posterior on any number of
 * workers. Pure: the Node worker entry (src/node/calibrate-worker.ts) only forwards tasks here.
 */

/** What every task of one calibration shares: the model, its observations and the filter's settings. */
export interface CalibrateJob {
  file: string;
  text: string;
  series: ObservationSeries[];
  particles: number;
  seed: number;
  untilStep?: number;
  /** PMMH: adapt the proposal's full covariance (not only each param's sd). */
  covariance?: boolean;
  /** Adaptive particle numbers: the target sd of the log-likelihood estimate, and the most particles. */
  targetSd?: number;
  maxParticles?: number;
  /** The particle filter's look-ahead steps inside change periods (FilterOptions.lookahead). */
  lookahead?: number;
  /** One factor of a split likelihood (factors.ts): the params fixed for it, as (param index, value). */
  fixed?: [number, number][];
}

/**
 * Shared progress and stop flag of a job's chains: Int32 0 is the stop flag (1: stop); from byte 8, three
 * Float64 per chain: iterations done, acceptance so far, the chain's smallest ESS (NaN until known).
 */
export const CONTROL_HEADER_BYTES = 8;
export const CONTROL_FIELDS = 3;

export function controlBuffer(chains: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(CONTROL_HEADER_BYTES + 8 * CONTROL_FIELDS * chains);
  new Float64Array(buffer, CONTROL_HEADER_BYTES).fill(Number.NaN);
  return buffer;
}

export interface ChainTask {
  kind: "chain";
  job: CalibrateJob;
  chain: number;
  iterations: number;
  burnIn: number;
  thin: number;
  control: SharedArrayBuffer | null;
}

/** Filter calls `calls[j]` with param values `params[j·P … (j+1)·P)` (P = the program's params). */
export interface FilterCallsTask {
  kind: "states" | "likelihoods";
  job: CalibrateJob;
  /** For states: the step whose filtered state is drawn. */
  stateStep?: number;
  params: Float64Array;
  calls: Float64Array;
}

/**
 * Backtest forecasts: for each call, a filter run on the data up to the origin with that row's params, one
 * particle of it at `stateStep` run on to `toStep`, and its values at `wanted` (see ParticleFilter.forecast).
 */
export interface ForecastTask {
  kind: "forecasts";
  job: CalibrateJob;
  stateStep: number;
  recordSteps: number[];
  toStep: number;
  wanted: { track: number; step: number }[];
  params: Float64Array;
  calls: Float64Array;
}

export type CalibrateTask = ChainTask | FilterCallsTask | ForecastTask;

export interface ChainTaskResult {
  kind: "chain";
  width: number;
  values: Float64Array;
  scores: Float64Array;
  logLikelihood: Float64Array;
  acceptance: number;
  /** Particles per estimate after burn-in (adaptive particle numbers may raise them). */
  particles: number;
  /** The sd of the log-likelihood estimate last measured in burn-in (absent: not measured). */
  noiseSd?: number;
  stopped: boolean;
}

export interface StatesTaskResult {
  kind: "states";
  /** Per call, the drawn particle's whole paused state (pausedStateLength − 1 numbers), or NaNs when none. */
  states: Float64Array;
  width: number;
  /** 1 where a state was drawn; 0 where the estimate was 0 or the particle's run had ended. */
  found: Uint8Array;
}

export interface LikelihoodsTaskResult {
  kind: "likelihoods";
  logLikelihood: Float64Array;
}

export interface ForecastsTaskResult {
  kind: "forecasts";
  /** Per call, its `wanted` values (NaN where none). */
  paths: Float64Array;
  /** 1 where the call gave a path; 0 where the estimate was 0 or the particle's run had ended. */
  found: Uint8Array;
}

export type CalibrateTaskResult =
  | ChainTaskResult
  | StatesTaskResult
  | LikelihoodsTaskResult
  | ForecastsTaskResult;

/** Where calibration tasks run: worker threads (src/node/calibrate-pool.ts), or absent (this thread). */
export interface CalibratePool {
  /** Threads: tasks are split so that each has work. */
  size: number;
  run(task: CalibrateTask): Promise<CalibrateTaskResult>;
}

/**
 * The particle filter's settings for a job: every filter a calibration builds (its chains', its evidence's and
 * states', a backtest's forecasts; here or on a worker) comes from these, with the step of a state or forecast
 * and the steps it records.
 */
export function jobFilterOptions(
  job: CalibrateJob,
  stateStep?: number,
  recordSteps?: readonly number[],
): FilterOptions {
  return {
    particles: job.particles,
    seed: job.seed,
    ...(job.untilStep !== undefined ? { untilStep: job.untilStep } : {}),
    ...(job.targetSd ? { targetSd: job.targetSd } : {}),
    ...(job.maxParticles ? { maxParticles: job.maxParticles } : {}),
    ...(job.lookahead ? { lookahead: job.lookahead } : {}),
    ...(stateStep !== undefined ? { stateStep } : {}),
    ...(recordSteps ? { recordSteps } : {}),
  };
}

// A worker keeps the last job's model and filters for its later tasks.
let cachedKey = "";
let cachedText = "";
let cachedSource: PreparedModel | undefined;
let cachedModel: PreparedModel | undefined;
const cachedFilters = new Map<string, ParticleFilter>();

function filterFor(job: CalibrateJob, stateStep?: number, recordSteps?: readonly number[]): ParticleFilter {
  const text = `${job.file}\u0000${job.text}`;
  const key = `${text}\u0000${JSON.stringify(job.fixed ?? [])}`;
  if (key !== cachedKey || !cachedModel) {
    // Factors of one calibration share the model text: it is compiled once.
    if (text !== cachedText || !cachedSource) cachedSource = prepareModel(job.file, job.text);
    cachedText = text;
    cachedModel = withFixedParams(cachedSource, job.fixed ?? []);
    cachedKey = key;
    cachedFilters.clear();
  }
  const filterKey = JSON.stringify([
    // The series whole (names, noise, points): a long-lived worker may see the same model with other data.
    job.series,
    job.particles,
    job.seed,
    job.untilStep ?? null,
    job.targetSd ?? 0,
    job.maxParticles ?? null,
    job.lookahead ?? 0,
    stateStep ?? null,
    recordSteps ?? null,
  ]);
  let filter = cachedFilters.get(filterKey);
  if (!filter) {
    filter = new ParticleFilter(cachedModel, job.series, jobFilterOptions(job, stateStep, recordSteps));
    cachedFilters.set(filterKey, filter);
  }
  return filter;
}

export function runCalibrateTask(task: CalibrateTask): CalibrateTaskResult {
  if (task.kind === "chain") return chainTask(task);
  if (task.kind === "forecasts") return forecastTask(task);
  const filter = filterFor(task.job, task.stateStep);
  const P = filter.program.params.length;
  const n = task.calls.length;
  if (task.kind === "likelihoods") {
    const logLikelihood = new Float64Array(n);
    for (let j = 0; j < n; j++)
      logLikelihood[j] = filter.run(task.params.subarray(j * P, (j + 1) * P), task.calls[j]!).logLikelihood;
    return { kind: "likelihoods", logLikelihood };
  }
  const width = filter.stateWidth;
  const states = new Float64Array(n * width).fill(Number.NaN);
  const found = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const state = filter.sampleState(task.params.subarray(j * P, (j + 1) * P), task.calls[j]!);
    if (!state) continue;
    states.set(state, j * width);
    found[j] = 1;
  }
  return { kind: "states", states, width, found };
}

function chainTask(task: ChainTask): ChainTaskResult {
  const filter = filterFor(task.job);
  const stop = task.control ? new Int32Array(task.control, 0, 1) : null;
  const progress = task.control
    ? new Float64Array(task.control, CONTROL_HEADER_BYTES + 8 * CONTROL_FIELDS * task.chain, CONTROL_FIELDS)
    : null;
  const { chain, stopped } = runChain(filter, {
    chain: task.chain,
    iterations: task.iterations,
    burnIn: task.burnIn,
    seed: task.job.seed,
    thin: task.thin,
    ...(task.job.covariance ? { covariance: true } : {}),
    ...(stop ? { shouldStop: () => Atomics.load(stop, 0) !== 0 } : {}),
    ...(progress
      ? {
          onProgress: (iteration: number, acceptance: number, ess: () => number) => {
            progress[0] = iteration + 1;
            progress[1] = acceptance;
            // The ESS is recomputed only when the chain has grown by a tenth; asking every 50 is cheap.
            if (iteration % 50 === 49 && iteration >= task.burnIn) progress[2] = ess();
          },
        }
      : {}),
  });
  return {
    kind: "chain",
    width: chain.width,
    values: chain.values.slice(),
    scores: chain.scores.slice(),
    logLikelihood: chain.logLikelihood.slice(),
    acceptance: chain.acceptance,
    particles: chain.particles,
    ...(Number.isFinite(chain.noiseSd) ? { noiseSd: chain.noiseSd } : {}),
    stopped,
  };
}

function forecastTask(task: ForecastTask): ForecastsTaskResult {
  const filter = filterFor(task.job, task.stateStep, task.recordSteps);
  const P = filter.program.params.length;
  const n = task.calls.length;
  const W = task.wanted.length;
  const paths = new Float64Array(n * W).fill(Number.NaN);
  const found = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const path = filter.forecast(
      task.params.subarray(j * P, (j + 1) * P),
      task.calls[j]!,
      task.toStep,
      task.wanted,
    );
    if (!path) continue;
    paths.set(path, j * W);
    found[j] = 1;
  }
  return { kind: "forecasts", paths, found };
}

/**
 * Backtest forecasts on the pool, in a few batches per thread: `params` holds each of the n runs' param values
 * (P per run), run r is filter call `firstCall + r`. Returns run r's path, or undefined where it had none — the same
 * numbers ParticleFilter.forecast gives on this thread.
 */
export async function forecastsOnPool(
  pool: CalibratePool,
  spec: Omit<ForecastTask, "kind" | "params" | "calls">,
  params: Float64Array,
  P: number,
  n: number,
  firstCall: number,
): Promise<(run: number) => Float64Array | undefined> {
  const batches = Math.max(1, Math.min(n, pool.size * 4));
  const bounds = Array.from({ length: batches + 1 }, (_, b) => Math.floor((b * n) / batches));
  const results = await Promise.all(
    Array.from({ length: batches }, (_, b) =>
      pool.run({
        kind: "forecasts",
        ...spec,
        params: params.slice(bounds[b]! * P, bounds[b + 1]! * P),
        calls: Float64Array.from(
          { length: bounds[b + 1]! - bounds[b]! },
          (_, j) => firstCall + bounds[b]! + j,
        ),
      }),
    ),
  );
  const W = spec.wanted.length;
  return (run) => {
    let b = 0;
    while (bounds[b + 1]! <= run) b++;
    const r = results[b]!;
    if (r.kind !== "forecasts") throw new Error("a forecast task returned something else");
    const j = run - bounds[b]!;
    return r.found[j] === 1 ? r.paths.slice(j * W, (j + 1) * W) : undefined;
  };
}
