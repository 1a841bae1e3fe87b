import type { Expr } from "../lang/ast.js";
import { type Diagnostic, didYouMean, type Locator } from "../lang/diagnostic.js";
import { ExprSyntaxError } from "../lang/lexer.js";
import { parseExpr } from "../lang/parser.js";
import type { ResolvedTime } from "../model/load.js";
import { dateToDays, UNIT_DAYS } from "../model/time.js";
import { wilson, Z975 } from "./stats.js";

/**
 * Claims: statements about a model's outcome distribution, checked against Monte Carlo results.
 * This is the probability part of the claims language — `P(o)`, `P(o by T)`, `P(a before b)`, combined with
 * arithmetic and one comparison. A verdict comes from the 95% interval of the claim's margin (left − right).
 */
export interface ClaimAtom {
  /** Outcome index, or -1 for runs still going at the horizon (`censored`). */
  outcome: number;
  /** Only runs that ended at or before this step index count. */
  byStep: number;
}

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
      fail(e.pos, "after 'by' write a time: a number or a date such as 2027-08-21");
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
      case "call": {
        if (e.callee === "E" || e.callee === "Q") {
          return fail(e.pos, `${e.callee}(…) of tracked variables is not available yet in claims; use P(…)`);
        }
        if (e.callee !== "P") {
          return fail(
            e.pos,
            `unknown claim function '${e.callee}'${didYouMean(e.callee, ["P"])} — claims use P(outcome), P(outcome by TIME), P(a before b)`,
          );
        }
        if (e.args.length !== 1) return fail(e.pos, `P takes one argument, found ${e.args.length}`);
        const arg = e.args[0]!;
        let atom: ClaimAtom;
        if (arg.kind === "binary" && arg.op === "by")
          atom = { outcome: outcome(arg.left), byStep: toStep(arg.right) };
        else if (arg.kind === "binary" && arg.op === "before") {
          // Outcomes end the run, so 'a before b' is the chance that a ends it; b must still be an outcome.
          outcome(arg.right);
          atom = { outcome: outcome(arg.left), byStep: time.steps };
        } else atom = { outcome: outcome(arg), byStep: time.steps };
        atoms.push(atom);
        return { kind: "atom", index: atoms.length - 1 };
      }
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
  p: number;
  lo: number;
  hi: number;
}

/** Exact outcome-time counts: what claims are evaluated on. */
export interface OutcomeCounts {
  runs: number;
  /** times[o][k]: runs that ended in outcome o at step k. */
  outcomeTimes: ArrayLike<number>[];
  censored: number;
}

/**
 * Evaluate a claim on outcome counts. The margin's interval comes from the delta method with the exact
 * multinomial covariance of the P terms (each run has one end state and time, so joint frequencies are known);
 * covariances use counts with 4 pseudo-runs spread over the end states, so that an observed 0 or 1 does not
 * claim certainty. A single P term against a constant uses the Wilson interval instead.
 */
export function evaluateClaim(claim: CompiledClaim, counts: OutcomeCounts): ClaimResult {
  const n = counts.runs;
  const m = claim.atoms.length;
  const cells: { outcome: number; step: number; count: number }[] = [];
  counts.outcomeTimes.forEach((times, o) => {
    for (let k = 0; k < times.length; k++)
      if (times[k]! > 0) cells.push({ outcome: o, step: k, count: times[k]! });
  });
  cells.push({ outcome: -1, step: Number.POSITIVE_INFINITY, count: counts.censored });
  const holds = (a: ClaimAtom, c: { outcome: number; step: number }) =>
    c.outcome === a.outcome && (a.outcome < 0 || c.step <= a.byStep);
  const p = new Float64Array(m);
  for (let i = 0; i < m; i++) for (const c of cells) if (holds(claim.atoms[i]!, c)) p[i]! += c.count / n;

  const rightConstant = claim.right.kind === "const";
  const base = {
    id: claim.id,
    check: claim.check,
    ...(claim.text !== undefined ? { text: claim.text } : {}),
  };
  let estimate: number;
  let lo: number;
  let hi: number;
  const shift = rightConstant ? evaluate(claim.right, p) : 0;
  if (claim.left.kind === "atom" && rightConstant) {
    const count = Math.round(p[claim.left.index]! * n);
    const w = wilson(count, n);
    estimate = w.p;
    lo = w.lo;
    hi = w.hi;
  } else {
    const margin = (q: ArrayLike<number>) =>
      evaluate(claim.left, q) - (rightConstant ? 0 : evaluate(claim.right, q));
    estimate = margin(p);
    // Smoothed joint frequencies for the covariance: 4 pseudo-runs spread over the outcomes and 'censored'.
    const states = counts.outcomeTimes.length + 1;
    const pseudo = 4 / states;
    const ps = new Float64Array(m);
    const joint = new Float64Array(m * m);
    const total = n + 4;
    const addCell = (c: { outcome: number; step: number }, w: number) => {
      for (let i = 0; i < m; i++) {
        if (!holds(claim.atoms[i]!, c)) continue;
        ps[i]! += w;
        for (let j = 0; j < m; j++) if (holds(claim.atoms[j]!, c)) joint[i * m + j]! += w;
      }
    };
    for (const c of cells) addCell(c, c.count / total);
    for (let o = -1; o < counts.outcomeTimes.length; o++) addCell({ outcome: o, step: 0 }, pseudo / total);
    const grad = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const h = 1e-6;
      const up = Float64Array.from(p);
      const down = Float64Array.from(p);
      up[i]! += h;
      down[i]! -= h;
      grad[i] = (margin(up) - margin(down)) / (2 * h);
    }
    let variance = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++)
        variance += (grad[i]! * grad[j]! * (joint[i * m + j]! - ps[i]! * ps[j]!)) / n;
    }
    const half = Z975 * Math.sqrt(Math.max(0, variance));
    lo = estimate - half;
    hi = estimate + half;
  }
  const mLo = lo - shift;
  const mHi = hi - shift;
  let verdict: Verdict = "undecided";
  switch (claim.op) {
    case ">":
      verdict = mLo > 0 ? "holds" : mHi <= 0 ? "fails" : "undecided";
      break;
    case ">=":
      verdict = mLo >= 0 ? "holds" : mHi < 0 ? "fails" : "undecided";
      break;
    case "<":
      verdict = mHi < 0 ? "holds" : mLo >= 0 ? "fails" : "undecided";
      break;
    case "<=":
      verdict = mHi <= 0 ? "holds" : mLo > 0 ? "fails" : "undecided";
      break;
    case "==":
      verdict = mLo > 0 || mHi < 0 ? "fails" : "undecided";
      break;
    case "!=":
      verdict = mLo > 0 || mHi < 0 ? "holds" : "undecided";
      break;
  }
  if (!Number.isFinite(estimate)) verdict = "undecided";
  return { ...base, verdict, p: estimate, lo, hi };
}
