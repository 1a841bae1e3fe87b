import {
  makePausableKernel,
  PAUSED,
  type PausableRunFunction,
  pausedStateLength,
} from "../../compile/codegen.js";
import type { Program } from "../../compile/ir.js";
import { CENSORED, NUMERIC_FAILURE } from "../../compile/kernel.js";
import type { PreparedModel } from "../../engine/prepare.js";
import { hashName, hashUniform, SiteStreams } from "../../engine/rng.js";
import { logLognormal, logMeasurement, logNormal } from "./likelihood.js";
import type { Noise, NoiseParam, ObservationSeries } from "./observations.js";

/**
 * A bootstrap particle filter (Gordon, Salmond & Smith 1993) over the model's own random streams, giving an
 * unbiased estimate of the likelihood of the observations for given params.
 *
 * A particle is a run of the model's compiled code that pauses at each step where something is observed (or
 * where a change's period starts) and saves its state; the next segment resumes it from that state with a
 * stream of its own, keyed like every Brink stream by (seed, run, site). Resampling (systematic, after each
 * observation step) copies states. So the filter costs O(N·T) model steps for N particles and T steps.
 *
 * A particle whose run ended in an outcome (or failed numerically) by an observation's step has weight 0
 * there: the data say the world was still going.
 */

/** Run indices of filter streams start here, far above any Monte Carlo job's runs. */
const RUN_BASE = 2 ** 40;
const RESAMPLE_KEY = hashName("calibrate:resample");
const PILOT_KEY = hashName("calibrate:lookahead-pilot");
const STATE_KEY = hashName("calibrate:state");
/** Run indices of forecast continuations (one per filter call), above every filter particle's. */
const FORECAST_BASE = 2 ** 52;
/** Look-ahead potentials go no lower than this (log): see FilterOptions.lookahead. */
const LOOKAHEAD_FLOOR = 700;

/** The observations compared at one step. */
interface Comparison {
  track: number;
  /** Record index of the change period's start, or -1 for a level. */
  from: number;
  value: number;
  noise: Noise;
  /** Look-ahead: the series' index among those with look-ahead (its pending potential), or -1. */
  pending: number;
  /**
   * Look-ahead only: this comparison is provisional, made this far (0 < f < 1) into the change period, with
   * the change so far divided by f standing for the whole; `id` indexes the pilot's mean squared error of that
   * projection.
   */
  fraction?: number;
  id?: number;
  /** Look-ahead, on an observation's comparison: its provisional comparisons, with their pauses. */
  ahead?: { pause: number; comparison: Comparison }[];
}

export interface FilterOptions {
  particles: number;
  seed: number;
  /** Use only observations at or before this step. */
  untilStep?: number;
  /** Also run the particles on to this step (at or after the last observation), for `sampleState`. */
  stateStep?: number;
  /** Also record the observed values at these steps (at or before `stateStep`), for `forecast`. */
  recordSteps?: readonly number[];
  /**
   * Adaptive particle numbers (Doucet, Pitt, Deligiannidis & Kohn 2015): each chain, at a quarter of its burn-in,
   * measures the sd of the log-likelihood estimate at its current params and raises its particles so that
   * the sd is about this (absent: the particles stay as given). Read by the sampler.
   */
  targetSd?: number;
  /** The most particles adaptation may reach (default 16 times `particles`; never past ADAPTIVE_BUDGET). */
  maxParticles?: number;
  /**
   * Look-ahead within change periods (absent or 0: none): the particles are also weighted and resampled at this
   * many evenly spaced steps inside each observed change period of two steps or more, by a provisional potential
   * — the measurement density of the change so far scaled up to the whole period, widened by a pilot's error of
   * that projection — that the observation's own density replaces at the period's end. The potentials telescope,
   * so the estimate stays unbiased; particles drifting away from the coming observation are dropped before it
   * rather than at it. With look-ahead, `path` is the estimate of the data so far only where no other series'
   * period is open (periods that end together, as the flagship's do); `brink weigh` does not use it.
   */
  lookahead?: number;
}

