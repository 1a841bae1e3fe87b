import * as F from "./functions.js";
import { LOWERINGS, type Lowering } from "./lower.js";

/**
 * The builtin registry: every function an equation may call, one typed entry each — arity, kind, signature,
 * unit rule, XMILE names, doc, and implementation (pure, time, random) or lowering (stateful). The compiler, both
 * backends, the unit checker, XMILE import and export, editor completion and the table in docs/model-format.md
 * all read it, so adding a builtin is adding an entry here (and its numeric code when it is new).
 *
 * `kind` decides how the compiler treats a call:
 *  - pure: a plain function of its arguments;
 *  - time: a function of its arguments and the clock (step, pulse, ramp);
 *  - stateful: lowered by the compiler to hidden stocks or slots (smooths, delays, trends, previous, init);
 *  - random: a fresh draw at every evaluation from the call site's own seeded stream;
 *  - lookup: reads a graphical function from `tables`.
 */
export type BuiltinKind = Builtin["kind"];

/**
 * How a call's unit follows from its arguments' units:
 *  - same-as-first: the first argument's unit (abs, round, smooths, delays, …);
 *  - agree: all arguments must be in one unit, which is the result's (min, max);
 *  - ratio: the first argument's unit over the second's (xidz, zidz, safediv);
 *  - unknown: not inferred (never reported).
 */
export type UnitRule = "same-as-first" | "agree" | "ratio" | "unknown";

/** The section of docs/model-format.md's function table an entry is listed in. */
export type DocGroup = "math" | "time" | "state" | "tables" | "random";

/** How an entry reads from and writes to XMILE. */
export interface XmileForm {
  /** XMILE (or Stella) names imported as this builtin, lower case; empty when XMILE has none. */
  read: readonly string[];
  /** The XMILE written on export: a function name, or the text built from the printed arguments. */
  write: string | ((args: string[]) => string);
}

/** A rule the arguments of a random draw must meet; `counterexample` breaks it (checked by the tests). */
export interface DomainRule {
  holds: (args: readonly number[]) => boolean;
  /** What the arguments must be, read after the call's signature: "sd must be ≥ 0". */
  message: string;
  counterexample: readonly number[];
}

interface Common<Name extends string> {
  name: Name;
  minArgs: number;
  maxArgs: number;
  signature: string;
  doc: string;
  group: DocGroup;
  units: UnitRule;
  xmile: XmileForm;
}

export interface PureBuiltin extends Common<string> {
  kind: "pure";
  /** The kernel's call: a Math function or F.<export of functions.ts>. */
  js: string;
  fn: (...args: number[]) => number;
}

export interface TimeBuiltin extends Common<string> {
  kind: "time";
  /** The kernel's call F.<js>(t, DT, …args). */
  js: keyof typeof F;
  fn: (t: number, dt: number, ...args: number[]) => number;
}

export interface RandomBuiltin extends Common<string> {
  kind: "random";
  /** The kernel's call F.<js>(rs, site, …args). */
  js: keyof typeof F;
  /** The draw; NaN when a domain rule is broken, so a run with bad arguments fails at the value reading it. */
  fn: (rs: F.RandomStreams, site: number, ...args: number[]) => number;
  domain: readonly DomainRule[];
}

export interface StatefulBuiltin extends Common<keyof typeof LOWERINGS> {
  kind: "stateful";
  lower: Lowering;
}

export interface LookupBuiltin extends Common<string> {
  kind: "lookup";
}

export type Builtin = PureBuiltin | TimeBuiltin | RandomBuiltin | StatefulBuiltin | LookupBuiltin;

const upper = (name: string): XmileForm => ({ read: [name], write: name.toUpperCase() });

function pure(
  name: string,
  arity: [number, number],
  signature: string,
  doc: string,
  js: string,
  fn: (...a: number[]) => number,
  more: { units?: UnitRule; xmile?: XmileForm } = {},
): PureBuiltin {
  return {
    kind: "pure",
    name,
    minArgs: arity[0],
    maxArgs: arity[1],
    signature,
    doc,
    group: "math",
    units: more.units ?? "unknown",
    xmile: more.xmile ?? upper(name),
    js,
    fn,
  };
}

