import { normalQuantile } from "../compile/functions.js";
import { type PreparedModel, prepareModel } from "../engine/prepare.js";
import { hashName, hashUniform } from "../engine/rng.js";
import type { ParamRows } from "../engine/run.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import { modelTimeToDate } from "../model/time.js";
import { describeRhat, RHAT_WARN, settledRhat } from "./calibrate/convergence.js";
import { estimateEvidencePath, evidenceOf } from "./calibrate/evidence.js";
import { factorFixed, factorSeed, likelihoodFactors, withFixedParams } from "./calibrate/factors.js";
import type { ObservationSeries } from "./calibrate/observations.js";
import { ParticleFilter } from "./calibrate/particle-filter.js";
import { runPmmhAsync, uncertainParams } from "./calibrate/pmmh.js";

/**
 * `brink weigh`: posterior weights of rival scenarios (theses) of one model given its observations, from each
 * scenario's log marginal likelihood log p(y | scenario) and stated prior weights:
 *   w_s = π_s p(y | s) / Σ_k π_k p(y | k).
 * Each scenario's evidence is the calibration's estimator (PMMH over its uncertain params, then importance
 * sampling with the particle filter's likelihood; a scenario with no uncertain params averages filter runs), and
 * its path over the observation steps comes from the same filter runs (the filter's estimate of the data so far
 * is unbiased at every step). The weights' intervals carry the estimates' Monte Carlo error by a parametric
 * bootstrap: each scenario's log evidence is redrawn from its sampling distribution, normal with the
 * delta-method standard error (independently across scenarios), and the weights recomputed.
 */

export interface WeighScenario {
  /** The scenario's name ('base' for the base model). */
  name: string;
  model: PreparedModel;
  series: readonly ObservationSeries[];
}

export interface WeighOptions {
  seed: number;
  chains: number;
  iterations: number;
  burnIn: number;
  particles: number;
  /** Importance draws (filter runs) per scenario for its evidence. */
  evidenceDraws: number;
  /** Use observations up to this step only. */
  untilStep?: number;
  /** Points of the weights' time series: the last observation of each calendar month, or every observation. */
  every: "month" | "observation";
  /** Prior weights, one per scenario (normalised here); equal when absent. */
  priorWeights?: readonly number[];
  /** Bootstrap draws for the weights' intervals (default 4000). */
  intervalDraws?: number;
  onProgress?: (scenario: number, chain: number, iteration: number, acceptance: number) => void;
  shouldStop?: () => boolean;
  pause?: () => Promise<void>;
}

/** One scenario's evidence for all the data used. */
export interface ScenarioEvidence {
  scenario: string;
  /** The params calibrated (those with a 'dist'); none: the evidence is the likelihood at the fixed params. */
  params: string[];
  method: string;
  log_marginal_likelihood: number;
  /** Standard error of the log estimate (delta method). */
  se: number;
  /** Effective sample size of the importance (or filter-run) weights. */
  ess: number;
  draws: number;
  particles: number;
  /** PMMH acceptance and the largest split R̂ over params (absent with no uncertain params). */
  acceptance?: number;
  rhat_max?: number;
}

export interface Weight {
  scenario: string;
  weight: number;
  /** 95% interval from the evidence's Monte Carlo error. */
  lo: number;
  hi: number;
}

export interface WeighPoint {
  step: number;
  t: number;
  date?: string;
  /** Observations (of every series) used up to this point. */
  observations: number;
  weights: (Weight & { log_marginal_likelihood: number; se: number; ess: number })[];
}

export interface WeighResult {
  model: { file: string; name: string };
  scenarios: string[];
  prior_weights: number[];
  until: { step: number; t: number; date?: string } | null;
  seed: number;
  sampler: { chains: number; iterations: number; burn_in: number; particles: number; evidence_draws: number };
  interval: { method: string; draws: number; level: 0.95 };
  observations: number;
  evidence: ScenarioEvidence[];
  /** Posterior weights given all the data used. */
  weights: Weight[];
  /** The weights recomputed at each point of `every`. */
  every: "month" | "observation";
  series: WeighPoint[];
  /** Diagnostics that make a scenario's evidence, and so the weights, untrustworthy. */
  warnings: string[];
  partial: boolean;
}

/** Importance weights with fewer effective draws than this make the delta-method error itself unreliable. */
const ESS_WARN = 100;

const INTERVAL_KEY = hashName("weigh:interval");
const INTERVAL_METHOD =
  "parametric bootstrap: each scenario's log evidence redrawn from a normal with its delta-method standard error, independently, and the weights recomputed";
