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
const CALENDAR: Record<string, string> = {
  seconds: "second",
  minutes: "minute",
  hours: "hour",
  days: "day",
  weeks: "week",
  months: "month",
  years: "year",
};

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

export function divide(a: Dimensions, b: Dimensions): Dimensions {
  const out = new Map(a);
  for (const [name, power] of b) {
    const next = (out.get(name) ?? 0) - power;
    if (next === 0) out.delete(name);
    else out.set(name, next);
  }
  return out;
}

export function sameDimensions(a: Dimensions, b: Dimensions): boolean {
  if (a.size !== b.size) return false;
  for (const [name, power] of a) if (b.get(name) !== power) return false;
  return true;
}

/** A unit written back as text: "people/day", "1/week", "km2". */
export function formatUnit(d: Dimensions): string {
  const up = [...d].filter(([, p]) => p > 0).map(([n, p]) => (p === 1 ? n : `${n}^${p}`));
  const down = [...d].filter(([, p]) => p < 0).map(([n, p]) => (p === -1 ? n : `${n}^${-p}`));
  const top = up.length ? up.join("*") : "1";
  return down.length ? `${top}/${down.join("/")}` : top;
}
