import { makeKernel } from "../../compile/codegen.js";
import type { RandomStreams } from "../../compile/functions.js";
import type { Program } from "../../compile/ir.js";
import { CENSORED, NUMERIC_FAILURE, type RunFunction } from "../../compile/kernel.js";
import type { PreparedModel } from "../../engine/prepare.js";
import { hashName, hashUniform, SiteStreams } from "../../engine/rng.js";
import { logMeasurement } from "./likelihood.js";
import type { Noise, NoiseParam, ObservationSeries } from "./observations.js";

/**
 * A bootstrap particle filter (Gordon, Salmond & Smith 1993) over the model's own random streams, giving an
 * unbiased estimate of the likelihood of the observations for given params.
 *
 * A particle is a path of the model: its draws between two observation times come from one stream of its
 * own (a "segment"), and resampling copies whole paths. The compiled kernel keeps its state in locals and
 * always starts from time 0, so a particle is resumed by replay: to reach observation j it is run from the
 * start by a kernel compiled to stop at that step, with streams that hand out segment l's draws until the
 * site has made as many draws as the path had made by observation l (the counts are recorded as the filter
 * goes). A replay retraces the path exactly, so the filter is exact; the cost is a run from the start per
 * particle and observation time, O(N·K·T) steps for K observation times, instead of O(N·T) for a kernel that
 * could pause and resume (see docs/calibration.md).
 *
 * A particle whose run ended in an outcome (or failed numerically) by an observation's step has weight 0
 * there: the data say the world was still going.
 */

/** Run indices of filter streams start here, far above any Monte Carlo job's runs. */
const RUN_BASE = 2 ** 40;
const RESAMPLE_KEY = hashName("calibrate:resample");

/** Draws for one particle's replay: segment l's stream until the site reaches the path's count at l. */
class PathStreams implements RandomStreams {
  readonly used: Uint32Array;
  private readonly segment: Uint32Array;
  private readonly streams: SiteStreams[];
  private bounds: Uint32Array = new Uint32Array(0);
  private boundsOffset = 0;
  private last = 0;

  constructor(
    siteNames: readonly string[],
    segments: number,
    private readonly sites = siteNames.length,
  ) {
    this.used = new Uint32Array(sites);
    this.segment = new Uint32Array(sites);
    this.streams = Array.from({ length: segments }, () => new SiteStreams(siteNames));
  }

  /** Replay a path whose segment l (0 … last) uses run `runs[offset + l]` of `seed`. */
  position(
    seed: number,
    runs: Float64Array,
    offset: number,
    last: number,
    bounds: Uint32Array,
    boundsOffset: number,
  ): void {
    if (this.sites === 0) return;
    for (let l = 0; l <= last; l++) this.streams[l]!.reset(seed, runs[offset + l]!);
    this.used.fill(0);
    this.segment.fill(0);
    this.bounds = bounds;
    this.boundsOffset = boundsOffset;
    this.last = last;
  }

  uniform(site: number): number {
    const d = this.used[site]!;
    this.used[site] = d + 1;
    let l = this.segment[site]!;
    while (l < this.last && d >= this.bounds[this.boundsOffset + l * this.sites + site]!) l++;
    this.segment[site] = l;
    return this.streams[l]!.uniform(site);
  }
}

/** The observations compared at one step. */
interface Comparison {
  track: number;
  changeSteps: number;
  value: number;
  noise: Noise;
}

export interface FilterOptions {
  particles: number;
  seed: number;
  /** Use only observations at or before this step. */
  untilStep?: number;
}

export interface FilterResult {
  /** The log of the likelihood estimate (−Infinity when every particle had weight 0 at some step). */
  logLikelihood: number;
  /** Particle runs that failed numerically (NaN, infinity, negative hazard): they got weight 0. */
  failures: number;
  /** The effective sample size of the weights at each observation step, before resampling. */
  ess: number[];
}

export class ParticleFilter {
  readonly program: Program;
  /** Observation steps, ascending. */
  readonly steps: number[];
  readonly particles: number;
  readonly seed: number;
  private readonly kernels: RunFunction[];
  private readonly comparisons: Comparison[][];
  private readonly out: Float64Array;
  private readonly nTracked: number;
  private readonly values: Float64Array;
  private readonly result = new Float64Array(3);
  private readonly streams: PathStreams;
  private readonly paramSlot: Map<string, number>;
  private runs: Float64Array;
  private bounds: Uint32Array;
  private nextRuns: Float64Array;
  private nextBounds: Uint32Array;
  private readonly logWeights: Float64Array;
  private readonly ancestors: Int32Array;

