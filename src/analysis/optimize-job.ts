import { prepareModel } from "../engine/prepare.js";
import type { TrackedCells } from "../engine/summary.js";
import type { Simulator } from "./compare.js";
import {
  type Anchors,
  type CandidateResult,
  type Constraint,
  crossEntropyMaximize,
  type DecisionVariable,
  type Evaluated,
  type OptimizeProgress,
} from "./optimize.js";
import type { RunReport } from "./results.js";
import { UsageError } from "./simulate.js";

export interface OptimizeOptions {
  maximize: string;
  subjectTo: string[];
  runs?: number;
  seed?: number;
  workers?: number;
  iterations?: number;
  candidates?: number;
  /** Bounds for the first constraint at which to re-optimise, for the frontier. */
  frontier?: number[];
  scenario?: string;
  /** Which decisions to vary (default: all); the others keep their values. */
  vary?: string[];
  onProgress?: (p: OptimizeProgress & { bound?: number }) => void;
  /**
   * Which tracked cells the candidates' runs summarise (default "all"). A candidate is judged by its claims
   * alone, so "last" gives the same search with less work (see `SimulateOptions.trackedCells`).
   */
  candidateTrackedCells?: TrackedCells;
  /** Which tracked cells the chosen plan's `report` summarises (default "all"; "last": what the text prints). */
  trackedCells?: TrackedCells;
}

export interface FrontierPoint {
  bound: number;
  feasible: boolean;
  objective: number | null;
  objectiveLo: number | null;
  objectiveHi: number | null;
  decisions: Record<string, number> | null;
  /** When infeasible: how far the closest candidate's interval was beyond the bound. */
  closestViolation: number | null;
}

export interface OptimizeResult {
  model: string;
  /** The scenario optimised within (null: the base model). */
  scenario: string | null;
  maximize: string;
  subjectTo: string[];
  runs: number;
  seed: number;
  evaluations: number;
  feasible: boolean;
  best: Evaluated | null;
  closest: Evaluated;
  /** The points every search tried first: the model's own decision values and every lever at its minimum. */
  anchors: Anchors;
  /** The best decisions' full run report with the model's own claims (or the closest candidate's when none is
   * feasible); the objective and constraints are in `best`/`closest`, not among its claims. */
  report: RunReport;
  frontier: FrontierPoint[];
  message: string;
}

function parseConstraint(text: string): Constraint & { check: string } {
  const m = /^(.*?)(<=|>=|<|>)\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$/.exec(text.trim());
  if (!m)
    throw new UsageError(
      `--subject-to '${text}' must end in <= NUMBER or >= NUMBER, e.g. "P(nuclear_use by 2030-08-21) <= 0.01"`,
    );
  const op = m[2]!.startsWith("<") ? "<=" : ">=";
  return { op, bound: Number(m[3]), check: `${m[1]!.trim()} ${op} ${m[3]}` };
}

/**
 * Find the decision values that maximise an E(…) or P(…) objective while every constraint holds with 95%
 * confidence, and trace how the best objective moves with the first constraint's bound (the frontier).
 */
