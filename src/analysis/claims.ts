import type { RunRecords } from "../engine/records.js";
import type { Expr } from "../lang/ast.js";
import { type Diagnostic, didYouMean, type Locator } from "../lang/diagnostic.js";
import { ExprSyntaxError } from "../lang/lexer.js";
import { parseExpr } from "../lang/parser.js";
import type { ResolvedTime } from "../model/load.js";
import { dateToDays, UNIT_DAYS } from "../model/time.js";
import { sortedQuantile, wilson, Z975 } from "./stats.js";

/**
 * Claims: statements about a model's results, checked against Monte Carlo runs. Terms: `P(o)`, `P(o by T)`,
 * `P(a before b)`, `P(censored)`, `E(var at T)`, `Q(var, q at T)`, each optionally conditioned on a scenario
 * (`P(nuclear_use | scenario = single_deployment)`), combined with + - * / and one comparison. A verdict comes
 * from the 95% interval of the claim's margin (left − right). Terms about other scenarios are evaluated on
 * their runs with the same indices — the same random numbers — so differences get a paired interval.
 */
export type ClaimAtom =
  | {
      kind: "P";
      /** The scenario the term is about; null for the scenario being run. */
      scenario: string | null;
      /** Outcome name, or "censored" for runs still going at the horizon. */
      outcome: string;
      /** Index of the outcome in the scenario being run (−1 for censored). */
      outcomeIndex: number;
      /** Only runs that ended at or before this step index count. */
      byStep: number;
    }
  | { kind: "E"; scenario: string | null; variable: string; tracked: number; save: number }
  | { kind: "Q"; scenario: string | null; variable: string; tracked: number; save: number; q: number };

type ClaimExpr =
  | { kind: "const"; value: number }
  | { kind: "atom"; index: number }
  | { kind: "neg"; a: ClaimExpr }
  | { kind: "bin"; op: "+" | "-" | "*" | "/"; a: ClaimExpr; b: ClaimExpr };

export interface CompiledClaim {
  id: string;
  text?: string;
  check: string;
  op: "<" | "<=" | ">" | ">=" | "==" | "!=";
  left: ClaimExpr;
  right: ClaimExpr;
  atoms: ClaimAtom[];
}

export interface ClaimContext {
  outcomes: string[];
  time: ResolvedTime;
  /** Tracked variables, for E and Q. */
  tracked?: string[];
  /** Scenarios a term may be conditioned on. */
  scenarios?: string[];
}

/** True when the claim needs per-run records: E or Q terms, or terms about another scenario. */
export function needsRecords(claim: CompiledClaim): boolean {
  return claim.atoms.some((a) => a.kind !== "P" || a.scenario !== null);
}

