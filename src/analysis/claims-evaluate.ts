import type { RunRecords } from "../engine/records.js";
import { hashUniform } from "../engine/rng.js";
import {
  type ClaimAtom,
  type CompiledClaim,
  evaluate,
  isConstant,
  type LevelOp,
  needsRecords,
} from "./claims-compile.js";
import { sortedQuantile, wilson, Z975 } from "./stats.js";

/**
 * Claims, evaluated: P terms of the scenario being run on exact outcome-time counts; everything else on per-run
 * records, paired over run indices across scenarios. Intervals: Wilson for a lone probability, order statistics
 * for a lone quantile against a number, the delta method for means and their combinations, and a paired
 * bootstrap (seeded, so deterministic) when quantiles are combined with other terms.
 */
export type Verdict = "holds" | "fails" | "undecided";

export interface ClaimResult {
  id: string;
  text?: string;
  check: string;
  verdict: Verdict;
  /** Estimate of the left side when the right side is a constant, else of left − right. */
  p: number | null;
  lo: number | null;
  hi: number | null;
  /** Why a claim could not be evaluated here, when it could not. */
  note?: string;
}

/** Exact outcome-time counts: what claims with P terms of the run's own scenario are evaluated on. */
export interface OutcomeCounts {
  runs: number;
  /** times[o][k]: runs that ended in outcome o at step k. */
  outcomeTimes: ArrayLike<number>[];
  censored: number;
}

/** One scenario's runs, for claims evaluated on records. */
export interface ScenarioRecords {
  records: RunRecords;
  outcomes: string[];
  /** Index of a probe (tracked variable index, save) in `records.values`. */
  probe: (tracked: number, save: number) => number;
}

/** A claim that could not be evaluated here, and why. */
const undecided = (claim: CompiledClaim, note: string): ClaimResult => ({
  ...resultBase(claim),
  verdict: "undecided",
  p: Number.NaN,
  lo: Number.NaN,
  hi: Number.NaN,
  note,
});

const resultBase = (claim: CompiledClaim) => ({
  id: claim.id,
  check: claim.check,
  ...(claim.text !== undefined ? { text: claim.text } : {}),
});

/**
 * Evaluate a claim whose terms are all P(…) of the scenario being run, on exact outcome-time counts. Each
 * distinct (end state, step) is one weighted observation, so this equals evaluating on every run.
 */
export function evaluateClaim(claim: CompiledClaim, counts: OutcomeCounts): ClaimResult {
  if (needsRecords(claim)) {
    return undecided(claim, "needs per-run records (E, Q or another scenario): evaluate it with brink run");
  }
  const cells: { outcome: number; step: number; count: number }[] = [];
  counts.outcomeTimes.forEach((times, o) => {
    for (let k = 0; k < times.length; k++)
      if (times[k]! > 0) cells.push({ outcome: o, step: k, count: times[k]! });
  });
  cells.push({ outcome: -1, step: Number.POSITIVE_INFINITY, count: counts.censored });
  const basics = claim.atoms.map((atom) => {
    const a = atom as Extract<ClaimAtom, { kind: "P" }>;
    return Float64Array.from(cells, (c) =>
      c.outcome === a.outcomeIndex && (a.outcomeIndex < 0 || c.step <= a.byStep) ? 1 : 0,
    );
  });
  return evaluateObservations(claim, {
    n: counts.runs,
    weights: Float64Array.from(cells, (c) => c.count),
    basics,
    atomValue: (i, means) => means[i]!,
    indicator: basics.map(() => true),
    states: counts.outcomeTimes.length + 1,
  });
}