/** The most numbers (8 bytes each) adaptive particle numbers may give one filter's states: 2²⁶, 512 MiB. */
export const ADAPTIVE_BUDGET = 2 ** 26;

export interface FilterResult {
  /** The log of the likelihood estimate (−Infinity when every particle had weight 0 at some step). */
  logLikelihood: number;
  /** Particle runs that failed numerically (NaN, infinity, negative hazard): they got weight 0. */
  failures: number;
  /** The effective sample size of the weights at each observation step, before resampling. */
  ess: number[];
  /**
   * The log likelihood estimate of the observations up to each observation step (`steps` order): each is the
   * filter's own unbiased estimate for the data so far, so one run gives the evidence's path (`brink weigh`).
   */
  path: number[];
}

export class ParticleFilter {
  readonly program: Program;
  /** Observation steps, ascending. */
  readonly steps: number[];
  readonly particles: number;
  readonly seed: number;
  /** The observed variables, in the order of `forecast`'s tracks. */
  readonly observed: string[];
  /** Steps where particles pause: observation steps and the starts of change periods, ascending. */
  private readonly pauses: number[];
  /** For each pause, the comparisons made there (empty where only a value is recorded). */
  private readonly comparisons: Comparison[][];
  private readonly kernel: PausableRunFunction;
  private readonly stateLength: number;
  private readonly nTracked: number;
  private readonly out: Float64Array;
  private readonly values: Float64Array;
  private readonly result = new Float64Array(3);
  private readonly streams: SiteStreams;
  private readonly paramSlot: Map<string, number>;
  /** Each particle's paused state (a view per particle into one buffer), and the buffer resampling fills. */
  private states: Float64Array[];
  private nextStates: Float64Array[];
  /** Observed values of each particle at each pause: [particle][pause][tracked]. */
  private recorded: Float64Array;
  private nextRecorded: Float64Array;
  private alive: Uint8Array;
  private nextAlive: Uint8Array;
  private readonly logWeights: Float64Array;
  private readonly ancestors: Int32Array;
  /** Look-ahead: series with a pending potential, and each particle's (pendingCount per particle). */
  private readonly pendingCount: number;
  /** Look-ahead: the pilot's mean squared error of each provisional projection (see `run`). */
  private readonly projectionError: Float64Array;
  private pending: Float64Array;
  private nextPending: Float64Array;
  /** Resample after the last observation too, so the particles after it are equally weighted. */
  private readonly keepState: boolean;
  /** See FilterOptions.targetSd (0: no adaptation; also for a model that draws no random numbers). */
  readonly targetSd: number;
  readonly maxParticles: number;
  private readonly model: PreparedModel;
  private readonly series: readonly ObservationSeries[];
  private readonly options: FilterOptions;
  private readonly resized = new Map<number, ParticleFilter>();

