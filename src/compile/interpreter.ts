import { BUILTINS, domainError } from "./builtins.js";
import * as F from "./functions.js";
import { type Assignment, applyBinary, type Node, type Program, slotsRead, stageAux } from "./ir.js";
import { CENSORED, NUMERIC_FAILURE } from "./kernel.js";

/** Where and why a run produced a NaN, an infinity or a negative hazard. */
export interface NumericFault {
  /** The slot whose value went bad, or the event/outcome whose hazard did. */
  slot?: number;
  trigger?: { section: "events" | "outcomes"; name: string };
  value: number;
  time: number;
  step: number;
  /** The values this definition read at that moment. */
  inputs: { slot: number; value: number }[];
  /** Why, when a builtin was called outside its domain: "normal(mean, sd): sd must be ≥ 0 (here …)". */
  reason?: string;
}

class Fault extends Error {
  constructor(readonly fault: NumericFault) {
    super("numeric fault");
  }
}

/**
 * The reference interpreter: the same step semantics as the generated kernel (see docs/semantics.md),
 * written plainly over the Program's node trees. It is the oracle the kernel is tested against, and the
 * slow path that names the culprit when a compiled run reports a numeric failure.
 */
export class Interpreter {
  private v: Float64Array;
  private t = 0;
  private first = 1;
  private k = 0;
  /** The step being taken: time.dt, or a variable clock's (time.clock.dt) value at this step. */
  private h = 0;
  /** The first out-of-domain random call of the expression being evaluated. */
  private domainError: string | undefined;

  constructor(
    private readonly p: Program,
    private readonly rs: F.RandomStreams,
  ) {
    this.v = new Float64Array(p.slots.length);
  }

  /** Run once; same contract as a compiled RunFunction, plus `fault` set on a numeric failure. */
  run(
    params: Float64Array,
    out: Float64Array,
    result: Float64Array,
  ): { status: number; fault?: NumericFault } {
    try {
      return { status: this.runInner(params, out, result) };
    } catch (e) {
      if (!(e instanceof Fault)) throw e;
      result[0] = e.fault.time;
      result[2] = e.fault.step;
      return { status: NUMERIC_FAILURE, fault: e.fault };
    }
  }

  private runInner(params: Float64Array, out: Float64Array, result: Float64Array): number {
    const p = this.p;
    const v = this.v;
    v.set(params.subarray(0, v.length));
    for (let i = 0; i < v.length; i++) this.checkSlot(i, undefined);
    const { start, steps, saveEvery } = p.time;
    const clock = p.clock;
    const fired = new Float64Array(p.events.length);
    const was = new Uint8Array(p.events.length);
    const pending = new Float64Array(p.previous.length);
    this.t = start;
    this.h = p.time.dt;
    this.first = 1;
    this.k = 0;
    this.assign(p.initOrder);
    let saved = 0;
    for (let k = 0; ; k++) {
      this.k = k;
      // A variable clock's time accumulates its steps (see clock.ts); a fixed one is start + k·dt.
      if (!clock) this.t = start + k * this.h;
      this.assign(p.auxOrder);
      this.first = 0;
      for (let i = 0; i < v.length; i++) this.checkSlot(i, undefined);
      if (clock?.dt !== undefined) this.h = v[clock.dt]!;
      const dt = this.h;
      const saves = clock
        ? clock.save === undefined && clock.savePeriod === undefined
          ? true
          : F.saveDue(this.t - start, clock.save !== undefined ? v[clock.save]! : clock.savePeriod!, dt)
        : k % saveEvery === 0;
      if (saves) {
        p.tracked.forEach((tr, j) => {
          out[saved * p.tracked.length + j] = v[tr.slot]!;
        });
        saved++;
      }
      const end = (time: number, status: number) => {
        result[0] = time;
        result[1] = saved;
        result[2] = k;
        return status;
      };
      for (let i = 0; i < p.outcomes.length; i++) {
        const o = p.outcomes[i]!;
        if (o.trigger === "when" && this.eval(o.expr) !== 0) return end(this.t, i);
      }
      if (clock) {
        const stop = clock.stop !== undefined ? v[clock.stop]! : clock.stopTime;
        if (this.t >= stop - 1e-9 * dt || k === steps) return end(this.t, CENSORED);
      } else if (k === steps) return end(this.t, CENSORED);
      for (let i = 0; i < p.outcomes.length; i++) {
        const o = p.outcomes[i]!;
        if (o.trigger !== "rate") continue;
        const r = this.hazard(o.expr, { section: "outcomes", name: o.name });
        if (this.rs.uniform(o.site) < F.hazardProbability(r, dt)) return end(this.t + dt, i);
      }
      p.events.forEach((e, i) => {
        if (e.trigger === "when") {
          const c = this.eval(e.expr) !== 0 ? 1 : 0;
          fired[i] = c === 1 && was[i] === 0 ? 1 : 0;
          was[i] = c;
        } else {
          const r = this.hazard(e.expr, { section: "events", name: e.name });
          fired[i] = F.eventFirings(r, dt, this.rs, e.site);
        }
      });
      p.previous.forEach((pr, i) => {
        pending[i] = v[pr.source]!;
      });
      this.integrate();
      p.events.forEach((e, i) => {
        for (let n = fired[i]!; n > 0; n--) {
          const values = e.assigns.map((a) => this.eval(a.expr));
          e.assigns.forEach((a, j) => {
            v[a.slot] = values[j]!;
            const stock = p.stocks.find((s) => s.slot === a.slot);
            if (stock) this.clampStock(stock.slot, stock.min, stock.max);
          });
        }
      });
      p.previous.forEach((pr, i) => {
        v[pr.slot] = pending[i]!;
      });
      if (clock) this.t += dt;
    }
  }