const FILTER_MEAN_METHOD = "mean of particle filter likelihood estimates (no uncertain params)";
const EXACT_METHOD = "exact likelihood (no uncertain params, no random draws)";

/** Normalised prior weights; equal when none are given. */
export function normalisePriors(n: number, given?: readonly number[]): number[] {
  const raw = given ?? new Array<number>(n).fill(1);
  if (raw.length !== n) throw new RangeError(`${raw.length} prior weights for ${n} scenarios`);
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / total);
}

/** w_s ∝ π_s exp(logZ_s), computed stably; NaN everywhere when no scenario can produce the data. */
export function weightsFrom(logEvidence: readonly number[], priors: readonly number[]): number[] {
  const a = logEvidence.map((l, i) => (priors[i]! > 0 ? l + Math.log(priors[i]!) : Number.NEGATIVE_INFINITY));
  const max = Math.max(...a);
  if (max === Number.NEGATIVE_INFINITY) return a.map(() => Number.NaN);
  const e = a.map((x) => Math.exp(x - max));
  const sum = e.reduce((x, y) => x + y, 0);
  return e.map((x) => x / sum);
}

function quantileSorted(sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  return (
    sorted[lo]! + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] ?? sorted[lo]!) - sorted[lo]!)
  );
}

/**
 * The posterior weights with 95% intervals: the point from the estimates, the interval from `draws` redraws of
 * every log evidence from N(estimate, se²) (a scenario whose evidence is 0, or whose se is 0, is not redrawn).
 */
export function posteriorWeights(
  names: readonly string[],
  estimates: readonly { log_marginal_likelihood: number; se: number }[],
  priors: readonly number[],
  seed: number,
  draws: number,
  /** Keys the redraws, so each point of a time series has its own. */
  point = 0,
): Weight[] {
  const logZ = estimates.map((e) => e.log_marginal_likelihood);
  const w = weightsFrom(logZ, priors);
  const samples = names.map(() => new Array<number>(draws));
  for (let b = 0; b < draws; b++) {
    const redrawn = estimates.map((e, i) =>
      Number.isFinite(e.log_marginal_likelihood) && e.se > 0
        ? e.log_marginal_likelihood +
          e.se * normalQuantile(hashUniform(seed, point, INTERVAL_KEY, b * names.length + i))
        : e.log_marginal_likelihood,
    );
    weightsFrom(redrawn, priors).forEach((x, i) => {
      samples[i]![b] = x;
    });
  }
  return names.map((scenario, i) => {
    const sorted = samples[i]!.filter((x) => !Number.isNaN(x)).sort((x, y) => x - y);
    return {
      scenario,
      weight: w[i]!,
      lo: sorted.length ? quantileSorted(sorted, 0.025) : Number.NaN,
      hi: sorted.length ? quantileSorted(sorted, 0.975) : Number.NaN,
    };
  });
}

/** An evidence estimate of the data up to one step. */
interface PathPoint {
  method: string;
  log_marginal_likelihood: number;
  se: number;
  draws: number;
  ess: number;
}

/** One scenario's evidence at each of its filter's observation steps, and its sampler's diagnostics. */
export interface EvidencePath {
  path: PathPoint[];
  steps: number[];
  summary: Pick<ScenarioEvidence, "params" | "particles" | "acceptance" | "rhat_max">;
}

/** The sampler settings a scenario's evidence depends on (and nothing else: so a worker gets the same answer). */
export type EvidenceSettings = Pick<
  WeighOptions,
  "seed" | "chains" | "iterations" | "burnIn" | "particles" | "evidenceDraws" | "untilStep"
>;

/** One scenario's evidence as a task for a worker thread, which prepares the model itself. */
export interface EvidenceTask {
  file: string;
  text: string;
  scenario: string;
  series: ObservationSeries[];
  settings: EvidenceSettings;
}

/** Where the scenarios' evidence is computed: worker threads (the Node pool) or, without one, here. */
export interface EvidencePool {
  text: string;
  run(task: EvidenceTask): Promise<EvidencePath | { problem: string }>;
}

/**
 * The worker's side of an EvidenceTask. `onProgress` hears the sampler's iterations (the browser's worker
 * forwards them to the page's progress bar); it does not change the result.
 */