/** Compile a claim's check, or return diagnostics located through `locate`. */
export function compileClaim(
  claim: { id: string; text?: string; check: string },
  ctx: ClaimContext,
  locate: Locator,
  file: string,
): CompiledClaim | Diagnostic[] {
  const errors: Diagnostic[] = [];
  const fail = (pos: number, message: string): ClaimExpr => {
    errors.push({ file, ...locate(pos), message });
    return { kind: "const", value: 0 };
  };
  let ast: Expr;
  try {
    ast = parseExpr(claim.check);
  } catch (e) {
    if (!(e instanceof ExprSyntaxError)) throw e;
    return [{ file, ...locate(e.pos), message: e.message }];
  }
  const atoms: ClaimAtom[] = [];
  const { time } = ctx;
  const toStep = (e: Expr): number => {
    let t: number;
    if (e.kind === "number") t = e.value;
    else if (e.kind === "date") {
      if (time.origin === undefined || time.unit === undefined) {
        fail(e.pos, `the date ${e.iso} needs a model whose time.start is a date`);
        return 0;
      }
      t = (dateToDays(e.iso) - dateToDays(time.origin)) / UNIT_DAYS[time.unit]!;
    } else {
      fail(e.pos, "write a time here: a number or a date such as 2027-08-21");
      return 0;
    }
    return Math.floor((t - time.start) / time.dt + 1e-9);
  };
  const outcome = (e: Expr): number => {
    if (e.kind !== "name") {
      fail(e.pos, "P(…) takes an outcome name");
      return 0;
    }
    if (e.name === "censored") return -1;
    const i = ctx.outcomes.indexOf(e.name);
    if (i < 0) {
      fail(
        e.pos,
        `unknown outcome '${e.name}'${didYouMean(e.name, [...ctx.outcomes, "censored"])} — P(…) takes an outcome of this model or 'censored'`,
      );
    }
    return i;
  };
  const toSave = (e: Expr): number => {
    // The save time on or before T (values are saved every `save` from the start).
    const step = toStep(e);
    if (step < 0 || step > time.steps)
      fail(e.pos, "this time is outside the run (between time.start and time.stop)");
    return Math.max(0, Math.min(Math.floor(step / time.saveEvery), Math.floor(time.steps / time.saveEvery)));
  };

  const tracked = (e: Expr): number => {
    const names = ctx.tracked ?? [];
    if (e.kind !== "name") {
      fail(e.pos, "E(…) and Q(…) take a tracked variable's name");
      return 0;
    }
    const i = names.indexOf(e.name);
    if (i < 0)
      fail(
        e.pos,
        `'${e.name}' is not tracked${didYouMean(e.name, names)} — add it to 'track' to use it in E(…) or Q(…)`,
      );
    return i;
  };
  /** Split `x | scenario = s` into x and the scenario (null when there is no condition). */
  const condition = (arg: Expr): { inner: Expr; scenario: string | null } => {
    if (arg.kind !== "binary" || arg.op !== "given") return { inner: arg, scenario: null };
    const c = arg.right;
    const ok =
      c.kind === "binary" &&
      c.op === "==" &&
      c.left.kind === "name" &&
      c.left.name === "scenario" &&
      c.right.kind === "name";
    if (!ok) {
      fail(c.pos, "a condition reads '| scenario = NAME'");
      return { inner: arg.left, scenario: null };
    }
    const name = (c.right as Extract<Expr, { kind: "name" }>).name;
    const known = ctx.scenarios ?? [];
    if (name !== "base" && !known.includes(name)) {
      fail(c.right.pos, `unknown scenario '${name}'${didYouMean(name, [...known, "base"])}`);
    }
    return { inner: arg.left, scenario: name };
  };
  const term = (e: Extract<Expr, { kind: "call" }>): ClaimExpr => {
    if (!["P", "E", "Q"].includes(e.callee)) {
      return fail(
        e.pos,
        `unknown claim function '${e.callee}'${didYouMean(e.callee, ["P", "E", "Q"])} — claims use P(outcome), E(var at TIME), Q(var, q at TIME)`,
      );
    }
    const push = (atom: ClaimAtom): ClaimExpr => {
      atoms.push(atom);
      return { kind: "atom", index: atoms.length - 1 };
    };
    if (e.callee === "P") {
      if (e.args.length !== 1) return fail(e.pos, `P takes one argument, found ${e.args.length}`);
      const { inner: arg, scenario } = condition(e.args[0]!);
      const p = (name: Expr, byStep: number): ClaimExpr => {
        const index = outcome(name);
        const outcomeName = name.kind === "name" ? name.name : "";
        return push({ kind: "P", scenario, outcome: outcomeName, outcomeIndex: index, byStep });
      };
      if (arg.kind === "binary" && arg.op === "by") return p(arg.left, toStep(arg.right));
      if (arg.kind === "binary" && arg.op === "before") {
        // Outcomes end the run, so 'a before b' is the chance that a ends it; b must still be an outcome.
        outcome(arg.right);
        return p(arg.left, time.steps);
      }
      return p(arg, time.steps);
    }
    if (e.callee === "E") {
      if (e.args.length !== 1)
        return fail(e.pos, `E takes one argument, E(var at TIME), found ${e.args.length}`);
      const { inner, scenario } = condition(e.args[0]!);
      if (inner.kind !== "binary" || inner.op !== "at")
        return fail(inner.pos, "write E(var at TIME), e.g. E(western_fear at 2027-08-21)");
      return push({
        kind: "E",
        scenario,
        variable: inner.left.kind === "name" ? inner.left.name : "",
        tracked: tracked(inner.left),
        save: toSave(inner.right),
      });
    }
    if (e.args.length !== 2)
      return fail(e.pos, `Q takes two arguments, Q(var, q at TIME), found ${e.args.length}`);
    const { inner, scenario } = condition(e.args[1]!);
    if (
      inner.kind !== "binary" ||
      inner.op !== "at" ||
      inner.left.kind !== "number" ||
      !(inner.left.value > 0 && inner.left.value < 1)
    ) {
      return fail(
        inner.pos,
        "write Q(var, q at TIME) with 0 < q < 1, e.g. Q(western_troops, 0.5 at 2027-08-21)",
      );
    }
    const v = e.args[0]!;
    return push({
      kind: "Q",
      scenario,
      variable: v.kind === "name" ? v.name : "",
      tracked: tracked(v),
      save: toSave(inner.right),
      q: inner.left.value,
    });
  };
  const resolve = (e: Expr): ClaimExpr => {
    switch (e.kind) {
      case "number":
        return { kind: "const", value: e.value };
      case "unary":
        if (e.op === "-") return { kind: "neg", a: resolve(e.arg) };
        if (e.op === "+") return resolve(e.arg);
        return fail(e.pos, "'not' has no meaning between probabilities");
      case "binary":
        if (e.op === "+" || e.op === "-" || e.op === "*" || e.op === "/") {
          return { kind: "bin", op: e.op, a: resolve(e.left), b: resolve(e.right) };
        }
        return fail(e.pos, `'${e.op}' cannot appear here: a claim is one comparison of two quantities`);
      case "call":
        return term(e);
      default:
        return fail(e.pos, "a claim combines P(…) terms and numbers with + - * / and one comparison");
    }
  };
  if (ast.kind !== "binary" || !["<", "<=", ">", ">=", "==", "!="].includes(ast.op)) {
    return [
      {
        file,
        ...locate(ast.pos),
        message: "a claim's check must compare two quantities, e.g. P(a) > P(b) or P(a by 2027-01-01) < 0.1",
      },
    ];
  }
  const left = resolve(ast.left);
  const right = resolve(ast.right);
  const quantiles = atoms.filter((a) => a.kind === "Q").length;
  if (
    quantiles &&
    !(atoms.length === 1 && (left.kind === "atom" ? right.kind === "const" : left.kind === "const"))
  ) {
    return [
      {
        file,
        ...locate(ast.pos),
        message: "a Q(…) term can only be compared with a number (its interval comes from order statistics)",
      },
    ];
  }
  if (errors.length) return errors;
  const compiled: CompiledClaim = {
    id: claim.id,
    check: claim.check,
    op: ast.op as CompiledClaim["op"],
    left,
    right,
    atoms,
  };
  if (claim.text !== undefined) compiled.text = claim.text;
  return compiled;
}

