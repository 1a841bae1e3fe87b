import type { ScenarioDifference } from "../analysis/compare.js";
import type { RunReport } from "../analysis/results.js";
import type { SensitivityReport } from "../analysis/sensitivity-job.js";
import type { ModelSpec } from "../model/schema.js";
import { fanChart, incidenceChart, outcomesChart, scenarioChart, tornadoChart } from "./charts.js";
import { CLAIMS_EXPLAINED, endStateName, estimateKind, STILL_GOING, towardClaim } from "./format.js";
import { type CellFormat, outcomeRows, type ReportSection, type ReportTable, sobolRows } from "./html.js";
import { renderSvg } from "./render.js";

/**
 * The sections of a model's HTML report, each from results already computed — shared by `brink report` (Node) and
 * the browser app's download, so both say the same things the same way.
 */
/** End-state probabilities side by side, one column per report (scenarios, or policies compared). */
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
    formats: ["text", ...names.map((): CellFormat => "percent")],
    rows: [...Object.keys(first.outcomes), "censored"].map((o) => [
      endStateName(o),
      ...names.map((s) => (o === "censored" ? reports[s]!.censored.p : (reports[s]!.outcomes[o]?.p ?? null))),
    ]),
  };
}

/** The end-state table: each outcome's runs, probability with its interval, and median time. */
export function outcomesTable(report: RunReport): ReportTable {
  return {
    id: "outcomes",
    title: "End states",
    columns: [
      "end state",
      "runs",
      "p",
      "95% low",
      "95% high",
      report.time.origin ? "median date" : `median time (${report.time.unit ?? "time units"})`,
    ],
    formats: ["text", "count", "percent", "percent", "percent", "quantity"],
    rows: outcomeRows(report),
  };
}

export async function endStatesSection(report: RunReport): Promise<ReportSection> {
  return {
    title: "End states",
    intro: `Probability of each end state over the horizon, from ${report.runs.toLocaleString("en")} runs; "${STILL_GOING}" counts the runs that reached the horizon with none. The 95% interval (Wilson) is a range built so that it covers the true probability in 95 of 100 such jobs. The median time is among the runs that ended that way. Cumulative incidence is the share of runs that have ended in each state by each time (Aalen–Johansen), with the same kind of 95% band.`,
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
    intro: CLAIMS_EXPLAINED,
    charts: [],
    tables: [
      {
        id: "claims",
        title: "Claims and verdicts",
        columns: ["claim", "text", "check", "verdict", "estimate of", "estimate", "95% low", "95% high"],
        rows: report.claims.map((c) => [
          c.id,
          c.text ?? "",
          c.check,
          c.verdict,
          estimateKind(c.check),
          c.p,
          c.lo,
          c.hi,
        ]),
        rowFormats: report.claims.map((c) => {
          const kind = estimateKind(c.check);
          const f: CellFormat =
            kind === "probability"
              ? "percent"
              : kind === "difference of probabilities"
                ? "points"
                : kind === "difference"
                  ? "signed"
                  : "quantity";
          return ["text", "text", "text", "text", "text", f, f, f];
        }),
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
    intro:
      "Fan charts: at each time, the median (line) and the middle 50% and 90% (bands) of the runs that have not yet ended then.",
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
    outcomesByColumnTable("scenarios", "End-state probabilities by scenario", reports),
  ];
  if (differences)
    tables.push({
      id: "scenario-differences",
      title: "Paired differences from the base (percentage points)",
      columns: ["end state", "scenario", "difference", "95% low", "95% high"],
      formats: ["text", "text", "points", "points", "points"],
      rows: differences.map((d) => [endStateName(d.outcome), d.scenario, d.difference, d.lo, d.hi]),
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
      (differences
        ? "; differences from the base are paired: each run index is compared with itself under the other scenario, so the chance both share cancels and the 95% interval of the difference is narrower than the two probabilities' intervals suggest."
        : "."),
    charts: [{ id: "chart-scenarios", svg: await renderSvg(scenarioChart(reports)) }],
    tables,
  };
}

/** A Sobol target carries information when some param's total effect is distinguishable from zero. */
export const informative = (indices: readonly { totalLo: number }[]) =>
  indices.some((s) => s.totalLo > 0.005);

export async function sensitivitySection(sens: SensitivityReport, samples: number): Promise<ReportSection> {
  const charts = [];
  const tables: ReportTable[] = [];
  const silent: string[] = [];
  for (const t of sens.targets) {
    if (!t.sobol) continue;
    if (!informative(t.sobol)) {
      silent.push(t.target);
      continue;
    }
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
      collapsed: true,
    });
  }
  const rows = sens.whatWouldHaveToBeTrue.flatMap((w) =>
    w.params.flatMap((p) =>
      p.bins.map((b) => {
        const { toward, side } = towardClaim(w.check, b.margin);
        return [w.claim, p.param, b.from, b.to, toward, side === "tie" ? "even (no margin)" : side];
      }),
    ),
  );
  tables.push({
    id: "what-would-have-to-be-true",
    title: "What would have to be true: mean claim margin by fifths of each claim's most influential params",
    columns: ["claim", "param", "from", "to", "mean margin toward the claim", "on average the claim"],
    formats: ["text", "text", "quantity", "quantity", "signed", "text"],
    rows,
    note: "The margin is turned toward the claim: positive means the claim's side (above its line for >, below it for <), whatever the comparison. A margin within rounding of zero is even: neither side. These are means over the design's rows in each fifth, without intervals: read them as directions, not verdicts.",
  });
  const silentNote = silent.length
    ? ` Left out, with no chart: ${silent.join(", ")} — no param's total effect is distinguishable from zero at this design size (an outcome too rare in these runs, or a result that does not vary), so a chart would show only noise.`
    : "";
  return {
    title: "Sensitivity",
    intro: `Variance-based (Sobol) indices of each outcome probability and claim margin over the ${sens.inputs.length} uncertain params: Saltelli design with ${samples} rows from a Sobol' sequence, Jansen estimators, ${sens.runs.toLocaleString("en")} runs, 95% intervals from a jackknife over ${sens.batches ?? 1} independently shifted batches of rows. A param's total effect is the share of the result's variance that would vanish if that param were known (alone and through its interactions); its first-order effect is the share it carries alone. Small designs give wide intervals; rare outcomes give little to apportion.${silentNote}`,
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
