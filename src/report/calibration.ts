import type { PredictivePoint } from "../analysis/calibrate/predictive.js";
import { quantile } from "../engine/distributions.js";
import type { Distribution } from "../model/distribution.js";
import type { Spec } from "./charts.js";
import type { ReportSection, ReportTable } from "./html.js";
import { renderSvg } from "./render.js";

/**
 * The calibration section of an HTML report, from a posterior file (`brink calibrate`): prior against posterior
 * density for every calibrated param, trace plots per chain (PMMH) or the tolerance schedule (ABC-SMC), pair
 * plots of the params the data moved most, and the posterior-predictive fan over the observations.
 */

/** What the section reads of a posterior file (checked against the model by the caller). */
export interface CalibrationPosterior {
  method: string;
  seed: number;
  chains?: number;
  iterations?: number;
  /** Draws kept by each chain (PMMH; with --thin or a stop these differ from `iterations`). */
  chain_draws?: readonly number[];
  partial: boolean;
  params: readonly string[];
  samples: readonly (readonly number[])[];
  summary?: readonly { name: string; rhat: number; ess: number }[];
  until: { time: number; date?: string } | null;
  /** ABC-SMC's tolerance per generation. */
  abc?: { tolerances: readonly number[] };
}

export interface CalibrationInput {
  posterior: CalibrationPosterior;
  /** The prior of each of the posterior's params, in its order. */
  priors: readonly Distribution[];
  predictive: readonly PredictivePoint[];
  /** Runs behind the predictive fan. */
  predictiveRuns: number;
}

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const PRIOR_POINTS = 400;
const MAX_DENSITY_DRAWS = 2000;
const MAX_TRACE_POINTS = 400;
const MAX_PAIR_POINTS = 800;
/** Pair plots of the params with the largest contraction, at most this many params. */
const PAIR_PARAMS = 3;

const round = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(5)) : null);

/** At most `max` elements, evenly spaced (the first always kept). */
function thin<T>(xs: readonly T[], max: number): { index: number; value: T }[] {
  const n = Math.min(max, xs.length);
  return Array.from({ length: n }, (_, k) => {
    const index = Math.floor((k * xs.length) / n);
    return { index, value: xs[index]! };
  });
}

function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1);
  return { mean, sd: Math.sqrt(v) };
}

/**
 * The prior as evenly spaced quantiles: a deterministic sample whose density estimate is the prior's. With
 * `central`, only the quantiles between 1% and 99%, so a long tail does not squeeze the chart to its left edge.
 */
export function priorSample(d: Distribution, central = false): number[] {
  const [lo, hi] = central ? [0.01, 0.99] : [0, 1];
  return Array.from({ length: PRIOR_POINTS }, (_, i) =>
    quantile(d, lo + ((hi - lo) * (i + 0.5)) / PRIOR_POINTS),
  );
}

export interface ParamContraction {
  name: string;
  priorMean: number;
  priorSd: number;
  mean: number;
  sd: number;
  q05: number;
  q95: number;
  /** 1 − posterior variance / prior variance: 0 when the data taught nothing, near 1 when they pinned it. */
  contraction: number;
}

export function contractions(input: CalibrationInput): ParamContraction[] {
  const { posterior } = input;
  return posterior.params.map((name, i) => {
    const prior = meanSd(priorSample(input.priors[i]!));
    const column = posterior.samples.map((row) => row[i]!);
    const post = meanSd(column);
    const sorted = [...column].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return {
      name,
      priorMean: prior.mean,
      priorSd: prior.sd,
      mean: post.mean,
      sd: post.sd,
      q05: at(0.05),
      q95: at(0.95),
      contraction: prior.sd > 0 ? 1 - (post.sd / prior.sd) ** 2 : Number.NaN,
    };
  });
}

/** One param's prior and posterior densities (kernel estimates over the prior's quantiles and the draws). */
export function densityChart(input: CalibrationInput, i: number): Spec {
  const name = input.posterior.params[i]!;
  const prior = priorSample(input.priors[i]!, true);
  // A param the model now fixes has no prior density to draw (a posterior from an older version of the model).
  const spread = prior[prior.length - 1]! > prior[0]!;
  const values = [
    ...(spread ? prior : []).map((value) => ({ value, distribution: "prior" })),
    ...thin(input.posterior.samples, MAX_DENSITY_DRAWS).map(({ value: row }) => ({
      value: row[i]!,
      distribution: "posterior",
    })),
  ];
  return {
    $schema: SCHEMA,
    title: { text: name, subtitle: "prior grey, posterior blue" },
    width: 210,
    height: 120,
    data: { values },
    transform: [{ density: "value", groupby: ["distribution"], steps: 120 }],
    mark: { type: "area", opacity: 0.45, line: true },
    encoding: {
      x: { field: "value", type: "quantitative", title: name, axis: { tickCount: 5 } },
      y: { field: "density", type: "quantitative", title: "density", stack: null, axis: { tickCount: 3 } },
      color: {
        field: "distribution",
        type: "nominal",
        title: null,
        scale: { domain: ["prior", "posterior"], range: ["#9a9a9a", "#4c78a8"] },
        legend: null,
      },
    },
  };
}

