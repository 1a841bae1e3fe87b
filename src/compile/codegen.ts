import { BUILTINS } from "./builtins.js";
import * as F from "./functions.js";
import { type Assignment, type Node, type Program, stageAux } from "./ir.js";
import type { RunFunction } from "./kernel.js";

/**
 * Generate the JavaScript source of a model's run function from its Program. Only the Program is read —
 * never model text — and every identifier and literal below is produced here: slots become `x<N>` locals,
 * numbers go through `lit`, function names come from fixed tables. So a hostile model cannot inject code.
 * The whole run is one function with state in locals: no allocation and no calls per step beyond Math.
 */
export function generateKernelSource(p: Program, options: { pausable?: boolean } = {}): string {
  return new Emitter(p, options.pausable === true).emit();
}

/** Compile the Program to a callable run function. */
export function makeKernel(p: Program): RunFunction {
  const body = generateKernelSource(p);
  // The source is built from the validated Program alone (see generateKernelSource).
  const factory = new Function("F", "tables", body) as (f: typeof F, tables: F.Table[]) => RunFunction;
  return factory(F, p.tables);
}

/**
 * A run function that can pause and resume, for the particle filter: it takes a state array and a step. With
 * state[0] = 0 it starts at time 0; with state[0] = 1 it resumes from the state saved there. It runs until the
 * given step has been evaluated and saved, then saves its state (every local that lives from one step to the
 * next) into `state`, sets state[0] = 1 and returns PAUSED; an outcome or the horizon ends it as `RunFunction`
 * does. The length of `state` is `pausedStateLength(p)`.
 */
export type PausableRunFunction = (
  v: Float64Array,
  out: Float64Array,
  rs: F.RandomStreams,
  result: Float64Array,
  state: Float64Array,
  pauseAt: number,
) => number;

/** What a pausable run returns when it pauses. */
export const PAUSED = -3;

/**
 * Length of a pausable run's state: a flag, every slot, each event's two flags and each previous(x), t, first, k,
 * saved (and a variable clock's step).
 */
export function pausedStateLength(p: Program): number {
  return 1 + p.slots.length + 2 * p.events.length + p.previous.length + 4 + (p.clock ? 1 : 0);
}

/** Compile the Program to a run function that pauses at a given step and resumes from its saved state. */
export function makePausableKernel(p: Program): PausableRunFunction {
  const body = generateKernelSource(p, { pausable: true });
  const factory = new Function("F", "tables", body) as (
    f: typeof F,
    tables: F.Table[],
  ) => PausableRunFunction;
  return factory(F, p.tables);
}

export function lit(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "Infinity";
  if (v === Number.NEGATIVE_INFINITY) return "(-Infinity)";
  if (Object.is(v, -0)) return "(-0)";
  return v < 0 ? `(${String(v)})` : String(v);
}

