import { normalCdf, normalQuantile } from "../../compile/functions.js";
import { quantile } from "../../engine/distributions.js";
import { modelHash } from "../../engine/montecarlo.js";
import type { PreparedModel } from "../../engine/prepare.js";
import { hashName, hashUniform } from "../../engine/rng.js";
import { DiagnosticError } from "../../lang/diagnostic.js";
import { modelTimeToDate } from "../../model/time.js";
import { type CalibrateOptions, filteredState, type PosteriorFile } from "./calibrate.js";
import type { ObservationSeries } from "./observations.js";
import { ParticleFilter } from "./particle-filter.js";
import type { PosteriorParam } from "./pmmh.js";
import { uncertainParams } from "./pmmh.js";

/**
 * Adaptive ABC-SMC (Del Moral, Doucet & Jasra 2012, "An adaptive sequential Monte Carlo method for approximate
 * Bayesian computation", Statistics and Computing 22: 1009–1020), for observations without a measurement model:
 * no likelihood, only a distance between the model's simulated observations and the data.
 *
 * N particles (params, each with one simulation of the model: the paper's M = 1) start from the prior with
 * tolerance ∞. Each generation lowers the tolerance to the distance that keeps a share α of the current
 * effective sample size (with M = 1 a particle's weight is 1 if its simulation lies within the tolerance, else 0,
 * so the ESS is the number alive), resamples (systematic) when the ESS falls below N/2, and moves every live
 * particle by one Metropolis–Hastings step whose target is the ABC posterior at the new tolerance: a Gaussian
 * random walk in normal scores (param i is quantile_i(Φ(z_i)), so the prior is N(0, I)) with 2.38²/d times the
 * live particles' covariance, a fresh simulation at the proposal, accepted with probability
 * min(1, φ(z′)/φ(z) · 1[distance′ ≤ tolerance]). It stops when the tolerance reaches the target, when the
 * moves' acceptance falls below a floor (the paper's stopping rule: the kernel no longer mixes), or after the
 * last generation allowed.
 *
 * The distance (`abcDistance`): each entry's differences between simulated and observed values, divided by
 * the entry's `scale` (default 1), their mean square per entry, summed over entries, square-rooted — the root
 * mean square error for one entry. A run that ended in an outcome before an observation is at distance ∞.
 *
 * Every random number comes from (seed, purpose, generation, particle), and each simulation's stream from its
 * own call number, so the same seed gives the same posterior.
 */

export interface AbcOptions {
  seed: number;
  /** Particles (N). */
  particles: number;
  /** Stop when the tolerance reaches this (0: only the other rules stop it). */
  tolerance: number;
  /** The share of the ESS each generation keeps (the paper's α). */
  alpha?: number;
  /** Stop when the share of accepted moves in a generation falls below this. */
  minAcceptance?: number;
  /** At most this many generations after the first. */
  maxGenerations?: number;
  /** At most this many move steps per particle and generation. */
  maxMoves?: number;
  /** Use only observations at or before this step. */
  untilStep?: number;
  onGeneration?: (generation: number, tolerance: number, ess: number, acceptance: number) => void;
  shouldStop?: () => boolean;
  pause?: () => Promise<void>;
}

export interface AbcResult {
  params: string[];
  /** The live particles at the end, equally weighted (M = 1): samples[k][i] is param i. */
  samples: number[][];
  summary: PosteriorParam[];
  /** The tolerance of each generation (the first, from the prior, is Infinity). */
  tolerances: number[];
  /** The share of accepted moves in each generation after the first. */
  acceptances: number[];
  /** Model simulations run. */
  simulations: number;
  partial: boolean;
  /** Why it stopped. */
  stopped: "tolerance" | "acceptance" | "generations" | "interrupted";
}

const INIT_KEY = hashName("abc:init");
const PROPOSAL_KEY = hashName("abc:proposal");
const ACCEPT_KEY = hashName("abc:accept");
const RESAMPLE_KEY = hashName("abc:resample");
/** Simulation calls of ABC, apart from any filter's. */
const CALL_BASE = 2 ** 34;

/** The simulated observations of a param draw, and their distance to the data. */
class AbcSimulator {
  private readonly filter: ParticleFilter;
  private readonly wanted: { track: number; step: number }[];
  private readonly targets: { entry: number; change: boolean; value: number }[];
  private readonly entries: { n: number; scale: number }[];

