import type { ScenarioDifference } from "../analysis/compare.js";
import type { RunReport } from "../analysis/results.js";
import type { SensitivityReport } from "../analysis/sensitivity-job.js";
import type { ModelSpec } from "../model/schema.js";
import { fanChart, incidenceChart, outcomesChart, scenarioChart, tornadoChart } from "./charts.js";
import { outcomeRows, type ReportSection, type ReportTable, sobolRows } from "./html.js";
import { renderSvg } from "./render.js";

/**
 * The sections of a model's HTML report, each from results already computed — shared by `brink report` (Node) and
 * the browser app's download, so both say the same things the same way.
 */
/** Report tables write probabilities as percentages with two decimals (numbers, so CSV and JSON exports stay numeric). */
export const percent = (x: number | null): number | null =>
  x === null ? null : Number((100 * x).toFixed(2));

/** End-state probabilities (%) side by side, one column per report (scenarios, or policies compared). */
export function outcomesByColumnTable(
  id: string,
  title: string,
  reports: Record<string, RunReport>,
): ReportTable {
  const names = Object.keys(reports);
  const first = reports[names[0]!]!;
  return {
    id,
    title,
    columns: ["end state", ...names],
    rows: [...Object.keys(first.outcomes), "censored"].map((o) => [
      o,
      ...names.map((s) =>
        percent(o === "censored" ? reports[s]!.censored.p : (reports[s]!.outcomes[o]?.p ?? null)),
      ),
    ]),
  };
}

/** The end-state table: each outcome's runs, probability with its interval, and median time. */
export function outcomesTable(report: RunReport): ReportTable {
  return {
    id: "outcomes",
    title: "End states",
    columns: ["end state", "runs", "p", "95% low", "95% high", "median time"],
    rows: outcomeRows(report),
  };
}

export async function endStatesSection(report: RunReport): Promise<ReportSection> {
  return {
    title: "End states",
    intro: `Probability of each end state over the horizon, from ${report.runs.toLocaleString("en")} runs (95% Wilson intervals); median time among the runs that ended that way.`,
    charts: [
      { id: "chart-outcomes", svg: await renderSvg(outcomesChart(report)) },
      { id: "chart-incidence", svg: await renderSvg(incidenceChart(report)) },
    ],
    tables: [outcomesTable(report)],
  };
}

export function claimsSection(report: RunReport): ReportSection {
  return {
    title: "Claims",
    intro:
      "Each claim's verdict comes from the 95% interval of its margin: holds if the whole interval is on its side, fails if the whole interval is against it, undecided otherwise.",
    charts: [],
    tables: [
      {
        id: "claims",
        title: "Claims and verdicts",
        columns: ["claim", "text", "check", "verdict", "estimate", "95% low", "95% high"],
        rows: report.claims.map((c) => [c.id, c.text ?? "", c.check, c.verdict, c.p, c.lo, c.hi]),
      },
    ],
  };
}

export async function trackedSection(report: RunReport): Promise<ReportSection> {
  const fans = await Promise.all(
    Object.keys(report.tracked).map(async (v) => ({
      id: `chart-fan-${v}`,
      svg: await renderSvg(fanChart(report, v)),
    })),
  );
  return {
    title: "Tracked variables",
    intro: "Fan charts over the runs still going at each time.",
    charts: fans,
    tables: [],
  };
}

export type { ScenarioDifference } from "../analysis/compare.js";

/** Scenarios side by side; paired differences from the base when they were computed (`brink compare`). */
export async function scenariosSection(
  reports: Record<string, RunReport>,
  spec: ModelSpec,
  differences?: ScenarioDifference[],
): Promise<ReportSection> {
  const scenarios = Object.keys(reports);
  const tables: ReportSection["tables"] = [
    outcomesByColumnTable("scenarios", "End-state probabilities by scenario (%)", reports),
  ];
  if (differences)
    tables.push({
      id: "scenario-differences",
      title: "Paired differences from the base (percentage points)",
      columns: ["end state", "scenario", "difference", "95% low", "95% high"],
      rows: differences.map((d) => [
        d.outcome,
        d.scenario,
        percent(d.difference),
        percent(d.lo),
        percent(d.hi),
      ]),
    });
  tables.push({
    id: "scenario-docs",
    title: "What each scenario assumes",
    columns: ["scenario", "doc", "source"],
    rows: scenarios
      .filter((s) => s !== "base")
      .map((s) => {
        const sc = (spec.scenarios?.[s] ?? {}) as { doc?: string; source?: string };
        return [s, sc.doc ?? "", sc.source ?? ""];
      }),
  });
  return {
    title: "Scenarios",
    intro:
      "Rival theses and variants on the same structure, run on the same random numbers" +
      (differences ? "; differences from the base are paired." : "."),
    charts: [{ id: "chart-scenarios", svg: await renderSvg(scenarioChart(reports)) }],
    tables,
  };
}

export async function sensitivitySection(sens: SensitivityReport, samples: number): Promise<ReportSection> {
  const charts = [];
  const tables = [];
  for (const t of sens.targets) {
    if (!t.sobol) continue;
    const slug = t.target.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");
    charts.push({ id: `chart-tornado-${slug}`, svg: await renderSvg(tornadoChart(t.target, t.sobol)) });
    tables.push({
      id: `sobol-${slug}`,
      title: `Sobol indices for ${t.target}`,
      columns: [
        "param",
        "total",
        "total 95% low",
        "total 95% high",
        "first order",
        "first 95% low",
        "first 95% high",
      ],
      rows: sobolRows(t.sobol.slice(0, 12)),
    });
  }
  tables.push({
    id: "what-would-have-to-be-true",
    title: "What would have to be true: mean claim margin by fifths of each claim's most influential params",
    columns: ["claim", "param", "from", "to", "mean margin", "claim side"],
    rows: sens.whatWouldHaveToBeTrue.flatMap((w) =>
      w.params.flatMap((p) =>
        p.bins.map((b) => [
          w.claim,
          p.param,
          Number(b.from.toPrecision(4)),
          Number(b.to.toPrecision(4)),
          Number(b.margin.toPrecision(4)),
          b.holds ? "holds" : "fails",
        ]),
      ),
    ),
  });
  return {
    title: "Sensitivity",
    intro: `Variance-based (Sobol) indices of each outcome probability and claim margin over the ${sens.inputs.length} uncertain params: Saltelli design with ${samples} rows, Jansen estimators, ${sens.runs.toLocaleString("en")} runs, 95% bootstrap intervals. Small designs give wide intervals; rare outcomes give little to apportion.`,
    charts,
    tables,
  };
}

export function assumptionsSection(spec: ModelSpec): ReportSection {
  return {
    title: "Assumptions and sources",
    intro:
      "Every param with its distribution or value, unit, meaning and source; mechanisms with the claim they encode and the switch that turns it off.",
    charts: [],
    tables: [
      {
        id: "mechanisms",
        title: "Mechanisms",
        columns: ["group", "claim encoded", "source", "switch"],
        rows: Object.entries(spec.groups ?? {}).map(([g, d]) => [g, d.doc, d.source ?? "", d.switch ?? ""]),
      },
      {
        id: "params",
        title: "Params",
        columns: ["param", "group", "value or distribution", "unit", "meaning", "source"],
        rows: Object.entries(spec.params ?? {}).map(([n, p]) => [
          n,
          p.group ?? "",
          String(p.dist ?? p.value ?? ""),
          p.unit ?? "",
          p.doc ?? "",
          p.source ?? "",
        ]),
      },
    ],
  };
}
