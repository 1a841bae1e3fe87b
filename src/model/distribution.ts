import type { Expr } from "../lang/ast.js";
import { closest } from "../lang/diagnostic.js";
import { ExprSyntaxError } from "../lang/lexer.js";
import { parseExpr } from "../lang/parser.js";
import { dictionary } from "./names.js";

/** A param's prior. Sampling lives in the engine; this is only the parsed, checked description. */
export type Distribution =
  | { kind: "fixed"; value: number }
  | { kind: "normal"; mean: number; sd: number }
  | { kind: "lognormal"; mu: number; sigma: number }
  | { kind: "uniform"; min: number; max: number }
  | { kind: "beta"; alpha: number; beta: number }
  | { kind: "triangular"; min: number; mode: number; max: number }
  | { kind: "pert"; min: number; mode: number; max: number };

/** z such that P(Z < z) = 0.95 for a standard normal: "a to b" is a 90% interval. */
export const Z95 = 1.6448536269514722;

/** Keyed by what a file writes, so a dictionary: `toString(1)` must not find Object.prototype.toString. */
const FORMS: Record<string, { params: string[]; signature: string }> = dictionary({
  normal: { params: ["mean", "sd"], signature: "normal(mean, sd)" },
  lognormal: { params: ["mu", "sigma"], signature: "lognormal(mu, sigma) — mu and sigma of the log" },
  uniform: { params: ["min", "max"], signature: "uniform(min, max)" },
  beta: { params: ["alpha", "beta"], signature: "beta(alpha, beta)" },
  triangular: { params: ["min", "mode", "max"], signature: "triangular(min, mode, max)" },
  pert: { params: ["min", "mode", "max"], signature: "pert(min, mode, max)" },
});

