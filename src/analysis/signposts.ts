import { type PreparedModel, prepareModel } from "../engine/prepare.js";
import { type ParamRows, Runner } from "../engine/run.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import { modelTimeToDate, UNIT_DAYS } from "../model/time.js";
import { normalisePriors } from "./weigh.js";

/**
 * `brink signposts`: which coming observations would tell rival scenarios (theses) apart soonest. Each
 * scenario's predictive distribution of every observable — a tracked variable's level at a save time, its
 * change over a period, whether an outcome has happened by then — comes from Monte Carlo runs of that scenario
 * on common random numbers (same seed, same run indices). An observable's value as a signpost is the expected
 * information gain about which scenario holds, the mutual information I(H; Y) = Σ_s π_s KL(p_s ‖ Σ_k π_k p_k)
 * between the scenario H (prior weights π) and the observation Y; each scenario's expected log Bayes factor
 * against the others, E_{p_s}[log p_s(Y)/p_rest(Y)], is reported beside it. Densities are binned histograms
 * (see `binCounts`). Thresholds: for each scenario, the one-sided event (Y ≤ V or Y > V) whose probability
 * under it most exceeds that under the others (the Kolmogorov–Smirnov point), with the odds the event gives.
 */

export interface SignpostScenario {
  name: string;
  model: PreparedModel;
}

export interface SignpostOptions {
  runs: number;
  seed: number;
  /** Observables after this step (the last observation, or the model's start)… */
  fromStep: number;
  /** …up to this step. */
  toStep: number;
  /** Period of the changes, in steps (a multiple of the save interval). */
  periodSteps: number;
  /** The period in words ("4 weeks"), for the observables' names. */
  periodLabel: string;
  /** Consecutive periods of a change threshold's "stays below V for k periods" signpost (1: none). */
  persistence: number;
  priorWeights?: readonly number[];
  /** Per scenario, posterior draws of its uncertain params to run with (absent, or undefined for one: priors). */
  posteriors?: readonly (ParamRows | undefined)[];
  /** Signposts to list, best first. */
  top: number;
  shouldStop?: () => boolean;
  pause?: () => Promise<void>;
}

export interface Threshold {
  /** The scenario the event favours. */
  scenario: string;
  direction: "at most" | "above" | "happened" | "not happened";
  value?: number;
  /** Consecutive periods the change must stay on that side (1: the single observation). */
  periods: number;
  /** P(event | scenario) and P(event | the others, prior-weighted). */
  p_scenario: number;
  p_others: number;
  /** Bayes factor of the event: p_scenario / p_others (each count + ½ over runs + 1, so never 0 or ∞). */
  odds: number;
  text: string;
}

export interface Signpost {
  observable: string;
  kind: "level" | "change" | "outcome";
  /** The tracked variable or the outcome. */
  name: string;
  step: number;
  t: number;
  date?: string;
  /** Expected information gain about the scenario, in nats and bits. */
  information: number;
  information_bits: number;
  /** Per scenario: mean (of the runs still going; for an outcome, the probability) and share of runs ended. */
  predictive: { scenario: string; mean: number; ended: number; expected_log_bayes_factor: number }[];
  thresholds: Threshold[];
}

export interface SignpostResult {
  model: { file: string; name: string };
  scenarios: string[];
  prior_weights: number[];
  runs: number;
  seed: number;
  from: { step: number; t: number; date?: string };
  to: { step: number; t: number; date?: string };
  period: string;
  persistence: number;
  density: string;
  predictive: string;
  /** Observables × dates weighed. */
  observables: number;
  signposts: Signpost[];
  /** Information over time for each observable that made the list (for the chart). */
  curves: { observable: string; points: { t: number; date?: string; information_bits: number }[] }[];
  partial: boolean;
}

export const DENSITY_METHOD =
  "binned histograms on bins shared by the scenarios: a value each when the pooled runs take at most 32 distinct values, else Freedman–Diaconis width 2·IQR·n^(−1/3) of the pooled finite values (at most 1000 bins), and one bin for runs that had ended";
const PREDICTIVE =
  "Predictive distributions: each scenario's runs from the model's start with params from its priors (not conditioned on the observations)";
const POSTERIOR_PREDICTIVE =
  "Predictive distributions: each scenario's runs from the model's start with params from its posterior given the observations up to the origin (PMMH draws, run r taking draw r mod the draws; the states are not filtered, so a stochastic model's noise is not conditioned on the data)";