/** A math function of one argument whose result is in its argument's unit. */
const sameUnit = (name: string, doc: string, js: string, fn: (x: number) => number, xmile?: XmileForm) =>
  pure(name, [1, 1], `${name}(x)`, doc, js, fn, { units: "same-as-first", ...(xmile ? { xmile } : {}) });
/** A math function of one argument whose result's unit is not inferred. */
const plain = (name: string, doc: string, fn: (x: number) => number, js = `Math.${name}`) =>
  pure(name, [1, 1], `${name}(x)`, doc, js, fn);

function stateful(
  name: keyof typeof LOWERINGS,
  arity: [number, number],
  signature: string,
  doc: string,
  more: { units?: UnitRule; xmile?: XmileForm } = {},
): StatefulBuiltin {
  return {
    kind: "stateful",
    name,
    minArgs: arity[0],
    maxArgs: arity[1],
    signature,
    doc,
    group: "state",
    units: more.units ?? "same-as-first",
    xmile: more.xmile ?? upper(name),
    lower: LOWERINGS[name],
  };
}

function random(
  name: string,
  signature: string,
  doc: string,
  js: keyof typeof F,
  fn: RandomBuiltin["fn"],
  domain: DomainRule[],
  xmile: XmileForm,
): RandomBuiltin {
  const n = signature.split(",").length;
  return {
    kind: "random",
    name,
    minArgs: n,
    maxArgs: n,
    signature,
    doc,
    group: "random",
    units: "unknown",
    xmile,
    js,
    fn,
    domain,
  };
}

function time(
  name: string,
  arity: [number, number],
  signature: string,
  doc: string,
  js: keyof typeof F,
  fn: TimeBuiltin["fn"],
): TimeBuiltin {
  return {
    kind: "time",
    name,
    minArgs: arity[0],
    maxArgs: arity[1],
    signature,
    doc,
    group: "time",
    units: "unknown",
    xmile: upper(name),
    js,
    fn,
  };
}