  constructor(model: PreparedModel, series: readonly ObservationSeries[], seed: number, untilStep?: number) {
    // No observation is compared in the filter (untilStep −1): a particle is a plain run of the model.
    this.filter = new ParticleFilter(model, series, { particles: 1, seed, untilStep: -1, stateStep: 0 });
    const track = new Map(this.filter.observed.map((v, i) => [v, i]));
    this.wanted = [];
    this.targets = [];
    this.entries = series.map((s, e) => {
      const points = s.points.filter((pt) => untilStep === undefined || pt.step <= untilStep);
      for (const pt of points) {
        const t = track.get(s.variable)!;
        this.wanted.push({ track: t, step: pt.step });
        if (s.changeSteps) this.wanted.push({ track: t, step: Math.max(0, pt.step - s.changeSteps) });
        this.targets.push({ entry: e, change: s.changeSteps !== undefined, value: pt.value });
      }
      return { n: points.length, scale: s.noise.kind === "none" ? s.noise.scale : 1 };
    });
  }

  get observations(): number {
    return this.targets.length;
  }

  get lastStep(): number {
    return Math.max(0, ...this.wanted.map((w) => w.step));
  }

  /** The distance of one simulation with these params (`call` keys its random stream). */
  distance(values: ArrayLike<number>, call: number): number {
    const path = this.filter.forecast(values, CALL_BASE + call, this.lastStep, this.wanted);
    if (!path) return Number.POSITIVE_INFINITY;
    return abcDistance(this.targets, path, this.entries);
  }
}

/**
 * The ABC distance: per entry, the mean square of (simulated − observed)/scale; summed over entries; its
 * square root. `path` holds each target's simulated value (then its period's start, for a change).
 */
export function abcDistance(
  targets: readonly { entry: number; change: boolean; value: number }[],
  path: ArrayLike<number>,
  entries: readonly { n: number; scale: number }[],
): number {
  const sums = new Float64Array(entries.length);
  let w = 0;
  for (const t of targets) {
    let x = path[w++]!;
    if (t.change) x -= path[w++]!;
    if (!Number.isFinite(x)) return Number.POSITIVE_INFINITY;
    sums[t.entry]! += ((x - t.value) / entries[t.entry]!.scale) ** 2;
  }
  let total = 0;
  entries.forEach((e, i) => {
    if (e.n > 0) total += sums[i]! / e.n;
  });
  return Math.sqrt(total);
}

/** Lower-triangular L with L·Lᵀ = A (A symmetric positive definite; a tiny ridge keeps it so). */
function cholesky(a: Float64Array[], d: number): Float64Array[] {
  const l = Array.from({ length: d }, () => new Float64Array(d));
  for (let i = 0; i < d; i++)
    for (let j = 0; j <= i; j++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= l[i]![k]! * l[j]![k]!;
      l[i]![j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / l[j]![j]!;
    }
  return l;
}

function summarize(name: string, column: number[]): PosteriorParam {
  const all = [...column].sort((a, b) => a - b);
  const n = all.length;
  const mean = all.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(all.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1));
  const q = (p: number) => {
    const h = (n - 1) * p;
    const lo = Math.floor(h);
    return all[lo]! + (h - lo) * (all[Math.min(n - 1, lo + 1)]! - all[lo]!);
  };
  // One population, no chains: no R̂; the ESS of equal weights is the number of particles.
  return { name, mean, sd, q05: q(0.05), q50: q(0.5), q95: q(0.95), rhat: Number.NaN, ess: n };
}

