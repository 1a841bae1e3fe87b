import { normalQuantile, poissonDraw } from "../../compile/functions.js";
import { quantile } from "../../engine/distributions.js";
import type { PreparedModel } from "../../engine/prepare.js";
import { hashName, hashUniform } from "../../engine/rng.js";
import { DiagnosticError } from "../../lang/diagnostic.js";
import { dateToDays, isIsoDate, modelTimeToDate, parseDuration, UNIT_DAYS } from "../../model/time.js";
import { sortedQuantile } from "../stats.js";
import { type CalibrateOptions, calibrate } from "./calibrate.js";
import { forecastsOnPool, jobFilterOptions } from "./calibrate-task.js";
import {
  type CoverageInterval,
  compareForecasters,
  coverageIntervals,
  type ForecastComparison,
} from "./compare-forecasts.js";
import { factorSeed, likelihoodFactors } from "./factors.js";
import type { Noise, NoiseParam, ObservationSeries } from "./observations.js";
import { ParticleFilter } from "./particle-filter.js";
import type { PosteriorParam } from "./pmmh.js";
import { uncertainParams } from "./pmmh.js";
import {
  type Baseline,
  naiveForecast,
  type PeriodScore,
  type ScoreSummary,
  scoreNormal,
  scoreSample,
  summarizeScores,
} from "./scoring.js";

/**
 * `brink backtest`: rolling-origin evaluation. At each origin the model is calibrated on the observations up to
 * it (or left with its priors), forecast to the horizon by Monte Carlo — each forecast run takes a param draw
 * and a particle of the filtered state at the origin given that draw, runs the model on from there, and draws
 * the observation from the entry's measurement model — and every observed period after the origin is scored
 * against what was observed, next to naive baselines scored on the same periods.
 */

export interface BacktestOptions extends Omit<CalibrateOptions, "untilStep" | "onProgress"> {
  /** Origin steps, increasing. */
  origins: number[];
  /** Forecast this many steps past each origin. */
  horizonSteps: number;
  /** Forecast from the priors instead of calibrating at each origin. */
  priorsOnly: boolean;
  /** Forecast runs per origin. */
  runs: number;
  /** k of the mean-of-the-last-k baseline. */
  baselineK: number;
  onProgress?: (origin: number, chain: number, iteration: number, acceptance: number) => void;
  /** Every forecast run's numbers, once per origin whose runs are all done (`brink backtest --runs-out`). */
  onForecastRuns?: (runs: ForecastRuns) => void;
}

/** One origin's forecast runs, row-major: run r's numbers at r·P (params) or r·targets.length (values, forecasts). */
export interface ForecastRuns {
  /** The origin's index in `origins`, its step, label and model time. */
  origin: number;
  step: number;
  label: string;
  t: number;
  runs: number;
  /** Every param's value in each run (the program's params, in order). */
  params: Float64Array;
  /** The observations forecast from this origin, in order. */
  targets: { series: string; variable: string; step: number; at: string; t: number; observed: number }[];
  /** The model's value for each target (its change for a `change:` entry); NaN where the run had none. */
  values: Float64Array;
  /** The observation drawn from the measurement model: what is scored; NaN where none or not finite. */
  forecasts: Float64Array;
  /** 1 where the run's particle had ended (or its filter estimate was 0) before the origin. */
  ended: Uint8Array;
}

export interface ForecastScore extends PeriodScore {
  forecaster: string;
}

/** One observed period after an origin, scored for every forecaster. */
export interface BacktestPeriod {
  series: string;
  origin: string;
  /** When the observation was made: date, or model time. */
  at: string;
  t: number;
  /** Observations of this series since the origin (1 = the next one): the baselines' h. */
  lead: number;
  observed: number;
  /** The model's forecast: its mean and 5/25/50/75/95% quantiles, over the runs that had not ended. */
  forecast: { mean: number; q05: number; q25: number; q50: number; q75: number; q95: number; runs: number };
  scores: ForecastScore[];
}

