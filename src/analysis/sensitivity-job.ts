import { quantile } from "../engine/distributions.js";
import { ExactSumArray } from "../engine/exactsum.js";
import { PackReader, PackWriter } from "../engine/pack.js";
import { type PreparedModel, prepareModel } from "../engine/prepare.js";
import { hashName } from "../engine/rng.js";
import { Runner } from "../engine/run.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import type { Distribution } from "../model/distribution.js";
import { compileClaims } from "./check.js";
import { type ClaimAtom, type CompiledClaim, claimMargin, compileClaim, needsRecords } from "./claims.js";
import {
  JansenSums,
  type MorrisEffect,
  morrisDesign,
  morrisEffects,
  SaltelliDesign,
  type SobolIndex,
} from "./sensitivity.js";
import { UsageError } from "./simulate.js";

export interface SensitivityOptions {
  scenario?: string;
  /** Design rows N (Sobol: N·(k + 2) evaluations) or Morris trajectories. */
  samples?: number;
  /** Runs averaged per evaluation (stochastic models): more lowers the noise in each output. */
  replicates?: number;
  seed?: number;
  method?: "sobol" | "morris";
  /** Sobol: independently shifted batches of design rows, for the jackknife intervals (default 16). */
  batches?: number;
  /** Extra targets: E(var at T) terms. */
  targets?: string[];
  onProgress?: (done: number, total: number) => void;
}

export interface TargetResult {
  target: string;
  sobol?: SobolIndex[];
  morris?: MorrisEffect[];
}

export interface WhatWouldHaveToBeTrue {
  claim: string;
  check: string;
  /** For each of its most influential params, the ranges (of five equal-probability bins) where it holds on average. */
  params: {
    param: string;
    total: number;
    bins: { from: number; to: number; margin: number; holds: boolean }[];
  }[];
}

export interface SensitivityReport {
  model: string;
  scenario: string | null;
  method: "sobol" | "morris";
  inputs: string[];
  evaluations: number;
  runs: number;
  /** Sobol: the independently shifted batches the intervals come from. */
  batches?: number;
  targets: TargetResult[];
  whatWouldHaveToBeTrue: WhatWouldHaveToBeTrue[];
}

/** What defines the outputs of a design point: the model, its scenario, the seed, replicates and extra targets. */
export interface DesignSetup {
  file: string;
  text: string;
  scenario: string | null;
  seed: number;
  replicates: number;
  targets: string[];
}

/** A batch of design points for a worker: evaluation indices and their uniforms (rows × inputs, flattened). */
export interface DesignPointsTask extends DesignSetup {
  kind?: "points";
  rows: number[];
  points: Float64Array;
}

/**
 * A range of rows [from, to) of a Sobol' design for a worker, which makes the points itself from their indices
 * and returns the rows' running sums packed (see `SobolRowSums`), not one output per point: a design of any
 * size then moves and merges in constant memory.
 */
export interface SobolRowsTask extends DesignSetup {
  kind: "sobol";
  /** Design rows N and batches: together with the seed they fix every row's points. */
  designRows: number;
  batches: number;
  from: number;
  to: number;
}

export type DesignRowsTask = DesignPointsTask | SobolRowsTask;

/**
 * What a Sobol' design's rows add up to: Jansen's sums for every target, and for each claim the margin's sum
 * and count by fifth of each input's A coordinate (for "what would have to be true"). Mergeable in any order.
 */
export class SobolRowSums {
  readonly jansen: JansenSums;
  /** claims × inputs × 5 bins × (Σ margin, count), added in exact sums within JansenSums' rules. */
  readonly bins: JansenBins;

  constructor(batches: number, targets: number, inputs: number, claims: number) {
    this.jansen = new JansenSums(batches, targets, inputs);
    this.bins = new JansenBins(claims, inputs);
  }

  pack(): Float64Array {
    const w = new PackWriter();
    this.jansen.pack(w);
    this.bins.pack(w);
    return w.finish();
  }