export async function evidenceTask(
  task: EvidenceTask,
  onProgress?: (chain: number, iteration: number, acceptance: number) => void,
): Promise<EvidencePath | { problem: string }> {
  const model = prepareModel(
    task.file,
    task.text,
    task.scenario === "base" ? {} : { scenario: task.scenario },
  );
  const e = await scenarioEvidence({ name: task.scenario, model, series: task.series }, 0, {
    ...task.settings,
    ...(onProgress
      ? { onProgress: (_: number, c: number, i: number, a: number) => onProgress(c, i, a) }
      : {}),
  });
  return e ?? { problem: "stopped" };
}

async function scenarioEvidence(
  s: WeighScenario,
  index: number,
  options: EvidenceSettings & Pick<WeighOptions, "onProgress" | "shouldStop" | "pause">,
): Promise<EvidencePath | { problem: string } | undefined> {
  const program = s.model.program;
  const particles = program.randomSites.length === 0 ? 1 : options.particles;
  const filter = new ParticleFilter(s.model, s.series, {
    particles,
    seed: options.seed,
    ...(options.untilStep !== undefined ? { untilStep: options.untilStep } : {}),
  });
  const free = uncertainParams(program.params);
  const names = free.map((i) => program.params[i]!.name);
  if (free.length === 0) {
    const values = Float64Array.from(program.params, (q) => (q.dist.kind === "fixed" ? q.dist.value : 0));
    if (particles === 1) {
      const exact = filter.run(values, 0).path;
      return {
        path: exact.map((l) => ({
          method: EXACT_METHOD,
          log_marginal_likelihood: l,
          se: 0,
          draws: 1,
          ess: 1,
        })),
        steps: filter.steps,
        summary: { params: names, particles },
      };
    }
    const runs: number[][] = [];
    for (let m = 0; m < options.evidenceDraws; m++) {
      if (options.shouldStop?.()) return undefined;
      runs.push(filter.run(values, m).path);
      if (m % 20 === 19) await options.pause?.();
    }
    return {
      path: filter.steps.map((_, k) => ({
        ...evidenceOf(runs.map((r) => r[k]!)),
        method: FILTER_MEAN_METHOD,
      })),
      steps: filter.steps,
      summary: { params: names, particles },
    };
  }
  // A likelihood of independent factors (calibrate/factors.ts): each factor's evidence path on its own, summed.
  const factors = likelihoodFactors(program, s.series);
  const parts: { path: PathPoint[]; steps: number[]; acceptance: number; rhat: number }[] = [];
  for (const [k, factor] of factors.entries()) {
    const single = factors.length === 1;
    const model = single ? s.model : withFixedParams(s.model, factorFixed(program, factor));
    const seed = factorSeed(options.seed, k);
    const own = single
      ? filter
      : new ParticleFilter(
          model,
          factor.series.map((i) => s.series[i]!),
          {
            particles,
            seed,
            ...(options.untilStep !== undefined ? { untilStep: options.untilStep } : {}),
          },
        );
    const result = await runPmmhAsync(
      own,
      {
        chains: options.chains,
        iterations: options.iterations,
        burnIn: options.burnIn,
        seed,
        ...(options.onProgress
          ? {
              // Each factor's chains in turn: the bar goes round once per factor.
              onProgress: (chain: number, it: number, acc: number) =>
                options.onProgress!(index, chain, it, acc),
            }
          : {}),
        ...(options.shouldStop ? { shouldStop: options.shouldStop } : {}),
      },
      options.pause ?? (() => Promise.resolve()),
    );
    if (result.partial) return undefined;
    const path = estimateEvidencePath(
      own,
      result.chains.map((c) => c.scores),
      { draws: options.evidenceDraws, seed },
    );
    if (!path)
      return {
        problem: `scenario '${s.name}': too few posterior draws or evidence draws to estimate its marginal likelihood; raise --iterations or --evidence-draws`,
      };
    parts.push({
      path,
      steps: own.steps,
      acceptance: result.acceptance,
      rhat: Math.max(...result.summary.map((p) => p.rhat)),
    });
  }
  const combined = parts.length === 1 ? parts[0]! : sumPaths(parts);
  return {
    path: combined.path,
    steps: combined.steps,
    summary: {
      params: names,
      particles,
      acceptance: parts.reduce((a, p) => a + p.acceptance, 0) / parts.length,
      rhat_max: Math.max(...parts.map((p) => p.rhat)),
    },
  };
}

/**
 * The evidence path of independent factors: at each step any factor observes, the sum of every factor's log
 * evidence of its data so far (0 before its first observation), the variances added; ESS and draws the least.
 */
