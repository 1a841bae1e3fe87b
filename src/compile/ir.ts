import type { Distribution } from "../model/distribution.js";
import type { ResolvedTime } from "../model/load.js";
import type { ClockSlots } from "./clock.js";
import type { Table } from "./functions.js";

/**
 * The checked, lowered model both backends execute. Names are gone: every value lives in a numbered slot of
 * one Float64Array, and stateful builtins (smooths, delays, previous, init) have become hidden slots.
 */
export type Node =
  | { op: "const"; value: number }
  | { op: "slot"; slot: number }
  | { op: "time" }
  /** 1 during the main evaluation of the first step, else 0: how init(x) captures x once. */
  | { op: "first" }
  | { op: "neg"; a: Node }
  | { op: "not"; a: Node }
  | { op: "bin"; fn: BinFn; a: Node; b: Node }
  | { op: "if"; c: Node; a: Node; b: Node }
  /** A pure builtin of the registry (builtins.ts), by name. */
  | { op: "call"; fn: string; args: Node[] }
  /** A time builtin of the registry (step, pulse, ramp), by name. */
  | { op: "timefn"; fn: string; args: Node[] }
  | { op: "lookup"; table: number; x: Node }
  /** A random builtin of the registry, by name, drawing from its own stream `site`. */
  | { op: "random"; fn: string; site: number; args: Node[] };

export type BinFn = "+" | "-" | "*" | "/" | "%" | "^" | "<" | "<=" | ">" | ">=" | "==" | "!=" | "and" | "or";

/** The operators whose two sides are always both evaluated (`and`/`or` short-circuit). */
export type StrictBinFn = Exclude<BinFn, "and" | "or">;

/**
 * The value of a strict binary operator: its one definition, read by the reference interpreter and by constant
 * folding (the generated kernel prints the same operators as JavaScript). Comparisons give 1 or 0.
 */
export function applyBinary(fn: StrictBinFn, a: number, b: number): number {
  switch (fn) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return a / b;
    case "%":
      return a % b;
    case "^":
      return a ** b;
    case "<":
      return a < b ? 1 : 0;
    case "<=":
      return a <= b ? 1 : 0;
    case ">":
      return a > b ? 1 : 0;
    case ">=":
      return a >= b ? 1 : 0;
    case "==":
      return a === b ? 1 : 0;
    case "!=":
      return a !== b ? 1 : 0;
  }
}

export type SlotKind = "param" | "stock" | "flow" | "var" | "hidden-stock" | "hidden" | "previous" | "init";

export interface SlotInfo {
  name: string;
  kind: SlotKind;
  /** Path of the definition in the model file, for diagnostics (["vars", "gap", "eq"]). */
  path: (string | number)[];
}

/** A slot computed from an expression: a var, a flow, or a hidden auxiliary of a lowered builtin. */
export interface Assignment {
  slot: number;
  expr: Node;
}

export interface StockPlan {
  slot: number;
  /** Net rate of change: inflows − outflows (and hidden stocks' own rates). */
  rate: Node;
  min?: number;
  max?: number;
}

export interface EventPlan {
  name: string;
  trigger: "when" | "rate";
  expr: Node;
  /** The random-stream site a `rate` event draws from. */
  site: number;
  assigns: Assignment[];
}

export interface OutcomePlan {
  name: string;
  trigger: "when" | "rate";
  expr: Node;
  site: number;
}

export interface ParamPlan {
  slot: number;
  name: string;
  dist: Distribution;
}

export interface Program {
  slots: SlotInfo[];
  params: ParamPlan[];
  /** Evaluated once at the start, in dependency order: stocks' initial values and what they need. */
  initOrder: Assignment[];
  /** Evaluated every step (and at every RK4 stage), in dependency order. */
  auxOrder: Assignment[];
  /** previous(x) slots: after each step's evaluation they take x's value, for the next step to read. */
  previous: { slot: number; source: number; init: Node }[];
  stocks: StockPlan[];
  events: EventPlan[];
  outcomes: OutcomePlan[];
  tables: Table[];
  randomSites: string[];
  /** Slots saved at every save time, in `track` order. */
  tracked: { slot: number; name: string }[];
  time: ResolvedTime;
  /** The slots of a clock that changes during the run (`time.clock`, see clock.ts); absent for a fixed clock. */
  clock?: ClockSlots;
  method: "euler" | "rk4";
}

/** The direct operands of a node. */
export function operands(n: Node): Node[] {
  switch (n.op) {
    case "neg":
    case "not":
      return [n.a];
    case "bin":
      return [n.a, n.b];
    case "if":
      return [n.c, n.a, n.b];
    case "call":
    case "timefn":
    case "random":
      return n.args;
    case "lookup":
      return [n.x];
    default:
      return [];
  }
}

/** Visit every node, parents before children, left to right (without recursion: chains can be long). */
export function visitNodes(root: Node, f: (n: Node) => void): void {
  const stack: Node[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    f(n);
    const kids = operands(n);
    for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k]!);
  }
}

export function slotsRead(n: Node): Set<number> {
  const out = new Set<number>();
  visitNodes(n, (m) => {
    if (m.op === "slot") out.add(m.slot);
  });
  return out;
}

/**
 * The auxiliaries an RK4 stage must recompute: those that stock rates depend on, directly or not, in `auxOrder`
 * order. Both backends use this one list.
 */
export function stageAux(p: Program): Assignment[] {
  const needed = new Set<number>();
  for (const s of p.stocks) for (const slot of slotsRead(s.rate)) needed.add(slot);
  const order = p.auxOrder;
  for (let i = order.length - 1; i >= 0; i--) {
    const a = order[i]!;
    if (needed.has(a.slot)) for (const slot of slotsRead(a.expr)) needed.add(slot);
  }
  return order.filter((a) => needed.has(a.slot));
}