  mergePacked(data: Float64Array): void {
    const r = new PackReader(data);
    this.jansen.mergePacked(r);
    this.bins.mergePacked(r);
    if (r.pos !== data.length) throw new RangeError("packed Sobol' sums have trailing values");
  }
}

/** Each claim's margin at the A points, summed by fifth of each input (exact sums, mergeable). */
class JansenBins {
  private readonly sums: ExactSumArray;
  constructor(
    readonly claims: number,
    readonly inputs: number,
  ) {
    this.sums = new ExactSumArray(claims * inputs * 5 * 2);
  }
  add(claim: number, a: ArrayLike<number>, margin: number): void {
    for (let i = 0; i < this.inputs; i++) {
      const bin = Math.min(4, Math.floor(a[i]! * 5));
      const c = ((claim * this.inputs + i) * 5 + bin) * 2;
      this.sums.add(c, margin);
      this.sums.add(c + 1, 1);
    }
  }
  /** Mean margin of a claim over the rows whose input i fell in fifth `bin` (0 when none did). */
  mean(claim: number, input: number, bin: number): number {
    const c = ((claim * this.inputs + input) * 5 + bin) * 2;
    const n = this.sums.value(c + 1);
    return n > 0 ? this.sums.value(c) / n : 0;
  }
  pack(w: PackWriter): void {
    for (let c = 0; c < this.sums.size; c++) this.sums.pack(c, w);
  }
  mergePacked(r: PackReader): void {
    for (let c = 0; c < this.sums.size; c++) this.sums.mergePacked(c, r);
  }
}

/**
 * A model ready to evaluate design points: its uncertain inputs, the names of its outputs, and `evaluate`, a
 * pure function of (evaluation index, uniforms) — so a design can be split over workers in any way and give the
 * same numbers.
 */
export class DesignEvaluator {
  readonly inputs: string[];
  readonly targetNames: string[];
  readonly claims: CompiledClaim[];
  readonly model: PreparedModel;
  /** The index in the model's params of each input. */
  readonly inputIndex: number[];
  private readonly extra: CompiledClaim[];
  /** Made on first evaluation: a host that only plans the design (the browser page) compiles no kernel. */
  private runnerOnce: Runner | undefined;
  private get runner(): Runner {
    this.runnerOnce ??= new Runner(this.model, this.setup.seed);
    return this.runnerOnce;
  }
  private readonly full: Float64Array;
  runs = 0;

  constructor(readonly setup: DesignSetup) {
    const model = prepareModel(
      setup.file,
      setup.text,
      setup.scenario === null ? {} : { scenario: setup.scenario },
    );
    this.model = model;
    const program = model.program;
    this.inputs = program.params.filter((p) => p.dist.kind !== "fixed").map((p) => p.name);
    this.inputIndex = program.params.map((p, i) => (p.dist.kind !== "fixed" ? i : -1)).filter((i) => i >= 0);
    if (this.inputs.length === 0)
      throw new UsageError("this model has no params with distributions, so there is nothing to vary");
    this.claims = compileClaims(model.loaded).filter((c) => !needsRecords(c));
    this.extra = setup.targets.map((text, i) => {
      const c = compileClaim(
        { id: `target-${i}`, check: `${text} > 0` },
        {
          outcomes: program.outcomes.map((o) => o.name),
          time: model.loaded.time,
          tracked: program.tracked.map((t) => t.name),
        },
        () => ({ line: 1, col: 1 }),
        "--target",
      );
      if (Array.isArray(c))
        throw new DiagnosticError(c.map((d) => ({ ...d, message: `${d.message} (in --target ${text})` })));
      const e = c.atoms.length === 1 ? c.atoms[0] : undefined;
      if (!e || e.kind !== "E" || e.scenario !== null || c.left.kind !== "atom")
        throw new UsageError(`--target takes one E(var at TIME) term, not '${text}'`);
      return c;
    });
    this.targetNames = [
      ...program.outcomes.map((o) => `P(${o.name})`),
      ...this.claims.map((c) => `claim ${c.id}`),
      ...setup.targets,
    ];
    this.full = new Float64Array(program.params.length);
  }