function sumPaths(parts: readonly { path: PathPoint[]; steps: number[] }[]): {
  path: PathPoint[];
  steps: number[];
} {
  const steps = [...new Set(parts.flatMap((p) => p.steps))].sort((a, b) => a - b);
  const path = steps.map((step) => {
    const upTo = parts.flatMap((p) => {
      let k = -1;
      while (k + 1 < p.steps.length && p.steps[k + 1]! <= step) k++;
      return k < 0 ? [] : [p.path[k]!];
    });
    return {
      method: upTo[0]!.method,
      log_marginal_likelihood: upTo.reduce((a, e) => a + e.log_marginal_likelihood, 0),
      se: Math.sqrt(upTo.reduce((a, e) => a + e.se * e.se, 0)),
      draws: Math.min(...upTo.map((e) => e.draws)),
      ess: Math.min(...upTo.map((e) => e.ess)),
    };
  });
  return { path, steps };
}

/**
 * Refuse an observation entry without a measurement model (`noise` absent: fitted by ABC's distance in `brink
 * calibrate`): it has no likelihood, so it would weigh nothing in a marginal likelihood.
 */
export function requireLikelihood(s: WeighScenario): void {
  const bare = s.series.filter((x) => x.noise.kind === "none");
  if (bare.length)
    throw new DiagnosticError(
      bare.map((x) =>
        s.model.loaded.source.at(
          ["observations", x.name],
          `observation '${x.name}' has no measurement model ('noise'), so no likelihood: it cannot weigh scenarios or condition them (ABC's distance gives no marginal likelihood); give it a noise model`,
        ),
      ),
    );
}

/**
 * Posterior draws of a scenario's uncertain params given its observations (up to `untilStep`), by the same
 * PMMH as its evidence, as param rows to run with (`brink signposts --calibrate`); undefined when it has no
 * uncertain params (its runs then need none) and "stopped" when stopped.
 */
export async function posteriorRows(
  s: WeighScenario,
  options: EvidenceSettings & Pick<WeighOptions, "shouldStop" | "pause">,
): Promise<ParamRows | undefined | "stopped"> {
  requireLikelihood(s);
  const program = s.model.program;
  if (uncertainParams(program.params).length === 0) return undefined;
  const filter = new ParticleFilter(s.model, s.series, {
    particles: program.randomSites.length === 0 ? 1 : options.particles,
    seed: options.seed,
    ...(options.untilStep !== undefined ? { untilStep: options.untilStep } : {}),
  });
  const result = await runPmmhAsync(
    filter,
    {
      chains: options.chains,
      iterations: options.iterations,
      burnIn: options.burnIn,
      seed: options.seed,
      ...(options.shouldStop ? { shouldStop: options.shouldStop } : {}),
    },
    options.pause ?? (() => Promise.resolve()),
  );
  if (result.partial) return "stopped";
  return { params: result.params, values: result.chains.flatMap((c) => c.draws.flat()) };
}

/** The points of the time series: indices into the observation steps (the last of each month, or all). */
function seriesPoints(
  model: PreparedModel,
  steps: readonly number[],
  every: WeighOptions["every"],
): number[] {
  const { time } = model.loaded;
  if (every === "observation" || time.origin === undefined || time.unit === undefined)
    return steps.map((_, k) => k);
  const month = (step: number) =>
    modelTimeToDate(time.start + step * time.dt, time.origin!, time.unit!).slice(0, 7);
  return steps.flatMap((step, k) =>
    k + 1 === steps.length || month(steps[k + 1]!) !== month(step) ? [k] : [],
  );
}