const CMP: Record<string, string> = { "<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "===", "!=": "!==" };

class Emitter {
  private readonly lines: string[] = [];
  constructor(
    private readonly p: Program,
    private readonly pausable = false,
  ) {}

  /** The locals a pausable run keeps from one step to the next, in the order of its state array. */
  private stateLocals(): string[] {
    const p = this.p;
    return [
      ...p.slots.map((_, i) => this.x(i)),
      ...p.events.flatMap((_, i) => [`fired${i}`, `was${i}`]),
      ...p.previous.map((_, i) => `pending${i}`),
      "t",
      "first",
      "k",
      "saved",
      // A variable clock's step, which a resumed step integrates with.
      ...(p.clock ? ["h"] : []),
    ];
  }

  private x(slot: number): string {
    return `x${slot}`;
  }

  expr(n: Node): string {
    switch (n.op) {
      case "const":
        return lit(n.value);
      case "slot":
        return this.x(n.slot);
      case "time":
        return "t";
      case "first":
        return "first";
      case "neg":
        return `(-${this.expr(n.a)})`;
      case "not":
        return `(${this.expr(n.a)} === 0 ? 1 : 0)`;
      case "bin": {
        const a = this.expr(n.a);
        const b = this.expr(n.b);
        switch (n.fn) {
          case "+":
          case "-":
          case "*":
          case "/":
          case "%":
            return `(${a} ${n.fn} ${b})`;
          case "^":
            return `Math.pow(${a}, ${b})`;
          case "and":
            return `(${a} !== 0 && ${b} !== 0 ? 1 : 0)`;
          case "or":
            return `(${a} !== 0 || ${b} !== 0 ? 1 : 0)`;
          default:
            return `(${a} ${CMP[n.fn]} ${b} ? 1 : 0)`;
        }
      }
      case "if":
        return `(${this.expr(n.c)} !== 0 ? ${this.expr(n.a)} : ${this.expr(n.b)})`;
      case "call": {
        const f = BUILTINS.get(n.fn);
        if (f?.kind !== "pure") throw new Error(`no pure function '${n.fn}'`);
        return `${f.js}(${n.args.map((a) => this.expr(a)).join(", ")})`;
      }
      case "timefn": {
        const f = BUILTINS.get(n.fn);
        if (f?.kind !== "time") throw new Error(`no time function '${n.fn}'`);
        return `F.${f.js}(t, DT, ${n.args.map((a) => this.expr(a)).join(", ")})`;
      }
      case "lookup":
        return `F.lookupFn(T${n.table}, ${this.expr(n.x)})`;
      case "random": {
        const fn = BUILTINS.get(n.fn);
        if (fn?.kind !== "random") throw new Error(`no random function '${n.fn}'`);
        return `F.${fn.js}(rs, ${n.site}, ${n.args.map((a) => this.expr(a)).join(", ")})`;
      }
    }
  }

  private emitAssignments(list: Assignment[], indent: string): void {
    for (const a of list) this.lines.push(`${indent}${this.x(a.slot)} = ${this.expr(a.expr)};`);
  }

  private clamp(slot: number, min: number | undefined, max: number | undefined, indent: string): void {
    const x = this.x(slot);
    if (min !== undefined) this.lines.push(`${indent}if (${x} < ${lit(min)}) ${x} = ${lit(min)};`);
    if (max !== undefined) this.lines.push(`${indent}if (${x} > ${lit(max)}) ${x} = ${lit(max)};`);
  }

  emit(): string {
    const p = this.p;
    const L = this.lines;
    const { time } = p;
    const nTracked = p.tracked.length;
    const allSlots = p.slots.map((_, i) => this.x(i));
    L.push('"use strict";');
    L.push(
      `const DT = ${lit(time.dt)}, START = ${lit(time.start)}, STEPS = ${time.steps}, SAVE = ${time.saveEvery};`,
    );
    p.tables.forEach((_, i) => L.push(`const T${i} = tables[${i}];`));
    L.push(
      this.pausable
        ? "return function run(v, out, rs, result, state, pauseAt) {"
        : "return function run(v, out, rs, result) {",
    );
    if (allSlots.length) L.push(`  let ${allSlots.map((x, i) => `${x} = v[${i}]`).join(", ")};`);
    p.events.forEach((e, i) => {
      L.push(`  let fired${i} = 0;`);
      if (e.trigger === "when" || this.pausable) L.push(`  let was${i} = 0;`);
    });
    p.previous.forEach((_, i) => L.push(`  let pending${i} = 0;`));
    p.stocks.forEach((_, i) => L.push(`  let d${i} = 0;`));
    if (p.method === "rk4") {
      p.stocks.forEach((_, i) => L.push(`  let s${i} = 0, k1_${i} = 0, k2_${i} = 0, k3_${i} = 0;`));
    }
    L.push("  let t = START, first = 1, k = 0, saved = 0;");
    // A variable clock (time.clock): the step h, read from its var every step; time accumulates, as Vensim's does.
    const clock = p.clock;
    if (clock) L.push("  let h = DT;");
    const locals = this.stateLocals();
    if (this.pausable) {
      // Resume from a saved state, or start; a resumed run skips the part of its step done before the pause.
      L.push("  let resumed = state[0] === 1 ? 1 : 0;");
      L.push(`  if (resumed === 1) { ${locals.map((x, i) => `${x} = state[${i + 1}];`).join(" ")} }`);
      L.push("  else {");
    }
    L.push("  // Initial values, in dependency order.");
    this.emitAssignments(p.initOrder, "  ");
    if (this.pausable) L.push("  }");
    L.push("  for (;;) {");
    if (this.pausable) L.push("    if (resumed === 0) {");
    if (!clock) L.push("    t = START + k * DT;");
    this.emitAssignments(p.auxOrder, "    ");
    if (clock?.dt !== undefined) L.push(`    h = ${this.x(clock.dt)};`);
    L.push("    first = 0;");
    if (allSlots.length) {
      // One sum finds any NaN or infinity among all values (Inf − Inf is NaN too); the slow path says which.
      L.push(`    const check = ${allSlots.join(" + ")};`);
      L.push("    if (check - check !== 0) { result[0] = t; result[1] = saved; result[2] = k; return -2; }");
    }
    // With a save every step the modulo is dropped from the hot loop.
    if (clock) {
      // Without a save var or time.save, every step saves (as docs/model-format.md says).
      const per =
        clock.save !== undefined
          ? this.x(clock.save)
          : clock.savePeriod !== undefined
            ? lit(clock.savePeriod)
            : undefined;
      L.push(per === undefined ? "    {" : `    if (F.saveDue(t - START, ${per}, h)) {`);
    } else L.push(time.saveEvery === 1 ? "    {" : "    if (k % SAVE === 0) {");
    if (nTracked) {
      L.push(`      const o = saved * ${nTracked};`);
      p.tracked.forEach((tr, j) => L.push(`      out[o + ${j}] = ${this.x(tr.slot)};`));
    }
    L.push("      saved++;");
    L.push("    }");
    p.outcomes.forEach((o, i) => {
      if (o.trigger === "when") {
        L.push(
          `    if (${this.expr(o.expr)} !== 0) { result[0] = t; result[1] = saved; result[2] = k; return ${i}; }`,
        );
      }
    });
    if (this.pausable) {
      // Pause after the step's values are saved; a run paused at the horizon ends when resumed.
      L.push(
        `    if (k === pauseAt) { ${locals.map((x, i) => `state[${i + 1}] = ${x};`).join(" ")} state[0] = 1; result[0] = t; result[1] = saved; result[2] = k; return ${PAUSED}; }`,
      );
      L.push("    }");
      L.push("    resumed = 0;");
    }
    if (clock) {
      // The stop is read every step; STEPS (the clock walked once by the compiler) only guards the buffers.
      const stop = clock.stop !== undefined ? this.x(clock.stop) : lit(clock.stopTime);
      L.push(`    if (t >= ${stop} - ${lit(1e-9)} * h || k === STEPS) break;`);
    } else L.push("    if (k === STEPS) break;");
    const DT = clock ? "h" : "DT";
    p.outcomes.forEach((o, i) => {
      if (o.trigger === "rate") {
        L.push("    {");
        L.push(`      const r = ${this.expr(o.expr)};`);
        L.push(
          "      if (!(r >= 0) || r === Infinity) { result[0] = t; result[1] = saved; result[2] = k; return -2; }",
        );
        L.push(
          `      if (rs.uniform(${o.site}) < F.hazardProbability(r, ${DT})) { result[0] = t + ${DT}; result[1] = saved; result[2] = k; return ${i}; }`,
        );
        L.push("    }");
      }
    });
    p.events.forEach((e, i) => {
      if (e.trigger === "when") {
        L.push(
          `    { const c = ${this.expr(e.expr)} !== 0 ? 1 : 0; fired${i} = c === 1 && was${i} === 0 ? 1 : 0; was${i} = c; }`,
        );
      } else {
        L.push("    {");
        L.push(`      const r = ${this.expr(e.expr)};`);
        L.push(
          "      if (!(r >= 0) || r === Infinity) { result[0] = t; result[1] = saved; result[2] = k; return -2; }",
        );
        L.push(`      fired${i} = F.eventFirings(r, ${DT}, rs, ${e.site});`);
        L.push("    }");
      }
    });
    p.previous.forEach((pr, i) => L.push(`    pending${i} = ${this.x(pr.source)};`));
    this.emitIntegration();
    p.events.forEach((e, i) => {
      if (!e.assigns.length) return;
      // A repeating event's `then` is applied once per firing; each firing's assignments are simultaneous.
      L.push(`    for (let f = fired${i}; f > 0; f--) {`);
      e.assigns.forEach((a, j) => L.push(`      const a${j} = ${this.expr(a.expr)};`));
      e.assigns.forEach((a, j) => L.push(`      ${this.x(a.slot)} = a${j};`));
      for (const a of e.assigns) {
        const stock = p.stocks.find((s) => s.slot === a.slot);
        if (stock) this.clamp(stock.slot, stock.min, stock.max, "      ");
      }
      L.push("    }");
    });
    p.previous.forEach((pr, i) => L.push(`    ${this.x(pr.slot)} = pending${i};`));
    L.push(clock ? "    k++; t += h;" : "    k++;");
    L.push("  }");
    L.push("  result[0] = t; result[1] = saved; result[2] = k;");
    L.push("  return -1;");
    L.push("};");
    return L.join("\n");
  }

  private emitIntegration(): void {
    const p = this.p;
    const L = this.lines;
    const stocks = p.stocks;
    if (!stocks.length) return;
    stocks.forEach((s, i) => L.push(`    d${i} = ${this.expr(s.rate)};`));
    const clocked = p.clock !== undefined;
    const DT = clocked ? "h" : "DT";
    if (p.method === "euler") {
      stocks.forEach((s, i) => L.push(`    ${this.x(s.slot)} += ${DT} * d${i};`));
    } else {
      // Classic RK4: three more evaluations of every auxiliary at the stage states, then the weighted step.
      const stage = (k: string, scale: string, dtFrac: string) => {
        stocks.forEach((s, i) =>
          L.push(`    ${k}_${i} = d${i}; ${this.x(s.slot)} = s${i} + ${scale} * d${i};`),
        );
        L.push(clocked ? `    t = t0 + ${dtFrac};` : `    t = START + k * DT + ${dtFrac};`);
        this.emitAssignments(stageAux(this.p), "    ");
        stocks.forEach((s, i) => L.push(`    d${i} = ${this.expr(s.rate)};`));
      };
      stocks.forEach((s, i) => L.push(`    s${i} = ${this.x(s.slot)};`));
      if (clocked) L.push("    const t0 = t;");
      stage("k1", `${DT} / 2`, `${DT} / 2`);
      stage("k2", `${DT} / 2`, `${DT} / 2`);
      stage("k3", DT, DT);
      stocks.forEach((s, i) =>
        L.push(`    ${this.x(s.slot)} = s${i} + ${DT} / 6 * (k1_${i} + 2 * k2_${i} + 2 * k3_${i} + d${i});`),
      );
      L.push(clocked ? "    t = t0;" : "    t = START + k * DT;");
    }
    for (const s of stocks) this.clamp(s.slot, s.min, s.max, "    ");
  }
}