const MAX_DISTINCT = 32;
const MAX_BINS = 1000;

/**
 * Counts per scenario over shared bins: samples[s] are scenario s's values (NaN: the run had ended, its own
 * bin, the last). Returns the counts (row per scenario) and each finite bin's upper edge (Infinity for the last).
 */
export function binCounts(samples: readonly Float64Array[]): { counts: Float64Array[]; upper: number[] } {
  const finite: number[] = [];
  for (const s of samples) for (const x of s) if (!Number.isNaN(x)) finite.push(x);
  finite.sort((a, b) => a - b);
  let upper: number[];
  const distinct: number[] = [];
  for (const x of finite)
    if (distinct.length === 0 || distinct[distinct.length - 1] !== x) {
      if (distinct.length > MAX_DISTINCT) break;
      distinct.push(x);
    }
  let binOf: (x: number) => number;
  if (distinct.length <= MAX_DISTINCT) {
    upper = distinct;
    const index = new Map(distinct.map((x, i) => [x, i]));
    binOf = (x) => index.get(x)!;
  } else {
    const n = finite.length;
    const q = (p: number) => finite[Math.min(n - 1, Math.floor(p * (n - 1)))]!;
    const min = finite[0]!;
    const max = finite[n - 1]!;
    const iqr = q(0.75) - q(0.25);
    const width = iqr > 0 ? 2 * iqr * n ** (-1 / 3) : (max - min) / Math.ceil(Math.sqrt(n));
    const bins = Math.max(1, Math.min(MAX_BINS, Math.ceil((max - min) / width)));
    const h = (max - min) / bins;
    upper = Array.from({ length: bins }, (_, b) => (b + 1 === bins ? max : min + (b + 1) * h));
    binOf = (x) => Math.min(bins - 1, Math.max(0, Math.ceil((x - min) / h) - 1));
  }
  const B = upper.length;
  const counts = samples.map((s) => {
    const c = new Float64Array(B + 1);
    for (const x of s) c[Number.isNaN(x) ? B : binOf(x)]!++;
    return c;
  });
  return { counts, upper };
}

/** Mutual information (nats) between the scenario (prior `priors`) and an observation binned as `counts`. */
export function mutualInformation(counts: readonly Float64Array[], priors: readonly number[]): number {
  const totals = counts.map((c) => c.reduce((a, b) => a + b, 0));
  let info = 0;
  for (let b = 0; b < counts[0]!.length; b++) {
    let mix = 0;
    counts.forEach((c, s) => {
      mix += (priors[s]! * c[b]!) / totals[s]!;
    });
    counts.forEach((c, s) => {
      const p = c[b]! / totals[s]!;
      if (p > 0) info += priors[s]! * p * Math.log(p / mix);
    });
  }
  return Math.max(0, info);
}

/**
 * Each scenario's expected log Bayes factor against the others (prior-weighted): KL(p_s ‖ p_rest), in nats, with
 * every count raised by ½ (Krichevsky–Trofimov) so a bin the others never reached is finite.
 */
export function expectedLogBayesFactors(
  counts: readonly Float64Array[],
  priors: readonly number[],
): number[] {
  const B = counts[0]!.length;
  const smoothed = counts.map((c) => {
    const total = c.reduce((a, b) => a + b, 0) + B / 2;
    return Array.from(c, (x) => (x + 0.5) / total);
  });
  return smoothed.map((p, s) => {
    const rest = 1 - priors[s]!;
    if (!(rest > 0)) return Number.NaN;
    let kl = 0;
    for (let b = 0; b < B; b++) {
      let q = 0;
      smoothed.forEach((r, k) => {
        if (k !== s) q += (priors[k]! * r[b]!) / rest;
      });
      kl += p[b]! * Math.log(p[b]! / q);
    }
    return kl;
  });
}

/** The odds of an event from counts under the scenario and the prior-weighted others (each count + ½). */
function oddsOf(hits: readonly number[], runs: readonly number[], s: number, priors: readonly number[]) {
  const p = (k: number) => (hits[k]! + 0.5) / (runs[k]! + 1);
  const rest = 1 - priors[s]!;
  let q = 0;
  hits.forEach((_, k) => {
    if (k !== s) q += (priors[k]! * p(k)) / rest;
  });
  return {
    p_scenario: hits[s]! / runs[s]!,
    p_others: hits.reduce((a, h, k) => (k === s ? a : a + (priors[k]! * h) / runs[k]! / rest), 0),
    odds: p(s) / q,
  };
}

