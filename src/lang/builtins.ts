/**
 * Every function an equation may call. XMILE names and meanings where XMILE has the function.
 * `kind` decides how the compiler treats a call:
 *  - pure: a plain function of its arguments (and of time for step/pulse/ramp);
 *  - stateful: lowered by the compiler to hidden stocks or slots (smooths, delays, previous, init);
 *  - random: a fresh draw at every evaluation from the call site's own seeded stream;
 *  - lookup: reads a graphical function from `tables`.
 */
export type BuiltinKind = "pure" | "time" | "stateful" | "random" | "lookup";

export interface Builtin {
  name: string;
  minArgs: number;
  maxArgs: number;
  kind: BuiltinKind;
  signature: string;
  doc: string;
}

const list: Builtin[] = [
  { name: "min", minArgs: 2, maxArgs: 64, kind: "pure", signature: "min(a, b, …)", doc: "smallest argument" },
  { name: "max", minArgs: 2, maxArgs: 64, kind: "pure", signature: "max(a, b, …)", doc: "largest argument" },
  { name: "abs", minArgs: 1, maxArgs: 1, kind: "pure", signature: "abs(x)", doc: "absolute value" },
  { name: "exp", minArgs: 1, maxArgs: 1, kind: "pure", signature: "exp(x)", doc: "e to the power x" },
  { name: "ln", minArgs: 1, maxArgs: 1, kind: "pure", signature: "ln(x)", doc: "natural logarithm" },
  { name: "log10", minArgs: 1, maxArgs: 1, kind: "pure", signature: "log10(x)", doc: "base-10 logarithm" },
  { name: "sqrt", minArgs: 1, maxArgs: 1, kind: "pure", signature: "sqrt(x)", doc: "square root" },
  { name: "floor", minArgs: 1, maxArgs: 1, kind: "pure", signature: "floor(x)", doc: "round down" },
  { name: "ceil", minArgs: 1, maxArgs: 1, kind: "pure", signature: "ceil(x)", doc: "round up" },
  {
    name: "round",
    minArgs: 1,
    maxArgs: 1,
    kind: "pure",
    signature: "round(x)",
    doc: "round half away from zero",
  },
  { name: "int", minArgs: 1, maxArgs: 1, kind: "pure", signature: "int(x)", doc: "XMILE INT: round down" },
  { name: "sign", minArgs: 1, maxArgs: 1, kind: "pure", signature: "sign(x)", doc: "-1, 0 or 1" },
  { name: "sin", minArgs: 1, maxArgs: 1, kind: "pure", signature: "sin(x)", doc: "sine (radians)" },
  { name: "cos", minArgs: 1, maxArgs: 1, kind: "pure", signature: "cos(x)", doc: "cosine (radians)" },
  { name: "tan", minArgs: 1, maxArgs: 1, kind: "pure", signature: "tan(x)", doc: "tangent (radians)" },
  { name: "arctan", minArgs: 1, maxArgs: 1, kind: "pure", signature: "arctan(x)", doc: "inverse tangent" },
  { name: "arcsin", minArgs: 1, maxArgs: 1, kind: "pure", signature: "arcsin(x)", doc: "inverse sine" },
  { name: "arccos", minArgs: 1, maxArgs: 1, kind: "pure", signature: "arccos(x)", doc: "inverse cosine" },
  { name: "sinh", minArgs: 1, maxArgs: 1, kind: "pure", signature: "sinh(x)", doc: "hyperbolic sine" },
  { name: "cosh", minArgs: 1, maxArgs: 1, kind: "pure", signature: "cosh(x)", doc: "hyperbolic cosine" },
  { name: "tanh", minArgs: 1, maxArgs: 1, kind: "pure", signature: "tanh(x)", doc: "hyperbolic tangent" },
  { name: "trunc", minArgs: 1, maxArgs: 1, kind: "pure", signature: "trunc(x)", doc: "round toward zero" },
  {
    name: "safediv",
    minArgs: 2,
    maxArgs: 3,
    kind: "pure",
    signature: "safediv(a, b[, x])",
    doc: "a / b, or x (default 0) when b is 0",
  },
  {
    name: "clamp",
    minArgs: 3,
    maxArgs: 3,
    kind: "pure",
    signature: "clamp(x, lo, hi)",
    doc: "x limited to [lo, hi]",
  },
  {
    name: "xidz",
    minArgs: 3,
    maxArgs: 3,
    kind: "pure",
    signature: "xidz(a, b, x)",
    doc: "a / b, or x when b is 0",
  },
  {
    name: "zidz",
    minArgs: 2,
    maxArgs: 2,
    kind: "pure",
    signature: "zidz(a, b)",
    doc: "a / b, or 0 when b is 0",
  },
  {
    name: "step",
    minArgs: 2,
    maxArgs: 2,
    kind: "time",
    signature: "step(height, start)",
    doc: "0 before start, height from start on",
  },
  {
    name: "pulse",
    minArgs: 2,
    maxArgs: 3,
    kind: "time",
    signature: "pulse(magnitude, first[, interval])",
    doc: "magnitude/dt for one step at first (and every interval after, when given)",
  },
  {
    name: "ramp",
    minArgs: 2,
    maxArgs: 3,
    kind: "time",
    signature: "ramp(slope, start[, end])",
    doc: "0 before start, then rising by slope per time unit until end",
  },
  {
    name: "smth1",
    minArgs: 2,
    maxArgs: 3,
    kind: "stateful",
    signature: "smth1(input, averaging_time[, initial])",
    doc: "first-order exponential smooth",
  },
  {
    name: "smooth",
    minArgs: 2,
    maxArgs: 3,
    kind: "stateful",
    signature: "smooth(input, averaging_time[, initial])",
    doc: "same as smth1",
  },
  {
    name: "smth3",
    minArgs: 2,
    maxArgs: 3,
    kind: "stateful",
    signature: "smth3(input, averaging_time[, initial])",
    doc: "third-order exponential smooth",
  },
  {
    name: "delay1",
    minArgs: 2,
    maxArgs: 3,
    kind: "stateful",
    signature: "delay1(input, delay_time[, initial])",
    doc: "first-order material delay",
  },
  {
    name: "delay3",
    minArgs: 2,
    maxArgs: 3,
    kind: "stateful",
    signature: "delay3(input, delay_time[, initial])",
    doc: "third-order material delay",
  },
  {
    name: "previous",
    minArgs: 1,
    maxArgs: 2,
    kind: "stateful",
    signature: "previous(x[, initial])",
    doc: "x one step earlier; initial (default 0) at the first step",
  },
  {
    name: "init",
    minArgs: 1,
    maxArgs: 1,
    kind: "stateful",
    signature: "init(x)",
    doc: "x at the start of the run",
  },
  {
    name: "lookup",
    minArgs: 2,
    maxArgs: 2,
    kind: "lookup",
    signature: "lookup(table, x)",
    doc: "graphical function from tables; a table can also be called directly as table(x)",
  },
  {
    name: "uniform",
    minArgs: 2,
    maxArgs: 2,
    kind: "random",
    signature: "uniform(a, b)",
    doc: "a uniform draw in [a, b)",
  },
  {
    name: "normal",
    minArgs: 2,
    maxArgs: 2,
    kind: "random",
    signature: "normal(mean, sd)",
    doc: "a normal draw",
  },
  {
    name: "lognormal",
    minArgs: 2,
    maxArgs: 2,
    kind: "random",
    signature: "lognormal(mu, sigma)",
    doc: "exp of a normal(mu, sigma) draw",
  },
  {
    name: "exponential",
    minArgs: 1,
    maxArgs: 1,
    kind: "random",
    signature: "exponential(mean)",
    doc: "an exponential draw with the given mean",
  },
  {
    name: "bernoulli",
    minArgs: 1,
    maxArgs: 1,
    kind: "random",
    signature: "bernoulli(p)",
    doc: "1 with probability p, else 0",
  },
  {
    name: "poisson",
    minArgs: 1,
    maxArgs: 1,
    kind: "random",
    signature: "poisson(mean)",
    doc: "a Poisson draw",
  },
];

export const BUILTINS: ReadonlyMap<string, Builtin> = new Map(list.map((b) => [b.name, b]));

/** Names that read the clock rather than the model's state. */
export const TIME_NAMES = new Set(["time", "dt", "starttime", "stoptime"]);