  constructor(model: PreparedModel, series: readonly ObservationSeries[], options: FilterOptions) {
    const p = model.program;
    this.program = p;
    this.model = model;
    this.series = series;
    this.options = options;
    this.targetSd = p.randomSites.length > 0 ? Math.max(0, options.targetSd ?? 0) : 0;
    this.keepState = options.stateStep !== undefined;
    this.particles = options.particles;
    this.seed = options.seed;
    const slotOf = new Map(p.slots.map((s, i) => [s.name, i]));
    const observed = [...new Set(series.map((s) => s.variable))];
    this.observed = observed;
    const used = series.map((s) => ({
      s,
      points: s.points.filter((pt) => options.untilStep === undefined || pt.step <= options.untilStep),
    }));
    const pauseSet = new Set<number>();
    for (const { s, points } of used)
      for (const pt of points) {
        pauseSet.add(pt.step);
        if (s.changeSteps) pauseSet.add(pt.step - s.changeSteps);
      }
    if (options.stateStep !== undefined) pauseSet.add(options.stateStep);
    for (const step of options.recordSteps ?? []) pauseSet.add(step);
    // Look-ahead steps inside each change period of two steps or more, for series whose periods do not overlap
    // (one pending potential per series and particle).
    const lookahead = Math.max(0, Math.floor(options.lookahead ?? 0));
    const ahead = used.map(
      ({ s, points }) =>
        lookahead > 0 &&
        (s.noise.kind === "normal" || s.noise.kind === "lognormal") &&
        s.changeSteps !== undefined &&
        s.changeSteps >= 2 &&
        points.every((pt, k) => k === 0 || pt.step - s.changeSteps! >= points[k - 1]!.step),
    );
    const inside = (pt: { step: number }, changeSteps: number) => {
      const start = pt.step - changeSteps;
      const steps = new Set<number>();
      for (let j = 1; j <= lookahead; j++) {
        const at = start + Math.round((j * changeSteps) / (lookahead + 1));
        if (at > start && at < pt.step) steps.add(at);
      }
      return [...steps];
    };
    used.forEach(({ s, points }, k) => {
      if (ahead[k]) for (const pt of points) for (const at of inside(pt, s.changeSteps!)) pauseSet.add(at);
    });
    this.pauses = [...pauseSet].sort((a, b) => a - b);
    const indexOf = new Map(this.pauses.map((k, i) => [k, i]));
    this.comparisons = this.pauses.map(() => []);
    let pendingCount = 0;
    let provisionalCount = 0;
    used.forEach(({ s, points }, k) => {
      const track = observed.indexOf(s.variable);
      const pending = ahead[k] ? pendingCount++ : -1;
      for (const pt of points) {
        const from = s.changeSteps ? indexOf.get(pt.step - s.changeSteps)! : -1;
        const observation: Comparison = { track, from, value: pt.value, noise: s.noise, pending };
        this.comparisons[indexOf.get(pt.step)!]!.push(observation);
        if (!ahead[k]) continue;
        observation.ahead = inside(pt, s.changeSteps!).map((at) => {
          const comparison: Comparison = {
            track,
            from,
            value: pt.value,
            noise: s.noise,
            pending,
            fraction: (at - (pt.step - s.changeSteps!)) / s.changeSteps!,
            id: provisionalCount++,
          };
          this.comparisons[indexOf.get(at)!]!.push(comparison);
          return { pause: indexOf.get(at)!, comparison };
        });
      }
    });
    this.projectionError = new Float64Array(provisionalCount);
    this.pendingCount = pendingCount;
    this.steps = this.pauses.filter((_, i) => this.comparisons[i]!.some((c) => c.fraction === undefined));
    const tracked = observed.map((name) => ({ slot: slotOf.get(name)!, name }));
    // The model's own code, saving the observed values every step, able to pause.
    const program: Program = { ...p, tracked, time: { ...p.time, saveEvery: 1 } };
    this.kernel = makePausableKernel(program);
    this.stateLength = pausedStateLength(program);
    this.nTracked = Math.max(1, tracked.length);
    // Adaptation never takes a filter past ADAPTIVE_BUDGET numbers of state (two generations of states and of
    // recorded values), whatever --max-particles says: 10⁷ particles of a one-stock model took 5 GB and minutes.
    const perParticle = 2 * this.stateLength + 2 * Math.max(1, this.pauses.length) * this.nTracked;
    this.maxParticles = Math.max(
      options.particles,
      Math.min(options.maxParticles ?? 16 * options.particles, Math.floor(ADAPTIVE_BUDGET / perParticle)),
    );
    this.out = new Float64Array((p.time.steps + 1) * this.nTracked);
    this.values = new Float64Array(p.slots.length);
    this.paramSlot = new Map(p.params.map((q) => [q.name, q.slot]));
    this.streams = new SiteStreams(p.randomSites);
    const N = this.particles;
    const R = Math.max(1, this.pauses.length);
    const views = (buffer: Float64Array) =>
      Array.from({ length: N }, (_, i) => buffer.subarray(i * this.stateLength, (i + 1) * this.stateLength));
    this.states = views(new Float64Array(N * this.stateLength));
    this.nextStates = views(new Float64Array(N * this.stateLength));
    this.recorded = new Float64Array(N * R * this.nTracked);
    this.nextRecorded = new Float64Array(N * R * this.nTracked);
    this.alive = new Uint8Array(N);
    this.nextAlive = new Uint8Array(N);
    this.logWeights = new Float64Array(N);
    this.ancestors = new Int32Array(N);
    this.pending = new Float64Array(N * this.pendingCount);
    this.nextPending = new Float64Array(N * this.pendingCount);
  }

