import { quantile } from "../engine/distributions.js";
import { prepareModel } from "../engine/prepare.js";
import { Runner } from "../engine/run.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import type { Distribution } from "../model/distribution.js";
import { compileClaims } from "./check.js";
import { type ClaimAtom, type CompiledClaim, claimMargin, compileClaim, needsRecords } from "./claims.js";
import {
  type MorrisEffect,
  morrisDesign,
  morrisEffects,
  type SobolIndex,
  saltelliDesign,
  sobolIndices,
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
  targets: TargetResult[];
  whatWouldHaveToBeTrue: WhatWouldHaveToBeTrue[];
}

/**
 * Which uncertain params carry each outcome probability, each claim's margin (claims made of P terms of the
 * model itself) and each requested E(var at T). Inputs are the params with distributions, varied on their
 * uniform scale and mapped through their own quantile functions. Each evaluation averages `replicates` runs.
 * The runs' own randomness acts as one more input: shared by A and the AB_i matrices, independent in B.
 */
export function sensitivityAnalysis(
  input: { file: string; text: string },
  options: SensitivityOptions = {},
): SensitivityReport {
  const model = prepareModel(
    input.file,
    input.text,
    options.scenario === undefined ? {} : { scenario: options.scenario },
  );
  const program = model.program;
  const inputs = program.params.filter((p) => p.dist.kind !== "fixed").map((p) => p.name);
  const inputIndex = program.params.map((p, i) => (p.dist.kind !== "fixed" ? i : -1)).filter((i) => i >= 0);
  const k = inputs.length;
  if (k === 0)
    throw new UsageError("this model has no params with distributions, so there is nothing to vary");
  const method = options.method ?? "sobol";
  const samples = options.samples ?? (method === "sobol" ? 256 : 20);
  const replicates = options.replicates ?? 2;
  const seed = options.seed ?? 1;
  const claims = compileClaims(model.loaded).filter((c) => !needsRecords(c));
  const extra: CompiledClaim[] = (options.targets ?? []).map((text, i) => {
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
  const targetNames = [
    ...program.outcomes.map((o) => `P(${o.name})`),
    ...claims.map((c) => `claim ${c.id}`),
    ...(options.targets ?? []),
  ];
  const runner = new Runner(model, seed);
  const nTracked = program.tracked.length;
  const full = new Float64Array(program.params.length);
  let runs = 0;

  /** Outputs (one per target) of one evaluation: the means over its replicate runs. */
  const evaluate = (row: number, u: ArrayLike<number>): Float64Array => {
    inputIndex.forEach((p, j) => {
      full[p] = u[j]!;
    });
    const outcomeCounts = new Float64Array(program.outcomes.length);
    const ends: { outcome: number; step: number }[] = [];
    const targetSums = new Float64Array(extra.length);
    for (let r = 0; r < replicates; r++) {
      const end = runner.runWithUniforms(row * replicates + r, full);
      runs++;
      if (end.outcome >= 0) outcomeCounts[end.outcome]!++;
      ends.push({ outcome: end.outcome, step: end.timeIndex });
      extra.forEach((c, t) => {
        const atom = c.atoms[0] as Extract<ClaimAtom, { kind: "E" }>;
        // A run that ended before T contributes its last saved state.
        const save = Math.min(atom.save, end.saves - 1);
        targetSums[t]! += runner.saved[save * nTracked + atom.tracked]!;
      });
    }
    const out = new Float64Array(targetNames.length);
    let j = 0;
    for (let o = 0; o < program.outcomes.length; o++) out[j++] = outcomeCounts[o]! / replicates;
    for (const c of claims) {
      const values = c.atoms.map((a) => {
        const p = a as Extract<ClaimAtom, { kind: "P" }>;
        return (
          ends.filter((e) => e.outcome === p.outcomeIndex && (p.outcomeIndex < 0 || e.step <= p.byStep))
            .length / replicates
        );
      });
      out[j++] = claimMargin(c, values);
    }
    for (let t = 0; t < extra.length; t++) out[j++] = targetSums[t]! / replicates;
    return out;
  };

  const column = (rows: Float64Array[], t: number) => Float64Array.from(rows, (r) => r[t]!);
  const targets: TargetResult[] = [];
  const whatWouldHaveToBeTrue: WhatWouldHaveToBeTrue[] = [];
  if (method === "sobol") {
    const total = samples * (k + 2);
    const { A, B } = saltelliDesign(samples, k, seed);
    const fA = A.map((u, r) => evaluate(r, u));
    options.onProgress?.(samples, total);
    // B's runs get their own random numbers, while A and every A-with-column-i-from-B share A's: the total
    // effect (A against AB_i) then holds the runs' own randomness fixed, and the first order (B against AB_i)
    // counts it with the inputs that differ — as Jansen's estimators assume of every input but i.
    const fB = B.map((u, r) => evaluate(samples + r, u));
    const fAB = inputs.map((_, i) => {
      const outs = A.map((u, r) => {
        const mixed = Float64Array.from(u);
        mixed[i] = B[r]![i]!;
        return evaluate(r, mixed);
      });
      options.onProgress?.(samples * (i + 3), total);
      return outs;
    });
    targetNames.forEach((target, t) => {
      const sobol = sobolIndices(
        inputs,
        column(fA, t),
        column(fB, t),
        fAB.map((rows) => column(rows, t)),
        { seed },
      ).sort((a, b) => b.total - a.total);
      targets.push({ target, sobol });
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
          const bins = [0, 1, 2, 3, 4].map((b) => {
            const rows = A.map((u, r) => ({ u: u[i]!, m: fA[r]![t]! })).filter(
              (x) => x.u >= b / 5 && x.u < (b + 1) / 5,
            );
            const margin = rows.reduce((s, x) => s + x.m, 0) / Math.max(1, rows.length);
            const holds =
              c.op === ">" || c.op === ">=" ? margin > 0 : c.op === "<" || c.op === "<=" ? margin < 0 : false;
            return {
              from: quantileOf(param.dist, b / 5),
              to: quantileOf(param.dist, (b + 1) / 5),
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
    const outputs = trajectories.map((tr, ti) => {
      const outs = tr.points.map((p, pi) =>
        evaluate(
          ti * (k + 1) + pi,
          p.map((x) => Math.min(1 - 1e-9, Math.max(1e-9, x))),
        ),
      );
      options.onProgress?.((ti + 1) * (k + 1), samples * (k + 1));
      return outs;
    });
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
    model: model.loaded.spec.name,
    scenario: options.scenario ?? null,
    method,
    inputs,
    evaluations: runs / replicates,
    runs,
    targets,
    whatWouldHaveToBeTrue,
  };
}

function quantileOf(dist: Distribution, u: number): number {
  return quantile(dist, Math.min(1 - 1e-9, Math.max(1e-9, u)));
}