/** Evaluate a claim on per-run records of the scenarios it names (runs paired by index). */
export function evaluateClaimWithRecords(
  claim: CompiledClaim,
  recordsOf: (scenario: string | null) => ScenarioRecords,
): ClaimResult {
  // Every scenario a claim names runs over the same indices; the first term's scenario has them all.
  const first = recordsOf(claim.atoms[0]?.scenario ?? null).records;
  const n = first.recorded();
  const runs = first.count;
  const basics: Float64Array[] = [];
  const indicator: boolean[] = [];
  const atomBasics: number[][] = [];
  for (const atom of claim.atoms) {
    const sr = recordsOf(atom.scenario);
    const r = sr.records;
    if (atom.kind === "P") {
      const index = atom.outcome === "censored" ? -1 : sr.outcomes.indexOf(atom.outcome);
      const x = new Float64Array(runs);
      // An outcome a scenario removed never happens there.
      if (atom.outcome === "censored" || index >= 0) {
        for (let i = 0; i < runs; i++)
          x[i] = r.outcome[i] === index && (index < 0 || r.step[i]! <= atom.byStep) ? 1 : 0;
      }
      atomBasics.push([basics.length]);
      basics.push(x);
      indicator.push(true);
    } else {
      // E: the mean among runs still going at T; L: the share of them beyond the threshold (a ratio of means).
      const values = r.values[sr.probe(atom.tracked, atom.save)]!;
      const num = new Float64Array(runs);
      const den = new Float64Array(runs);
      for (let i = 0; i < runs; i++) {
        if (!Number.isNaN(values[i]!)) {
          num[i] = atom.kind === "L" ? (compares(values[i]!, atom.op, atom.threshold) ? 1 : 0) : values[i]!;
          den[i] = 1;
        }
      }
      atomBasics.push([basics.length, basics.length + 1]);
      basics.push(num, den);
      indicator.push(false, false);
    }
  }
  const quantiles = claim.atoms.filter((a) => a.kind === "Q");
  const lone = loneQuantile(claim);
  if (lone) {
    const sr = recordsOf(lone.scenario);
    const values = Array.from(sr.records.values[sr.probe(lone.tracked, lone.save)] ?? [])
      .filter((v) => !Number.isNaN(v))
      .sort((x, y) => x - y);
    return quantileClaim(claim, values.length, (k) => values[k]!, lone.q);
  }
  if (quantiles.length) {
    return bootstrapClaim(
      claim,
      runs,
      claim.atoms.map((atom, i) => {
        const [a, b] = atomBasics[i]!;
        if (atom.kind === "Q") {
          const sr = recordsOf(atom.scenario);
          return { quantile: atom.q, values: sr.records.values[sr.probe(atom.tracked, atom.save)]! };
        }
        return { num: basics[a!]!, den: b === undefined ? null : basics[b]! };
      }),
    );
  }
  return evaluateObservations(claim, {
    n,
    weights: null,
    basics,
    atomValue: (i, means) => {
      const [a, b] = atomBasics[i]!;
      return b === undefined ? means[a!]! : means[a!]! / means[b]!;
    },
    indicator,
    states: 0,
  });
}

/**
 * The claim's Q term when the claim is that term alone against a number (`Q50(x at T) < 16`, `16 > Q50(…)`):
 * such a claim is read off order statistics. Any other claim with a Q term is bootstrapped.
 */
export function loneQuantile(claim: CompiledClaim): Extract<ClaimAtom, { kind: "Q" }> | null {
  const atom = claim.atoms.length === 1 ? claim.atoms[0]! : null;
  if (atom?.kind !== "Q") return null;
  const lone =
    (claim.left.kind === "atom" && isConstant(claim.right)) ||
    (claim.right.kind === "atom" && isConstant(claim.left));
  return lone ? atom : null;
}

/**
 * True when a claim can only be evaluated on every run's values: a Q term combined with other terms or
 * arithmetic, whose interval is a paired bootstrap over runs. Every other claim is evaluated from running sums
 * (claims-stream.ts) whose size does not grow with the runs.
 */
export function needsRunValues(claim: CompiledClaim): boolean {
  return claim.atoms.some((a) => a.kind === "Q") && loneQuantile(claim) === null;
}

interface Observations {
  /** Number of runs. */
  n: number;
  /** Weight of each observation (null: one run each). */
  weights: Float64Array | null;
  /** Basic per-run variables whose means make up the terms. */
  basics: Float64Array[];
  atomValue: (atom: number, means: Float64Array) => number;
  /** Which basics are 0/1 indicators (their variances get an Agresti–Coull floor). */
  indicator: boolean[];
  /** Distinct end states, for spreading the pseudo-counts (0: use 4 pseudo-runs per indicator). */
  states: number;
}

/**
 * The margin's estimate and 95% interval by the delta method: means of the basic variables, their empirical
 * covariance (paired over runs), and the margin's numerical gradient. A lone P term against a constant uses the
 * Wilson interval instead. Indicator variances are floored at p̃(1 − p̃)/n with p̃ = (x + 2)/(n + 4), so an
 * observed 0 or 1 does not claim certainty.
 */
function evaluateObservations(claim: CompiledClaim, obs: Observations): ClaimResult {
  const { means, cov } = momentsOf(obs);
  return deltaMethodClaim(claim, {
    n: obs.n,
    means,
    cov,
    atomValue: obs.atomValue,
    indicator: obs.indicator,
  });
}

/** Means of the basic variables and the covariance of their means (paired over runs). */
function momentsOf(obs: Observations): { means: Float64Array; cov: Float64Array } {
  const { n, weights, basics } = obs;
  const m = basics.length;
  const len = basics[0]?.length ?? 0;
  const w = (i: number) => (weights ? weights[i]! : 1);
  const means = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    let sum = 0;
    for (let i = 0; i < len; i++) sum += w(i) * basics[k]![i]!;
    means[k] = sum / n;
  }
  const cov = new Float64Array(m * m);
  for (let k = 0; k < m; k++) {
    for (let l = k; l < m; l++) {
      let sum = 0;
      for (let i = 0; i < len; i++) sum += w(i) * (basics[k]![i]! - means[k]!) * (basics[l]![i]! - means[l]!);
      cov[k * m + l] = cov[l * m + k] = sum / n / n;
    }
  }
  return { means, cov };
}