/** A claim's margin (left − right) for given term values (used by sensitivity analysis). */
export function claimMargin(claim: CompiledClaim, atomValues: ArrayLike<number>): number {
  return evaluate(claim.left, atomValues) - evaluate(claim.right, atomValues);
}

/** True when an expression has no P/E/Q terms (so "-1e300" or "0.5 * 2" count as constants). */
function isConstant(e: ClaimExpr): boolean {
  switch (e.kind) {
    case "const":
      return true;
    case "atom":
      return false;
    case "neg":
      return isConstant(e.a);
    case "bin":
      return isConstant(e.a) && isConstant(e.b);
  }
}

function evaluate(e: ClaimExpr, p: ArrayLike<number>): number {
  switch (e.kind) {
    case "const":
      return e.value;
    case "atom":
      return p[e.index]!;
    case "neg":
      return -evaluate(e.a, p);
    case "bin": {
      const a = evaluate(e.a, p);
      const b = evaluate(e.b, p);
      return e.op === "+" ? a + b : e.op === "-" ? a - b : e.op === "*" ? a * b : a / b;
    }
  }
}

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
  const first = recordsOf(null).records;
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
      const values = r.values[sr.probe(atom.tracked, atom.save)]!;
      const num = new Float64Array(runs);
      const den = new Float64Array(runs);
      for (let i = 0; i < runs; i++) {
        if (!Number.isNaN(values[i]!)) {
          num[i] = values[i]!;
          den[i] = 1;
        }
      }
      atomBasics.push([basics.length, basics.length + 1]);
      basics.push(num, den);
      indicator.push(false, false);
    }
  }
  const q = claim.atoms.find((a) => a.kind === "Q");
  if (q && q.kind === "Q") {
    const sr = recordsOf(q.scenario);
    const values = Array.from(sr.records.values[sr.probe(q.tracked, q.save)]!)
      .filter((v) => !Number.isNaN(v))
      .sort((x, y) => x - y);
    return quantileClaim(claim, values, q.q);
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
    if (obs.indicator[k]) {
      const smoothed = (means[k]! * n + 2) / (n + 4);
      cov[k * m + k] = Math.max(cov[k * m + k]!, (smoothed * (1 - smoothed)) / (n + 4));
    }
  }
  const atomValues = (mu: Float64Array) => Float64Array.from(claim.atoms, (_, i) => obs.atomValue(i, mu));
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

/** A Q term against a constant: the sample quantile, with a distribution-free order-statistic interval. */
function quantileClaim(claim: CompiledClaim, sorted: number[], q: number): ClaimResult {
  const n = sorted.length;
  if (n === 0) return undecided(claim, "no run was still going at that time");
  const estimate = sortedQuantile(sorted, q);
  const spread = Z975 * Math.sqrt(n * q * (1 - q));
  const lo = sorted[Math.max(0, Math.floor(n * q - spread) - 1)]!;
  const hi = sorted[Math.min(n - 1, Math.ceil(n * q + spread))]!;
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
