import type { BacktestResult } from "../analysis/calibrate/backtest.js";
import { comparisonVerdict } from "../analysis/calibrate/compare-forecasts.js";
import {
  convergenceWarning,
  type OriginConvergence,
  originConvergence,
} from "../analysis/calibrate/convergence.js";
import type { Spec } from "./charts.js";
import type { ReportSection, ReportTable } from "./html.js";
import { renderSvg } from "./render.js";

/**
 * The backtest section of an HTML report: the score table (model against the naive baselines, per series), the
 * forecasts at each origin over what was observed, CRPS by lead, and the model's PIT histogram.
 */

const WIDTH = 560;
const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const round = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(4)) : null);

/** Each origin's calibration: did its chains settle (split R̂, ESS), with how many particles, and runs ended. */
export function convergenceTable(convergence: readonly OriginConvergence[]): ReportTable {
  return {
    id: "table-backtest-convergence",
    title: "The calibration at each origin",
    columns: ["origin", "acceptance", "largest R-hat", "of param", "smallest ESS", "particles", "runs ended"],
    // R-hat to three decimals as it is (1.201, not 1.2): it is read against a threshold of 1.01.
    formats: ["text", "quantity", "text"],
    rows: convergence.map((c) => [
      c.label,
      round(c.acceptance),
      Number.isFinite(c.maxRhat) ? Number(c.maxRhat.toFixed(3)) : null,
      c.worst,
      round(c.minEss),
      c.particles ?? "–",
      c.ended,
    ]),
  };
}

export function backtestTable(r: BacktestResult): ReportTable {
  return {
    id: "table-backtest",
    title: "Forecast scores: the model against naive baselines on the same periods",
    columns: [
      "series",
      "forecaster",
      "periods",
      "CRPS",
      "log score",
      "50% coverage",
      "90% coverage",
      "90% coverage, 95% interval",
      "bias",
    ],
    rows: r.summary.map((s) => {
      const cover = r.coverage?.find(
        (c) => c.series === s.series && c.forecaster === s.forecaster,
      )?.interval90;
      return [
        s.series,
        s.forecaster,
        s.scores.periods,
        round(s.scores.crps),
        round(s.scores.logScore),
        round(s.scores.coverage50),
        round(s.scores.coverage90),
        cover ? `${cover[0].toFixed(2)} to ${cover[1].toFixed(2)}` : "–",
        round(s.scores.bias),
      ];
    }),
    note: "CRPS: lower is better; log score (log predictive density): higher is better; coverage: the share of observations inside the central interval (nominal 0.5 and 0.9), with a 95% interval for the 90% coverage that allows for periods sharing an origin or a month (a Wilson interval at the effective sample size); bias: mean of forecast mean − observation.",
  };
}

export function comparisonTable(r: BacktestResult, against = false): ReportTable {
  const comparisons = against ? (r.against?.comparisons ?? []) : r.comparisons;
  return {
    id: against ? "table-backtest-against" : "table-backtest-comparison",
    title: against
      ? `This model against the model of ${r.against!.file} (${r.against!.model}): difference of mean CRPS on the same periods`
      : "The model against each baseline: difference of mean CRPS on the same periods",
    columns: [
      "series",
      against ? "against" : "baseline",
      "periods",
      "origins",
      "difference",
      "95% interval from",
      "to",
      "better",
    ],
    rows: comparisons.map((c) => [
      c.series,
      c.baseline,
      c.periods,
      c.origins,
      round(c.difference),
      c.lo === null ? null : round(c.lo),
      c.hi === null ? null : round(c.hi),
      comparisonVerdict(c, against ? "this model" : "the model"),
    ]),
    note: `Difference: ${against ? "this model's mean CRPS minus the other model's, on the periods both scored (negative: this one is better)" : "the model's mean CRPS minus the baseline's (negative: the model is better)"}. Interval: Diebold-Mariano, clustered by origin (an origin's forecasts share its calibration and state) and by observation time (overlapping origins share a month's surprise), Student t with the fewer clusters − 1 degrees of freedom; with few origins it tells a real gap from the backtest's luck, roughly. Better: ${against ? "this model or the other" : "the model or the baseline"} when the interval lies wholly on its side of 0, neither when it spans 0.`,
  };
}

/** Daily ticks over a month or less, else Vega-Lite's own. */
function dateAxis(dates: string[]): Record<string, unknown> {
  const ms = dates.map((d) => Date.parse(d));
  const days = (Math.max(...ms) - Math.min(...ms)) / 86_400_000;
  return days <= 31 ? { format: "%d %b %Y", tickCount: { interval: "day", step: 1 } } : { format: "%b %Y" };
}