export async function weigh(
  file: string,
  scenarios: readonly WeighScenario[],
  options: WeighOptions,
  /** Worker threads for the scenarios (one task each); without one they run here, one after another. */
  pool?: EvidencePool,
): Promise<WeighResult> {
  const first = scenarios[0]!;
  const { source, time } = first.model.loaded;
  if (first.series.length === 0)
    throw new DiagnosticError([
      source.error(0, "nothing to weigh the scenarios against: the model has no 'observations'"),
    ]);
  for (const s of scenarios) requireLikelihood(s);
  const priors = normalisePriors(scenarios.length, options.priorWeights);
  const names = scenarios.map((s) => s.name);
  const draws = options.intervalDraws ?? 4000;
  const estimates: EvidencePath[] = [];
  let partial = false;
  const settings: EvidenceSettings = {
    seed: options.seed,
    chains: options.chains,
    iterations: options.iterations,
    burnIn: options.burnIn,
    particles: options.particles,
    evidenceDraws: options.evidenceDraws,
    ...(options.untilStep !== undefined ? { untilStep: options.untilStep } : {}),
  };
  const outcomes = pool
    ? await Promise.all(
        scenarios.map((s) =>
          pool.run({ file, text: pool.text, scenario: s.name, series: [...s.series], settings }),
        ),
      )
    : [];
  for (const [i, s] of scenarios.entries()) {
    const e = pool ? outcomes[i] : await scenarioEvidence(s, i, options);
    if (!e || ("problem" in e && e.problem === "stopped")) {
      partial = true;
      break;
    }
    if ("problem" in e) throw new DiagnosticError([source.error(0, e.problem)]);
    estimates.push(e);
  }
  const steps = estimates[0]?.steps ?? [];
  const timeOf = (step: number) => time.start + step * time.dt;
  for (const [i, e] of estimates.entries()) {
    const own = scenarios[i]!.model.loaded.time;
    const same =
      e.steps.length === steps.length &&
      e.steps.every((step, k) => Math.abs(own.start + step * own.dt - timeOf(steps[k]!)) < 1e-9);
    if (!same)
      throw new DiagnosticError([
        source.error(
          0,
          `scenarios '${names[0]}' and '${names[i]}' compare their observations at different steps (a scenario changes the model's time?); weights need the same data at the same times`,
        ),
      ]);
  }
  if (steps.length === 0 && !partial)
    throw new DiagnosticError([
      source.error(0, "no observations up to --until: nothing to weigh the scenarios against"),
    ]);
  const dateOf = (step: number) =>
    time.origin !== undefined && time.unit !== undefined
      ? { date: modelTimeToDate(timeOf(step), time.origin, time.unit) }
      : {};
  const counts = steps.map((step) =>
    first.series.reduce((a, s) => a + s.points.filter((p) => p.step <= step).length, 0),
  );
  const series: WeighPoint[] =
    partial || estimates.length === 0
      ? []
      : seriesPoints(first.model, steps, options.every).map((k) => {
          const at = estimates.map((e) => e.path[k]!);
          const w = posteriorWeights(names, at, priors, options.seed, draws, k + 1);
          return {
            step: steps[k]!,
            t: timeOf(steps[k]!),
            ...dateOf(steps[k]!),
            observations: counts[k]!,
            weights: w.map((x, i) => ({
              ...x,
              log_marginal_likelihood: at[i]!.log_marginal_likelihood,
              se: at[i]!.se,
              ess: at[i]!.ess,
            })),
          };
        });
  const evidence: ScenarioEvidence[] = estimates.map((e, i) => {
    const last = e.path[e.path.length - 1]!;
    return {
      scenario: names[i]!,
      ...e.summary,
      method: last.method,
      log_marginal_likelihood: last.log_marginal_likelihood,
      se: last.se,
      ess: last.ess,
      draws: last.draws,
    };
  });
  const warnings = evidence.flatMap((e) => [
    ...(e.rhat_max !== undefined && settledRhat(e.rhat_max) > RHAT_WARN
      ? [
          `scenario '${e.scenario}': its chains disagree (largest split R-hat ${describeRhat(e.rhat_max)} > ${RHAT_WARN}), so its posterior and evidence are not to be trusted; raise --iterations and --burn-in`,
        ]
      : []),
    ...(e.ess < ESS_WARN && e.draws > 1
      ? [
          `scenario '${e.scenario}': its evidence's weights have an effective sample size of ${Math.round(e.ess)} (< ${ESS_WARN}), so its standard error, and the weights' intervals, are themselves unreliable`,
        ]
      : []),
  ]);
  return {
    model: { file, name: first.model.loaded.spec.name },
    scenarios: names,
    prior_weights: priors,
    until:
      options.untilStep === undefined
        ? null
        : { step: options.untilStep, t: timeOf(options.untilStep), ...dateOf(options.untilStep) },
    seed: options.seed,
    sampler: {
      chains: options.chains,
      iterations: options.iterations,
      burn_in: options.burnIn,
      particles: options.particles,
      evidence_draws: options.evidenceDraws,
    },
    interval: { method: INTERVAL_METHOD, draws, level: 0.95 },
    observations: counts[counts.length - 1] ?? 0,
    evidence,
    weights: partial ? [] : posteriorWeights(names, evidence, priors, options.seed, draws, 0),
    every: options.every,
    series,
    warnings,
    partial,
  };
}