export async function runAbcSmc(
  model: PreparedModel,
  series: readonly ObservationSeries[],
  options: AbcOptions,
): Promise<AbcResult> {
  const params = model.program.params;
  const free = uncertainParams(params);
  const d = free.length;
  const N = options.particles;
  const alpha = options.alpha ?? 0.9;
  const minAcceptance = options.minAcceptance ?? 0.02;
  const maxGenerations = options.maxGenerations ?? 200;
  const maxMoves = options.maxMoves ?? 10;
  let moves = 1;
  const { seed } = options;
  const sim = new AbcSimulator(model, series, seed, options.untilStep);
  const values = Float64Array.from(params, (q) => (q.dist.kind === "fixed" ? q.dist.value : 0));
  const setValues = (z: Float64Array) => {
    for (let i = 0; i < d; i++) {
      const u = Math.min(1 - 1e-12, Math.max(1e-12, normalCdf(z[i]!)));
      values[free[i]!] = quantile(params[free[i]!]!.dist, u);
    }
    return values;
  };
  let call = 0;
  let z = Array.from({ length: N }, (_, k) => {
    const s = new Float64Array(d);
    for (let i = 0; i < d; i++) s[i] = normalQuantile(hashUniform(seed, k, INIT_KEY, i));
    return s;
  });
  let dist = z.map((s) => sim.distance(setValues(s), call++));
  let alive = dist.map((x) => Number.isFinite(x));
  const tolerances = [Number.POSITIVE_INFINITY];
  const acceptances: number[] = [];
  let epsilon = Number.POSITIVE_INFINITY;
  let partial = false;
  let stopped: AbcResult["stopped"] = "generations";
  const aliveCount = () => alive.reduce((a, b) => a + (b ? 1 : 0), 0);
  if (aliveCount() === 0)
    throw new Error("no draw from the prior gives a finite distance to the observations");

  for (let g = 1; g <= maxGenerations; g++) {
    if (options.shouldStop?.()) {
      partial = true;
      stopped = "interrupted";
      break;
    }
    await options.pause?.();
    // The next tolerance keeps a share α of the live particles (at least one), never below the target.
    const live = dist.filter((_, k) => alive[k]).sort((a, b) => a - b);
    const keep = Math.max(1, Math.floor(alpha * live.length));
    epsilon = Math.max(options.tolerance, live[keep - 1]!);
    alive = dist.map((x) => x <= epsilon);
    // Resample when the ESS (the number alive) falls below N/2: systematic, over the live particles.
    if (aliveCount() < N / 2) {
      const idx = alive.flatMap((a, k) => (a ? [k] : []));
      const u = hashUniform(seed, g, RESAMPLE_KEY);
      const picks = Array.from({ length: N }, (_, k) => idx[Math.floor(((k + u) / N) * idx.length)]!);
      z = picks.map((k) => Float64Array.from(z[k]!));
      dist = picks.map((k) => dist[k]!);
      alive = picks.map(() => true);
    }
    // The move kernel: a random walk with 2.38²/d times the live particles' covariance.
    const liveZ = z.filter((_, k) => alive[k]);
    const mean = new Float64Array(d);
    for (const s of liveZ) for (let i = 0; i < d; i++) mean[i]! += s[i]! / liveZ.length;
    const cov = Array.from({ length: d }, () => new Float64Array(d));
    for (const s of liveZ)
      for (let i = 0; i < d; i++)
        for (let j = 0; j <= i; j++)
          cov[i]![j]! += ((s[i]! - mean[i]!) * (s[j]! - mean[j]!)) / Math.max(1, liveZ.length - 1);
    const factor = (2.38 * 2.38) / Math.max(1, d);
    for (let i = 0; i < d; i++)
      for (let j = 0; j <= i; j++) {
        cov[i]![j]! *= factor;
        cov[j]![i] = cov[i]![j]!;
      }
    const chol = cholesky(cov, d);
    let moved = 0;
    let tried = 0;
    const proposal = new Float64Array(d);
    const xi = new Float64Array(d);
    for (let m = 0; m < moves; m++)
      for (let k = 0; k < N; k++) {
        if (!alive[k]) continue;
        tried++;
        const key = (m * N + k) * d;
        for (let i = 0; i < d; i++) xi[i] = normalQuantile(hashUniform(seed, g, PROPOSAL_KEY, key + i));
        for (let i = 0; i < d; i++) {
          let s = z[k]![i]!;
          for (let j = 0; j <= i; j++) s += chol[i]![j]! * xi[j]!;
          proposal[i] = s;
        }
        let logPriorRatio = 0;
        for (let i = 0; i < d; i++) logPriorRatio += 0.5 * (z[k]![i]! ** 2 - proposal[i]! ** 2);
        // Simulate only when the prior ratio alone could accept it.
        if (Math.log(hashUniform(seed, g, ACCEPT_KEY, m * N + k)) >= logPriorRatio) continue;
        const dNew = sim.distance(setValues(proposal), call++);
        if (dNew <= epsilon) {
          z[k] = Float64Array.from(proposal);
          dist[k] = dNew;
          moved++;
        }
      }
    const acceptance = tried ? moved / tried : 0;
    // Enough moves that a particle moves at least once with probability 0.99 at this acceptance (Drovandi &
    // Pettitt 2011), within the cap: at low acceptance one move would leave resampled copies stuck together.
    moves =
      acceptance > 0
        ? Math.min(maxMoves, Math.max(1, Math.ceil(Math.log(0.01) / Math.log1p(-acceptance))))
        : maxMoves;
    tolerances.push(epsilon);
    acceptances.push(acceptance);
    options.onGeneration?.(g, epsilon, aliveCount(), acceptance);
    if (epsilon <= options.tolerance) {
      stopped = "tolerance";
      break;
    }
    if (acceptance < minAcceptance) {
      stopped = "acceptance";
      break;
    }
  }
  const samples = z.flatMap((s, k) => {
    if (!alive[k]) return [];
    setValues(s);
    return [free.map((q) => values[q]!)];
  });
  const names = free.map((q) => params[q]!.name);
  return {
    params: names,
    samples,
    summary: names.map((name, i) =>
      summarize(
        name,
        samples.map((r) => r[i]!),
      ),
    ),
    tolerances,
    acceptances,
    simulations: call,
    partial,
    stopped,
  };
}