/** The most traces drawn per param: a posterior file claiming more chains than this is drawn as one chain. */
const MAX_CHAINS = 64;

/**
 * The draws split into chains: chain after chain, `iterations` each (the last may be shorter if stopped). The
 * file's `iterations` is trusted only when it is a whole number that splits the draws into at most `chains`
 * (and MAX_CHAINS) chains: a hand-edited `iterations: 1` must not turn 10⁵ draws into 10⁵ lines and legend entries.
 */
export function chainsOf(post: CalibrationPosterior): (readonly number[])[][] {
  const draws = post.chain_draws;
  if (
    draws &&
    draws.length <= Math.min(MAX_CHAINS, post.chains ?? MAX_CHAINS) &&
    draws.reduce((a, b) => a + b, 0) === post.samples.length
  ) {
    const out: (readonly number[])[][] = [];
    let at = 0;
    for (const n of draws) {
      out.push(post.samples.slice(at, at + n));
      at += n;
    }
    return out;
  }
  const n = post.samples.length;
  const claimed = post.iterations;
  const fits =
    claimed !== undefined &&
    Number.isInteger(claimed) &&
    claimed > 0 &&
    Math.ceil(n / claimed) <= Math.min(MAX_CHAINS, post.chains ?? MAX_CHAINS);
  const per = fits ? claimed : Math.max(1, n);
  const out: (readonly number[])[][] = [];
  for (let a = 0; a < post.samples.length; a += per) out.push(post.samples.slice(a, a + per));
  return out;
}

/** One param's draws against iteration, one line per chain. */
export function traceChart(input: CalibrationInput, i: number): Spec {
  const name = input.posterior.params[i]!;
  const values = chainsOf(input.posterior).flatMap((chain, c) =>
    thin(chain, MAX_TRACE_POINTS).map(({ index, value }) => ({
      iteration: index + 1,
      value: value[i]!,
      chain: String(c + 1),
    })),
  );
  return {
    $schema: SCHEMA,
    title: { text: name, subtitle: "trace of the kept draws by chain" },
    width: 240,
    height: 110,
    data: { values },
    mark: { type: "line", strokeWidth: 0.8, opacity: 0.8 },
    encoding: {
      x: { field: "iteration", type: "quantitative", title: "kept iteration" },
      y: { field: "value", type: "quantitative", title: name, scale: { zero: false } },
      color: {
        field: "chain",
        type: "nominal",
        title: "chain",
        legend: { orient: "top", direction: "horizontal" },
      },
    },
  };
}

/** Two params' joint posterior draws. */
export function pairChart(input: CalibrationInput, i: number, j: number): Spec {
  const [a, b] = [input.posterior.params[i]!, input.posterior.params[j]!];
  const values = thin(input.posterior.samples, MAX_PAIR_POINTS).map(({ value }) => ({
    x: value[i]!,
    y: value[j]!,
  }));
  return {
    $schema: SCHEMA,
    title: { text: `${a} and ${b}`, subtitle: "posterior draws" },
    width: 220,
    height: 220,
    data: { values },
    mark: { type: "circle", size: 9, opacity: 0.35, color: "#4c78a8" },
    encoding: {
      x: { field: "x", type: "quantitative", title: a, scale: { zero: false }, axis: { tickCount: 5 } },
      y: { field: "y", type: "quantitative", title: b, scale: { zero: false }, axis: { tickCount: 5 } },
    },
  };
}

/** ABC-SMC's tolerance by generation (log scale). */
export function toleranceChart(tolerances: readonly number[]): Spec {
  return {
    $schema: SCHEMA,
    title: { text: "ABC-SMC tolerance schedule", subtitle: "distance accepted at each generation" },
    width: 400,
    height: 140,
    data: {
      // Thinned like the traces: a posterior file is not trusted to hold a plausible number of generations.
      values: thin(tolerances, MAX_TRACE_POINTS)
        .map(({ index, value }) => ({ generation: index + 1, epsilon: value }))
        .filter((x) => x.epsilon > 0 && Number.isFinite(x.epsilon)),
    },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "generation", type: "quantitative", axis: { tickMinStep: 1 } },
      y: { field: "epsilon", type: "quantitative", title: "tolerance", scale: { type: "log" } },
    },
  };
}

/** One series' posterior-predictive fan (5–95%, 25–75%, median) with the observations on it. */
export function predictiveChart(points: readonly PredictivePoint[], series: string): Spec {
  const values = points.filter((p) => p.series === series && p.n > 0);
  const dated = values.every((p) => p.date !== undefined);
  const x = dated
    ? { field: "date", type: "temporal", title: "date", axis: { format: "%d %b", labelOverlap: true } }
    : { field: "t", type: "quantitative", title: "model time", scale: { zero: false } };
  return {
    $schema: SCHEMA,
    title: {
      text: `${series}: posterior predictive`,
      subtitle: "median, 25–75% and 5–95% of what would be observed; dots: the data",
    },
    width: 460,
    height: 240,
    data: { values },
    encoding: { x },
    layer: [
      {
        mark: { type: "area", opacity: 0.2, color: "#4c78a8" },
        encoding: { y: { field: "q05", type: "quantitative", title: series }, y2: { field: "q95" } },
      },
      {
        mark: { type: "area", opacity: 0.3, color: "#4c78a8" },
        encoding: { y: { field: "q25", type: "quantitative" }, y2: { field: "q75" } },
      },
      { mark: { type: "line", color: "#1f4e79" }, encoding: { y: { field: "q50", type: "quantitative" } } },
      {
        mark: { type: "point", filled: true, color: "#222", size: 30 },
        encoding: { y: { field: "observed", type: "quantitative" } },
      },
    ],
  };
}

