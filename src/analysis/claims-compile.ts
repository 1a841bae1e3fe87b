import type { Expr } from "../lang/ast.js";
import { type Diagnostic, didYouMean, type Locator } from "../lang/diagnostic.js";
import { ExprSyntaxError } from "../lang/lexer.js";
import { parseExpr } from "../lang/parser.js";
import { type ResolvedTime, saveAtOrBefore, saveTotal, stepAtOrBefore } from "../model/load.js";
import { dateToModelTime } from "../model/time.js";

/**
 * Claims, compiled: statements about a model's results, checked against Monte Carlo runs (evaluated in
 * claims-evaluate.ts). Terms: `P(o)`, `P(o by T)`, `P(a before b)`, `P(censored)`, `P(var at T > x)`,
 * `E(var at T)`, `Q(var, q at T)` or `Q50(var at T)`, each optionally conditioned on a scenario
 * (`P(nuclear_use | scenario = single_deployment)`), combined with + - * / and one comparison. A verdict comes
 * from the 95% interval of the claim's margin (left − right). Terms about other scenarios are evaluated on
 * their runs with the same indices — the same random numbers — so differences get a paired interval.
 *
 * A claim that names a scenario anywhere is about fixed scenarios: its terms without a condition are about the
 * base model, so the claim means the same thing whichever scenario a job runs. A claim that names no scenario
 * is about the scenario being run.
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
  | {
      /** P(var at T > x): the share of runs still going at T whose value compares so with x. */
      kind: "L";
      scenario: string | null;
      variable: string;
      tracked: number;
      save: number;
      op: LevelOp;
      threshold: number;
    }
  | { kind: "E"; scenario: string | null; variable: string; tracked: number; save: number }
  | { kind: "Q"; scenario: string | null; variable: string; tracked: number; save: number; q: number };

export type LevelOp = ">" | ">=" | "<" | "<=";

export type ClaimExpr =
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
      const at = dateToModelTime(e.iso, time);
      if ("error" in at) {
        fail(e.pos, at.error);
        return 0;
      }
      t = at.value;
    } else {
      fail(e.pos, "write a time here: a number or a date such as 2027-08-21");
      return 0;
    }
    return stepAtOrBefore(time, t);
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
    return Math.max(0, Math.min(saveAtOrBefore(time, step), saveTotal(time) - 1));
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
    const percentile = /^Q(\d{1,2})$/.exec(e.callee);
    if (!["P", "E", "Q"].includes(e.callee) && !(percentile && Number(percentile[1]) > 0)) {
      return fail(
        e.pos,
        `unknown claim function '${e.callee}'${didYouMean(e.callee, ["P", "E", "Q", "Q50"])} — claims use P(outcome), P(var at TIME > x), E(var at TIME), Q(var, q at TIME), Q50(var at TIME)`,
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
      if (arg.kind === "binary" && arg.op === "at") {
        // P(var at T > x): `at` binds loosest, so the comparison is the right side.
        const cmp = arg.right;
        if (cmp.kind !== "binary" || !["<", "<=", ">", ">="].includes(cmp.op))
          return fail(arg.pos, "write P(var at TIME > x), e.g. P(western_troops at 2027-08-21 > 5000)");
        const threshold = constantOf(cmp.right);
        if (threshold === null) return fail(cmp.right.pos, "compare the value with a number here");
        return push({
          kind: "L",
          scenario,
          variable: arg.left.kind === "name" ? arg.left.name : "",
          tracked: tracked(arg.left),
          save: toSave(cmp.left),
          op: cmp.op as LevelOp,
          threshold,
        });
      }
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
    if (percentile) {
      // Q50(var at TIME) = Q(var, 0.5 at TIME).
      if (e.args.length !== 1)
        return fail(
          e.pos,
          `${e.callee} takes one argument, ${e.callee}(var at TIME), found ${e.args.length}`,
        );
      const { inner, scenario } = condition(e.args[0]!);
      if (inner.kind !== "binary" || inner.op !== "at")
        return fail(
          inner.pos,
          `write ${e.callee}(var at TIME), e.g. ${e.callee}(western_troops at 2027-08-21)`,
        );
      return push({
        kind: "Q",
        scenario,
        variable: inner.left.kind === "name" ? inner.left.name : "",
        tracked: tracked(inner.left),
        save: toSave(inner.right),
        q: Number(percentile[1]) / 100,
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
  /** A number, possibly negated, or null. */
  const constantOf = (e: Expr): number | null =>
    e.kind === "number"
      ? e.value
      : e.kind === "unary" && e.op === "-" && e.arg.kind === "number"
        ? -e.arg.value
        : null;
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
        return fail(
          e.pos,
          "a claim combines P(…), E(…) and Q(…) terms and numbers with + - * / and one comparison",
        );
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
  if (atoms.some((a) => a.kind === "Q") && atoms.some((a) => a.kind === "P" || a.kind === "L")) {
    return [
      {
        file,
        ...locate(ast.pos),
        message:
          "a Q(…) term can only be compared with numbers, E(…) and other Q(…) terms (a value is not a probability)",
      },
    ];
  }
  if (errors.length) return errors;
  // A claim that names a scenario compares fixed scenarios: its unconditioned terms are about the base model.
  if (atoms.some((a) => a.scenario !== null)) for (const a of atoms) a.scenario ??= "base";
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
export function isConstant(e: ClaimExpr): boolean {
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

export function evaluate(e: ClaimExpr, p: ArrayLike<number>): number {
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

/**
 * The claim P(outcome | scenario = s) > P(outcome | scenario = baseline), built as data rather than text, so any
 * scenario name works (a name with spaces or quotes cannot be written in a check). Its margin is the paired
 * difference of the two probabilities.
 */
export function outcomeDifferenceClaim(
  id: string,
  outcome: string,
  scenario: string,
  baseline: string,
  steps: number,
): CompiledClaim {
  const atom = (s: string): ClaimAtom => ({
    kind: "P",
    scenario: s,
    outcome,
    outcomeIndex: -1,
    byStep: steps,
  });
  return {
    id,
    check: `P(${outcome} | scenario = ${scenario}) > P(${outcome} | scenario = ${baseline})`,
    op: ">",
    left: { kind: "atom", index: 0 },
    right: { kind: "atom", index: 1 },
    atoms: [atom(scenario), atom(baseline)],
  };
}
