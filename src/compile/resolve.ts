import type { Expr } from "../lang/ast.js";
import { didYouMean } from "../lang/diagnostic.js";
import type { LoadedModel } from "../model/load.js";
import type { Path } from "../model/source.js";
import { dateToModelTime, UNIT_DAYS } from "../model/time.js";
import { BUILTINS, domainError, type StatefulBuiltin } from "./builtins.js";
import type { BinFn, Node } from "./ir.js";
import { constantValue, type LowerContext } from "./lower.js";
import { SECTION_KIND } from "./sections.js";

/**
 * Name resolution: one parsed expression of the model file becomes a Node tree over slots. Builtin calls are
 * checked against the registry (arity, constant arguments of random draws) and stateful ones lowered through
 * their registry entry; the host (the Builder of build.ts) owns the slots they create.
 */
export interface ResolveHost {
  lookupName(name: string): { slot?: number; section?: string };
  tableOf(name: string): number | undefined;
  knownNames(): string[];
  functionNames(): string[];
  readonly spec: LoadedModel["spec"];
  readonly time: LoadedModel["time"];
  randomSite(owner: string, fn: string): number;
  constantOf(node: Node): number | undefined;
  setAux(slot: number, expr: Node): void;
  readonly deferred: (() => void)[];
  hiddenAux(owner: string, what: string, path: Path, expr: Node): number;
  hiddenStock(
    owner: string,
    what: string,
    path: Path,
    init: Node,
  ): { slot: number; setRate: (rate: Node) => void };
  hiddenPrevious(owner: string, path: Path, source: number, init: Node): number;
  hiddenInit(owner: string, path: Path, source: number): number;
}

const BIN: Record<string, BinFn> = {
  "+": "+",
  "-": "-",
  "*": "*",
  "/": "/",
  "%": "%",
  "^": "^",
  "<": "<",
  "<=": "<=",
  ">": ">",
  ">=": ">=",
  "==": "==",
  "!=": "!=",
  and: "and",
  or: "or",
};

const CLAIM_FUNCTIONS = new Set(["P", "E", "Q"]);

export class Resolver {
  constructor(
    private readonly b: ResolveHost,
    private readonly at: (pos: number, message: string, end?: number) => void,
    private readonly path: Path,
    private readonly owner: string,
    private readonly initial: boolean,
  ) {}

  /** Record a diagnostic on the text of `span` (an expression node: start and end). */
  private fail(span: { pos: number; end: number }, message: string): Node {
    this.at(span.pos, message, span.end);
    return { op: "const", value: 0 };
  }

  resolve(e: Expr): Node {
    switch (e.kind) {
      case "number":
        return { op: "const", value: e.value };
      case "date": {
        const t = dateToModelTime(e.iso, this.b.time);
        return "error" in t ? this.fail(e, t.error) : { op: "const", value: t.value };
      }
      case "name":
        return this.name(e.name, e);
      case "unary": {
        const a = this.resolve(e.arg);
        if (e.op === "+") return a;
        return e.op === "-" ? { op: "neg", a } : { op: "not", a };
      }
      case "binary": {
        const fn = BIN[e.op];
        if (!fn)
          return this.fail(
            e,
            `'${e.op === "given" ? "|" : e.op}' only appears inside claims such as P(outcome ${e.op === "given" ? "|" : e.op} …)`,
          );
        return { op: "bin", fn, a: this.resolve(e.left), b: this.resolve(e.right) };
      }
      case "if":
        return { op: "if", c: this.resolve(e.cond), a: this.resolve(e.then), b: this.resolve(e.else) };
      case "call":
        return this.call(e);
    }
  }

  private name(name: string, span: { pos: number; end: number }): Node {
    const { slot, section } = this.b.lookupName(name);
    if (slot !== undefined) return { op: "slot", slot };
    if (section === "tables")
      return this.fail(span, `'${name}' is a table: call it with a value, as ${name}(x)`);
    if (section === "events" || section === "outcomes") {
      return this.fail(
        span,
        `'${name}' is an ${SECTION_KIND[section]}; equations cannot read it (claims can)`,
      );
    }
    const t = this.b.time;
    if (name === "time") return { op: "time" };
    // With a clock that changes, dt is the step being taken: its var's value.
    if (name === "dt" && t.clock?.dt !== undefined && t.clock.dt !== "dt") return this.name(t.clock.dt, span);
    if (name === "dt") return { op: "const", value: t.dt };
    if (name === "starttime") return { op: "const", value: t.start };
    if (name === "stoptime") return { op: "const", value: t.stop };
    if (name in UNIT_DAYS) {
      if (t.unit === undefined || UNIT_DAYS[t.unit] === undefined) {
        return this.fail(
          span,
          `'${name}' is a time unit, which needs a calendar time.unit (day, week, month, year, …)`,
        );
      }
      // `0.5/year` reads as 0.5 per year, whatever the model's unit.
      return { op: "const", value: UNIT_DAYS[name]! / UNIT_DAYS[t.unit]! };
    }
    const fn = BUILTINS.get(name);
    if (fn) return this.fail(span, `'${name}' is a function: call it as ${fn.signature}`);
    return this.fail(span, `unknown name '${name}'${didYouMean(name, this.b.knownNames())}`);
  }

