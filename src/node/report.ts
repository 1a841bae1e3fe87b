import { basename, isAbsolute, relative, resolve, sep } from "node:path";
import { posteriorPredictive } from "../analysis/calibrate/predictive.js";
import type { RunReport } from "../analysis/results.js";
import { sensitivityAnalysis } from "../analysis/sensitivity-job.js";
import { jobMeta } from "../engine/montecarlo.js";
import { prepareModel } from "../engine/prepare.js";
import { didYouMean } from "../lang/diagnostic.js";
import type { ModelSpec } from "../model/schema.js";
import { type CalibrationPosterior, calibrationSection } from "../report/calibration.js";
import { frontierChart, scenarioChart } from "../report/charts.js";
import { quantity } from "../report/format.js";
import { type ReportDocument, type ReportSection, renderHtml } from "../report/html.js";
import { renderSvg } from "../report/render.js";
import {
  assumptionsSection,
  claimsSection,
  endStatesSection,
  outcomesByColumnTable,
  scenariosSection,
  sensitivitySection,
  trackedSection,
} from "../report/sections.js";
import { compareScenarios } from "./compare.js";
import { readTextFile, VERSION } from "./files.js";
import { loadObservations } from "./observations.js";
import { MAX_SUMMARY_BYTES } from "./summary-file.js";
import { posteriorParamRows } from "./verbs/calibrate.js";

/** The model file as a report names it: relative to the working folder when inside it, else its name alone. */
function reportedPath(file: string): string {
  const rel = relative(process.cwd(), resolve(file));
  return rel.startsWith("..") || isAbsolute(rel) ? basename(file) : rel.split(sep).join("/");
}

import type { OptimizeResult } from "./optimize.js";
import { designPool, simulate, UsageError } from "./simulate.js";

export interface HtmlReportOptions {
  runs?: number;
  seed?: number;
  workers?: number;
  /** Sobol design rows for the sensitivity section (0: leave the section out). */
  samples?: number;
  replicates?: number;
  /** A `brink calibrate` posterior file: adds the calibration section. */
  posterior?: string;
  /** Runs behind the calibration section's posterior-predictive fan. */
  predictiveRuns?: number;
  onStage?: (stage: string) => void;
}

/**
 * The posterior file as the report reads it: checked as `brink run --posterior` checks it (a posterior of this
 * model's params, with finite draws), its other fields taken only where they have the expected types.
 */
async function readPosterior(
  path: string,
  modelFile: string,
  modelText: string,
): Promise<CalibrationPosterior> {
  // Refuses a posterior naming no params, one twice, one the model lacks, or a draw outside its prior.
  const { params } = await posteriorParamRows(path, modelFile, modelText);
  const raw = JSON.parse(readTextFile(path, MAX_SUMMARY_BYTES, "posterior files")) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
  const until = raw.until as { time?: unknown; date?: unknown } | null | undefined;
  const summary = Array.isArray(raw.summary)
    ? (raw.summary as { name?: unknown; rhat?: unknown; ess?: unknown }[]).flatMap((s) =>
        typeof s?.name === "string" && params.includes(s.name)
          ? [{ name: s.name, rhat: num(s.rhat) ?? Number.NaN, ess: num(s.ess) ?? Number.NaN }]
          : [],
      )
    : undefined;
  const abc = raw.abc as { tolerances?: unknown } | undefined;
  const method = raw.method === "abc-smc" ? "abc-smc" : "pmmh";
  return {
    method,
    seed: num(raw.seed) ?? 0,
    ...(num(raw.chains) !== undefined ? { chains: num(raw.chains)! } : {}),
    ...(num(raw.iterations) !== undefined ? { iterations: num(raw.iterations)! } : {}),
    ...(Array.isArray(raw.chain_draws) && raw.chain_draws.every((n) => Number.isInteger(n) && n >= 0)
      ? { chain_draws: raw.chain_draws as number[] }
      : {}),
    partial: raw.partial === true,
    params,
    samples: raw.samples as number[][],
    ...(summary ? { summary } : {}),
    until:
      until && num(until.time) !== undefined
        ? {
            time: num(until.time)!,
            ...(typeof until.date === "string" && /^\d{4}-\d{2}-\d{2}$/.test(until.date)
              ? { date: until.date }
              : {}),
          }
        : null,
    ...(method === "abc-smc" && Array.isArray(abc?.tolerances)
      ? { abc: { tolerances: abc.tolerances.filter((x): x is number => num(x) !== undefined) } }
      : {}),
  };
}

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
  // The posterior and the data are checked before anything runs.
  const calibration =
    options.posterior !== undefined
      ? {
          posterior: await readPosterior(options.posterior, input.file, input.text),
          series: loadObservations(input.file, model.loaded),
        }
      : undefined;
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
  if (calibration) {
    options.onStage?.("calibration: the posterior and its predictive runs");
    const { posterior, series } = calibration;
    const predictiveRuns = options.predictiveRuns ?? 1000;
    const byName = new Map(model.program.params.map((p) => [p.name, p.dist]));
    sections.push(
      await calibrationSection({
        posterior,
        priors: posterior.params.map((name) => byName.get(name)!),
        predictive: posteriorPredictive(model, series, posterior, { runs: predictiveRuns, seed }),
        predictiveRuns,
      }),
    );
  }
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
      model: reportedPath(input.file),
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