const TO = /^\s*(-?[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s+to\s+(-?[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*$/;

/** Parse a distribution string; errors are ExprSyntaxError with an offset into the text. */
export function parseDistribution(text: string | number): Distribution {
  if (typeof text === "number") return { kind: "fixed", value: text };
  const to = TO.exec(text);
  if (to) {
    const a = Number(to[1]);
    const b = Number(to[2]);
    if (!(a < b))
      throw new ExprSyntaxError(`in '${text}' the first number must be smaller than the second`, 0);
    if (a > 0) {
      const mu = (Math.log(a) + Math.log(b)) / 2;
      return { kind: "lognormal", mu, sigma: (Math.log(b) - Math.log(a)) / (2 * Z95) };
    }
    return { kind: "normal", mean: (a + b) / 2, sd: (b - a) / (2 * Z95) };
  }
  if (/\bto\b/.test(text)) {
    throw new ExprSyntaxError(`'${text}' is not of the form "a to b" with two numbers (a 90% interval)`, 0);
  }
  const e = parseExpr(text);
  if (e.kind !== "call") {
    return { kind: "fixed", value: constant(e) };
  }
  const form = FORMS[e.callee];
  if (!form) {
    const near = closest(e.callee, Object.keys(FORMS));
    throw new ExprSyntaxError(
      `unknown distribution '${e.callee}'${near ? ` — did you mean '${near}'?` : ""} (use "a to b", ${Object.values(
        FORMS,
      )
        .map((f) => f.signature.split(" — ")[0])
        .join(", ")})`,
      e.pos,
    );
  }
  if (e.args.length !== form.params.length) {
    throw new ExprSyntaxError(
      `${e.callee} takes ${form.params.length} arguments, ${form.signature}; found ${e.args.length}`,
      e.pos,
    );
  }
  const v = e.args.map(constant);
  const [a, b, c] = v as [number, number, number];
  const bad = (i: number, why: string) =>
    new ExprSyntaxError(`${form.params[i]} ${why} in ${form.signature}`, e.args[i]!.pos);
  switch (e.callee) {
    case "normal":
      if (!(b > 0)) throw bad(1, "must be positive");
      return { kind: "normal", mean: a, sd: b };
    case "lognormal":
      if (!(b > 0)) throw bad(1, "must be positive");
      return { kind: "lognormal", mu: a, sigma: b };
    case "uniform":
      if (!(a < b)) throw bad(1, "must exceed min");
      return { kind: "uniform", min: a, max: b };
    case "beta":
      if (!(a > 0)) throw bad(0, "must be positive");
      if (!(b > 0)) throw bad(1, "must be positive");
      return { kind: "beta", alpha: a, beta: b };
    default:
      if (!(a < c)) throw bad(2, "must exceed min");
      if (!(a <= b && b <= c)) throw bad(1, "must lie between min and max");
      return { kind: e.callee as "triangular" | "pert", min: a, mode: b, max: c };
  }
}

/** Evaluate a constant numeric expression (numbers and + - * / ^ only). */
function constant(e: Expr): number {
  switch (e.kind) {
    case "number":
      return e.value;
    case "unary":
      if (e.op === "-") return -constant(e.arg);
      if (e.op === "+") return constant(e.arg);
      break;
    case "binary": {
      const l = constant(e.left);
      const r = constant(e.right);
      switch (e.op) {
        case "+":
          return l + r;
        case "-":
          return l - r;
        case "*":
          return l * r;
        case "/":
          return l / r;
        case "^":
          return l ** r;
        default:
          break;
      }
      break;
    }
    default:
      break;
  }
  throw new ExprSyntaxError("distribution arguments must be plain numbers", e.pos);
}

/** The distribution's mean, for documentation and defaults. */
export function distributionMean(d: Distribution): number {
  switch (d.kind) {
    case "fixed":
      return d.value;
    case "normal":
      return d.mean;
    case "lognormal":
      return Math.exp(d.mu + (d.sigma * d.sigma) / 2);
    case "uniform":
      return (d.min + d.max) / 2;
    case "beta":
      return d.alpha / (d.alpha + d.beta);
    case "triangular":
      return (d.min + d.mode + d.max) / 3;
    case "pert":
      return (d.min + 4 * d.mode + d.max) / 6;
  }
}

/**
 * The values a prior gives positive density: `lo`..`hi`, each end included or not. A posterior draw outside it
 * is not a draw of this prior (a hand-edited file, or a prior changed since calibrating).
 */
export interface Support {
  lo: number;
  hi: number;
  loIncluded: boolean;
  hiIncluded: boolean;
}

export function distributionSupport(d: Distribution): Support {
  const closed = (lo: number, hi: number): Support => ({ lo, hi, loIncluded: true, hiIncluded: true });
  switch (d.kind) {
    case "fixed":
      return closed(d.value, d.value);
    case "normal":
      return { lo: -Infinity, hi: Infinity, loIncluded: false, hiIncluded: false };
    case "lognormal":
      return { lo: 0, hi: Infinity, loIncluded: false, hiIncluded: false };
    case "beta":
      return closed(0, 1);
    case "uniform":
    case "triangular":
    case "pert":
      return closed(d.min, d.max);
  }
}

/**
 * The support of a model's prior as written (`dist`, else `value`), with its text; undefined when the text does
 * not parse (the model check reports that).
 */
export function priorSupport(prior: {
  value?: number | undefined;
  dist?: string | number | undefined;
}): { support: Support; text: string | number } | undefined {
  const text = prior.dist ?? prior.value ?? 0;
  try {
    return { support: distributionSupport(parseDistribution(text)), text };
  } catch {
    return undefined;
  }
}

export function inSupport(s: Support, x: number): boolean {
  return (s.loIncluded ? x >= s.lo : x > s.lo) && (s.hiIncluded ? x <= s.hi : x < s.hi);
}

/** The support as an interval: "(0, ∞)", "[0, 1]", or "{3}" for a fixed value. */
export function formatSupport(s: Support): string {
  if (s.lo === s.hi) return `{${s.lo}}`;
  const end = (x: number) => (x === Infinity ? "∞" : x === -Infinity ? "-∞" : String(x));
  return `${s.loIncluded ? "[" : "("}${end(s.lo)}, ${end(s.hi)}${s.hiIncluded ? "]" : ")"}`;
}