/** What the delta method reads: the basics' means and the covariance of those means. */
export interface Moments {
  n: number;
  means: Float64Array;
  /** m × m, row-major: the covariance of the means (centred cross-products over runs / n²). */
  cov: Float64Array;
  atomValue: (atom: number, means: Float64Array) => number;
  /** Which basics are 0/1 indicators (their variances get an Agresti–Coull floor). */
  indicator: boolean[];
}

/** The margin's estimate and 95% interval from the basics' moments (see evaluateObservations). */
export function deltaMethodClaim(claim: CompiledClaim, moments: Moments): ClaimResult {
  const { n, means } = moments;
  const m = means.length;
  const cov = Float64Array.from(moments.cov);
  for (let k = 0; k < m; k++) {
    if (moments.indicator[k]) {
      const smoothed = (means[k]! * n + 2) / (n + 4);
      cov[k * m + k] = Math.max(cov[k * m + k]!, (smoothed * (1 - smoothed)) / (n + 4));
    }
  }
  const atomValues = (mu: Float64Array) => Float64Array.from(claim.atoms, (_, i) => moments.atomValue(i, mu));
  const rightConstant = isConstant(claim.right);
  const shift = rightConstant ? evaluate(claim.right, atomValues(means)) : 0;
  let estimate: number;
  let lo: number;
  let hi: number;
  if (claim.left.kind === "atom" && rightConstant && claim.atoms[claim.left.index]!.kind === "P" && m === 1) {
    const wi = wilson(Math.round(means[0]! * n), n);
    estimate = wi.p;
    lo = wi.lo;
    hi = wi.hi;
  } else {
    const margin = (mu: Float64Array) => {
      const v = atomValues(mu);
      return evaluate(claim.left, v) - (rightConstant ? 0 : evaluate(claim.right, v));
    };
    estimate = margin(means);
    const grad = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      const h = 1e-6 * Math.max(1, Math.abs(means[k]!));
      const up = Float64Array.from(means);
      const down = Float64Array.from(means);
      up[k]! += h;
      down[k]! -= h;
      grad[k] = (margin(up) - margin(down)) / (2 * h);
    }
    let variance = 0;
    for (let k = 0; k < m; k++) for (let l = 0; l < m; l++) variance += grad[k]! * grad[l]! * cov[k * m + l]!;
    const half = Z975 * Math.sqrt(Math.max(0, variance));
    lo = estimate - half;
    hi = estimate + half;
  }
  return {
    ...resultBase(claim),
    verdict: verdictOf(claim.op, lo - shift, hi - shift, estimate),
    p: estimate,
    lo,
    hi,
  };
}

/**
 * A Q term against a constant: the sample quantile, with a distribution-free order-statistic interval. `at(k)`
 * is the value of rank k (0-based) among the n values.
 */
export function quantileClaim(
  claim: CompiledClaim,
  n: number,
  at: (rank: number) => number,
  q: number,
): ClaimResult {
  if (n === 0) return undecided(claim, "no run was still going at that time");
  // As sortedQuantile: interpolated between the order statistics around rank (n − 1)·q.
  const h = (n - 1) * q;
  const below = Math.floor(h);
  const low = at(below);
  const estimate = low + (h - below) * (at(Math.min(n - 1, below + 1)) - low);
  const spread = Z975 * Math.sqrt(n * q * (1 - q));
  const lo = at(Math.max(0, Math.floor(n * q - spread) - 1));
  const hi = at(Math.min(n - 1, Math.ceil(n * q + spread)));
  const leftIsQ = claim.left.kind === "atom";
  const constant = evaluate(leftIsQ ? claim.right : claim.left, []);
  // Write the claim as (Q − c) op 0, flipping the comparison when Q is on the right.
  const flip: Record<CompiledClaim["op"], CompiledClaim["op"]> = {
    "<": ">",
    "<=": ">=",
    ">": "<",
    ">=": "<=",
    "==": "==",
    "!=": "!=",
  };
  const op = leftIsQ ? claim.op : flip[claim.op];
  return {
    ...resultBase(claim),
    verdict: verdictOf(op, lo - constant, hi - constant, estimate),
    p: estimate,
    lo,
    hi,
  };
}