/** The params to pair: those with the largest contraction (at least two params needed). */
export function mostUpdated(rows: readonly ParamContraction[]): number[] {
  return rows
    .map((r, i) => ({ i, c: Number.isFinite(r.contraction) ? r.contraction : Number.NEGATIVE_INFINITY }))
    .sort((a, b) => b.c - a.c || a.i - b.i)
    .slice(0, PAIR_PARAMS)
    .map((x) => x.i);
}

export function calibrationTable(input: CalibrationInput, rows: readonly ParamContraction[]): ReportTable {
  const diag = new Map((input.posterior.summary ?? []).map((s) => [s.name, s]));
  const pmmh = input.posterior.method === "pmmh";
  return {
    id: "table-calibration",
    title: "Prior and posterior of each calibrated param",
    columns: [
      "param",
      "prior mean",
      "prior sd",
      "posterior mean",
      "posterior sd",
      "5%",
      "95%",
      "contraction",
      ...(pmmh ? ["R-hat", "ESS"] : []),
    ],
    // R-hat as it is (1.011, not 1.01): it is read against a threshold of 1.01.
    formats: [
      "text",
      "quantity",
      "quantity",
      "quantity",
      "quantity",
      "quantity",
      "quantity",
      "quantity",
      "text",
    ],
    rows: rows.map((r) => [
      r.name,
      round(r.priorMean),
      round(r.priorSd),
      round(r.mean),
      round(r.sd),
      round(r.q05),
      round(r.q95),
      round(r.contraction),
      ...(pmmh
        ? [
            round(diag.get(r.name)?.rhat ?? Number.NaN),
            round(Math.round(diag.get(r.name)?.ess ?? Number.NaN)),
          ]
        : []),
    ]),
    note: "contraction: 1 − posterior variance / prior variance (0: the data taught nothing about the param; near 1: they pinned it down). Prior moments from 400 evenly spaced prior quantiles.",
  };
}

export async function calibrationSection(input: CalibrationInput): Promise<ReportSection> {
  const post = input.posterior;
  const rows = contractions(input);
  const charts: ReportSection["charts"] = [];
  for (let i = 0; i < post.params.length; i++)
    charts.push({
      id: `chart-calibration-density-${i}`,
      svg: await renderSvg(densityChart(input, i)),
      small: true,
    });
  const series = [...new Set(input.predictive.map((p) => p.series))];
  for (const [k, name] of series.entries())
    charts.push({
      id: `chart-calibration-predictive-${k}`,
      svg: await renderSvg(predictiveChart(input.predictive, name)),
    });
  // In the params' own order, so each pair reads the same way whatever their contractions.
  const pairs = mostUpdated(rows).sort((a, b) => a - b);
  for (let a = 0; a < pairs.length; a++)
    for (let b = a + 1; b < pairs.length; b++)
      charts.push({
        id: `chart-calibration-pair-${pairs[a]}-${pairs[b]}`,
        svg: await renderSvg(pairChart(input, pairs[a]!, pairs[b]!)),
        small: true,
      });
  if (post.method === "pmmh")
    for (let i = 0; i < post.params.length; i++)
      charts.push({
        id: `chart-calibration-trace-${i}`,
        svg: await renderSvg(traceChart(input, i)),
        small: true,
      });
  else if (post.abc)
    charts.push({
      id: "chart-calibration-tolerance",
      svg: await renderSvg(toleranceChart(post.abc.tolerances)),
    });
  const how =
    post.method === "pmmh"
      ? `particle-marginal Metropolis–Hastings, ${post.chains} chains of ${post.iterations} kept draws`
      : post.method === "abc-smc"
        ? `adaptive ABC-SMC, ${post.samples.length} equally weighted particles`
        : post.method;
  const until = post.until ? `, observations up to ${post.until.date ?? post.until.time}` : "";
  return {
    title: "Calibration",
    intro: `The posterior of ${post.params.length} param${post.params.length === 1 ? "" : "s"} (${how}, seed ${post.seed}${until}): prior against posterior for each, ${post.method === "pmmh" ? "trace plots by chain, " : ""}pair plots of the ${pairs.length} params the data moved most (largest contraction), and the posterior-predictive fan over the observations from ${input.predictiveRuns.toLocaleString("en")} runs of the model, each with one posterior draw's params.${post.partial ? " PARTIAL: the sampler was stopped before the end." : ""}`,
    charts,
    tables: [calibrationTable(input, rows)],
  };
}