/**
 * `brink calibrate` for a model whose observations have no measurement model: ABC-SMC's posterior in the
 * posterior file's format (`method: "abc-smc"`, the live particles as equally weighted `samples`, `abc` with the
 * tolerance schedule). Every entry must then be without one: a likelihood and a distance do not mix.
 */
export async function calibrateAbc(
  model: PreparedModel,
  file: string,
  series: readonly ObservationSeries[],
  options: CalibrateOptions,
): Promise<PosteriorFile> {
  const { source } = model.loaded;
  const withModel = series.filter((s) => s.noise.kind !== "none");
  if (withModel.length)
    throw new DiagnosticError(
      withModel.map((s) =>
        source.at(
          ["observations", s.name, "noise"],
          `observation '${s.name}' has a measurement model but others have none: either every entry has one (PMMH) or none does (ABC-SMC)`,
        ),
      ),
    );
  const result = await runAbcSmc(model, series, {
    seed: options.seed,
    particles: options.abcParticles ?? 1000,
    tolerance: options.tolerance ?? 0,
    ...(options.untilStep !== undefined ? { untilStep: options.untilStep } : {}),
    ...(options.shouldStop ? { shouldStop: options.shouldStop } : {}),
    ...(options.pause ? { pause: options.pause } : {}),
    ...(options.onGeneration ? { onGeneration: options.onGeneration } : {}),
  });
  const { time } = model.loaded;
  const lastObserved = Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.step)));
  const stateStep = options.untilStep ?? lastObserved;
  const dated = (step: number) =>
    time.origin !== undefined && time.unit !== undefined
      ? { date: modelTimeToDate(time.start + step * time.dt, time.origin, time.unit) }
      : {};
  const last = result.acceptances[result.acceptances.length - 1] ?? 1;
  return {
    brink_posterior: 1,
    model: { file, name: model.loaded.spec.name, hash: modelHash(model.loaded.source.text) },
    until:
      options.untilStep === undefined
        ? null
        : {
            step: options.untilStep,
            time: time.start + options.untilStep * time.dt,
            ...dated(options.untilStep),
          },
    method: "abc-smc",
    seed: options.seed,
    particles: options.abcParticles ?? 1000,
    chains: 1,
    burn_in: 0,
    iterations: result.samples.length,
    observations: series.map((s) => ({
      name: s.name,
      variable: s.variable,
      used: s.points.filter((p) => options.untilStep === undefined || p.step <= options.untilStep).length,
    })),
    partial: result.partial,
    acceptance: last,
    summary: result.summary,
    params: result.params,
    samples: result.samples,
    chain_acceptance: [last],
    evidence: null,
    abc: {
      // JSON has no Infinity: the first generation's (the prior's) tolerance is null.
      tolerances: result.tolerances.map((t) => (Number.isFinite(t) ? t : null)),
      acceptances: result.acceptances,
      simulations: result.simulations,
      stopped: result.stopped,
    },
    // The state at the last observation given each draw's params (a run of the model; entries without a
    // measurement model do not weigh the filter's particles).
    state: await filteredState(model, series, options, 1, result.samples, stateStep),
  };
}
