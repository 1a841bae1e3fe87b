import type { RunReport } from "../analysis/results.js";
import { sensitivityAnalysis } from "../analysis/sensitivity-job.js";
import { jobMeta } from "../engine/montecarlo.js";
import { prepareModel } from "../engine/prepare.js";
import { frontierChart, scenarioChart } from "../report/charts.js";
import { type ReportDocument, type ReportSection, renderHtml } from "../report/html.js";
import { renderSvg } from "../report/render.js";
import {
  assumptionsSection,
  claimsSection,
  endStatesSection,
  scenariosSection,
  sensitivitySection,
  trackedSection,
} from "../report/sections.js";
import { compareScenarios } from "./compare.js";
import { VERSION } from "./files.js";
import { designPool, simulate } from "./simulate.js";

export interface HtmlReportOptions {
  runs?: number;
  seed?: number;
  workers?: number;
  /** Sobol design rows for the sensitivity section (0: leave the section out). */
  samples?: number;
  replicates?: number;
  onStage?: (stage: string) => void;
}

const pct = (x: number | null) => (x === null ? null : Number((100 * x).toFixed(2)));

/**
 * The whole story of a model in one self-contained HTML page: end states, incidence curves, fan charts,
 * claims with verdicts, scenarios side by side, sensitivity, the assumptions with their sources, run metadata.
 */
export async function htmlReport(
  input: { file: string; text: string },
  options: HtmlReportOptions = {},
): Promise<string> {
  const runs = options.runs ?? 10_000;
  const seed = options.seed ?? 1;
  const common = { runs, seed, ...(options.workers !== undefined ? { workers: options.workers } : {}) };
  const model = prepareModel(input.file, input.text);
  const meta = jobMeta(model, input.text, seed, { kind: "random" });
  const spec = model.loaded.spec;
  // Scenarios that share the base model's clock (a history window is a different experiment).
  const comparable = model.loaded.scenarios.filter(
    (s) => !/"time"/.test(JSON.stringify(spec.scenarios?.[s] ?? {})),
  );
  options.onStage?.(`running the base model and ${comparable.length} scenarios`);
  const comparison = await compareScenarios(input, ["base", ...comparable], common);
  const report = comparison.reports.base!;
  const sections: ReportSection[] = [
    await endStatesSection(report),
    claimsSection(report),
    await trackedSection(report),
  ];
  if (comparable.length)
    sections.push(await scenariosSection(comparison.reports, spec, comparison.differences));
  const samples = options.samples ?? 128;
  if (samples > 0 && model.program.params.some((p) => p.dist.kind !== "fixed")) {
    options.onStage?.("sensitivity analysis");
    const sens = await sensitivityAnalysis(
      input,
      { samples, replicates: options.replicates ?? 2, seed },
      designPool(options.workers),
    );
    sections.push(await sensitivitySection(sens, samples));
  }
  sections.push(assumptionsSection(spec));

  const doc: ReportDocument = {
    title: spec.name,
    subtitle: spec.doc ?? "",
    sections,
    metadata: {
      model: input.file,
      "model hash": meta.modelHash,
      seed: String(seed),
      "runs per scenario": runs.toLocaleString("en"),
      sampling: meta.sampling,
      horizon: `${model.loaded.time.origin ?? model.loaded.time.start} + ${model.loaded.time.stop} ${model.loaded.time.unit ?? "time units"}`,
      "made with": `brink ${VERSION}`,
    },
  };
  return renderHtml(doc);
}

/**
 * The optimisation as a report: the frontier, the chosen decisions, and the comparison the article implies —
 * the optimised incremental schedule against one deployment of the same final size and against none.
 */
export async function optimizationReport(
  input: { file: string; text: string },
  result: import("./optimize.js").OptimizeResult,
  comparison: {
    singleScenario: string;
    noneScenario: string;
    sizeDecision: string;
    sizeVariable: string;
    workers?: number;
  },
): Promise<string> {
  const chosen = (result.best ?? result.closest).values;
  const common = {
    runs: Math.max(result.runs, 2000),
    seed: result.seed,
    ...(comparison.workers !== undefined ? { workers: comparison.workers } : {}),
  };
  const incremental = (await simulate(input, { ...common, decisions: chosen })).report;
  // "The same final size": the mean troops the optimised schedule reaches by the horizon, among runs still at war
  // (the median is often 0: in many runs fear never falls far enough for any increment).
  const troops = incremental.tracked[comparison.sizeVariable] ?? [];
  const finalSize = Math.max(100, Math.round([...troops].reverse().find((p) => p.n > 0)?.mean ?? 0));
  const single = (
    await simulate(input, {
      ...common,
      scenario: comparison.singleScenario,
      decisions: { ...chosen, [comparison.sizeDecision]: Math.min(30000, finalSize) },
    })
  ).report;
  const none = (await simulate(input, { ...common, scenario: comparison.noneScenario, decisions: chosen }))
    .report;
  const reports: Record<string, RunReport> = {
    "optimised increments": incremental,
    [`one deployment of ${finalSize.toLocaleString("en")}`]: single,
    "no deployment": none,
  };
  const sections: ReportSection[] = [
    {
      title: "Optimisation",
      intro: `Maximise ${result.maximize} subject to ${result.subjectTo.join(" and ")}, each constraint met with 95% confidence; cross-entropy method over ${result.evaluations} candidates of ${result.runs.toLocaleString("en")} runs each on common random numbers. ${result.message}`,
      charts: result.frontier.length
        ? [
            {
              id: "chart-frontier",
              svg: await renderSvg(
                frontierChart(
                  result.frontier.map((f) => ({
                    bound: f.bound,
                    objective: f.objective,
                    lo: f.objectiveLo,
                    hi: f.objectiveHi,
                  })),
                  result.maximize,
                ),
              ),
            },
          ]
        : [],
      tables: [
        {
          id: "decisions",
          title: "Chosen decisions",
          columns: ["decision", "value"],
          rows: Object.entries(chosen).map(([k, v]) => [k, v]),
        },
        {
          id: "frontier",
          title: "Frontier",
          columns: ["bound", "feasible", "objective", "95% low", "95% high", "decisions", "missed by"],
          rows: result.frontier.map((f) => [
            f.bound,
            f.feasible ? "yes" : "no",
            f.objective,
            f.objectiveLo,
            f.objectiveHi,
            f.decisions ? JSON.stringify(f.decisions) : null,
            f.closestViolation,
          ]),
        },
      ],
    },
    {
      title: "Incremental, single or no deployment",
      intro:
        "The comparison the article implies, on the same random numbers: the optimised incremental schedule, one deployment of the size it reaches on average by the horizon, and no deployment.",
      charts: [{ id: "chart-policies", svg: await renderSvg(scenarioChart(reports)) }],
      tables: [
        {
          id: "policies",
          title: "End-state probabilities by policy (%)",
          columns: ["end state", ...Object.keys(reports)],
          rows: [...Object.keys(incremental.outcomes), "censored"].map((o) => [
            o,
            ...Object.values(reports).map((r) =>
              pct(o === "censored" ? r.censored.p : (r.outcomes[o]?.p ?? null)),
            ),
          ]),
        },
      ],
    },
  ];
  return renderHtml({
    title: `${result.model}: optimisation`,
    subtitle: `brink optimize, seed ${result.seed}`,
    sections,
    metadata: {
      model: input.file,
      seed: String(result.seed),
      "runs per candidate": String(result.runs),
      "made with": `brink ${VERSION}`,
    },
  });
}