export interface BacktestResult {
  brink_backtest: 1;
  model: { file: string; name: string };
  method: "posterior" | "priors";
  seed: number;
  runs: number;
  /** The horizon in steps and in model time (of the model's time unit, when it has one). */
  horizon: { steps: number; time: number; unit: string | null };
  /** Forecasters in table order: the model, then the baselines. */
  forecasters: string[];
  origins: {
    label: string;
    step: number;
    t: number;
    /** The calibration at this origin (absent with --priors-only). */
    posterior?: {
      acceptance: number;
      partial: boolean;
      summary: PosteriorParam[];
      /** With adaptive particle numbers (`targetSd`): each chain's particles after burn-in. */
      chain_particles?: number[];
    };
    /** Forecast runs whose particle had ended (or whose filter estimate was 0) before the origin. */
    ended: number;
  }[];
  /** Per series and forecaster, the scores over the periods every forecaster could forecast. */
  summary: { series: string; variable: string; forecaster: string; scores: ScoreSummary }[];
  /**
   * The model against each baseline, per series, over the same periods: the difference of mean CRPS with a 95%
   * interval that treats origins as the sample (compare-forecasts.ts).
   */
  comparisons: ForecastComparison[];
  /**
   * Per series and forecaster, the 50% and 90% coverage over the same periods as `summary`, each with a 95%
   * interval that allows for the periods' dependence (compare-forecasts.ts, coverageIntervals).
   */
  coverage: CoverageInterval[];
  /**
   * With `brink backtest --against FILE`: this model against FILE's (another backtest of the same origins and
   * horizon), per series, on the periods both scored; `baseline` names the other as `model of FILE`.
   */
  against?: { file: string; model: string; comparisons: ForecastComparison[] };
  periods: BacktestPeriod[];
  /** Periods left out of the summary because some baseline had too short a history there. */
  skipped: number;
  partial: boolean;
}

const PRIOR_KEY = hashName("backtest:prior");
const NOISE_KEY = hashName("backtest:noise");
/** Filter calls of forecast runs are numbered apart from the chains' and the posterior state's. */
const FORECAST_CALL = 2 ** 32;

