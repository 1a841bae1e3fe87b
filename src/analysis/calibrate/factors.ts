import type { Program } from "../../compile/ir.js";
import { slotsRead, visitNodes } from "../../compile/ir.js";
import { quantile } from "../../engine/distributions.js";
import type { PreparedModel } from "../../engine/prepare.js";
import { hashName, hashUniform } from "../../engine/rng.js";
import type { ObservationSeries } from "./observations.js";
import { uncertainParams } from "./pmmh.js";

/**
 * Independent parts of a calibration. Two observation series are independent when nothing that varies from run
 * to run — an uncertain param, a stock, a random draw, or anything computed from one — reaches both of them. If
 * the series fall into groups that share nothing that varies, their likelihoods multiply and, with independent
 * priors (every param has its own), the posterior is the product of the groups' posteriors: each group can be
 * fitted on its own, exactly, with a sampler that sees only its params and only its share of the particle
 * filter's noise.
 */
export interface LikelihoodFactor {
  /** Indices into the series. */
  series: number[];
  /** Indices into program.params of the uncertain params this factor's likelihood depends on. */
  params: number[];
}

/**
 * The factors of the likelihood, in the order of their first series; one factor holding every series and every
 * uncertain param when the model cannot be split (or has a single series). Uncertain params that no series
 * depends on go to the first factor, whose sampler draws them from their priors as a joint fit would.
 */
export function likelihoodFactors(
  program: Program,
  series: readonly ObservationSeries[],
): LikelihoodFactor[] {
  const free = uncertainParams(program.params);
  const whole = [{ series: series.map((_, i) => i), params: free }];
  // Outcomes end runs (a particle that ended has no likelihood for any series) and a changing clock moves every
  // stock: both tie all series together.
  if (series.length < 2 || program.outcomes.length > 0 || program.clock) return whole;

  // What each slot is computed from.
  const reads = program.slots.map(() => new Set<number>());
  const hasRandom = new Uint8Array(program.slots.length);
  const add = (slot: number, expr: Parameters<typeof slotsRead>[0]) => {
    for (const s of slotsRead(expr)) reads[slot]!.add(s);
    visitNodes(expr, (n) => {
      if (n.op === "random") hasRandom[slot] = 1;
    });
  };
  for (const a of program.initOrder) add(a.slot, a.expr);
  for (const a of program.auxOrder) add(a.slot, a.expr);
  for (const s of program.stocks) add(s.slot, s.rate);
  for (const p of program.previous) {
    reads[p.slot]!.add(p.source);
    add(p.slot, p.init);
  }
  for (const e of program.events)
    for (const a of e.assigns) {
      add(a.slot, a.expr);
      add(a.slot, e.expr);
      if (e.trigger === "rate") hasRandom[a.slot] = 1;
      // What one event moves, it moves at the same moment: its targets are tied to each other.
      for (const b of e.assigns) if (b.slot !== a.slot) reads[a.slot]!.add(b.slot);
    }

  // What varies from run to run: uncertain params, random draws, and whatever reads them (to a fixed point:
  // stocks read themselves through their rates).
  const varies = new Uint8Array(program.slots.length);
  for (const i of free) varies[program.params[i]!.slot] = 1;
  for (let s = 0; s < varies.length; s++) if (hasRandom[s]) varies[s] = 1;
  for (let changed = true; changed; ) {
    changed = false;
    for (let s = 0; s < varies.length; s++)
      if (!varies[s])
        for (const r of reads[s]!)
          if (varies[r]) {
            varies[s] = 1;
            changed = true;
            break;
          }
  }

  // Each series' varying ancestors: its variable's and its measurement params'.
  const slotOf = new Map<string, number>();
  program.slots.forEach((s, i) => {
    if (s.kind !== "hidden" && s.kind !== "hidden-stock" && !slotOf.has(s.name)) slotOf.set(s.name, i);
  });
  const ancestors = series.map((s) => {
    const roots = [s.variable, ...noiseParams(s)].map((name) => slotOf.get(name));
    if (roots.some((r) => r === undefined)) return undefined;
    const seen = new Set<number>(roots as number[]);
    const stack = [...seen];
    while (stack.length)
      for (const r of reads[stack.pop()!]!)
        if (!seen.has(r)) {
          seen.add(r);
          stack.push(r);
        }
    return new Set([...seen].filter((x) => varies[x]));
  });
  if (ancestors.some((a) => a === undefined)) return whole;
  const sets = ancestors as Set<number>[];

  // Union the series that share a varying ancestor.
  const parent = series.map((_, i) => i);
  const find = (i: number): number => {
    let r = i;
    while (parent[r] !== r) r = parent[r]!;
    return r;
  };
  for (let i = 0; i < series.length; i++)
    for (let j = i + 1; j < series.length; j++)
      if (find(i) !== find(j) && [...sets[i]!].some((x) => sets[j]!.has(x))) parent[find(j)] = find(i);
  const groups = new Map<number, number[]>();
  series.forEach((_, i) => {
    const root = find(i);
    groups.set(root, [...(groups.get(root) ?? []), i]);
  });
  if (groups.size < 2) return whole;
  const factors = [...groups.values()].map((members) => ({
    series: members,
    params: free.filter((i) => members.some((m) => sets[m]!.has(program.params[i]!.slot))),
  }));
  // Params no series depends on go to the first factor with params of its own; a factor without any (its series
  // depend on nothing uncertain) cannot inform the posterior, so its series join that factor too.
  const claimed = new Set(factors.flatMap((f) => f.params));
  const first = factors.find((f) => f.params.length > 0);
  // No series reaches an uncertain param: nothing to fit apart.
  if (!first) return whole;
  first.params = free.filter((i) => first.params.includes(i) || !claimed.has(i));
  for (const f of factors)
    if (f !== first && f.params.length === 0) {
      first.series = [...first.series, ...f.series].sort((a, b) => a - b);
      f.series = [];
    }
  const kept = factors.filter((f) => f.series.length > 0);
  if (kept.length < 2) return whole;
  return kept;
}

/** The params a series' measurement model names. */
function noiseParams(s: ObservationSeries): string[] {
  return Object.values(s.noise).flatMap((v) => (typeof v === "object" && "param" in v ? [v.param] : []));
}

/** The model with some params fixed at given values (param index → value): what one factor's sampler sees. */
export function withFixedParams(
  model: PreparedModel,
  fixed: readonly (readonly [number, number])[],
): PreparedModel {
  if (fixed.length === 0) return model;
  const values = new Map(fixed);
  const params = model.program.params.map((q, i) => {
    const value = values.get(i);
    return value === undefined ? q : { ...q, dist: { kind: "fixed" as const, value } };
  });
  return { ...model, program: { ...model.program, params } };
}

/**
 * What factor `k`'s sampler fixes: every other uncertain param, at its prior median (it cannot move this factor's
 * likelihood, so any value gives the same posterior).
 */
export function factorFixed(program: Program, factor: LikelihoodFactor): [number, number][] {
  const own = new Set(factor.params);
  return uncertainParams(program.params)
    .filter((i) => !own.has(i))
    .map((i) => [i, quantile(program.params[i]!.dist, 0.5)]);
}

const FACTOR_KEY = hashName("calibrate:factor");

/**
 * The seed of factor k's chains and filters: the job's own for the first (so a likelihood of one factor runs
 * exactly as it always has), and one of its own for each other, so that factors draw independent numbers.
 */
export function factorSeed(seed: number, k: number): number {
  return k === 0 ? seed : Math.floor(hashUniform(seed, k, FACTOR_KEY, 0) * 2 ** 31);
}
