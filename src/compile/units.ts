import type { Expr } from "../lang/ast.js";
import { BUILTINS } from "./builtins.js";

/**
 * Units of measure, as far as Brink checks them: a unit text that is a product of names with integer powers
 * ("people/day", "km2/week", "1/year", "kg*m/s^2") parses to a map of name → exponent; prose ("index 0-1",
 * "fraction of capacity", "0 none, 1 incremental") stays opaque and is never checked. Words for pure numbers
 * (fraction, index, ratio, probability, …) are dimensionless, and the calendar units are read in the singular.
 */
export type Dimensions = Map<string, number>;

const DIMENSIONLESS = new Set([
  "1",
  "dimensionless",
  "fraction",
  "index",
  "ratio",
  "probability",
  "share",
  "switch",
  "percent",
  "unitless",
]);
const CALENDAR: Record<string, string> = Object.assign(Object.create(null), {
  seconds: "second",
  minutes: "minute",
  hours: "hour",
  days: "day",
  weeks: "week",
  months: "month",
  years: "year",
});

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** The dimensions of a unit text, or undefined when it is not a plain product of names and powers. */
export function parseUnit(text: string): Dimensions | undefined {
  const source = text.trim();
  if (source === "") return undefined;
  const dims: Dimensions = new Map();
  // Split into factors, each with the sign of the operator before it: a/b*c = a · b⁻¹ · c.
  const parts = source.split(/\s*([*/·])\s*/);
  for (let i = 0; i < parts.length; i += 2) {
    const factor = parts[i]!;
    const sign = i === 0 || parts[i - 1] !== "/" ? 1 : -1;
    const m = /^([A-Za-z0-9_]+)(?:\^(-?\d+))?$/.exec(factor);
    if (!m) return undefined;
    const word = m[1]!.toLowerCase();
    const power = sign * Number(m[2] ?? 1);
    if (DIMENSIONLESS.has(word)) continue;
    if (!NAME.test(m[1]!)) return undefined;
    const name = CALENDAR[word] ?? word;
    const next = (dims.get(name) ?? 0) + power;
    if (next === 0) dims.delete(name);
    else dims.set(name, next);
  }
  return dims;
}

/** a · b^sign: powers added (or subtracted), names whose power cancels dropped. */
function combine(a: Dimensions, b: Dimensions, sign: 1 | -1): Dimensions {
  const out = new Map(a);
  for (const [name, power] of b) {
    const next = (out.get(name) ?? 0) + sign * power;
    if (next === 0) out.delete(name);
    else out.set(name, next);
  }
  return out;
}

export const multiply = (a: Dimensions, b: Dimensions): Dimensions => combine(a, b, 1);
export const divide = (a: Dimensions, b: Dimensions): Dimensions => combine(a, b, -1);

export function sameDimensions(a: Dimensions, b: Dimensions): boolean {
  if (a.size !== b.size) return false;
  for (const [name, power] of a) if (b.get(name) !== power) return false;
  return true;
}

/** A unit for a message: its text, or "a pure number". */
export function describeUnit(d: Dimensions): string {
  return d.size === 0 ? "a pure number" : formatUnit(d);
}

/** A unit written back as text: "people/day", "1/week", "km2". */
export function formatUnit(d: Dimensions): string {
  const up = [...d].filter(([, p]) => p > 0).map(([n, p]) => (p === 1 ? n : `${n}^${p}`));
  const down = [...d].filter(([, p]) => p < 0).map(([n, p]) => (p === -1 ? n : `${n}^${-p}`));
  const top = up.length ? up.join("*") : "1";
  return down.length ? `${top}/${down.join("/")}` : top;
}

/** What an expression's unit inference needs: the declared units of names, and the model's time unit. */
export interface UnitContext {
  /** A name's dimensions, or undefined when unknown (undeclared, prose, a table, a duration word). */
  unitOf: (name: string) => Dimensions | undefined;
  time: Dimensions | undefined;
  report: (pos: number, message: string) => void;
}

/**
 * The dimensions of an expression, reporting where two sides that must agree do not (`+`, `-`, comparisons,
 * min/max, the branches of `if`). Numbers adapt to anything; what cannot be known stays unknown and is never
 * reported, so only clashes between stated units are.
 */
export function inferUnits(e: Expr, ctx: UnitContext): Dimensions | undefined {
  const agree = (a: Dimensions | undefined, b: Dimensions | undefined, pos: number, what: string) => {
    if (a && b && !sameDimensions(a, b))
      ctx.report(
        pos,
        `unit clash: ${describeUnit(a)} against ${describeUnit(b)} ${what} — both must be in the same unit`,
      );
    return a ?? b;
  };
  switch (e.kind) {
    case "number":
      return undefined;
    case "date":
      return ctx.time;
    case "name":
      return ctx.unitOf(e.name);
    case "unary":
      return e.op === "not" ? undefined : inferUnits(e.arg, ctx);
    case "if": {
      inferUnits(e.cond, ctx);
      return agree(inferUnits(e.then, ctx), inferUnits(e.else, ctx), e.else.pos, "in the branches of 'if'");
    }
    case "binary": {
      // A number adapts to the other side of + - and comparisons, but scales as a pure number in * and /.
      const scaling = e.op === "*" || e.op === "/";
      const a = scaling && e.left.kind === "number" ? new Map<string, number>() : inferUnits(e.left, ctx);
      const b = scaling && e.right.kind === "number" ? new Map<string, number>() : inferUnits(e.right, ctx);
      switch (e.op) {
        case "+":
        case "-":
          return agree(a, b, e.right.pos, `across '${e.op}'`);
        case "<":
        case "<=":
        case ">":
        case ">=":
        case "==":
        case "!=":
          agree(a, b, e.right.pos, `across '${e.op}'`);
          return undefined;
        case "*":
          return a && b ? multiply(a, b) : undefined;
        case "/":
          return a && b ? divide(a, b) : undefined;
        case "%":
          return a;
        case "^": {
          if (!a) return undefined;
          if (a.size === 0) return a;
          if (e.right.kind !== "number" || !Number.isInteger(e.right.value)) return undefined;
          const power = e.right.value;
          return new Map([...a].map(([n, p]) => [n, p * power] as [string, number]));
        }
        default:
          return undefined;
      }
    }
    case "call": {
      const units = e.args.map((arg) => inferUnits(arg, ctx));
      // A table call, or a name that is not a builtin, has no unit rule.
      const rule = BUILTINS.get(e.callee)?.units ?? "unknown";
      switch (rule) {
        case "agree": {
          let unit: Dimensions | undefined;
          e.args.forEach((arg, i) => {
            unit = agree(unit, units[i], arg.pos, `among the arguments of ${e.callee}`);
          });
          return unit;
        }
        case "same-as-first":
          return units[0];
        case "ratio":
          return units[0] && units[1] ? divide(units[0], units[1]) : undefined;
        case "unknown":
          return undefined;
      }
    }
  }
}