  /** Outputs (one per target) of evaluation `row` at uniforms `u`: the means over its replicate runs. */
  evaluate(row: number, u: ArrayLike<number>): Float64Array {
    const { program } = this.model;
    const { replicates } = this.setup;
    const nTracked = program.tracked.length;
    this.inputIndex.forEach((p, j) => {
      this.full[p] = u[j]!;
    });
    const outcomeCounts = new Float64Array(program.outcomes.length);
    const ends: { outcome: number; step: number }[] = [];
    const targetSums = new Float64Array(this.extra.length);
    for (let r = 0; r < replicates; r++) {
      const end = this.runner.runWithUniforms(row * replicates + r, this.full);
      this.runs++;
      if (end.outcome >= 0) outcomeCounts[end.outcome]!++;
      ends.push({ outcome: end.outcome, step: end.timeIndex });
      this.extra.forEach((c, t) => {
        const atom = c.atoms[0] as Extract<ClaimAtom, { kind: "E" }>;
        // A run that ended before T contributes its last saved state.
        const save = Math.min(atom.save, end.saves - 1);
        targetSums[t]! += this.runner.saved[save * nTracked + atom.tracked]!;
      });
    }
    const out = new Float64Array(this.targetNames.length);
    let j = 0;
    for (let o = 0; o < program.outcomes.length; o++) out[j++] = outcomeCounts[o]! / replicates;
    for (const c of this.claims) {
      const values = c.atoms.map((a) => {
        const p = a as Extract<ClaimAtom, { kind: "P" }>;
        return (
          ends.filter((e) => e.outcome === p.outcomeIndex && (p.outcomeIndex < 0 || e.step <= p.byStep))
            .length / replicates
        );
      });
      out[j++] = claimMargin(c, values);
    }
    for (let t = 0; t < this.extra.length; t++) out[j++] = targetSums[t]! / replicates;
    return out;
  }
}

// A worker keeps the evaluator of its current design between batches.
let cached: { key: string; evaluator: DesignEvaluator } | undefined;

/** Evaluate a batch of design points or Sobol' rows (in a worker thread or Web Worker): a flat Float64Array. */
export function evaluateDesignRows(task: DesignRowsTask): Float64Array {
  const setup: DesignSetup = {
    file: task.file,
    text: task.text,
    scenario: task.scenario,
    seed: task.seed,
    replicates: task.replicates,
    targets: task.targets,
  };
  const key = JSON.stringify({ ...setup, text: `${setup.text.length}:${hashName(setup.text)}` });
  if (cached?.key !== key) cached = { key, evaluator: new DesignEvaluator(setup) };
  const evaluator = cached.evaluator;
  if (task.kind === "sobol") return sobolRows(evaluator, task).pack();
  const { rows, points } = task;
  const k = evaluator.inputs.length;
  const width = evaluator.targetNames.length;
  const out = new Float64Array(rows.length * width);
  rows.forEach((row, i) => out.set(evaluator.evaluate(row, points.subarray(i * k, (i + 1) * k)), i * width));
  return out;
}

/**
 * Rows [from, to) of a Sobol' design, added up. Row r evaluates A_r (run stream r), B_r (stream N + r) and each
 * A_r with column i from B_r (stream r): B's runs get their own random numbers, while A and every
 * A-with-column-i-from-B share A's, so the total effect (A against AB_i) holds the runs' own randomness fixed and
 * the first order (B against AB_i) counts it with the inputs that differ — as Jansen's estimators assume of every
 * input but i.
 */