const list: Builtin[] = [
  pure("min", [2, 64], "min(a, b, …)", "smallest argument", "Math.min", Math.min, { units: "agree" }),
  pure("max", [2, 64], "max(a, b, …)", "largest argument", "Math.max", Math.max, { units: "agree" }),
  sameUnit("abs", "absolute value", "Math.abs", Math.abs),
  plain("exp", "e to the power x", Math.exp),
  plain("ln", "natural logarithm", Math.log, "Math.log"),
  plain("log10", "base-10 logarithm", Math.log10),
  plain("sqrt", "square root", Math.sqrt),
  sameUnit("floor", "round down", "Math.floor", Math.floor, { read: [], write: "INT" }),
  sameUnit("ceil", "round up", "Math.ceil", Math.ceil, { read: [], write: (a) => `(-INT(-${a[0]}))` }),
  sameUnit("round", "round half away from zero", "F.roundHalfAway", F.roundHalfAway),
  sameUnit("int", "XMILE INT: round down (int(-1.5) = -2)", "Math.floor", Math.floor),
  plain("sign", "-1, 0 or 1", Math.sign),
  plain("sin", "sine (radians)", Math.sin),
  plain("cos", "cosine (radians)", Math.cos),
  plain("tan", "tangent (radians)", Math.tan),
  plain("arctan", "inverse tangent", Math.atan, "Math.atan"),
  plain("arcsin", "inverse sine", Math.asin, "Math.asin"),
  plain("arccos", "inverse cosine", Math.acos, "Math.acos"),
  plain("sinh", "hyperbolic sine", Math.sinh),
  plain("cosh", "hyperbolic cosine", Math.cosh),
  plain("tanh", "hyperbolic tangent", Math.tanh),
  sameUnit("trunc", "round toward zero", "Math.trunc", Math.trunc, {
    read: [],
    // XMILE's INT rounds down; toward zero is INT of the magnitude, signed.
    write: (a) => `(IF ${a[0]} < 0 THEN -INT(-${a[0]}) ELSE INT(${a[0]}))`,
  }),
  pure(
    "safediv",
    [2, 3],
    "safediv(a, b[, x])",
    "a / b, or x (default 0) when b is 0",
    "F.safediv",
    (a, b, x) => F.safediv(a!, b!, x),
    { units: "ratio" },
  ),
  pure(
    "clamp",
    [3, 3],
    "clamp(x, lo, hi)",
    "x limited to [lo, hi]",
    "F.clamp",
    (x, lo, hi) => F.clamp(x!, lo!, hi!),
    {
      xmile: { read: [], write: (a) => `MIN(MAX(${a[0]}, ${a[1]}), ${a[2]})` },
    },
  ),
  pure(
    "xidz",
    [3, 3],
    "xidz(a, b, x)",
    "a / b, or x when b is 0",
    "F.xidz",
    (a, b, x) => F.xidz(a!, b!, x!),
    {
      units: "ratio",
    },
  ),
  pure("zidz", [2, 2], "zidz(a, b)", "a / b, or 0 when b is 0", "F.zidz", (a, b) => F.zidz(a!, b!), {
    units: "ratio",
  }),
  pure(
    "allocate",
    [6, 2 + 4 * 4096],
    "allocate(i, supply, request, profile, priority, width, …)",
    "Vensim's ALLOCATE AVAILABLE: the i-th requester's share of supply, each requester given as (request, profile 1 rectangular | 2 triangular | 3 normal | 4 exponential, priority, width); everyone's request when supply covers them all",
    "F.allocateAvailable",
    (i, supply, ...rest) => F.allocateAvailable(i!, supply!, ...(rest as number[])),
    // XMILE has no allocation by priority profiles: written under a name no XMILE reader knows, so it is refused.
    { xmile: { read: [], write: "VENSIM_ALLOCATE_AVAILABLE" } },
  ),
  time(
    "step",
    [2, 2],
    "step(height, start)",
    "0 before start, height from start on",
    "stepFn",
    (t, dt, h, s) => F.stepFn(t, dt, h!, s!),
  ),
  time(
    "pulse",
    [2, 3],
    "pulse(magnitude, first[, interval])",
    "magnitude/dt for one step at first (and every interval after, when given)",
    "pulseFn",
    (t, dt, m, first, interval) => F.pulseFn(t, dt, m!, first!, interval),
  ),
  time(
    "ramp",
    [2, 3],
    "ramp(slope, start[, end])",
    "0 before start, then rising by slope per time unit until end",
    "rampFn",
    (t, dt, slope, start, end) => F.rampFn(t, dt, slope!, start!, end),
  ),
  stateful("smth1", [2, 3], "smth1(input, averaging_time[, initial])", "first-order exponential smooth"),
  stateful("smooth", [2, 3], "smooth(input, averaging_time[, initial])", "same as smth1", {
    xmile: { read: ["smooth"], write: "SMTH1" },
  }),
  stateful("smth3", [2, 3], "smth3(input, averaging_time[, initial])", "third-order exponential smooth"),
  stateful(
    "smthn",
    [3, 4],
    "smthn(input, averaging_time, n[, initial])",
    "nth-order exponential smooth (n a whole-number constant)",
  ),
  stateful("delay1", [2, 3], "delay1(input, delay_time[, initial])", "first-order material delay"),
  stateful("delay3", [2, 3], "delay3(input, delay_time[, initial])", "third-order material delay"),
  stateful(
    "delayn",
    [3, 4],
    "delayn(input, delay_time, n[, initial])",
    "nth-order material delay (n a whole-number constant)",
  ),
  stateful(
    "delay",
    [2, 3],
    "delay(input, delay_time[, initial])",
    "pipeline delay: input as it was delay_time ago; before that, initial (default: the input's initial value). delay_time is fixed for the run (numbers, dt, fixed params and vars made of them) and rounded to whole steps",
  ),
  stateful(
    "trend",
    [2, 3],
    "trend(input, averaging_time[, initial_trend])",
    "fractional rate of change of input per time unit, against its first-order smooth (0 when the smooth is 0)",
    { units: "unknown" },
  ),
  stateful(
    "forcst",
    [3, 4],
    "forcst(input, averaging_time, horizon[, initial_trend])",
    "input extrapolated horizon time units ahead by its trend: input · (1 + trend · horizon)",
  ),
  stateful(
    "previous",
    [1, 2],
    "previous(x[, initial])",
    "x one step earlier; initial (default 0) at the first step",
  ),
  stateful("init", [1, 1], "init(x)", "x at the start of the run"),
  {
    kind: "lookup",
    name: "lookup",
    minArgs: 2,
    maxArgs: 2,
    signature: "lookup(table, x)",
    doc: "graphical function from tables; a table can also be called directly as table(x)",
    group: "tables",
    units: "unknown",
    xmile: upper("lookup"),
  },
  random(
    "uniform",
    "uniform(a, b)",
    "a uniform draw in [a, b)",
    "randomUniform",
    (rs, s, a, b) => F.randomUniform(rs, s, a!, b!),
    [{ holds: ([a, b]) => a! <= b!, message: "a must not exceed b", counterexample: [5, 1] }],
    { read: ["random"], write: "RANDOM" },
  ),
  random(
    "normal",
    "normal(mean, sd)",
    "a normal draw",
    "randomNormal",
    (rs, s, m, sd) => F.randomNormal(rs, s, m!, sd!),
    [{ holds: ([, sd]) => sd! >= 0, message: "sd must be ≥ 0", counterexample: [0, -1] }],
    upper("normal"),
  ),
  random(
    "lognormal",
    "lognormal(mu, sigma)",
    "exp of a normal(mu, sigma) draw",
    "randomLognormal",
    (rs, s, mu, sigma) => F.randomLognormal(rs, s, mu!, sigma!),
    [{ holds: ([, sigma]) => sigma! >= 0, message: "sigma must be ≥ 0", counterexample: [0, -1] }],
    upper("lognormal"),
  ),
  random(
    "exponential",
    "exponential(mean)",
    "an exponential draw with the given mean",
    "randomExponential",
    (rs, s, mean) => F.randomExponential(rs, s, mean!),
    [{ holds: ([mean]) => mean! >= 0, message: "mean must be ≥ 0", counterexample: [-1] }],
    { read: ["exprnd"], write: "EXPRND" },
  ),
  random(
    "bernoulli",
    "bernoulli(p)",
    "1 with probability p, else 0",
    "randomBernoulli",
    (rs, s, p) => F.randomBernoulli(rs, s, p!),
    [{ holds: ([p]) => p! >= 0 && p! <= 1, message: "p must be in [0, 1]", counterexample: [2] }],
    // XMILE has no Bernoulli draw: a uniform draw below p.
    { read: [], write: (a) => `(IF RANDOM(0, 1) < ${a[0]} THEN 1 ELSE 0)` },
  ),
  random(
    "poisson",
    "poisson(mean)",
    "a Poisson draw",
    "randomPoisson",
    (rs, s, mean) => F.randomPoisson(rs, s, mean!),
    [{ holds: ([mean]) => mean! >= 0, message: "mean must be ≥ 0", counterexample: [-1] }],
    upper("poisson"),
  ),
  random(
    "gamma",
    "gamma(shape, scale)",
    "a gamma draw, mean shape · scale (with a tiny shape a draw can be smaller than a double holds and comes out 0, as the exact value would underflow)",
    "randomGamma",
    (rs, s, shape, scale) => F.randomGamma(rs, s, shape!, scale!),
    [
      {
        holds: ([shape]) => shape! > 0 && shape! < Number.POSITIVE_INFINITY,
        message: "shape must be finite and > 0",
        counterexample: [0, 1],
      },
      { holds: ([, scale]) => scale! >= 0, message: "scale must be ≥ 0", counterexample: [2, -1] },
    ],
    // Stella's GAMMA(shape, scale); XMILE 1.0 has none.
    upper("gamma"),
  ),
  random(
    "student",
    "student(df)",
    "a Student t draw with df degrees of freedom (heavy-tailed shocks; variance df/(df − 2) when df > 2; with a tiny df a draw can be larger than a double holds and comes out ±Infinity, as the exact value would overflow: 1 in 10⁸ at df 0.05, 1 in 40 at df 0.01)",
    "randomStudentT",
    (rs, s, df) => F.randomStudentT(rs, s, df!),
    [{ holds: ([df]) => df! > 0, message: "df must be > 0", counterexample: [0] }],
    // Neither XMILE nor Stella has a t draw: a normal over the root of a chi-square over its df.
    // Its df is written twice, so it must be the same value both times: a number or a name, not a draw.
    {
      read: [],
      write: (a) => {
        if (!/^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9.]+(?:[eE][+-]?[0-9]+)?)$/.test(a[0]!))
          throw new Error(
            "student(df) is written as a normal over a gamma draw, with df twice: give df as a number or a name (an auxiliary of its own)",
          );
        return `(NORMAL(0, 1) / SQRT(GAMMA(${a[0]} / 2, 2) / ${a[0]}))`;
      },
    },
  ),
];

