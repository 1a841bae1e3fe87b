import { z } from "zod";
import { type Diagnostic, DiagnosticError } from "../lang/diagnostic.js";
import { jobIdentity, modelHash } from "./montecarlo.js";
import type { ParamRows } from "./run.js";
import { sketchParams } from "./sketch.js";
import { Summary, type SummaryJSON } from "./summary.js";

/** A saved summary: the mergeable statistics plus the model they came from (so merging can check claims). */
export interface SummaryFile {
  summary: SummaryJSON;
  model: {
    file: string;
    text: string;
    scenario: string | null;
    decisions?: Record<string, number>;
    /** Params taken from a posterior (`brink run --posterior`), part of the job's identity. */
    paramRows?: ParamRows;
  };
  /** Statistics of the claims the summary's counts cannot decide (E, Q, other scenarios), for `brink merge`. */
  claims?: SavedClaimStatistics;
}

const count = z.number().int().nonnegative();
const finite = z.number().finite();
const exactSum = z.array(z.number());

const SketchSchema = z.strictObject({
  leafRuns: count,
  capacity: count,
  nodes: z.array(
    z.strictObject({
      level: count.max(60),
      index: count,
      runs: count,
      cells: z.array(
        z.strictObject({ values: z.array(finite), weights: z.array(z.number().positive()).optional() }),
      ),
    }),
  ),
});

const SummaryJSONSchema = z.strictObject({
  format: z.literal("brink-summary/3"),
  meta: z.strictObject({
    model: z.string(),
    modelHash: z.string().regex(/^[0-9a-f]{16}$/),
    scenario: z.string().nullable(),
    seed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    sampling: z.enum(["random", "lhs"]),
    designRuns: count.nullable(),
  }),
  outcomeNames: z.array(z.string()),
  trackedNames: z.array(z.string()),
  steps: count,
  saveCount: count,
  partial: z.boolean(),
  ranges: z.array(z.tuple([count, count])),
  runs: count,
  outcomeCounts: z.array(count),
  outcomeTimes: z.array(z.array(z.tuple([count, count]))),
  censored: count,
  tracked: z.array(
    z.strictObject({
      n: count,
      min: finite.nullable(),
      max: finite.nullable(),
      sum: exactSum,
      sumSquares: exactSum,
    }),
  ),
  quantiles: SketchSchema,
  pending: z.array(
    z.strictObject({
      block: count,
      runs: z.array(count),
      saves: z.array(count),
      rows: z.array(z.array(finite)),
    }),
  ),
});

/** Claim statistics saved beside the summary (analysis/claims-stream.ts writes and reads them). */
const ClaimStatisticsSchema = z.strictObject({
  claims: z.array(
    z.strictObject({ id: z.string(), check: z.string(), runs: count, sums: z.array(exactSum) }),
  ),
  sketch: z
    .strictObject({
      nodes: SketchSchema,
      counts: z.array(count),
      min: z.array(finite.nullable()),
      max: z.array(finite.nullable()),
    })
    .nullable(),
});

export type SavedClaimStatistics = z.infer<typeof ClaimStatisticsSchema>;

const SummaryFileSchema = z.strictObject({
  summary: SummaryJSONSchema,
  claims: ClaimStatisticsSchema.optional(),
  model: z.strictObject({
    file: z.string(),
    text: z.string(),
    scenario: z.string().nullable(),
    decisions: z.record(z.string(), finite).optional(),
    paramRows: z
      .strictObject({
        params: z.array(z.string()),
        values: z.array(finite),
        // Start states of `brink run --from`: runs restarted from a posterior's filtered state.
        states: z.strictObject({ width: z.number().int().positive(), values: z.array(finite) }).optional(),
      })
      .optional(),
  }),
});