  constructor(model: PreparedModel, series: readonly ObservationSeries[], options: FilterOptions) {
    const p = model.program;
    this.program = p;
    this.particles = options.particles;
    this.seed = options.seed;
    const slotOf = new Map(p.slots.map((s, i) => [s.name, i]));
    const observed = [...new Set(series.map((s) => s.variable))];
    const byStep = new Map<number, Comparison[]>();
    for (const s of series) {
      const track = observed.indexOf(s.variable);
      for (const pt of s.points) {
        if (options.untilStep !== undefined && pt.step > options.untilStep) continue;
        const list = byStep.get(pt.step) ?? [];
        list.push({ track, changeSteps: s.changeSteps ?? 0, value: pt.value, noise: s.noise });
        byStep.set(pt.step, list);
      }
    }
    this.steps = [...byStep.keys()].sort((a, b) => a - b);
    this.comparisons = this.steps.map((k) => byStep.get(k)!);
    const tracked = observed.map((name) => ({ slot: slotOf.get(name)!, name }));
    // One kernel per observation step: the model's own code, stopping there and saving the observed values.
    this.kernels = this.steps.map((k) =>
      makeKernel({
        ...p,
        tracked,
        time: { ...p.time, steps: k, stop: p.time.start + k * p.time.dt, saveEvery: 1 },
      }),
    );
    const lastStep = this.steps[this.steps.length - 1] ?? 0;
    this.nTracked = Math.max(1, tracked.length);
    this.out = new Float64Array((lastStep + 1) * this.nTracked);
    this.values = new Float64Array(p.slots.length);
    this.paramSlot = new Map(p.params.map((q) => [q.name, q.slot]));
    const K = Math.max(1, this.steps.length);
    const S = p.randomSites.length;
    const N = this.particles;
    this.streams = new PathStreams(p.randomSites, K);
    this.runs = new Float64Array(N * K);
    this.nextRuns = new Float64Array(N * K);
    this.bounds = new Uint32Array(N * K * S);
    this.nextBounds = new Uint32Array(N * K * S);
    this.logWeights = new Float64Array(N);
    this.ancestors = new Int32Array(N);
  }

  /**
   * Estimate the likelihood with the given params (values in `program.params` order). `call` numbers the
   * estimate: its particles' streams and its resampling are keyed by (seed, call), so each call is
   * reproducible and different calls are independent.
   */
  run(paramValues: ArrayLike<number>, call: number): FilterResult {
    const p = this.program;
    const N = this.particles;
    const K = Math.max(1, this.steps.length);
    const S = p.randomSites.length;
    this.values.fill(0);
    p.params.forEach((q, i) => {
      this.values[q.slot] = paramValues[i]!;
    });
    const noiseValue = (np: NoiseParam) =>
      "value" in np ? np.value : this.values[this.paramSlot.get(np.param)!]!;
    const nTracked = this.nTracked;
    let logLikelihood = 0;
    let failures = 0;
    const ess: number[] = [];
    const lw = this.logWeights;
    for (let j = 0; j < this.steps.length; j++) {
      const step = this.steps[j]!;
      const kernel = this.kernels[j]!;
      const comparisons = this.comparisons[j]!;
      for (let i = 0; i < N; i++) {
        this.runs[i * K + j] = RUN_BASE + (call * K + j) * N + i;
        this.streams.position(this.seed, this.runs, i * K, j, this.bounds, i * K * S);
        const status = kernel(this.values, this.out, this.streams, this.result);
        const row = (i * K + j) * S;
        for (let s = 0; s < S; s++) this.bounds[row + s] = this.streams.used[s]!;
        if (status !== CENSORED) {
          if (status === NUMERIC_FAILURE) failures++;
          lw[i] = Number.NEGATIVE_INFINITY;
          continue;
        }
        let w = 0;
        for (const c of comparisons) {
          let x = this.out[step * nTracked + c.track]!;
          if (c.changeSteps > 0) x -= this.out[(step - c.changeSteps) * nTracked + c.track]!;
          w += logMeasurement(c.noise, c.value, x, noiseValue);
        }
        lw[i] = Number.isNaN(w) ? Number.NEGATIVE_INFINITY : w;
      }
      let max = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < N; i++) if (lw[i]! > max) max = lw[i]!;
      if (max === Number.NEGATIVE_INFINITY) return { logLikelihood: max, failures, ess };
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < N; i++) {
        const w = Math.exp(lw[i]! - max);
        lw[i] = w;
        sum += w;
        sumSq += w * w;
      }
      logLikelihood += max + Math.log(sum / N);
      ess.push((sum * sum) / sumSq);
      if (j + 1 < this.steps.length) this.resample(sum, j, hashUniform(this.seed, call, RESAMPLE_KEY, j));
    }
    return { logLikelihood, failures, ess };
  }

  /** Systematic resampling of the paths (segments 0 … j) by the weights now in logWeights. */
  private resample(total: number, j: number, u: number): void {
    const N = this.particles;
    const K = Math.max(1, this.steps.length);
    const S = this.program.randomSites.length;
    const w = this.logWeights;
    let cumulative = w[0]!;
    let a = 0;
    for (let i = 0; i < N; i++) {
      const target = ((i + u) / N) * total;
      while (cumulative < target && a < N - 1) cumulative += w[++a]!;
      this.ancestors[i] = a;
    }
    for (let i = 0; i < N; i++) {
      const from = this.ancestors[i]!;
      this.nextRuns.set(this.runs.subarray(from * K, from * K + j + 1), i * K);
      this.nextBounds.set(this.bounds.subarray(from * K * S, (from * K + j + 1) * S), i * K * S);
    }
    [this.runs, this.nextRuns] = [this.nextRuns, this.runs];
    [this.bounds, this.nextBounds] = [this.nextBounds, this.bounds];
  }
}