function verdictOf(op: CompiledClaim["op"], mLo: number, mHi: number, estimate: number): Verdict {
  if (!Number.isFinite(estimate) || !Number.isFinite(mLo) || !Number.isFinite(mHi)) return "undecided";
  switch (op) {
    case ">":
      return mLo > 0 ? "holds" : mHi <= 0 ? "fails" : "undecided";
    case ">=":
      return mLo >= 0 ? "holds" : mHi < 0 ? "fails" : "undecided";
    case "<":
      return mHi < 0 ? "holds" : mLo >= 0 ? "fails" : "undecided";
    case "<=":
      return mHi <= 0 ? "holds" : mLo > 0 ? "fails" : "undecided";
    case "==":
      return mLo > 0 || mHi < 0 ? "fails" : "undecided";
    case "!=":
      return mLo > 0 || mHi < 0 ? "holds" : "undecided";
  }
}

export function compares(x: number, op: LevelOp, threshold: number): boolean {
  return op === ">"
    ? x > threshold
    : op === ">="
      ? x >= threshold
      : op === "<"
        ? x < threshold
        : x <= threshold;
}

/**
 * Bootstrap resamples for claims that combine quantiles with other terms: 1,000, fewer (down to 200) when the job
 * is so large that 1,000 would take long — a function of the job's size only, so results stay reproducible.
 */
const bootstrapResamples = (runs: number, terms: number) =>
  Math.max(200, Math.min(1000, Math.floor(5e7 / Math.max(1, runs * (terms + 1)))));
/** The bootstrap's own stream (a constant: the claim's interval must not depend on anything but the runs). */
const BOOTSTRAP_SEED = 0x5eed_b007;

type BootstrapTerm =
  | { quantile: number; values: Float64Array }
  /** A mean of `num` (over runs, or over runs where `den` is 1). */
  | { num: Float64Array; den: Float64Array | null };

/**
 * A claim that combines quantiles with other terms (e.g. Q50(x at T | scenario = a) > Q50(x at T)): runs are
 * resampled with replacement, the same runs in every scenario (paired), and the margin's 2.5% and 97.5%
 * percentiles over the resamples are its interval. The estimate is the margin on all runs.
 */
function bootstrapClaim(claim: CompiledClaim, runs: number, terms: BootstrapTerm[]): ClaimResult {
  // Runs still going at T, each quantile's values in order (NaN: ended before T).
  const orders = terms.map((t) => {
    if (!("quantile" in t)) return null;
    const idx: number[] = [];
    for (let i = 0; i < runs; i++) if (!Number.isNaN(t.values[i]!)) idx.push(i);
    return Int32Array.from(idx.sort((x, y) => t.values[x]! - t.values[y]!));
  });
  const atomValues = (weight: (i: number) => number) =>
    terms.map((t, k) => {
      if ("quantile" in t) {
        const order = orders[k]!;
        let total = 0;
        for (const i of order) total += weight(i);
        if (total === 0) return Number.NaN;
        let seen = 0;
        for (const i of order) {
          seen += weight(i);
          if (seen >= t.quantile * total) return t.values[i]!;
        }
        return t.values[order[order.length - 1]!]!;
      }
      let num = 0;
      let den = 0;
      for (let i = 0; i < runs; i++) {
        const w = weight(i);
        if (w === 0) continue;
        num += w * t.num[i]!;
        den += w * (t.den ? t.den[i]! : 1);
      }
      return num / den;
    });
  const rightConstant = isConstant(claim.right);
  const margin = (v: number[]) => evaluate(claim.left, v) - (rightConstant ? 0 : evaluate(claim.right, v));
  // The estimate uses the same quantile definition as a lone Q term (interpolated order statistics).
  const full = terms.map((t, k) =>
    "quantile" in t
      ? sortedQuantile(
          Array.from(orders[k]!, (i) => t.values[i]!),
          t.quantile,
        )
      : atomValues(() => 1)[k]!,
  );
  const estimate = margin(full);
  const shift = rightConstant ? evaluate(claim.right, full) : 0;
  const counts = new Float64Array(runs);
  const replicates: number[] = [];
  const resamples = bootstrapResamples(runs, terms.length);
  for (let b = 0; b < resamples; b++) {
    counts.fill(0);
    for (let j = 0; j < runs; j++)
      counts[Math.min(runs - 1, Math.floor(hashUniform(BOOTSTRAP_SEED, b, j) * runs))]! += 1;
    const m = margin(atomValues((i) => counts[i]!));
    if (Number.isFinite(m)) replicates.push(m);
  }
  if (replicates.length < resamples / 2)
    return undecided(claim, "too few runs still going at that time to bootstrap an interval");
  replicates.sort((x, y) => x - y);
  const lo = sortedQuantile(replicates, 0.025);
  const hi = sortedQuantile(replicates, 0.975);
  return {
    ...resultBase(claim),
    verdict: verdictOf(claim.op, lo - shift, hi - shift, estimate),
    p: estimate,
    lo,
    hi,
  };
}