  private call(e: Extract<Expr, { kind: "call" }>): Node {
    const tableIdx = this.b.tableOf(e.callee);
    if (tableIdx !== undefined) {
      if (e.args.length !== 1)
        return this.fail(e, `table '${e.callee}' takes one argument, found ${e.args.length}`);
      return { op: "lookup", table: tableIdx, x: this.resolve(e.args[0]!) };
    }
    const fn = BUILTINS.get(e.callee);
    if (!fn) {
      const { section } = this.b.lookupName(e.callee);
      if (section) return this.fail(e, `'${e.callee}' is a ${SECTION_KIND[section]}, not a function`);
      if (CLAIM_FUNCTIONS.has(e.callee)) return this.fail(e, `${e.callee}(…) can be used only in claims`);
      return this.fail(e, `unknown function '${e.callee}'${didYouMean(e.callee, this.b.functionNames())}`);
    }
    if (e.args.length < fn.minArgs || e.args.length > fn.maxArgs) {
      const n =
        fn.minArgs === fn.maxArgs
          ? `${fn.minArgs}`
          : fn.maxArgs > 10
            ? `at least ${fn.minArgs}`
            : `${fn.minArgs} to ${fn.maxArgs}`;
      return this.fail(
        e,
        `${e.callee} takes ${n} argument${n === "1" ? "" : "s"}, found ${e.args.length}: ${fn.signature}`,
      );
    }
    if (fn.kind === "lookup") {
      const [table, x] = e.args as [Expr, Expr];
      const idx = table.kind === "name" ? this.b.tableOf(table.name) : undefined;
      if (idx === undefined) {
        const named =
          table.kind === "name"
            ? ` '${table.name}'${didYouMean(table.name, Object.keys(this.b.spec.tables ?? {}))}`
            : "";
        return this.fail(
          table,
          `the first argument of lookup must be a table name; found${named || " an expression"}`,
        );
      }
      return { op: "lookup", table: idx, x: this.resolve(x) };
    }
    const args = e.args.map((a) => this.resolve(a));
    switch (fn.kind) {
      case "pure":
        return { op: "call", fn: fn.name, args };
      case "time":
        return { op: "timefn", fn: fn.name, args };
      case "random": {
        if ((this.b.spec.method ?? "euler") === "rk4") {
          return this.fail(
            e,
            `${e.callee}(…) draws a random number each step, which rk4 cannot integrate (its stages would redraw): use method: euler, or make it a param`,
          );
        }
        // Constant arguments outside the draw's domain are an error now; others fail the run where they happen.
        const values = args.map((a) => constant(a));
        if (values.every((v) => v !== undefined)) {
          const broken = domainError(fn, values as number[]);
          if (broken) return this.fail(e, broken);
        }
        return { op: "random", fn: fn.name, site: this.b.randomSite(this.owner, fn.name), args };
      }
      case "stateful":
        if (this.initial)
          return this.fail(e, `${e.callee}(…) keeps state over time, so it cannot set an initial value`);
        return this.stateful(fn, e, args);
    }
  }

  private stateful(fn: StatefulBuiltin, e: Extract<Expr, { kind: "call" }>, args: Node[]): Node {
    const b = this.b;
    const { owner, path } = this;
    const ctx: LowerContext = {
      stock: (what, init) => b.hiddenStock(owner, what, path, init),
      aux: (what, expr) => b.hiddenAux(owner, what, path, expr),
      previous: (source, init) => b.hiddenPrevious(owner, path, source, init),
      init: (source) => b.hiddenInit(owner, path, source),
      dt: b.time.dt,
      variableStep: b.time.clock?.dt !== undefined,
      constant: (n) => b.constantOf(n),
      defer: (work) => b.deferred.push(work),
      setAux: (slot, expr) => b.setAux(slot, expr),
      fail: (index, message) => this.fail(e.args[index] ?? e, message),
    };
    return fn.lower(ctx, args);
  }
}

/** A pure builtin of the registry applied to constant arguments. */
export function callPure(name: string, values: number[]): number {
  const f = BUILTINS.get(name);
  return f?.kind === "pure" ? f.fn(...values) : Number.NaN;
}

/** The value of a resolved argument made of numbers and pure builtins only; else undefined. */
function constant(n: Node): number | undefined {
  return constantValue(n, callPure);
}
