import type { PreparedModel } from "../../engine/prepare.js";
import { hashName, hashUniform } from "../../engine/rng.js";
import { modelTimeToDate } from "../../model/time.js";
import { sortedQuantile } from "../stats.js";
import { drawMeasurement } from "./backtest.js";
import type { NoiseParam, ObservationSeries } from "./observations.js";
import { ParticleFilter } from "./particle-filter.js";
import { uncertainParams } from "./pmmh.js";

/**
 * The posterior-predictive distribution of every observation: runs of the model from time 0, each with the
 * params of one posterior draw (evenly spaced over the draws), the observed variable (or its change) read at
 * each observation's step and passed through the entry's measurement model — so the fan is of what would be
 * observed, comparable point by point with the data. An entry without a measurement model (ABC) is the
 * variable itself (drawMeasurement returns it).
 */

export interface PredictivePoint {
  series: string;
  t: number;
  date?: string;
  observed: number;
  /** Runs that reached this step (a run that ended in an outcome before it is left out). */
  n: number;
  q05: number;
  q25: number;
  q50: number;
  q75: number;
  q95: number;
}

const NOISE_KEY = hashName("report:predictive-noise");
/** Forecast calls of the predictive runs, apart from any filter's or chain's. */
const PREDICTIVE_CALL = 2 ** 33;

export function posteriorPredictive(
  model: PreparedModel,
  series: readonly ObservationSeries[],
  posterior: { params: readonly string[]; samples: readonly (readonly number[])[] },
  options: { runs: number; seed: number },
): PredictivePoint[] {
  const p = model.program;
  const { time } = model.loaded;
  const targets = series.flatMap((s) => s.points.map((pt) => ({ s, pt })));
  if (targets.length === 0 || posterior.samples.length === 0) return [];
  const last = Math.max(...targets.map((x) => x.pt.step));
  // No observation is compared (untilStep −1): a particle is a plain run of the model, paused at step 0.
  const filter = new ParticleFilter(model, series, {
    particles: 1,
    seed: options.seed,
    untilStep: -1,
    stateStep: 0,
  });
  const track = new Map(filter.observed.map((v, i) => [v, i]));
  const wanted = targets.flatMap(({ s, pt }) => {
    const t = track.get(s.variable)!;
    return s.changeSteps
      ? [
          { track: t, step: pt.step },
          { track: t, step: Math.max(0, pt.step - s.changeSteps) },
        ]
      : [{ track: t, step: pt.step }];
  });
  const slotOfParam = new Map(p.params.map((q, i) => [q.name, i]));
  const values = Float64Array.from(p.params, (q) => (q.dist.kind === "fixed" ? q.dist.value : 0));
  // The posterior's columns, as indices into the model's params (names checked by the caller).
  const columns = posterior.params.map((name) => slotOfParam.get(name));
  const free = new Set(uncertainParams(p.params));
  const noiseValue = (np: NoiseParam) => ("value" in np ? np.value : values[slotOfParam.get(np.param)!]!);
  const samples = targets.map(() => [] as number[]);
  for (let r = 0; r < options.runs; r++) {
    const draw = posterior.samples[Math.floor((r * posterior.samples.length) / options.runs)]!;
    columns.forEach((i, k) => {
      if (i !== undefined && free.has(i)) values[i] = draw[k]!;
    });
    const path = filter.forecast(values, PREDICTIVE_CALL + r, last, wanted);
    if (!path) continue;
    let counter = 0;
    const u = { next: () => hashUniform(options.seed, r, NOISE_KEY, counter++) };
    let w = 0;
    targets.forEach(({ s }, j) => {
      let x = path[w++]!;
      if (s.changeSteps) x -= path[w++]!;
      const y = Number.isNaN(x) ? x : drawMeasurement(s.noise, x, noiseValue, u);
      if (Number.isFinite(y)) samples[j]!.push(y);
    });
  }
  return targets.map(({ s, pt }, j) => {
    const sorted = Float64Array.from(samples[j]!).sort();
    const q = (x: number) => (sorted.length ? sortedQuantile(sorted, x) : Number.NaN);
    const t = Number((time.start + pt.step * time.dt).toPrecision(10));
    return {
      series: s.name,
      t,
      ...(time.origin !== undefined && time.unit !== undefined
        ? { date: pt.date ?? modelTimeToDate(t, time.origin, time.unit) }
        : {}),
      observed: pt.value,
      n: sorted.length,
      q05: q(0.05),
      q25: q(0.25),
      q50: q(0.5),
      q75: q(0.75),
      q95: q(0.95),
    };
  });
}