/** The model time of an ISO date or a number; an error when it is neither. */
function modelTime(model: PreparedModel, text: string, what: string): number | { error: string } {
  const { time } = model.loaded;
  if (isIsoDate(text)) {
    if (time.origin === undefined || time.unit === undefined)
      return { error: `${what} ${text} is a date but the model's time is not dated` };
    return (dateToDays(text) - dateToDays(time.origin)) / UNIT_DAYS[time.unit]!;
  }
  if (/^[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  return { error: `${what} takes ISO dates (YYYY-MM-DD) or model times, not '${text}'` };
}

/**
 * The origin steps of `--origins D1,D2,…`: each a date or model time inside the observations (some observation
 * at or before it, some after it), strictly increasing.
 */
export function parseOrigins(
  model: PreparedModel,
  series: readonly ObservationSeries[],
  text: string,
): { steps: number[] } | { error: string } {
  const { time } = model.loaded;
  const items = text.split(",").map((s) => s.trim());
  const all = series.flatMap((s) => s.points.map((p) => p.step));
  const first = Math.min(...all);
  const last = Math.max(...all);
  const steps: number[] = [];
  for (const [i, item] of items.entries()) {
    if (item === "") return { error: `--origins: origin ${i + 1} is empty` };
    const t = modelTime(model, item, "--origins");
    if (typeof t !== "number") return t;
    const step = Math.floor((t - time.start) / time.dt + 1e-9);
    if (step < 0 || step > time.steps) return { error: `--origins: ${item} is outside the model's time` };
    if (all.length === 0) return { error: "--origins: the model has no observations" };
    if (step < first || step >= last)
      return {
        error: `--origins: ${item} is outside the data (an origin needs an observation at or before it and one after it)`,
      };
    if (steps.length && step <= steps[steps.length - 1]!)
      return { error: `--origins: ${item} is not after the origin before it (${items[i - 1]})` };
    steps.push(step);
  }
  return { steps };
}

/** The steps of `--horizon DURATION` (e.g. `7 days`, or a model time in an undated model). */
export function parseHorizon(model: PreparedModel, text: string): { steps: number } | { error: string } {
  const { time } = model.loaded;
  let amount: number;
  const d = parseDuration(text);
  if (d) {
    if (time.unit === undefined)
      return { error: `--horizon ${text} has a unit but the model's time has none: give a model time` };
    amount = (d.amount * UNIT_DAYS[d.unit]!) / UNIT_DAYS[time.unit]!;
  } else if (/^[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?$/.test(text.trim())) amount = Number(text);
  else return { error: `--horizon takes a duration such as '7 days' (or a model time), not '${text}'` };
  const steps = Math.round(amount / time.dt);
  if (!(steps >= 1)) return { error: `--horizon ${text} is shorter than one time step` };
  return { steps };
}

/** A uniform source for draws: (seed, run, key, counter). */
class Uniforms {
  private counter = 0;
  constructor(
    private readonly seed: number,
    private readonly run: number,
    private readonly key: number,
  ) {}
  next(): number {
    return hashUniform(this.seed, this.run, this.key, this.counter++);
  }
  uniform(): number {
    return this.next();
  }
}

/** Gamma(shape, 1) by Marsaglia & Tsang (2000), boosted for shape < 1. */
function gammaDraw(shape: number, u: { next(): number }): number {
  if (shape < 1) return gammaDraw(shape + 1, u) * u.next() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normalQuantile(u.next());
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    if (Math.log(u.next()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** A draw of the observation given the model's value x, from the entry's measurement model. */
export function drawMeasurement(
  noise: Noise,
  x: number,
  value: (p: NoiseParam) => number,
  u: { next(): number },
): number {
  switch (noise.kind) {
    case "normal":
      return x + value(noise.sd) * normalQuantile(u.next());
    case "lognormal":
      return x > 0 ? Math.exp(Math.log(x) + value(noise.sd) * normalQuantile(u.next())) : Number.NaN;
    case "student_t": {
      const df = value(noise.df);
      const chi2 = 2 * gammaDraw(df / 2, u);
      return x + (value(noise.scale) * normalQuantile(u.next())) / Math.sqrt(chi2 / df);
    }
    case "negative_binomial": {
      // A Poisson whose mean is gamma with mean x and shape k: variance x + x²/k.
      if (!(x >= 0)) return Number.NaN;
      const k = value(noise.dispersion);
      return poissonDraw((x * gammaDraw(k, u)) / k, { uniform: () => u.next() }, 0);
    }
    case "none":
      return x;
  }
}

/** A horizon of `steps` as a backtest reports it: in steps, and in model time (of the model's unit, if any). */
export function horizonOf(model: PreparedModel, steps: number): BacktestResult["horizon"] {
  const { time } = model.loaded;
  return { steps, time: Number((steps * time.dt).toPrecision(10)), unit: time.unit ?? null };
}

/** A step's time and its label in a backtest: a date in a dated model, else the model time. */
export function label(model: PreparedModel, step: number): { label: string; t: number } {
  const { time } = model.loaded;
  const t = time.start + step * time.dt;
  const rounded = Number(t.toPrecision(10));
  return {
    t: rounded,
    label:
      time.origin !== undefined && time.unit !== undefined
        ? modelTimeToDate(t, time.origin, time.unit)
        : String(rounded),
  };
}

export function baselineName(b: Baseline): string {
  return b.kind === "mean" ? `mean of last ${b.k}` : b.kind;
}

export async function backtest(
  model: PreparedModel,
  file: string,
  series: readonly ObservationSeries[],
  options: BacktestOptions,
): Promise<BacktestResult> {
  const { source } = model.loaded;
  if (series.length === 0)
    throw new DiagnosticError([
      source.error(0, "nothing to backtest against: the model has no 'observations'"),
    ]);
  const p = model.program;
  const free = uncertainParams(p.params);
  const baselines: Baseline[] = [
    { kind: "persistence" },
    { kind: "mean", k: options.baselineK },
    { kind: "drift" },
  ];
  const forecasters = ["model", ...baselines.map(baselineName)];
  const periods: BacktestPeriod[] = [];
  const origins: BacktestResult["origins"] = [];
  let partial = false;
  const paramSlot = new Map(p.params.map((q, i) => [q.name, i]));
  for (const [o, origin] of options.origins.entries()) {
    if (partial) break;
    // Param draws: the posterior's or the priors'.
    let draws: number[][];
    let posterior: BacktestResult["origins"][number]["posterior"];
    // The forecasts' filter: as many particles as the calibration's chains settled on (adaptive particle numbers
    // raise them where the estimate is noisy, and a nowcast from too few particles is as noisy as the estimate).
    let forecastParticles = options.particles;
    if (free.length === 0) {
      // Nothing to calibrate: every run has the model's own params (the state is still filtered).
      draws = [[]];
    } else if (options.priorsOnly) {
      draws = Array.from({ length: options.runs }, (_, r) =>
        free.map((q, i) => quantile(p.params[q]!.dist, hashUniform(options.seed, r, PRIOR_KEY, i))),
      );
    } else {
      const post = await calibrate(model, file, series, {
        ...options,
        untilStep: origin,
        onProgress: (c, it, a) => options.onProgress?.(o, c, it, a),
      });
      if (post.samples.length === 0) {
        partial = true;
        break;
      }
      partial = post.partial;
      draws = post.samples;
      posterior = {
        acceptance: post.acceptance,
        partial: post.partial,
        summary: post.summary,
        ...(post.chain_particles ? { chain_particles: post.chain_particles } : {}),
      };
      if (post.chain_particles) forecastParticles = Math.max(forecastParticles, ...post.chain_particles);
    }
    const end = Math.min(model.loaded.time.steps, origin + options.horizonSteps);
    // What to forecast: each series' observations in (origin, end], and the starts of their change periods.
    const targets = series.flatMap((s) =>
      s.points
        .filter((pt) => pt.step > origin && pt.step <= end)
        .map((pt) => ({ s, pt, history: s.points.filter((h) => h.step <= origin) })),
    );
    const recordSteps = new Set<number>();
    for (const { s, pt } of targets)
      if (s.changeSteps && pt.step - s.changeSteps <= origin)
        recordSteps.add(Math.max(0, pt.step - s.changeSteps));
    // Each target's values in a run's path: its observation step, and the start of its change period.
    const offsets: number[] = [];
    let pathLength = 0;
    for (const { s } of targets) {
      offsets.push(pathLength);
      pathLength += s.changeSteps ? 2 : 1;
    }
    // One forecaster per independent factor of the likelihood (factors.ts), as calibrate fits them: each filters
    // on its own series only, so its nowcast is not thinned by weights from series it cannot explain, and draws
    // the state of its own part of the model; the factors' parts of a run are independent given the params.
    const factors = options.priorsOnly
      ? [{ series: series.map((_, i) => i), params: free }]
      : likelihoodFactors(p, series);
    const parts = factors.map((factor, k) => {
      const own = factor.series.map((i) => series[i]!);
      const seed = factorSeed(options.seed, k);
      const job = {
        file: model.loaded.source.file,
        text: model.loaded.source.text,
        series: own,
        // With the priors nothing is filtered: one particle is a plain run of the model.
        particles: options.priorsOnly || p.randomSites.length === 0 ? 1 : forecastParticles,
        seed,
        untilStep: options.priorsOnly ? -1 : origin,
        ...(options.lookahead && !options.priorsOnly ? { lookahead: options.lookahead } : {}),
      };
      const filter = new ParticleFilter(model, own, jobFilterOptions(job, origin, [...recordSteps]));
      const tracks = new Map(filter.observed.map((v, i) => [v, i]));
      const mine = targets.flatMap(({ s }, j) => (own.includes(s) ? [j] : []));
      const wanted = mine.flatMap((j) => {
        const { s, pt } = targets[j]!;
        const track = tracks.get(s.variable)!;
        return s.changeSteps
          ? [
              { track, step: pt.step },
              { track, step: Math.max(0, pt.step - s.changeSteps) },
            ]
          : [{ track, step: pt.step }];
      });
      return { job, filter, mine, wanted };
    });
    const samples = targets.map(() => [] as number[]);
    const values = Float64Array.from(p.params, (q) => (q.dist.kind === "fixed" ? q.dist.value : 0));
    const noiseValue = (np: NoiseParam) => ("value" in np ? np.value : values[paramSlot.get(np.param)!]!);
    let ended = 0;
    // Run r's params: evenly spaced over the draws (chain after chain), each used equally often when fewer.
    const setDraw = (r: number) => {
      const draw = draws[Math.floor((r * draws.length) / options.runs)]!;
      free.forEach((q, i) => {
        values[q] = draw[i]!;
      });
    };
    // On worker threads, every run's forecast is made there first (the same numbers as here).
    const rows = () => {
      const out = new Float64Array(options.runs * p.params.length);
      for (let r = 0; r < options.runs; r++) {
        setDraw(r);
        out.set(values, r * p.params.length);
      }
      return out;
    };
    const onPool =
      options.pool && !options.shouldStop?.()
        ? await Promise.all(
            parts.map((part) =>
              forecastsOnPool(
                options.pool!,
                {
                  job: part.job,
                  stateStep: origin,
                  recordSteps: [...recordSteps],
                  toStep: end,
                  wanted: part.wanted,
                },
                rows(),
                p.params.length,
                options.runs,
                FORECAST_CALL,
              ),
            ),
          )
        : undefined;
    // Run r's path: each factor's targets from that factor's forecast; none if any factor's run had ended.
    const pathOf = (r: number): Float64Array | undefined => {
      const got = parts.map((part, k) =>
        onPool ? onPool[k]!(r) : part.filter.forecast(values, FORECAST_CALL + r, end, part.wanted),
      );
      if (got.length === 1 || got.some((g) => g === undefined)) return got.length === 1 ? got[0] : undefined;
      const path = new Float64Array(pathLength);
      parts.forEach((part, k) => {
        let w = 0;
        for (const j of part.mine) {
          const n = targets[j]!.s.changeSteps ? 2 : 1;
          for (let m = 0; m < n; m++) path[offsets[j]! + m] = got[k]![w++]!;
        }
      });
      return path;
    };
    const T = targets.length;
    const record = options.onForecastRuns
      ? {
          params: new Float64Array(options.runs * p.params.length),
          values: new Float64Array(options.runs * T).fill(Number.NaN),
          forecasts: new Float64Array(options.runs * T).fill(Number.NaN),
          ended: new Uint8Array(options.runs),
        }
      : undefined;
    let done = 0;
    for (let r = 0; r < options.runs; r++) {
      // Forecasts made on the pool are all there: a stop now keeps them (the next origin sees it).
      if (!onPool && options.shouldStop?.()) {
        partial = true;
        break;
      }
      if (r % 50 === 49) await options.pause?.();
      setDraw(r);
      record?.params.set(values, r * p.params.length);
      done = r + 1;
      const path = pathOf(r);
      if (!path) {
        ended++;
        if (record) record.ended[r] = 1;
        continue;
      }
      const u = new Uniforms(options.seed, r, NOISE_KEY + o);
      let w = 0;
      targets.forEach(({ s }, j) => {
        let x = path[w++]!;
        if (s.changeSteps) x -= path[w++]!;
        const y = Number.isNaN(x) ? Number.NaN : drawMeasurement(s.noise, x, noiseValue, u);
        if (record) {
          record.values[r * T + j] = x;
          if (Number.isFinite(y)) record.forecasts[r * T + j] = y;
        }
        if (Number.isFinite(y)) samples[j]!.push(y);
      });
    }
    const at = label(model, origin);
    if (record && done === options.runs)
      options.onForecastRuns!({
        origin: o,
        step: origin,
        label: at.label,
        t: at.t,
        runs: options.runs,
        ...record,
        targets: targets.map(({ s, pt }) => {
          const when = label(model, pt.step);
          return {
            series: s.name,
            variable: s.variable,
            step: pt.step,
            at: when.label,
            t: when.t,
            observed: pt.value,
          };
        }),
      });
    origins.push({ label: at.label, step: origin, t: at.t, ...(posterior ? { posterior } : {}), ended });
    targets.forEach(({ s, pt, history }, j) => {
      const sample = samples[j]!;
      if (sample.length === 0) return;
      const lead = s.points.filter((q) => q.step > origin && q.step <= pt.step).length;
      const sorted = Float64Array.from(sample).sort();
      const scores: ForecastScore[] = [{ forecaster: "model", ...scoreSample(sorted, pt.value) }];
      const past = history.map((h) => h.value);
      for (const b of baselines) {
        const f = past.length ? naiveForecast(past, lead, b) : undefined;
        if (f) scores.push({ forecaster: baselineName(b), ...scoreNormal(f.mean, f.sd, pt.value) });
      }
      const q = (x: number) => sortedQuantile(sorted, x);
      periods.push({
        series: s.name,
        origin: at.label,
        at: label(model, pt.step).label,
        t: label(model, pt.step).t,
        lead,
        observed: pt.value,
        forecast: {
          mean: sample.reduce((a, b) => a + b, 0) / sample.length,
          q05: q(0.05),
          q25: q(0.25),
          q50: q(0.5),
          q75: q(0.75),
          q95: q(0.95),
          runs: sample.length,
        },
        scores,
      });
    });
  }
  const common = periods.filter((pd) => pd.scores.length === forecasters.length);
  const summary = series.flatMap((s) =>
    forecasters.map((f) => ({
      series: s.name,
      variable: s.variable,
      forecaster: f,
      scores: summarizeScores(
        common.filter((pd) => pd.series === s.name).map((pd) => pd.scores.find((x) => x.forecaster === f)!),
      ),
    })),
  );
  return {
    brink_backtest: 1,
    model: { file, name: model.loaded.spec.name },
    method: options.priorsOnly ? "priors" : "posterior",
    seed: options.seed,
    runs: options.runs,
    horizon: horizonOf(model, options.horizonSteps),
    forecasters,
    origins,
    summary,
    comparisons: compareForecasters(common, forecasters),
    coverage: coverageIntervals(common, forecasters),
    periods,
    skipped: periods.length - common.length,
    partial,
  };
}