/** The ways a summary that passed the schema can still contradict itself (edited counts, spliced parts). */
function inconsistencies(j: SummaryJSON): string[] {
  const out: string[] = [];
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  let covered = 0;
  let end = -1;
  for (const [a, b] of j.ranges) {
    if (b <= a || a < end) out.push(`run ranges are not sorted and disjoint ([${a}, ${b}))`);
    covered += b - a;
    end = b;
  }
  if (covered !== j.runs) out.push(`runs is ${j.runs} but the run ranges cover ${covered}`);
  if (j.outcomeCounts.length !== j.outcomeNames.length || j.outcomeTimes.length !== j.outcomeNames.length)
    out.push("outcome counts do not match the outcome names");
  const ended = sum(j.outcomeCounts) + j.censored;
  if (ended !== j.runs)
    out.push(`runs is ${j.runs} but the outcome counts and censored runs add up to ${ended}`);
  j.outcomeTimes.forEach((times, o) => {
    if (times.some(([k]) => k > j.steps))
      out.push(`outcome ${j.outcomeNames[o]} has a time past the last step`);
    if (sum(times.map((t) => t[1])) !== j.outcomeCounts[o])
      out.push(`outcome ${j.outcomeNames[o]}: its times do not add up to its count`);
  });
  if (j.saveCount > j.steps + 1) out.push("more save times than steps");
  const cells = j.trackedNames.length * j.saveCount;
  if (j.tracked.length !== cells) out.push(`${j.tracked.length} tracked cells where the shape has ${cells}`);
  if (j.tracked.some((t) => t.n > j.runs)) out.push("a tracked value has more runs than the summary");
  const { leafRuns, capacity } = sketchParams(cells);
  if (j.quantiles.leafRuns !== leafRuns || j.quantiles.capacity !== capacity)
    out.push("the quantile summary's sizes are not those of this shape");
  const weights = new Float64Array(cells);
  let nodeRuns = 0;
  for (const node of j.quantiles.nodes) {
    nodeRuns += node.runs;
    if (node.runs > leafRuns * 2 ** node.level)
      out.push(`quantile node ${node.level}/${node.index} has too many runs`);
    if (node.cells.length !== cells)
      out.push(`quantile node ${node.level}/${node.index} has the wrong cells`);
    node.cells.forEach((c, i) => {
      if (c.weights && c.weights.length !== c.values.length) out.push("quantile weights do not match values");
      if (i < cells) weights[i]! += c.weights ? sum(c.weights) : c.values.length;
    });
  }
  const pendingRuns = sum(j.pending.map((p) => p.runs.length));
  if (nodeRuns !== j.runs && !(cells === 0 && nodeRuns === 0))
    out.push(`the quantile summary covers ${nodeRuns} runs, not ${j.runs}`);
  j.tracked.forEach((t, c) => {
    if (Math.abs(weights[c]! - t.n) > 1e-6 * Math.max(1, t.n))
      out.push(`tracked cell ${c}: ${t.n} runs, but the quantile summary holds ${weights[c]}`);
  });
  if (pendingRuns > j.runs) out.push("more pending runs than runs");
  for (const p of j.pending) {
    if (p.saves.length !== p.runs.length || p.rows.length !== p.runs.length)
      out.push(`pending block ${p.block} is malformed`);
    p.rows.forEach((row, b) => {
      const saves = p.saves[b] ?? 0;
      if (saves > j.saveCount || row.length !== saves * j.trackedNames.length)
        out.push(`pending block ${p.block} has a row of the wrong length`);
    });
  }
  return [...new Set(out)];
}

/**
 * Read a saved summary file, refusing anything but what `brink run --save-summary` writes: the shape is
 * schema-checked, the counts must agree with one another, and the model text must hash to the job's hash.
 */
export function parseSummaryFile(file: string, text: string): { file: SummaryFile; summary: Summary } {
  const fail = (message: string): never => {
    const d: Diagnostic = { file, line: 1, col: 1, message: `not a valid Brink summary file: ${message}` };
    throw new DiagnosticError([d]);
  };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
  const parsed = SummaryFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    fail(`${issue.path.join(".") || "(top level)"}: ${issue.message}`);
  }
  const saved = parsed.data as SummaryFile;
  const problems = inconsistencies(saved.summary);
  if (problems.length) fail(problems.slice(0, 3).join("; "));
  const hash = modelHash(jobIdentity(saved.model.text, saved.model.decisions, saved.model.paramRows));
  if (hash !== saved.summary.meta.modelHash)
    fail("its model text does not match the job's model hash (the text or the counts were changed)");
  if (saved.model.scenario !== saved.summary.meta.scenario) fail("its scenario does not match the job's");
  let summary: Summary | undefined;
  try {
    summary = Summary.fromJSON(saved.summary);
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
  return { file: saved, summary: summary! };
}