  /**
   * Estimate the likelihood with the given params (values in `program.params` order). `call` numbers the
   * estimate: its particles' streams and its resampling are keyed by (seed, call), so each call is
   * reproducible and different calls are independent.
   */
  run(paramValues: ArrayLike<number>, call: number): FilterResult {
    // Look-ahead: a pilot pass (a plain bootstrap filter on streams of its own, with fewer particles) measures how far each provisional
    // projection lands from the period's change, given the filtered state; the provisional densities are widened
    // by that error. The pilot is independent of the estimate's own particles, so the estimate stays unbiased.
    if (this.projectionError.length) {
      const pilot = this.pilot();
      // A pilot that stops early (every particle ended) leaves the rest flat, never a previous call's.
      pilot.projectionError.fill(Number.POSITIVE_INFINITY);
      pilot.pass(paramValues, call, true);
      this.projectionError.set(pilot.projectionError);
    }
    return this.pass(paramValues, call, false);
  }

  /** The look-ahead's pilot: this filter with a quarter of the particles (at least 64; a mean squared error needs no more). */
  private pilot(): ParticleFilter {
    return this.withParticles(Math.min(this.particles, Math.max(64, Math.ceil(this.particles / 4))));
  }

  private pass(paramValues: ArrayLike<number>, call: number, pilot: boolean): FilterResult {
    const seed = pilot ? Math.floor(hashUniform(this.seed, call, PILOT_KEY) * 2 ** 31) : this.seed;
    const p = this.program;
    const N = this.particles;
    const T = this.nTracked;
    const R = Math.max(1, this.pauses.length);
    // Stream run indices must stay exact integers: distinct for every (call, pause, particle).
    if (RUN_BASE + (call + 1) * R * N > Number.MAX_SAFE_INTEGER)
      throw new RangeError(`filter call ${call} is too large for ${R} pauses of ${N} particles`);
    this.values.fill(0);
    p.params.forEach((q, i) => {
      this.values[q.slot] = paramValues[i]!;
    });
    const noiseValue = (np: NoiseParam) =>
      "value" in np ? np.value : this.values[this.paramSlot.get(np.param)!]!;
    for (let i = 0; i < N; i++) this.states[i]![0] = 0;
    this.alive.fill(1);
    this.pending.fill(0);
    let logLikelihood = 0;
    let failures = 0;
    const ess: number[] = [];
    const path: number[] = [];
    const lw = this.logWeights;
    for (let r = 0; r < this.pauses.length; r++) {
      const step = this.pauses[r]!;
      const comparisons = this.comparisons[r]!;
      // The pilot only records at look-ahead steps: its particles keep their own paths through each period.
      const weighs = pilot ? comparisons.some((c) => c.fraction === undefined) : comparisons.length > 0;
      for (let i = 0; i < N; i++) {
        if (this.alive[i] === 1) {
          this.streams.reset(seed, RUN_BASE + (call * R + r) * N + i);
          const status = this.kernel(this.values, this.out, this.streams, this.result, this.states[i]!, step);
          if (status === PAUSED || status === CENSORED) {
            const at = (i * R + r) * T;
            for (let j = 0; j < T; j++) this.recorded[at + j] = this.out[step * T + j]!;
          } else {
            if (status === NUMERIC_FAILURE) failures++;
            this.alive[i] = 0;
          }
        }
        if (!weighs) continue;
        if (this.alive[i] === 0) {
          lw[i] = Number.NEGATIVE_INFINITY;
          continue;
        }
        let w = 0;
        for (const c of comparisons) {
          let x = this.recorded[(i * R + r) * T + c.track]!;
          if (c.from >= 0) x -= this.recorded[(i * R + c.from) * T + c.track]!;
          if (c.pending < 0 || (pilot && c.fraction === undefined)) {
            w += logMeasurement(c.noise, c.value, x, noiseValue);
            continue;
          }
          if (pilot) continue;
          // Look-ahead: this step's potential replaces the last one of the series' open period.
          const slot = i * this.pendingCount + c.pending;
          let potential: number;
          if (c.fraction === undefined) potential = logMeasurement(c.noise, c.value, x, noiseValue);
          else {
            // The observation's density around the projected change, widened by the pilot's error of that
            // projection; floored so that no particle the observation could still favour gets weight 0 (a change
            // so far outside the density's support, say) — the floor only bounds how far it falls.
            const sd = noiseValue((c.noise as { sd: NoiseParam }).sd);
            const wide = Math.sqrt(sd * sd + this.projectionError[c.id!]!);
            const d = Number.isFinite(wide)
              ? c.noise.kind === "lognormal"
                ? logLognormal(c.value, x / c.fraction, wide)
                : logNormal(c.value, x / c.fraction, wide)
              : 0;
            potential = Math.max(Number.isNaN(d) ? Number.NEGATIVE_INFINITY : d, -LOOKAHEAD_FLOOR);
          }
          w += potential - this.pending[slot]!;
          this.pending[slot] = c.fraction === undefined ? 0 : potential;
        }
        lw[i] = Number.isNaN(w) ? Number.NEGATIVE_INFINITY : w;
      }
      if (!weighs) continue;
      let max = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < N; i++) if (lw[i]! > max) max = lw[i]!;
      if (max === Number.NEGATIVE_INFINITY) {
        while (path.length < this.steps.length) path.push(max);
        return { logLikelihood: max, failures, ess, path };
      }
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < N; i++) {
        const w = Math.exp(lw[i]! - max);
        lw[i] = w;
        sum += w;
        sumSq += w * w;
      }
      if (pilot) this.measureProjections(r, comparisons);
      logLikelihood += max + Math.log(sum / N);
      if (comparisons.some((c) => c.fraction === undefined)) {
        path.push(logLikelihood);
        ess.push((sum * sum) / sumSq);
      }
      if (r + 1 < this.pauses.length || this.keepState)
        this.resample(sum, hashUniform(seed, call, RESAMPLE_KEY, r));
    }
    return { logLikelihood, failures, ess, path };
  }

  /**
   * The pilot's mean squared error of each provisional projection of the observations at pause r: over the
   * particles still running, before they are resampled (so each has its own path through the period), the
   * change so far divided by its fraction against the whole period's change — in logs for a lognormal
   * measurement. Infinity when no particle gives one (the provisional density is then flat).
   */
  private measureProjections(r: number, comparisons: readonly Comparison[]): void {
    const R = Math.max(1, this.pauses.length);
    const T = this.nTracked;
    for (const c of comparisons) {
      if (!c.ahead) continue;
      const log = c.noise.kind === "lognormal";
      for (const { pause, comparison } of c.ahead) {
        let sum = 0;
        let n = 0;
        for (let i = 0; i < this.particles; i++) {
          if (this.alive[i] === 0) continue;
          const start = this.recorded[(i * R + c.from) * T + c.track]!;
          const whole = this.recorded[(i * R + r) * T + c.track]! - start;
          const projected = (this.recorded[(i * R + pause) * T + c.track]! - start) / comparison.fraction!;
          const e = log ? Math.log(projected) - Math.log(whole) : projected - whole;
          if (Number.isFinite(e)) {
            sum += e * e;
            n++;
          }
        }
        this.projectionError[comparison.id!] = n > 0 ? sum / n : Number.POSITIVE_INFINITY;
      }
    }
  }

  /** The same filter with n particles (made once per n and kept: worker threads reuse filters across tasks). */
  withParticles(n: number): ParticleFilter {
    if (n === this.particles) return this;
    let filter = this.resized.get(n);
    if (!filter) {
      filter = new ParticleFilter(this.model, this.series, { ...this.options, particles: n });
      this.resized.set(n, filter);
    }
    return filter;
  }

  /**
   * Numbers in a drawn state: everything a paused run keeps (every slot — stocks, params, the hidden slots of
   * delays and smooths — then each event's two flags, each previous(x), t, first, k and saved), as
   * `pausedStateLength` counts them, less the leading flag.
   */
  get stateWidth(): number {
    return this.stateLength - 1;
  }

  /**
   * One draw of the model's state at the filter's `stateStep` given the observations: a run of the filter,
   * then one of its (equally weighted) particles, as its whole paused state (`stateWidth` numbers; slot i is
   * at index i, so the slots' values come first); undefined when the likelihood estimate is 0 or the
   * particle's run ended in an outcome before that step. A pausable kernel resumes from it (after a 1 flag).
   */
  sampleState(paramValues: ArrayLike<number>, call: number): Float64Array | undefined {
    if (!this.keepState) throw new Error("sampleState needs the filter's stateStep");
    const { logLikelihood } = this.run(paramValues, call);
    if (logLikelihood === Number.NEGATIVE_INFINITY) return undefined;
    const i = Math.min(
      this.particles - 1,
      Math.floor(hashUniform(this.seed, call, STATE_KEY) * this.particles),
    );
    if (this.alive[i] === 0) return undefined;
    return this.states[i]!.slice(1);
  }

  /**
   * One draw of the observed variables' path given the observations: a run of the filter, then one of its
   * particles at `stateStep`, run on from there to `toStep` with a stream of its own. Returns each wanted
   * (track, step) value — a step at or before `stateStep` must be one of `recordSteps` (or a pause) — NaN for
   * steps after the run ended in an outcome; undefined when the likelihood estimate is 0 or the particle's
   * run had ended before `stateStep`.
   */
  forecast(
    paramValues: ArrayLike<number>,
    call: number,
    toStep: number,
    wanted: readonly { track: number; step: number }[],
  ): Float64Array | undefined {
    if (!this.keepState) throw new Error("forecast needs the filter's stateStep");
    const { logLikelihood } = this.run(paramValues, call);
    if (logLikelihood === Number.NEGATIVE_INFINITY) return undefined;
    const i = Math.min(
      this.particles - 1,
      Math.floor(hashUniform(this.seed, call, STATE_KEY) * this.particles),
    );
    if (this.alive[i] === 0) return undefined;
    const R = Math.max(1, this.pauses.length);
    const T = this.nTracked;
    const from = this.pauses[this.pauses.length - 1]!;
    const atPause = wanted.map((w) => (w.step <= from ? this.pauses.indexOf(w.step) : -1));
    // Values at the recorded pauses are read before the continuation, which may resume this particle's state.
    const out = new Float64Array(wanted.length);
    wanted.forEach((w, k) => {
      if (w.step <= from) {
        if (atPause[k]! < 0) throw new Error(`step ${w.step} was not recorded`);
        out[k] = this.recorded[(i * R + atPause[k]!) * T + w.track]!;
      }
    });
    let last = from;
    if (toStep > from) {
      this.streams.reset(this.seed, FORECAST_BASE + call);
      const status = this.kernel(this.values, this.out, this.streams, this.result, this.states[i]!, toStep);
      last = status === PAUSED || status === CENSORED ? toStep : this.result[2]!;
    }
    wanted.forEach((w, k) => {
      if (w.step > from) out[k] = w.step <= last ? this.out[w.step * T + w.track]! : Number.NaN;
    });
    return out;
  }

  /** Systematic resampling of the particles (state, recorded values) by the weights now in logWeights. */
  private resample(total: number, u: number): void {
    const N = this.particles;
    const RT = Math.max(1, this.pauses.length) * this.nTracked;
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
      this.nextStates[i]!.set(this.states[from]!);
      this.nextRecorded.set(this.recorded.subarray(from * RT, (from + 1) * RT), i * RT);
      this.nextAlive[i] = this.alive[from]!;
      const K = this.pendingCount;
      if (K) this.nextPending.set(this.pending.subarray(from * K, (from + 1) * K), i * K);
    }
    [this.pending, this.nextPending] = [this.nextPending, this.pending];
    [this.states, this.nextStates] = [this.nextStates, this.states];
    [this.recorded, this.nextRecorded] = [this.nextRecorded, this.recorded];
    [this.alive, this.nextAlive] = [this.nextAlive, this.alive];
  }
}
