import { applyBinary, type BinFn, type Node, type StrictBinFn } from "./ir.js";

/**
 * Lowering of the stateful builtins (smooths, delays, trends, previous, init) to hidden stocks and slots. Each
 * lowering reads only the call's resolved arguments and the hooks below, so the registry (builtins.ts) can name
 * its lowering beside its arity, units and docs.
 */
export interface LowerContext {
  /** A hidden stock with the given initial value; its rate is set afterwards (it often reads later slots). */
  stock(what: string, init: Node): { slot: number; setRate: (rate: Node) => void };
  /** A hidden slot computed every step from `expr`. */
  aux(what: string, expr: Node): number;
  /** A slot that holds `source`'s value one step earlier (`init` at the first step). */
  previous(source: number, init: Node): number;
  /** A slot that holds `source`'s value at the start of the run. */
  init(source: number): number;
  /** The model's step. */
  dt: number;
  /** Whether the step changes during the run (`time.clock.dt`). */
  variableStep?: boolean;
  /**
   * The value of an argument made of numbers, arithmetic, pure calls and names defined that way (fixed params,
   * constant vars); else undefined. Call it from `defer`red work to see definitions written after the call.
   */
  constant(n: Node): number | undefined;
  /** Run `work` once every equation of the model is resolved. */
  defer(work: () => void): void;
  /** Set the expression of a slot made by `aux` (for lowering finished in deferred work). */
  setAux(slot: number, expr: Node): void;
  /** Report a problem with argument `index` of the call; the lowering then returns a placeholder. */
  fail(index: number, message: string): Node;
}

export type Lowering = (ctx: LowerContext, args: Node[]) => Node;

const slot = (s: number): Node => ({ op: "slot", slot: s });
const num = (value: number): Node => ({ op: "const", value });
const div = (a: Node, b: Node): Node => ({ op: "bin", fn: "/", a, b });
const sub = (a: Node, b: Node): Node => ({ op: "bin", fn: "-", a, b });
const mul = (a: Node, b: Node): Node => ({ op: "bin", fn: "*", a, b });
const add = (a: Node, b: Node): Node => ({ op: "bin", fn: "+", a, b });

/** The operators constant folding evaluates. */
const FOLDED: ReadonlySet<BinFn> = new Set<BinFn>(["+", "-", "*", "/", "^"]);

/**
 * The value of a node made of numbers, arithmetic and pure calls only (no slots, time or draws); else undefined.
 * `call` evaluates a pure builtin (the registry's), so this module need not import the registry that imports it.
 */
export function constantValue(
  n: Node,
  call: (fn: string, args: number[]) => number,
  slot: (s: number) => number | undefined = () => undefined,
): number | undefined {
  switch (n.op) {
    case "const":
      return n.value;
    case "slot":
      return slot(n.slot);
    case "neg": {
      const a = constantValue(n.a, call, slot);
      return a === undefined ? undefined : -a;
    }
    case "bin": {
      const a = constantValue(n.a, call, slot);
      const b = constantValue(n.b, call, slot);
      if (a === undefined || b === undefined) return undefined;
      // Arithmetic only: a comparison or remainder does not make a constant here.
      return FOLDED.has(n.fn) ? applyBinary(n.fn as StrictBinFn, a, b) : undefined;
    }
    case "call": {
      const args = n.args.map((a) => constantValue(a, call, slot));
      if (args.some((a) => a === undefined)) return undefined;
      return call(n.fn, args as number[]);
    }
    default:
      return undefined;
  }
}

/** A whole number of stages (1…1000) given as a constant, as DELAYN and SMTHN need; else a diagnostic. */
function stages(ctx: LowerContext, n: Node, fn: string): number | undefined {
  const v = ctx.constant(n);
  if (v === undefined || !Number.isInteger(v) || v < 1 || v > 1000) {
    ctx.fail(
      2,
      `the order of ${fn} must be a whole number from 1 to 1000 written as a constant${v === undefined ? "" : `; found ${v}`}`,
    );
    return undefined;
  }
  return v;
}

/** An nth-order exponential smooth: n stocks in a chain, each adjusting toward the one before. */
function smooth(ctx: LowerContext, what: string, input: Node, time: Node, n: number, init?: Node): Node {
  const stage = n === 1 ? time : div(time, num(n));
  let upstream = input;
  for (let i = 0; i < n; i++) {
    const stock = ctx.stock(what, init ?? input);
    stock.setRate(div(sub(upstream, slot(stock.slot)), stage));
    upstream = slot(stock.slot);
  }
  return upstream;
}