  private hazard(expr: Node, trigger: NumericFault["trigger"]): number {
    this.domainError = undefined;
    const r = this.eval(expr);
    if (!(r >= 0) || r === Number.POSITIVE_INFINITY) {
      const reason = this.domainError;
      throw new Fault({
        trigger,
        value: r,
        time: this.t,
        step: this.k,
        inputs: this.inputsOf(expr),
        ...(reason ? { reason } : {}),
      });
    }
    return r;
  }

  private integrate(): void {
    const p = this.p;
    const v = this.v;
    const stocks = p.stocks;
    if (!stocks.length) return;
    const dt = this.h;
    const d = stocks.map((s) => this.eval(s.rate));
    if (p.method === "euler") {
      stocks.forEach((s, i) => {
        v[s.slot] = v[s.slot]! + dt * d[i]!;
      });
    } else {
      const s0 = stocks.map((s) => v[s.slot]!);
      const stageAux = this.stageAux();
      const base = p.clock ? this.t : p.time.start + this.k * dt;
      const ks: number[][] = [d];
      const stage = (prev: number[], scale: number, tOffset: number): number[] => {
        stocks.forEach((s, i) => {
          v[s.slot] = s0[i]! + scale * prev[i]!;
        });
        this.t = base + tOffset;
        this.assign(stageAux);
        return stocks.map((s) => this.eval(s.rate));
      };
      ks.push(stage(ks[0]!, dt / 2, dt / 2));
      ks.push(stage(ks[1]!, dt / 2, dt / 2));
      ks.push(stage(ks[2]!, dt, dt));
      stocks.forEach((s, i) => {
        v[s.slot] = s0[i]! + (dt / 6) * (ks[0]![i]! + 2 * ks[1]![i]! + 2 * ks[2]![i]! + ks[3]![i]!);
      });
      this.t = base;
    }
    for (const s of stocks) this.clampStock(s.slot, s.min, s.max);
  }

  private clampStock(slot: number, min: number | undefined, max: number | undefined): void {
    const v = this.v;
    if (min !== undefined && v[slot]! < min) v[slot] = min;
    if (max !== undefined && v[slot]! > max) v[slot] = max;
  }

  private stageAuxCache?: Assignment[];
  private stageAux(): Assignment[] {
    this.stageAuxCache ??= stageAux(this.p);
    return this.stageAuxCache;
  }

  private assign(list: Assignment[]): void {
    for (const a of list) {
      this.domainError = undefined;
      this.v[a.slot] = this.eval(a.expr);
      this.checkSlot(a.slot, a.expr);
    }
  }

  private checkSlot(slot: number, expr: Node | undefined): void {
    const x = this.v[slot]!;
    if (x - x !== 0) {
      const reason = expr ? this.domainError : undefined;
      throw new Fault({
        slot,
        value: x,
        time: this.t,
        step: this.k,
        inputs: expr ? this.inputsOf(expr) : [],
        ...(reason ? { reason } : {}),
      });
    }
  }

  private inputsOf(expr: Node): NumericFault["inputs"] {
    return [...slotsRead(expr)].map((slot) => ({ slot, value: this.v[slot]! }));
  }

  eval(n: Node): number {
    switch (n.op) {
      case "const":
        return n.value;
      case "slot":
        return this.v[n.slot]!;
      case "time":
        return this.t;
      case "first":
        return this.first;
      case "neg":
        return -this.eval(n.a);
      case "not":
        return this.eval(n.a) === 0 ? 1 : 0;
      case "bin": {
        if (n.fn === "and") return this.eval(n.a) !== 0 && this.eval(n.b) !== 0 ? 1 : 0;
        if (n.fn === "or") return this.eval(n.a) !== 0 || this.eval(n.b) !== 0 ? 1 : 0;
        return applyBinary(n.fn, this.eval(n.a), this.eval(n.b));
      }
      case "if":
        return this.eval(n.c) !== 0 ? this.eval(n.a) : this.eval(n.b);
      case "call": {
        const f = BUILTINS.get(n.fn);
        if (f?.kind !== "pure") throw new Error(`no pure function '${n.fn}'`);
        return f.fn(...n.args.map((a) => this.eval(a)));
      }
      case "timefn": {
        const f = BUILTINS.get(n.fn);
        if (f?.kind !== "time") throw new Error(`no time function '${n.fn}'`);
        return f.fn(this.t, this.p.time.dt, ...n.args.map((a) => this.eval(a)));
      }
      case "lookup":
        return F.lookupFn(this.p.tables[n.table]!, this.eval(n.x));
      case "random": {
        const f = BUILTINS.get(n.fn);
        if (f?.kind !== "random") throw new Error(`no random function '${n.fn}'`);
        const args = n.args.map((a) => this.eval(a));
        // Bad arguments make the draw NaN; say why, for the fault of the slot that reads it.
        this.domainError ??= domainError(f, args);
        return f.fn(this.rs, n.site, ...args);
      }
    }
    throw new Error("unreachable");
  }
}