/** Each origin's forecast (median and 50%/90% bands) over the observations of one series. */
export function forecastChart(r: BacktestResult, series: string): Spec {
  const periods = r.periods.filter((p) => p.series === series);
  const values = periods.map((p) => ({
    ...p.forecast,
    t: p.t,
    at: p.at,
    origin: p.origin,
    observed: p.observed,
  }));
  // A dated model's periods are labelled by their dates.
  const dated = periods.every((p) => /^\d{4}-\d{2}-\d{2}$/.test(p.at));
  const x = dated
    ? { field: "at", type: "temporal", title: "date", axis: dateAxis(periods.map((p) => p.at)) }
    : { field: "t", type: "quantitative", title: "model time", scale: { zero: false } };
  return {
    $schema: SCHEMA,
    title: `${series}: forecasts from each origin (median, 50% and 90% bands) and the observations`,
    width: WIDTH,
    height: 260,
    data: { values },
    encoding: { x, color: { field: "origin", type: "nominal", title: "origin" } },
    layer: [
      {
        mark: { type: "area", opacity: 0.15 },
        encoding: { y: { field: "q05", type: "quantitative", title: series }, y2: { field: "q95" } },
      },
      {
        mark: { type: "area", opacity: 0.25 },
        encoding: { y: { field: "q25", type: "quantitative" }, y2: { field: "q75" } },
      },
      { mark: { type: "line" }, encoding: { y: { field: "q50", type: "quantitative" } } },
      {
        mark: { type: "point", filled: true, color: "#222" },
        encoding: { y: { field: "observed", type: "quantitative" }, color: { value: "#222" } },
      },
    ],
  };
}

/** Mean CRPS by lead (observations since the origin), per forecaster. */
export function crpsByLeadChart(r: BacktestResult, series: string): Spec {
  const sums = new Map<string, { forecaster: string; lead: number; total: number; n: number }>();
  for (const p of r.periods)
    if (p.series === series && p.scores.length === r.forecasters.length)
      for (const s of p.scores) {
        const key = `${s.forecaster}\u0000${p.lead}`;
        const e = sums.get(key) ?? { forecaster: s.forecaster, lead: p.lead, total: 0, n: 0 };
        e.total += s.crps;
        e.n++;
        sums.set(key, e);
      }
  const values = [...sums.values()].map((e) => ({
    forecaster: e.forecaster,
    lead: e.lead,
    crps: e.total / e.n,
  }));
  return {
    $schema: SCHEMA,
    title: `${series}: mean CRPS by lead (lower is better)`,
    width: WIDTH,
    height: 220,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "lead", type: "quantitative", title: "observations ahead", axis: { tickMinStep: 1 } },
      y: { field: "crps", type: "quantitative", title: "mean CRPS" },
      color: { field: "forecaster", type: "nominal", sort: r.forecasters },
    },
  };
}

/** The model's PIT histogram: flat when its forecasts are calibrated. */
export function pitChart(r: BacktestResult, series: string): Spec {
  const s = r.summary.find((x) => x.series === series && x.forecaster === "model")!;
  const bins = s.scores.pitHistogram.length;
  const values = s.scores.pitHistogram.map((count, i) => ({ from: i / bins, to: (i + 1) / bins, count }));
  return {
    $schema: SCHEMA,
    title: `${series}: PIT histogram of the model's forecasts (flat when calibrated)`,
    width: WIDTH,
    height: 180,
    data: { values },
    mark: { type: "bar", color: "#4c78a8" },
    encoding: {
      x: { field: "from", type: "quantitative", title: "PIT", scale: { domain: [0, 1] } },
      x2: { field: "to" },
      y: { field: "count", type: "quantitative", title: "periods" },
    },
  };
}

export async function backtestSection(r: BacktestResult): Promise<ReportSection> {
  const names = [...new Set(r.summary.map((s) => s.series))];
  const charts: ReportSection["charts"] = [];
  for (const [i, name] of names.entries()) {
    charts.push({ id: `chart-backtest-forecast-${i}`, svg: await renderSvg(forecastChart(r, name)) });
    charts.push({ id: `chart-backtest-crps-${i}`, svg: await renderSvg(crpsByLeadChart(r, name)) });
    charts.push({ id: `chart-backtest-pit-${i}`, svg: await renderSvg(pitChart(r, name)) });
  }
  const how =
    r.method === "priors"
      ? "the priors (not calibrated)"
      : "the posterior calibrated on the data up to each origin";
  const convergence = originConvergence(r);
  const warning = convergenceWarning(convergence);
  return {
    title: "Backtest",
    intro: `Rolling-origin evaluation from ${r.origins.map((o) => o.label).join(", ")}, ${r.horizon.time} ${r.horizon.unit ? `${r.horizon.unit}${r.horizon.time === 1 ? "" : "s"}` : "time units"} ahead: ${r.runs} forecast runs per origin from ${how}, scored period by period against the observations and against naive baselines on the same periods${r.skipped ? ` (${r.skipped} periods where a baseline had too short a history are left out of the scores)` : ""}.${r.partial ? " PARTIAL: stopped before the end." : ""}${warning ? ` Warning: ${warning}.` : ""}`,
    charts,
    tables: [
      backtestTable(r),
      ...(r.comparisons.length ? [comparisonTable(r)] : []),
      ...(r.against ? [comparisonTable(r, true)] : []),
      ...(convergence.length ? [convergenceTable(convergence)] : []),
    ],
  };
}