/** An nth-order material delay: n stocks in a chain, each draining at its content over its share of the time. */
function materialDelay(
  ctx: LowerContext,
  what: string,
  input: Node,
  time: Node,
  n: number,
  init?: Node,
): Node {
  const stage = n === 1 ? time : div(time, num(n));
  let upstream = input;
  for (let i = 0; i < n; i++) {
    const stock = ctx.stock(what, mul(init ?? input, stage));
    const out = ctx.aux(`${what} out`, div(slot(stock.slot), stage));
    stock.setRate(sub(upstream, slot(out)));
    upstream = slot(out);
  }
  return upstream;
}

/** The fractional rate of change of input, as XMILE's TREND: (input − average) / (time · |average|), 0 when the
 * average is 0; the average is a first-order smooth starting at input / (1 + initial_trend · time). */
function trend(ctx: LowerContext, input: Node, time: Node, initialTrend?: Node): Node {
  const start = initialTrend ? div(input, add(num(1), mul(initialTrend, time))) : input;
  const average = smooth(ctx, "trend", input, time, 1, start);
  return {
    op: "call",
    fn: "zidz",
    args: [sub(input, average), mul(time, { op: "call", fn: "abs", args: [average] })],
  };
}

const MAX_PIPELINE_STEPS = 10_000;

export const LOWERINGS = {
  smth1: (ctx, [input, time, init]) => smooth(ctx, "smth1", input!, time!, 1, init),
  smooth: (ctx, [input, time, init]) => smooth(ctx, "smth1", input!, time!, 1, init),
  smth3: (ctx, [input, time, init]) => smooth(ctx, "smth3", input!, time!, 3, init),
  smthn: (ctx, [input, time, n, init]) => {
    const k = stages(ctx, n!, "smthn");
    return k === undefined ? num(0) : smooth(ctx, "smthn", input!, time!, k, init);
  },
  delay1: (ctx, [input, time, init]) => materialDelay(ctx, "delay1", input!, time!, 1, init),
  delay3: (ctx, [input, time, init]) => materialDelay(ctx, "delay3", input!, time!, 3, init),
  delayn: (ctx, [input, time, n, init]) => {
    const k = stages(ctx, n!, "delayn");
    return k === undefined ? num(0) : materialDelay(ctx, "delayn", input!, time!, k, init);
  },
  delay: (ctx, [input, time, init]) => {
    // A pipeline delay: the input of `time` ago, held in one previous() slot per step of the delay. The delay
    // time is fixed for the run, so it is read once every definition is known.
    const source = input!.op === "slot" ? input!.slot : ctx.aux("delay input", input!);
    const out = ctx.aux("delay out", slot(source));
    ctx.defer(() => {
      const t = ctx.constant(time!);
      if (t === undefined || !(t >= 0)) {
        ctx.fail(
          1,
          "the delay time of delay(…) must be a constant ≥ 0 (numbers, dt, fixed params and vars defined by them); for a delay time that varies, use delay3 or delayn",
        );
        return;
      }
      if (ctx.variableStep) {
        // Its slots hold one value per step, so its length in time follows the step.
        ctx.fail(
          1,
          "delay(…) needs a fixed step, and time.clock.dt makes the step change; use delay3 or delayn",
        );
        return;
      }
      const steps = Math.round(t / ctx.dt);
      if (steps > MAX_PIPELINE_STEPS) {
        ctx.fail(
          1,
          `delay(…) of ${t} time units is ${steps} steps, more than the ${MAX_PIPELINE_STEPS} a pipeline delay may hold — use delayn for long delays`,
        );
        return;
      }
      // Before the first input has come through, the output is the initial value: by default the input's own.
      const start = init ?? slot(source);
      let upstream = source;
      for (let i = 0; i < steps; i++) upstream = ctx.previous(upstream, start);
      ctx.setAux(out, slot(upstream));
    });
    return slot(out);
  },
  trend: (ctx, [input, time, initialTrend]) => trend(ctx, input!, time!, initialTrend),
  forcst: (ctx, [input, time, horizon, initialTrend]) => {
    const source = input!.op === "slot" ? input! : slot(ctx.aux("forcst input", input!));
    return mul(source, add(num(1), mul(trend(ctx, source, time!, initialTrend), horizon!)));
  },
  previous: (ctx, [input, init]) => {
    const source = input!.op === "slot" ? input!.slot : ctx.aux("previous input", input!);
    return slot(ctx.previous(source, init ?? num(0)));
  },
  init: (ctx, [input]) => {
    const source = input!.op === "slot" ? input!.slot : ctx.aux("init input", input!);
    return slot(ctx.init(source));
  },
} satisfies Record<string, Lowering>;

export type StatefulName = keyof typeof LOWERINGS;