export async function optimize(
  input: { file: string; text: string },
  options: OptimizeOptions,
  simulate: Simulator,
): Promise<OptimizeResult> {
  const runs = options.runs ?? 1000;
  const seed = options.seed ?? 1;
  const model = prepareModel(
    input.file,
    input.text,
    options.scenario === undefined ? {} : { scenario: options.scenario },
  );
  const decisions: DecisionVariable[] = Object.entries(model.loaded.spec.decisions ?? {}).map(
    ([name, d]) => ({
      name,
      min: d.min,
      max: d.max,
      integer: d.integer ?? false,
      start: d.value,
    }),
  );
  if (decisions.length === 0)
    throw new UsageError("this model declares no decisions to optimise (add a 'decisions' section)");
  for (const name of options.vary ?? []) {
    if (!decisions.some((d) => d.name === name))
      throw new UsageError(
        `--vary: no decision '${name}' (this model has: ${decisions.map((d) => d.name).join(", ")})`,
      );
  }
  if (options.vary)
    decisions.splice(0, decisions.length, ...decisions.filter((d) => options.vary!.includes(d.name)));
  if (options.subjectTo.length === 0) throw new UsageError("give at least one --subject-to constraint");
  const constraints = options.subjectTo.map(parseConstraint);
  const extraClaims = [
    { id: "objective", check: `${options.maximize} > -1e300` },
    ...constraints.map((c, i) => ({ id: `constraint-${i}`, check: c.check })),
  ];
  const common = {
    runs,
    seed,
    ownClaims: false,
    extraClaims,
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(options.scenario !== undefined ? { scenario: options.scenario } : {}),
  };
  const toResult = (report: RunReport): CandidateResult => {
    const c = report.claims;
    const num = (x: number | null) => (x === null ? Number.NaN : x);
    return {
      objective: num(c[0]!.p),
      objectiveLo: num(c[0]!.lo),
      objectiveHi: num(c[0]!.hi),
      constraints: c.slice(1).map((r) => ({ estimate: num(r.p), lo: num(r.lo), hi: num(r.hi) })),
    };
  };
  const candidateCells = options.candidateTrackedCells ? { trackedCells: options.candidateTrackedCells } : {};
  const evaluate = async (values: Record<string, number>) =>
    toResult((await simulate(input, { ...common, ...candidateCells, decisions: values })).report);
  const cache = new Map<string, CandidateResult>();
  const search = (bounds: Constraint[], bound?: number) =>
    crossEntropyMaximize({
      decisions,
      constraints: bounds,
      evaluate,
      cache,
      iterations: options.iterations ?? 8,
      candidates: options.candidates ?? 10,
      seed,
      onProgress: (p) => options.onProgress?.({ ...p, ...(bound !== undefined ? { bound } : {}) }),
    });
  const main = await search(constraints);
  const frontier: FrontierPoint[] = [];
  for (const bound of options.frontier ?? []) {
    const bounded = constraints.map((c, i) => (i === 0 ? { ...c, bound } : c));
    const r = await search(bounded, bound);
    frontier.push({
      bound,
      feasible: r.best !== undefined,
      objective: r.best?.result.objective ?? null,
      objectiveLo: r.best?.result.objectiveLo ?? null,
      objectiveHi: r.best?.result.objectiveHi ?? null,
      decisions: r.best?.values ?? null,
      closestViolation: r.best ? null : r.closest.violation,
    });
  }
  const chosen = main.best ?? main.closest;
  // The chosen plan's report carries the model's own claims only: the search's internal claims stay internal.
  const report = (
    await simulate(input, {
      ...common,
      ownClaims: true,
      extraClaims: [],
      decisions: chosen.values,
      ...(options.trackedCells ? { trackedCells: options.trackedCells } : {}),
    })
  ).report;
  const describe = (v: Record<string, number>) =>
    Object.entries(v)
      .map(([k, x]) => `${k} = ${x}`)
      .join(", ");
  const constraintsOf = (e: Evaluated) =>
    constraints
      .map(
        (c, i) =>
          `${c.check.replace(/\s*(<=|>=).*$/, "")} is ${e.result.constraints[i]!.estimate.toPrecision(3)} [${e.result.constraints[i]!.lo.toPrecision(3)}, ${e.result.constraints[i]!.hi.toPrecision(3)}] against ${c.op} ${c.bound}`,
      )
      .join("; ");
  const { defaults, lowerBounds } = main.anchors;
  const message = main.best
    ? `best: ${describe(main.best.values)}; objective ${main.best.result.objective.toPrecision(4)} [${main.best.result.objectiveLo.toPrecision(4)}, ${main.best.result.objectiveHi.toPrecision(4)}]; ${constraintsOf(main.best)}`
    : `no candidate met every constraint with 95% confidence among ${new Set(main.evaluations.map((e) => JSON.stringify(e.values))).size} tried, including the model's own values (${describe(defaults.values)}: missed by ${defaults.violation.toPrecision(3)}) and every decision at its minimum (${describe(lowerBounds.values)}: missed by ${lowerBounds.violation.toPrecision(3)}); the closest (${describe(main.closest.values)}) missed by ${main.closest.violation.toPrecision(3)}: ${constraintsOf(main.closest)}`;
  return {
    model: model.loaded.spec.name,
    scenario: options.scenario ?? null,
    maximize: options.maximize,
    subjectTo: constraints.map((c) => c.check),
    runs,
    seed,
    evaluations: cache.size,
    feasible: main.best !== undefined,
    best: main.best ?? null,
    closest: main.closest,
    anchors: main.anchors,
    report,
    frontier,
    message,
  };
}