export const BUILTINS: ReadonlyMap<string, Builtin> = new Map(list.map((b) => [b.name, b]));

/** XMILE function names (lower case) → the builtin they import as. */
export const XMILE_FUNCTIONS: ReadonlyMap<string, Builtin> = new Map(
  list.flatMap((b) => b.xmile.read.map((x) => [x, b] as const)),
);

/** The first broken domain rule of a random builtin for these arguments, as a message; else undefined. */
export function domainError(b: RandomBuiltin, args: readonly number[]): string | undefined {
  const broken = b.domain.find((r) => !r.holds(args));
  if (!broken) return undefined;
  const names = b.signature.slice(b.name.length + 1, -1).split(/,\s*/);
  const values = names.map((n, i) => `${n} = ${args[i]}`).join(", ");
  return `${b.signature}: ${broken.message} (here ${values})`;
}

const GROUP_TITLES: Record<DocGroup, string> = {
  math: "math",
  time: "time",
  state: "state",
  tables: "tables",
  random: "random (per step)",
};

/** The function table of docs/model-format.md, generated from the registry (scripts/builtin-docs.js). */
export function builtinTable(): string {
  const rows = ["| function | kind | what it gives | XMILE |", "| --- | --- | --- | --- |"];
  for (const group of Object.keys(GROUP_TITLES) as DocGroup[]) {
    for (const b of list.filter((x) => x.group === group)) {
      const xmile = b.xmile.read.length ? b.xmile.read.map((n) => n.toUpperCase()).join(", ") : "—";
      const domain = b.kind === "random" ? b.domain.map((r) => `; ${r.message}`).join("") : "";
      const what = `${b.doc}${domain}`.replace(/\|/g, "\\|");
      rows.push(`| \`${b.signature}\` | ${GROUP_TITLES[group]} | ${what} | ${xmile} |`);
    }
  }
  return rows.join("\n");
}

const TABLE_START = /<!-- builtins:start[^>]*-->\n/;
const TABLE_END = "<!-- builtins:end -->";

/** A document with the text between its builtins markers replaced by the current table. */
export function withBuiltinTable(doc: string): string {
  const start = TABLE_START.exec(doc);
  const end = doc.indexOf(TABLE_END);
  if (!start || end < start.index) throw new Error("the builtin table markers are missing");
  const from = start.index + start[0].length;
  return `${doc.slice(0, from)}${builtinTable()}\n${doc.slice(end)}`;
}