function sobolRows(evaluator: DesignEvaluator, task: SobolRowsTask): SobolRowSums {
  const k = evaluator.inputs.length;
  const design = new SaltelliDesign(task.designRows, k, task.seed, task.batches);
  const claims = evaluator.claims.length;
  const firstClaim = evaluator.model.program.outcomes.length;
  const sums = new SobolRowSums(design.batches, evaluator.targetNames.length, k, claims);
  const a = new Float64Array(k);
  const b = new Float64Array(k);
  const mixed = new Float64Array(k);
  for (let r = task.from; r < task.to; r++) {
    design.row(r, a, b);
    const fA = evaluator.evaluate(r, a);
    const fB = evaluator.evaluate(task.designRows + r, b);
    const fAB = Array.from({ length: k }, (_, i) => {
      mixed.set(a);
      mixed[i] = b[i]!;
      return evaluator.evaluate(r, mixed);
    });
    sums.jansen.addRow(design.batchOf(r), fA, fB, fAB);
    for (let c = 0; c < claims; c++) sums.bins.add(c, a, fA[firstClaim + c]!);
  }
  return sums;
}

/** Where batches of design points run: worker threads or Web Workers (absent: this thread). */
export interface DesignPool {
  evaluate(task: DesignRowsTask): Promise<Float64Array>;
  /** Workers available, for sizing batches. */
  size: number;
}

/**
 * Which uncertain params carry each outcome probability, each claim's margin (claims made of P terms of the
 * model itself) and each requested E(var at T). Inputs are the params with distributions, varied on their
 * uniform scale and mapped through their own quantile functions. Each evaluation averages `replicates` runs.
 * The runs' own randomness acts as one more input: shared by A and the AB_i matrices, independent in B.
 * Design points are evaluated in batches on `pool` when given; the result does not depend on it.
 */
