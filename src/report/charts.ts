import type { RunReport } from "../analysis/results.js";
import type { SobolIndex } from "../analysis/sensitivity.js";
import { STILL_GOING } from "./format.js";

/** A Vega-Lite specification (kept loose: the report only builds and renders them). */
export type Spec = Record<string, unknown>;

const WIDTH = 560;
const timeField = (r: RunReport) =>
  r.time.origin
    ? { field: "date", type: "temporal", title: "date", axis: { format: "%b %Y" } }
    : { field: "t", type: "quantitative", title: `time (${r.time.unit ?? "units"})` };

/** Outcome probabilities with their 95% intervals. */
export function outcomesChart(r: RunReport): Spec {
  const values = [
    ...Object.entries(r.outcomes).map(([outcome, o]) => ({ outcome, p: o.p, lo: o.lo, hi: o.hi })),
    { outcome: STILL_GOING, p: r.censored.p, lo: r.censored.lo, hi: r.censored.hi },
  ];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "End states: probability with 95% interval",
    width: WIDTH,
    data: { values },
    layer: [
      {
        mark: { type: "bar", color: "#4c78a8" },
        encoding: {
          y: { field: "outcome", type: "nominal", sort: null, title: null, axis: { labelLimit: 260 } },
          x: { field: "p", type: "quantitative", title: "probability", axis: { format: "%" } },
        },
      },
      {
        mark: { type: "rule", color: "#222" },
        encoding: {
          y: { field: "outcome", type: "nominal", sort: null },
          x: { field: "lo", type: "quantitative" },
          x2: { field: "hi" },
        },
      },
    ],
  };
}

/** Cumulative incidence of each outcome over time, with pointwise bands. */
export function incidenceChart(r: RunReport): Spec {
  const values = r.incidence.flatMap((c) =>
    c.points.map((p) => ({ outcome: c.outcome, t: p.t, date: p.date, cif: p.cif, lo: p.lo, hi: p.hi })),
  );
  const x = timeField(r);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Cumulative incidence by end state (Aalen–Johansen, 95% band)",
    width: WIDTH,
    height: 260,
    data: { values },
    encoding: { x },
    resolve: { legend: { color: "independent" } },
    // The legend comes from the lines alone (a stroke per end state), so it shows what the lines are; the bands
    // share the lines' colours without a legend of their own.
    layer: [
      {
        mark: { type: "area", opacity: 0.2 },
        encoding: {
          color: { field: "outcome", type: "nominal", legend: null },
          y: {
            field: "lo",
            type: "quantitative",
            title: "cumulative probability",
            axis: { format: "%" },
          },
          y2: { field: "hi" },
        },
      },
      {
        mark: { type: "line" },
        encoding: {
          color: {
            field: "outcome",
            type: "nominal",
            title: "end state",
            legend: { symbolType: "stroke", symbolStrokeWidth: 2, labelLimit: 260 },
          },
          y: { field: "cif", type: "quantitative" },
        },
      },
    ],
  };
}

/** A fan chart of one tracked variable: 5–95% and 25–75% bands and the median, over runs still going. */
export function fanChart(r: RunReport, variable: string): Spec {
  const values = (r.tracked[variable] ?? []).filter((p) => p.n > 0);
  const x = timeField(r);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `${variable} (median, 25–75% and 5–95% of runs still going)`,
    width: WIDTH,
    height: 180,
    data: { values },
    encoding: { x },
    layer: [
      {
        mark: { type: "area", color: "#9ecae9", opacity: 0.6 },
        encoding: { y: { field: "q05", type: "quantitative", title: variable }, y2: { field: "q95" } },
      },
      {
        mark: { type: "area", color: "#4c78a8", opacity: 0.6 },
        encoding: { y: { field: "q25", type: "quantitative" }, y2: { field: "q75" } },
      },
      { mark: { type: "line", color: "#1f3b5a" }, encoding: { y: { field: "q50", type: "quantitative" } } },
    ],
  };
}

/** A tornado chart: total-effect Sobol indices (with intervals) of the most influential params. */
export function tornadoChart(target: string, indices: SobolIndex[], top = 10): Spec {
  // Params whose whole interval is at zero carry nothing: their empty, tied bars are left out.
  const carrying = indices.filter((s) => s.totalHi > 1e-3);
  const values = (carrying.length ? carrying : indices)
    .slice(0, top)
    .map((s) => ({ param: s.input, total: s.total, lo: s.totalLo, hi: s.totalHi, first: s.first }));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `What carries ${target}: total-effect Sobol index (95% interval)`,
    width: WIDTH - 120,
    data: { values },
    layer: [
      {
        mark: { type: "bar", color: "#f58518" },
        encoding: {
          y: { field: "param", type: "nominal", sort: null, title: null },
          x: {
            field: "total",
            type: "quantitative",
            title: "total effect",
            scale: { domain: [0, 1], clamp: true },
          },
        },
      },
      {
        mark: { type: "rule" },
        encoding: {
          y: { field: "param", type: "nominal", sort: null },
          x: { field: "lo", type: "quantitative" },
          x2: { field: "hi" },
        },
      },
    ],
  };
}

/** End-state probabilities side by side for several scenarios. */
export function scenarioChart(reports: Record<string, RunReport>): Spec {
  const values = Object.entries(reports).flatMap(([scenario, r]) => [
    ...Object.entries(r.outcomes).map(([outcome, o]) => ({ scenario, outcome, p: o.p })),
    { scenario, outcome: STILL_GOING, p: r.censored.p },
  ]);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "End states by scenario (same random numbers)",
    width: WIDTH,
    data: { values },
    mark: "bar",
    encoding: {
      y: { field: "scenario", type: "nominal", title: null, axis: { labelLimit: 260 } },
      x: {
        field: "p",
        type: "quantitative",
        stack: "normalize",
        title: "share of runs",
        axis: { format: "%" },
      },
      color: { field: "outcome", type: "nominal", title: "end state", legend: { labelLimit: 260 } },
    },
  };
}

/** The optimisation frontier: the best objective found at each bound on the constraint. */
export function frontierChart(
  points: { bound: number; objective: number | null; lo: number | null; hi: number | null }[],
  objective: string,
): Spec {
  const values = points.filter((p) => p.objective !== null);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `Best ${objective} at each risk bound (95% interval)`,
    width: WIDTH - 120,
    height: 220,
    data: { values },
    encoding: {
      x: {
        field: "bound",
        type: "quantitative",
        title: "bound on the constrained risk",
        axis: { format: "%" },
      },
    },
    layer: [
      {
        mark: { type: "line", point: true, color: "#54a24b" },
        encoding: { y: { field: "objective", type: "quantitative", title: objective } },
      },
      {
        mark: { type: "rule", color: "#54a24b" },
        encoding: { y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } },
      },
    ],
  };
}

/** The mean of one tracked variable over time under several policies or scenarios (runs still going). */
export function meanPathsChart(reports: Record<string, RunReport>, variable: string, untilT?: number): Spec {
  const values = Object.entries(reports).flatMap(([policy, r]) =>
    (r.tracked[variable] ?? [])
      .filter((p) => p.n > 0 && p.mean !== null && (untilT === undefined || p.t <= untilT))
      .map((p) => ({ policy, t: p.t, date: p.date, mean: p.mean })),
  );
  const first = Object.values(reports)[0];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `Mean ${variable} (runs still going)`,
    width: WIDTH,
    height: 200,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: first ? timeField(first) : { field: "t", type: "quantitative" },
      y: { field: "mean", type: "quantitative", title: variable },
      color: { field: "policy", type: "nominal", sort: null, title: null },
    },
  };
}
