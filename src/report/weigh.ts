import type { SignpostResult } from "../analysis/signposts.js";
import type { WeighResult } from "../analysis/weigh.js";
import type { Spec } from "./charts.js";
import type { ReportSection, ReportTable } from "./html.js";
import { renderSvg } from "./render.js";

/**
 * The report's sections for `brink weigh` (the scenarios' posterior weights, and how they moved as the data
 * came in) and `brink signposts` (the coming observations that would tell the scenarios apart soonest).
 */

const WIDTH = 560;
const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const round = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(4)) : null);

export function weightsTable(r: WeighResult): ReportTable {
  return {
    id: "table-weigh",
    title: "Posterior weights of the scenarios given the observations",
    columns: [
      "scenario",
      "prior weight",
      "log marginal likelihood",
      "± se",
      "ESS",
      "weight",
      "95% low",
      "95% high",
    ],
    formats: ["text", "percent", "quantity", "quantity", "count", "percent", "percent", "percent"],
    rows: r.weights.map((w, i) => {
      const e = r.evidence[i]!;
      return [
        w.scenario,
        r.prior_weights[i]!,
        round(e.log_marginal_likelihood),
        round(e.se),
        Math.round(e.ess),
        round(w.weight),
        round(w.lo),
        round(w.hi),
      ];
    }),
    note: `Weight = prior weight × marginal likelihood, normalised over the scenarios. Intervals: ${r.interval.method} (${r.interval.draws} draws).`,
  };
}

const spanDays = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 86_400_000;

/** Each scenario's weight (and its 95% band) at each point of the series. */
export function weightsChart(r: WeighResult): Spec {
  const dated = r.series.every((p) => p.date !== undefined);
  const values = r.series.flatMap((p) =>
    p.weights.map((w) => ({
      t: p.t,
      date: p.date,
      observations: p.observations,
      scenario: w.scenario,
      weight: w.weight,
      lo: w.lo,
      hi: w.hi,
    })),
  );
  // Months on the axis, or days when the data span less than a season (an outbreak's weeks).
  const days =
    dated && r.series.length > 1 ? spanDays(r.series[0]!.date!, r.series[r.series.length - 1]!.date!) : 0;
  const x = dated
    ? {
        field: "date",
        type: "temporal",
        title: "data up to",
        axis: { format: days < 120 ? "%-d %b %Y" : "%b %Y" },
      }
    : { field: "t", type: "quantitative", title: "data up to (model time)", scale: { zero: false } };
  const color = { field: "scenario", type: "nominal", sort: r.scenarios };
  return {
    $schema: SCHEMA,
    title: `Posterior weight of each scenario as the data came in (${r.every === "month" ? "recomputed each month" : "recomputed at each observation"})`,
    width: WIDTH,
    height: 260,
    data: { values },
    encoding: { x, color },
    layer: [
      {
        mark: { type: "area", opacity: 0.2 },
        encoding: {
          y: { field: "lo", type: "quantitative", title: "posterior weight", scale: { domain: [0, 1] } },
          y2: { field: "hi" },
        },
      },
      { mark: { type: "line", point: true }, encoding: { y: { field: "weight", type: "quantitative" } } },
    ],
  };
}

export async function weighSection(r: WeighResult): Promise<ReportSection> {
  const until = r.until ? ` up to ${r.until.date ?? r.until.t}` : "";
  return {
    title: "Scenario weights",
    intro: `Posterior weights of ${r.scenarios.join(", ")} given ${r.observations} observations${until}, from each scenario's log marginal likelihood (calibrated by PMMH, then importance sampling with the particle filter) and prior weights ${r.prior_weights.map((w) => w.toPrecision(3)).join(" : ")}. Seed ${r.seed}.${r.warnings.map((w) => ` Warning: ${w}.`).join("")}${r.partial ? " PARTIAL: stopped before the end." : ""}`,
    charts: r.series.length ? [{ id: "chart-weigh", svg: await renderSvg(weightsChart(r)) }] : [],
    tables: [weightsTable(r)],
  };
}

export function signpostsTable(r: SignpostResult): ReportTable {
  return {
    id: "table-signposts",
    title: "Signposts: the observations that would best tell the scenarios apart",
    columns: ["rank", "observable", "at", "information (bits)", "signpost"],
    formats: ["count", "text", "text", "quantity", "text"],
    rows: r.signposts.map((s, i) => [
      i + 1,
      s.observable,
      s.date ?? String(s.t),
      round(s.information_bits),
      s.thresholds.map((t) => t.text).join(" "),
    ]),
    note: `Information: the expected information gain about which scenario holds (mutual information, ${r.density}). Odds: the ratio of the event's probabilities under the scenario and under the others (prior-weighted), from ${r.runs} runs per scenario on common random numbers.`,
  };
}

/** How much each listed observable would tell, by the date it is read. */
export function informationChart(r: SignpostResult): Spec {
  const dated = r.curves.every((c) => c.points.every((p) => p.date !== undefined));
  const values = r.curves
    .slice(0, 8)
    .flatMap((c) =>
      c.points.map((p) => ({ observable: c.observable, t: p.t, date: p.date, bits: p.information_bits })),
    );
  const dates = values.flatMap((v) => (v.date ? [v.date] : [])).sort();
  const days = dates.length > 1 ? spanDays(dates[0]!, dates[dates.length - 1]!) : 0;
  const x = dated
    ? {
        field: "date",
        type: "temporal",
        title: "observed at",
        axis: { format: days < 120 ? "%-d %b %Y" : "%b %Y" },
      }
    : { field: "t", type: "quantitative", title: "observed at (model time)", scale: { zero: false } };
  return {
    $schema: SCHEMA,
    title:
      "Expected information about which scenario holds, by when the observable is read (the first 8 signposts)",
    width: WIDTH,
    height: 260,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x,
      y: { field: "bits", type: "quantitative", title: "information (bits)" },
      color: { field: "observable", type: "nominal", sort: r.curves.slice(0, 8).map((c) => c.observable) },
    },
  };
}

export async function signpostsSection(r: SignpostResult): Promise<ReportSection> {
  return {
    title: "Signposts",
    intro: `Which coming observations would tell ${r.scenarios.join(", ")} apart soonest, from ${r.from.date ?? r.from.t} to ${r.to.date ?? r.to.t}: ${r.observables} observables ranked by expected information gain. ${r.predictive}.`,
    charts: r.curves.length ? [{ id: "chart-signposts", svg: await renderSvg(informationChart(r)) }] : [],
    tables: [signpostsTable(r)],
  };
}