/** For each scenario, the one-sided event on the finite values whose probability most exceeds the others'. */
function bestCuts(
  counts: readonly Float64Array[],
  upper: readonly number[],
  priors: readonly number[],
): { scenario: number; below: boolean; bin: number }[] {
  const B = upper.length;
  const totals = counts.map((c) => c.reduce((a, b) => a + b, 0));
  const cuts: { scenario: number; below: boolean; bin: number }[] = [];
  for (let s = 0; s < counts.length; s++) {
    const rest = 1 - priors[s]!;
    if (!(rest > 0) || B < 2) continue;
    let below = 0;
    let belowRest = 0;
    let finite = 0;
    let finiteRest = 0;
    for (let b = 0; b < B; b++) {
      finite += counts[s]![b]! / totals[s]!;
      counts.forEach((c, k) => {
        if (k !== s) finiteRest += (priors[k]! * c[b]!) / totals[k]! / rest;
      });
    }
    let best = { gap: 0, below: true, bin: -1 };
    for (let b = 0; b < B - 1; b++) {
      below += counts[s]![b]! / totals[s]!;
      counts.forEach((c, k) => {
        if (k !== s) belowRest += (priors[k]! * c[b]!) / totals[k]! / rest;
      });
      const gapBelow = below - belowRest;
      const gapAbove = finite - below - (finiteRest - belowRest);
      if (gapBelow > best.gap) best = { gap: gapBelow, below: true, bin: b };
      if (gapAbove > best.gap) best = { gap: gapAbove, below: false, bin: b };
    }
    if (best.bin >= 0) cuts.push({ scenario: s, below: best.below, bin: best.bin });
  }
  return cuts;
}

/** Which runs of one scenario to record, and what: saves s0 … s0 + K − 1 of the named tracked values. */
export interface RunsSpec {
  seed: number;
  /** Runs [from, to). */
  from: number;
  to: number;
  s0: number;
  K: number;
  tracked: readonly string[];
  outcomes: readonly string[];
  /** Param values by run (posterior draws): run r takes row r mod the rows. */
  rows?: ParamRows;
}

/** Runs [from, to) of one scenario: values[(r·K + k)·J + j] (NaN once the run had ended), and how each ended. */
export interface RunsPart {
  values: Float64Array;
  ends: Float64Array;
  outcomes: Int32Array;
}

/** A range of one scenario's runs as a task for a worker thread, which prepares the model itself. */
export interface RunsTask {
  file: string;
  text: string;
  scenario: string;
  spec: RunsSpec;
}

/** Where the scenarios' runs are made: worker threads (the Node pool) or, without one, here. */
export interface RunsPool {
  text: string;
  run(task: RunsTask): Promise<RunsPart>;
}

/** Runs per worker task, and per pause on this thread (Ctrl-C is seen between them). */
export const POOL_CHUNK = 500;
const LOCAL_CHUNK = 200;

/** Record runs [from, to) of a prepared scenario. Run r is run r of the seed whoever runs it. */
export function scenarioRuns(model: PreparedModel, spec: RunsSpec): RunsPart {
  const { K, s0 } = spec;
  const J = spec.tracked.length;
  const n = spec.to - spec.from;
  const runner = new Runner(model, spec.seed, "kernel", { kind: "random" }, spec.rows);
  const slotOf = spec.tracked.map((name) => model.program.tracked.findIndex((t) => t.name === name));
  const T = model.program.tracked.length;
  const outcomeIndex = model.program.outcomes.map((o) => spec.outcomes.indexOf(o.name));
  const values = new Float64Array(n * K * J);
  const ends = new Float64Array(n);
  const outcomes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const end = runner.run(spec.from + i);
    ends[i] = end.outcome >= 0 ? end.timeIndex : Number.POSITIVE_INFINITY;
    outcomes[i] = end.outcome >= 0 ? outcomeIndex[end.outcome]! : -1;
    for (let k = 0; k < K; k++)
      for (let j = 0; j < J; j++)
        values[(i * K + k) * J + j] =
          s0 + k < end.saves ? runner.saved[(s0 + k) * T + slotOf[j]!]! : Number.NaN;
  }
  return { values, ends, outcomes };
}