/** What the optimised plan is compared with in the report, besides the model's own values and the minimum. */
export interface PlanComparisonOptions {
  /** Scenarios to run with the optimised decisions (e.g. other policies the model declares). */
  scenarios?: string[];
  /**
   * A decision to set, in those scenarios, to the objective's estimate (within its bounds) — e.g. the size of
   * one deployment matched to the troops the optimised increments reach. Needs an E(…) objective.
   */
  matchObjective?: string;
  workers?: number;
}

/**
 * Check what the report is asked to compare (scenarios, the decision to match) before anything runs; returns
 * the model's decisions. Throws a UsageError naming what is wrong.
 */
export function checkPlanComparison(
  input: { file: string; text: string },
  comparison: PlanComparisonOptions,
  maximize: string,
): NonNullable<ModelSpec["decisions"]> {
  const model = prepareModel(input.file, input.text);
  const bounds = model.loaded.spec.decisions ?? {};
  const match = comparison.matchObjective;
  if (match !== undefined) {
    if (!bounds[match])
      throw new UsageError(
        `--match-objective: no decision '${match}'${didYouMean(match, Object.keys(bounds))} (this model has: ${Object.keys(bounds).join(", ") || "none"})`,
      );
    if (!/^\s*E\(/.test(maximize))
      throw new UsageError(`--match-objective needs an E(var at TIME) objective, not '${maximize}'`);
  }
  for (const scenario of comparison.scenarios ?? []) {
    if (scenario !== "base" && !model.loaded.scenarios.includes(scenario))
      throw new UsageError(
        `--compare-scenarios: unknown scenario '${scenario}'${didYouMean(scenario, model.loaded.scenarios)} (this model has: ${model.loaded.scenarios.join(", ") || "none"})`,
      );
  }
  return bounds;
}

/**
 * The optimisation as a report: the frontier, the chosen decisions, and the chosen plan against the model's own
 * decision values, every decision at its minimum, and any scenarios asked for — all on the same random numbers.
 * Nothing here knows a model's names: what to compare comes from the model's decisions and the options.
 */
export async function optimizationReport(
  input: { file: string; text: string },
  result: OptimizeResult,
  comparison: PlanComparisonOptions = {},
): Promise<string> {
  const chosen = (result.best ?? result.closest).values;
  const common = {
    runs: Math.max(result.runs, 2000),
    seed: result.seed,
    ownClaims: false,
    ...(comparison.workers !== undefined ? { workers: comparison.workers } : {}),
  };
  const describe = (v: Record<string, number>) =>
    Object.entries(v)
      .map(([k, x]) => `${k} = ${x.toLocaleString("en")}`)
      .join(", ");
  const plans: { label: string; decisions: Record<string, number>; scenario?: string }[] = [
    { label: "optimised decisions", decisions: chosen },
  ];
  const seen = new Set([JSON.stringify(chosen)]);
  for (const [label, values] of [
    ["the model's own decisions", result.anchors.defaults.values],
    ["every decision at its minimum", result.anchors.lowerBounds.values],
  ] as const) {
    if (seen.has(JSON.stringify(values))) continue;
    seen.add(JSON.stringify(values));
    plans.push({ label: `${label} (${describe(values)})`, decisions: values });
  }
  const bounds = checkPlanComparison(input, comparison, result.maximize);
  const match = comparison.matchObjective;
  for (const scenario of comparison.scenarios ?? []) {
    const decisions = { ...chosen };
    let label = `scenario ${scenario}`;
    if (match !== undefined) {
      // The objective's estimate for the chosen plan, kept within the decision's own bounds.
      const d = bounds[match]!;
      const target = Math.min(d.max, Math.max(d.min, (result.best ?? result.closest).result.objective));
      decisions[match] = d.integer ? Math.round(target) : Number(target.toPrecision(4));
      label = `${label}, ${match} = ${decisions[match]!.toLocaleString("en")}`;
    }
    plans.push({ label, decisions, scenario });
  }
  const reports: Record<string, RunReport> = {};
  for (const plan of plans) {
    // Plans without a scenario run in the one optimised within.
    const scenario = plan.scenario ?? result.scenario ?? "base";
    reports[plan.label] = (
      await simulate(input, {
        ...common,
        decisions: plan.decisions,
        ...(scenario === "base" ? {} : { scenario }),
      })
    ).report;
  }
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
          formats: ["quantity", "text", "quantity", "quantity", "quantity", "text", "quantity"],
          rows: result.frontier.map((f) => [
            f.bound,
            f.feasible ? "yes" : "no",
            f.objective,
            f.objectiveLo,
            f.objectiveHi,
            f.decisions
              ? Object.entries(f.decisions)
                  .map(([k, v]) => `${k} = ${quantity(v)}`)
                  .join(", ")
              : null,
            f.closestViolation,
          ]),
        },
      ],
    },
    {
      title: "The optimised plan against others",
      intro:
        "On the same random numbers: the optimised decisions, the model's own values, every decision at its minimum, and the scenarios asked for (with the optimised decisions).",
      charts: [{ id: "chart-policies", svg: await renderSvg(scenarioChart(reports)) }],
      tables: [outcomesByColumnTable("policies", "End-state probabilities by plan", reports)],
    },
  ];
  return renderHtml({
    title: `${result.model}: optimisation`,
    subtitle: `brink optimize, seed ${result.seed}`,
    sections,
    metadata: {
      model: reportedPath(input.file),
      seed: String(result.seed),
      "runs per candidate": String(result.runs),
      "made with": `brink ${VERSION}`,
    },
  });
}