export async function sensitivityAnalysis(
  input: { file: string; text: string },
  options: SensitivityOptions = {},
  pool?: DesignPool,
): Promise<SensitivityReport> {
  const method = options.method ?? "sobol";
  const samples = options.samples ?? (method === "sobol" ? 256 : 20);
  const replicates = options.replicates ?? 2;
  const seed = options.seed ?? 1;
  const setup: DesignSetup = {
    ...input,
    scenario: options.scenario ?? null,
    seed,
    replicates,
    targets: options.targets ?? [],
  };
  const evaluator = new DesignEvaluator(setup);
  const { inputs, claims, targetNames, inputIndex } = evaluator;
  const program = evaluator.model.program;
  const k = inputs.length;

  /** Evaluate design points (evaluation index, uniforms), in order, here or in batches on the pool. */
  const evaluateAll = async (points: { row: number; u: ArrayLike<number> }[]): Promise<Float64Array[]> => {
    const total = points.length;
    if (!pool) {
      return points.map((p, i) => {
        const out = evaluator.evaluate(p.row, p.u);
        if ((i + 1) % 64 === 0 || i + 1 === total) options.onProgress?.(i + 1, total);
        return out;
      });
    }
    const batch = Math.max(8, Math.ceil(total / (pool.size * 8)));
    const width = targetNames.length;
    const results = new Array<Float64Array>(total);
    let done = 0;
    const batches: Promise<void>[] = [];
    for (let a = 0; a < total; a += batch) {
      const part = points.slice(a, a + batch);
      const flat = new Float64Array(part.length * k);
      part.forEach((p, i) => flat.set(Array.from(p.u), i * k));
      batches.push(
        pool.evaluate({ ...setup, rows: part.map((p) => p.row), points: flat }).then((out) => {
          part.forEach((_, i) => {
            results[a + i] = out.slice(i * width, (i + 1) * width);
          });
          done += part.length;
          options.onProgress?.(done, total);
        }),
      );
    }
    await Promise.all(batches);
    return results;
  };
  const column = (rows: Float64Array[], t: number) => Float64Array.from(rows, (r) => r[t]!);
  const targets: TargetResult[] = [];
  const whatWouldHaveToBeTrue: WhatWouldHaveToBeTrue[] = [];
  let batches: number | undefined;
  if (method === "sobol") {
    const design = new SaltelliDesign(samples, k, seed, options.batches ?? 16);
    batches = design.batches;
    const sums = new SobolRowSums(design.batches, targetNames.length, k, claims.length);
    const task = (from: number, to: number): SobolRowsTask => ({
      ...setup,
      kind: "sobol",
      designRows: samples,
      batches: design.batches,
      from,
      to,
    });
    const perRow = k + 2;
    const total = samples * perRow;
    // Rows are added up where they run and merged here in exact sums: any split gives the same bits.
    const chunk = pool
      ? Math.max(1, Math.ceil(samples / (pool.size * 8)))
      : Math.max(1, Math.ceil(256 / perRow));
    let done = 0;
    const parts: Promise<void>[] = [];
    for (let from = 0; from < samples; from += chunk) {
      const to = Math.min(samples, from + chunk);
      const merge = (packed: Float64Array) => {
        sums.mergePacked(packed);
        done += (to - from) * perRow;
        options.onProgress?.(done, total);
      };
      if (pool) parts.push(pool.evaluate(task(from, to)).then(merge));
      else merge(sobolRows(evaluator, task(from, to)).pack());
    }
    await Promise.all(parts);
    targetNames.forEach((target, t) => {
      targets.push({ target, sobol: sums.jansen.indices(inputs, t).sort((x, y) => y.total - x.total) });
    });
    // What would have to be true: for each claim's three most influential params, the margin by fifths of the param.
    claims.forEach((c, ci) => {
      const t = program.outcomes.length + ci;
      const top = targets[t]!.sobol!.slice(0, 3);
      whatWouldHaveToBeTrue.push({
        claim: c.id,
        check: c.check,
        params: top.map((ix) => {
          const i = inputs.indexOf(ix.input);
          const param = program.params[inputIndex[i]!]!;
          const bins = [0, 1, 2, 3, 4].map((bin) => {
            const margin = sums.bins.mean(ci, i, bin);
            const holds =
              c.op === ">" || c.op === ">=" ? margin > 0 : c.op === "<" || c.op === "<=" ? margin < 0 : false;
            return {
              from: quantileOf(param.dist, bin / 5),
              to: quantileOf(param.dist, (bin + 1) / 5),
              margin,
              holds,
            };
          });
          return { param: ix.input, total: ix.total, bins };
        }),
      });
    });
  } else {
    const trajectories = morrisDesign(k, samples, seed);
    const flat = await evaluateAll(
      trajectories.flatMap((tr, ti) =>
        tr.points.map((p, pi) => ({
          row: ti * (k + 1) + pi,
          u: p.map((x) => Math.min(1 - 1e-9, Math.max(1e-9, x))),
        })),
      ),
    );
    const outputs = trajectories.map((_, ti) => flat.slice(ti * (k + 1), (ti + 1) * (k + 1)));
    targetNames.forEach((target, t) => {
      const morris = morrisEffects(
        inputs,
        trajectories,
        outputs.map((rows) => column(rows, t)),
      ).sort((a, b) => b.muStar - a.muStar);
      targets.push({ target, morris });
    });
  }
  return {
    model: evaluator.model.loaded.spec.name,
    scenario: options.scenario ?? null,
    method,
    inputs,
    evaluations: evaluatedRuns(method, samples, k),
    runs: evaluatedRuns(method, samples, k) * replicates,
    ...(batches === undefined ? {} : { batches }),
    targets,
    whatWouldHaveToBeTrue,
  };
}

/** Evaluations a design makes: Sobol N·(k + 2), Morris r·(k + 1). */
function evaluatedRuns(method: "sobol" | "morris", samples: number, k: number): number {
  return method === "sobol" ? samples * (k + 2) : samples * (k + 1);
}

function quantileOf(dist: Distribution, u: number): number {
  return quantile(dist, Math.min(1 - 1e-9, Math.max(1e-9, u)));
}