/** The worker's side of a RunsTask. */
export function runsTask(task: RunsTask): RunsPart {
  const model = prepareModel(
    task.file,
    task.text,
    task.scenario === "base" ? {} : { scenario: task.scenario },
  );
  return scenarioRuns(model, task.spec);
}

function concat<A extends Float64Array | Int32Array>(parts: A[], make: new (n: number) => A): A {
  const out = new make(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const fmt = (x: number) => String(Number(x.toPrecision(3)));
const oddsText = (odds: number) => (odds >= 1 ? `${fmt(odds)}:1` : `1:${fmt(1 / odds)}`);

export async function signposts(
  file: string,
  scenarios: readonly SignpostScenario[],
  options: SignpostOptions,
  /** Worker threads for the runs (chunks of each scenario's); without one they run here. */
  pool?: RunsPool,
): Promise<SignpostResult> {
  const first = scenarios[0]!.model;
  const { time, source } = first.loaded;
  const p0 = first.program;
  // Signposts place their times and periods on a fixed step grid (start + step · dt, a save every saveEvery steps).
  const clocked = scenarios.find((s) => s.model.program.time.clock !== undefined);
  if (clocked)
    throw new DiagnosticError([
      clocked.model.loaded.source.atKey(
        ["time", "clock"],
        "time.clock is not supported yet by signposts, which place their times on a fixed step grid",
      ),
    ]);
  for (const s of scenarios) {
    const t = s.model.program.time;
    if (
      t.steps !== p0.time.steps ||
      t.saveEvery !== p0.time.saveEvery ||
      s.model.loaded.time.dt !== time.dt ||
      s.model.loaded.time.start !== time.start
    )
      throw new DiagnosticError([
        source.error(
          0,
          `scenario '${s.name}' changes the model's time (start, step or save interval): signposts compare the scenarios at the same dates`,
        ),
      ]);
  }
  const priors = normalisePriors(scenarios.length, options.priorWeights);
  const names = scenarios.map((s) => s.name);
  const R = options.runs;
  const every = p0.time.saveEvery;
  // Save indices from the origin (or the first save after it) to the end of the window.
  const s0 = Math.ceil(options.fromStep / every);
  const s1 = Math.floor(options.toStep / every);
  const K = s1 - s0 + 1;
  const tracked = p0.tracked
    .map((t) => t.name)
    .filter((n) => scenarios.every((s) => s.model.program.tracked.some((t) => t.name === n)));
  const outcomes = p0.outcomes
    .map((o) => o.name)
    .filter((n) => scenarios.every((s) => s.model.program.outcomes.some((o) => o.name === n)));
  const J = tracked.length;
  if (K < 1 || s1 * every <= options.fromStep)
    throw new DiagnosticError([
      source.error(0, "no save time between the origin and the horizon: nothing to weigh as a signpost"),
    ]);
  const dateOf = (step: number) =>
    time.origin !== undefined && time.unit !== undefined
      ? { date: modelTimeToDate(time.start + step * time.dt, time.origin, time.unit) }
      : {};
  // values[s][(r·K + k)·J + j]: scenario s, run r, save s0 + k, tracked j (NaN once the run had ended).
  const values: Float64Array[] = [];
  // endStep[s][r]: the step its outcome ended run r (Infinity: none); endOutcome[s][r]: that outcome's index, or −1.
  const endStep: Float64Array[] = [];
  const endOutcome: Int32Array[] = [];
  let partial = false;
  const spec = (i: number, from: number, to: number): RunsSpec => {
    const rows = options.posteriors?.[i];
    return { seed: options.seed, from, to, s0, K, tracked, outcomes, ...(rows ? { rows } : {}) };
  };
  const parts: RunsPart[][] = scenarios.map(() => []);
  if (pool) {
    const tasks = scenarios.flatMap((s, i) =>
      Array.from({ length: Math.ceil(R / POOL_CHUNK) }, (_, c) => ({
        i,
        task: {
          file,
          text: pool.text,
          scenario: s.name,
          spec: spec(i, c * POOL_CHUNK, Math.min(R, (c + 1) * POOL_CHUNK)),
        },
      })),
    );
    const done = await Promise.all(tasks.map((t) => pool.run(t.task)));
    tasks.forEach((t, k) => parts[t.i]!.push(done[k]!));
  } else {
    outer: for (const [i, s] of scenarios.entries())
      for (let from = 0; from < R; from += LOCAL_CHUNK) {
        if (options.shouldStop?.()) {
          partial = true;
          break outer;
        }
        parts[i]!.push(scenarioRuns(s.model, spec(i, from, Math.min(R, from + LOCAL_CHUNK))));
        await options.pause?.();
      }
  }
  for (const p of parts) {
    values.push(
      concat(
        p.map((x) => x.values),
        Float64Array,
      ),
    );
    endStep.push(
      concat(
        p.map((x) => x.ends),
        Float64Array,
      ),
    );
    endOutcome.push(
      concat(
        p.map((x) => x.outcomes),
        Int32Array,
      ),
    );
  }
  if (partial)
    return {
      ...header(),
      observables: 0,
      signposts: [],
      curves: [],
      partial: true,
    };

  const periodSaves = Math.max(1, Math.round(options.periodSteps / every));
  const runsOf = scenarios.map(() => R);
  const all: Signpost[] = [];
  const sample = (fill: (out: Float64Array, s: number) => void) =>
    scenarios.map((_, s) => {
      const out = new Float64Array(R);
      fill(out, s);
      return out;
    });
  const describe = (
    kind: Signpost["kind"],
    name: string,
    observable: string,
    k: number,
    samples: Float64Array[],
    persistent?: (s: number, below: boolean, value: number) => number,
  ) => {
    const step = (s0 + k) * every;
    const { counts, upper } = binCounts(samples);
    const info = mutualInformation(counts, priors);
    const elbf = expectedLogBayesFactors(counts, priors);
    const where = dateOf(step).date ?? `t = ${fmt(time.start + step * time.dt)}`;
    const thresholds: Threshold[] = [];
    if (kind === "outcome") {
      for (let s = 0; s < scenarios.length; s++) {
        if (!(priors[s]! < 1)) continue;
        const hits = samples.map((x) => x.reduce((a, y) => a + y, 0));
        const happened = oddsOf(hits, runsOf, s, priors);
        const not = oddsOf(
          hits.map((h) => R - h),
          runsOf,
          s,
          priors,
        );
        const favours =
          happened.odds >= not.odds
            ? { o: happened, d: "happened" as const }
            : { o: not, d: "not happened" as const };
        thresholds.push({
          scenario: names[s]!,
          direction: favours.d,
          periods: 1,
          ...favours.o,
          text: `if ${name} has ${favours.d === "happened" ? "" : "not "}happened by ${where}, the odds move ${oddsText(favours.o.odds)} toward ${names[s]}.`,
        });
      }
    } else {
      for (const cut of bestCuts(counts, upper, priors)) {
        const value = upper[cut.bin]!;
        const hits = samples.map((x) =>
          x.reduce(
            (a, y) => a + (Number.isNaN(y) ? 0 : cut.below ? (y <= value ? 1 : 0) : y > value ? 1 : 0),
            0,
          ),
        );
        const o = oddsOf(hits, runsOf, cut.scenario, priors);
        const side = cut.below ? "at most" : "above";
        const scenario = names[cut.scenario]!;
        thresholds.push({
          scenario,
          direction: side,
          value,
          periods: 1,
          ...o,
          text: `if ${observable} is ${side} ${fmt(value)} at ${where}, the odds move ${oddsText(o.odds)} toward ${scenario}.`,
        });
        if (persistent && options.persistence > 1) {
          const hitsK = scenarios.map((_, s) => persistent(s, cut.below, value));
          const oK = oddsOf(hitsK, runsOf, cut.scenario, priors);
          thresholds.push({
            scenario,
            direction: side,
            value,
            periods: options.persistence,
            ...oK,
            text: `if ${observable} stays ${side} ${fmt(value)} for ${options.persistence} periods in a row to ${where}, the odds move ${oddsText(oK.odds)} toward ${scenario}.`,
          });
        }
      }
    }
    all.push({
      observable,
      kind,
      name,
      step,
      t: time.start + step * time.dt,
      ...dateOf(step),
      information: info,
      information_bits: info / Math.LN2,
      predictive: scenarios.map((_, s) => {
        const finite = Array.from(samples[s]!).filter((x) => !Number.isNaN(x));
        return {
          scenario: names[s]!,
          mean: finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : Number.NaN,
          ended: 1 - finite.length / R,
          expected_log_bayes_factor: elbf[s]!,
        };
      }),
      thresholds,
    });
  };
  const at = (s: number, r: number, k: number, j: number) => values[s]![(r * K + k) * J + j]!;
  for (const k of dateSaves()) {
    const step = (s0 + k) * every;
    for (let j = 0; j < J; j++) {
      describe(
        "level",
        tracked[j]!,
        tracked[j]!,
        k,
        sample((out, s) => {
          for (let r = 0; r < R; r++) out[r] = at(s, r, k, j);
        }),
      );
      if (k - periodSaves < 0) continue;
      const change = (s: number, r: number, kk: number) => at(s, r, kk, j) - at(s, r, kk - periodSaves, j);
      const firstPeriod = k - options.persistence * periodSaves;
      describe(
        "change",
        tracked[j]!,
        `change of ${tracked[j]} over ${options.periodLabel}`,
        k,
        sample((out, s) => {
          for (let r = 0; r < R; r++) out[r] = change(s, r, k);
        }),
        firstPeriod >= 0
          ? (s, below, value) => {
              let hits = 0;
              for (let r = 0; r < R; r++) {
                let ok = true;
                for (let i = 0; i < options.persistence && ok; i++) {
                  const x = change(s, r, k - i * periodSaves);
                  ok = !Number.isNaN(x) && (below ? x <= value : x > value);
                }
                if (ok) hits++;
              }
              return hits;
            }
          : undefined,
      );
    }
    outcomes.forEach((o, i) => {
      describe(
        "outcome",
        o,
        `${o} has happened`,
        k,
        sample((out, s) => {
          for (let r = 0; r < R; r++) out[r] = endOutcome[s]![r] === i && endStep[s]![r]! <= step ? 1 : 0;
        }),
      );
    });
  }
  // Each observable once, at its most informative date, best first.
  const best = new Map<string, Signpost>();
  for (const sp of all) {
    const seen = best.get(sp.observable);
    if (!seen || sp.information > seen.information) best.set(sp.observable, sp);
  }
  const top = [...best.values()]
    .map((sp, i) => ({ sp, i }))
    .sort((a, b) => b.sp.information - a.sp.information || a.i - b.i)
    .map((x) => x.sp)
    .slice(0, options.top);
  const listed = [...new Set(top.map((s) => s.observable))];
  const curves = listed.map((observable) => ({
    observable,
    points: all
      .filter((s) => s.observable === observable)
      .map((s) => ({ t: s.t, ...(s.date ? { date: s.date } : {}), information_bits: s.information_bits })),
  }));
  return { ...header(), observables: all.length, signposts: top, curves, partial: false };

  /**
   * The save indices (from s0) after the origin that observables are read at: every one, except that in a dated
   * model saving more often than daily only the save nearest each date's midnight is kept (one per date).
   */
  function dateSaves(): number[] {
    const ks: number[] = [];
    for (let k = 0; k < K; k++) if ((s0 + k) * every > options.fromStep) ks.push(k);
    if (time.origin === undefined || time.unit === undefined) return ks;
    const days = (k: number) => (time.start + (s0 + k) * every * time.dt) * UNIT_DAYS[time.unit!]!;
    const offset = (k: number) => Math.abs(days(k) - Math.round(days(k)));
    const byDate = new Map<string, number>();
    const fromDate = dateOf(options.fromStep).date!;
    for (const k of ks) {
      const date = dateOf((s0 + k) * every).date!;
      if (date <= fromDate) continue;
      const held = byDate.get(date);
      if (held === undefined || offset(k) < offset(held)) byDate.set(date, k);
    }
    return [...byDate.values()];
  }

  function header() {
    return {
      model: { file, name: first.loaded.spec.name },
      scenarios: names,
      prior_weights: priors,
      runs: R,
      seed: options.seed,
      from: {
        step: options.fromStep,
        t: time.start + options.fromStep * time.dt,
        ...dateOf(options.fromStep),
      },
      to: { step: options.toStep, t: time.start + options.toStep * time.dt, ...dateOf(options.toStep) },
      period: options.periodLabel,
      persistence: options.persistence,
      density: DENSITY_METHOD,
      predictive: options.posteriors?.some((p) => p !== undefined) ? POSTERIOR_PREDICTIVE : PREDICTIVE,
    };
  }
}
