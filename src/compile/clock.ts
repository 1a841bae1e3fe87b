import { type Diagnostic, DiagnosticError } from "../lang/diagnostic.js";
import { type ClockSchedule, MAX_STEPS, type ResolvedTime } from "../model/load.js";
import type { ModelSource } from "../model/source.js";
import { BUILTINS } from "./builtins.js";
import * as F from "./functions.js";
import { applyBinary, type Node, type Program, slotsRead, visitNodes } from "./ir.js";

/**
 * A variable clock (`time.clock`): the vars that give the step, the saving period and the stop, read by both
 * backends every step. The step from t to t + dt uses dt's value at t; values are saved at t when t − start is a
 * multiple of the saving period's value at t; the run ends at the first step whose time reaches the stop's value
 * at that time (PySD's rules for Vensim's TIME STEP, SAVEPER and FINAL TIME).
 *
 * Summaries, claims and reports line runs up by step and save index, so the clock must be the same in every
 * run: its vars may read time, constants, fixed params and vars made of those — no stock, random draw or
 * sampled param. The compiler checks that and walks the clock once, here, to know every step's time.
 */
export interface ClockSlots {
  dt?: number;
  save?: number;
  stop?: number;
  /** Without a save var: the fixed saving period (`time.save`), or absent to save every step. */
  savePeriod?: number;
  /** Without a stop var: the time the run ends at (`time.stop`). */
  stopTime: number;
}

/**
 * The most steps a variable clock may take. The walk keeps every step's time (outcome times, incidence and claims
 * find times by step index), 8 bytes a step, and evaluates the clock's vars once a step in the compiler's own
 * evaluator; a fixed clock computes start + k·dt and needs neither, so it keeps the larger MAX_STEPS. At
 * 19 million steps the walk took 6-58 s and up to 830 MB for `brink check`; at this limit it stays near a second.
 */
export const CLOCK_MAX_STEPS = 1_000_000;

/** How close to the stop counts as reaching it, in steps (saveDue uses the same). */
export const CLOCK_EPS = 1e-9;

const KEYS = ["dt", "save", "stop"] as const;

/** Resolve `time.clock`, check that it is the same in every run, and fix its schedule into the program's time. */
export function planClock(
  p: Program,
  source: ModelSource,
  uses: { observations: boolean; warroom: boolean },
): Program {
  const names = p.time.clock;
  if (!names) return p;
  const problems: Diagnostic[] = [];
  const at = (key: string, message: string) => problems.push(source.at(["time", "clock", key], message));
  // Calibration and backtests place observations, and the war room its monthly turns, on a fixed step grid.
  const fixedGrid = uses.observations
    ? "observations (calibration)"
    : uses.warroom
      ? "a war room"
      : undefined;
  if (fixedGrid)
    throw new DiagnosticError([
      source.atKey(
        ["time", "clock"],
        `time.clock is not supported yet in a model with ${fixedGrid}, which needs a fixed step`,
      ),
    ]);
  const { dt, saveEvery, stop } = p.time;
  // time.save is a fixed saving period when it is more than one step; else the clock saves every step.
  const slots: ClockSlots = {
    stopTime: stop,
    ...(names.save === undefined && saveEvery > 1 ? { savePeriod: saveEvery * dt } : {}),
  };
  for (const key of KEYS) {
    const name = names[key];
    if (name === undefined) continue;
    const slot = p.slots.findIndex((s) => s.name === name && (s.kind === "var" || s.kind === "flow"));
    if (slot < 0) at(key, `time.clock.${key}: '${name}' is not a var of this model`);
    else slots[key] = slot;
  }
  if (problems.length) throw new DiagnosticError(problems);

  // The auxiliaries the clock reads, directly or not, in evaluation order.
  const needed = new Set(KEYS.flatMap((key) => (slots[key] === undefined ? [] : [slots[key]])));
  for (let i = p.auxOrder.length - 1; i >= 0; i--) {
    const a = p.auxOrder[i]!;
    if (needed.has(a.slot)) for (const s of slotsRead(a.expr)) needed.add(s);
  }
  const closure = p.auxOrder.filter((a) => needed.has(a.slot));
  // A param an event sets is not fixed: the walk below would not see it change (and a rate event changes it by run).
  const setByEvent = new Set(p.events.flatMap((e) => e.assigns.map((a) => a.slot)));
  const fixed = new Map(
    p.params.filter((q) => q.dist.kind === "fixed" && !setByEvent.has(q.slot)).map((q) => [q.slot, q]),
  );
  const computed = new Set(closure.map((a) => a.slot));
  for (const key of KEYS) {
    const slot = slots[key];
    if (slot === undefined) continue;
    const reason = runDependence(p, slot, closure, computed, fixed, setByEvent);
    if (reason)
      at(
        key,
        `time.clock.${key}: '${names[key]}' ${reason}, but the clock must be the same in every run: it may read only time, constants, fixed params and vars made of them`,
      );
  }
  if (problems.length) throw new DiagnosticError(problems);

  const schedule = walkClock(p, slots, closure, (key, message) => {
    at(key, message);
    throw new DiagnosticError(problems);
  });
  const steps = schedule.times.length - 1;
  const time: ResolvedTime = {
    ...p.time,
    stop: schedule.times[steps]!,
    steps,
    saveEvery: 1,
    clock: { ...names, schedule },
  };
  return { ...p, time, clock: slots };
}

/** Why the clock var in `slot` may differ between runs, or undefined when it cannot. */
function runDependence(
  p: Program,
  slot: number,
  closure: Program["auxOrder"],
  computed: Set<number>,
  fixed: Map<number, unknown>,
  setByEvent: Set<number>,
): string | undefined {
  const own = new Set([slot]);
  for (let i = closure.length - 1; i >= 0; i--) {
    const a = closure[i]!;
    if (own.has(a.slot)) for (const s of slotsRead(a.expr)) own.add(s);
  }
  for (const a of closure) {
    if (!own.has(a.slot)) continue;
    let why: string | undefined;
    visitNodes(a.expr, (n) => {
      if (why) return;
      if (n.op === "random") why = `draws ${n.fn}(…) at random`;
      else if (n.op === "first") why = "keeps a value from the first step";
    });
    if (why) return a.slot === slot ? why : `reads '${p.slots[a.slot]!.name}', which ${why}`;
  }
  for (const s of own) {
    if (computed.has(s) || fixed.has(s)) continue;
    const info = p.slots[s]!;
    if (setByEvent.has(s)) return `depends on '${info.name}', which an event sets`;
    const what =
      info.kind === "param"
        ? "the sampled param"
        : info.kind === "stock"
          ? "the stock"
          : info.kind === "hidden-stock" || info.kind === "previous" || info.kind === "init"
            ? "the state of"
            : "";
    return `depends on ${what} '${info.name}'`;
  }
  return undefined;
}

/** Walk the clock from the start to its stop: every step's time and the steps that save. */
function walkClock(
  p: Program,
  slots: ClockSlots,
  closure: Program["auxOrder"],
  fail: (key: string, message: string) => never,
): ClockSchedule {
  const { start, dt } = p.time;
  const v = new Float64Array(p.slots.length);
  for (const q of p.params) if (q.dist.kind === "fixed") v[q.slot] = q.dist.value;
  const times: number[] = [];
  const saveSteps: number[] = [];
  let t = start;
  for (let k = 0; ; k++) {
    for (const a of closure) v[a.slot] = evaluate(p, a.expr, v, t);
    const h = slots.dt !== undefined ? v[slots.dt]! : dt;
    // Without a save var or time.save the clock saves every step (a period of h would drift off t's sum of steps).
    const per = slots.save !== undefined ? v[slots.save]! : slots.savePeriod;
    const end = slots.stop !== undefined ? v[slots.stop]! : slots.stopTime;
    if (!(h > 0 && h < Number.POSITIVE_INFINITY))
      fail(
        slots.dt !== undefined ? "dt" : "save",
        `the step is ${h} at time ${t}; it must be a positive number`,
      );
    if (per !== undefined && !(per > 0 && per < Number.POSITIVE_INFINITY))
      fail("save", `the saving period is ${per} at time ${t}; it must be a positive number`);
    if (Number.isNaN(end)) fail("stop", `the stop is NaN at time ${t}`);
    times.push(t);
    if (per === undefined || F.saveDue(t - start, per, h)) saveSteps.push(k);
    if (t >= end - CLOCK_EPS * h) break;
    if (k === CLOCK_MAX_STEPS)
      fail(
        slots.stop !== undefined ? "stop" : "dt",
        `the clock takes more than ${CLOCK_MAX_STEPS.toLocaleString("en")} steps to reach its stop (at time ${t} of ${end}, the step is ${h}); a clock that changes during the run keeps every step's time, so its limit is ${CLOCK_MAX_STEPS.toLocaleString("en")} steps (a fixed clock's is ${MAX_STEPS.toLocaleString("en")})`,
      );
    t += h;
  }
  return { times, saveSteps };
}

/** The value of a clock expression at time t (nodes of time, constants and slots; the kernel's arithmetic). */
function evaluate(p: Program, n: Node, v: Float64Array, t: number): number {
  const ev = (m: Node) => evaluate(p, m, v, t);
  switch (n.op) {
    case "const":
      return n.value;
    case "slot":
      return v[n.slot]!;
    case "time":
      return t;
    case "neg":
      return -ev(n.a);
    case "not":
      return ev(n.a) === 0 ? 1 : 0;
    case "bin":
      if (n.fn === "and") return ev(n.a) !== 0 && ev(n.b) !== 0 ? 1 : 0;
      if (n.fn === "or") return ev(n.a) !== 0 || ev(n.b) !== 0 ? 1 : 0;
      return applyBinary(n.fn, ev(n.a), ev(n.b));
    case "if":
      return ev(n.c) !== 0 ? ev(n.a) : ev(n.b);
    case "call": {
      const f = BUILTINS.get(n.fn);
      if (f?.kind !== "pure") throw new Error(`no pure function '${n.fn}'`);
      return f.fn(...n.args.map(ev));
    }
    case "timefn": {
      const f = BUILTINS.get(n.fn);
      if (f?.kind !== "time") throw new Error(`no time function '${n.fn}'`);
      return f.fn(t, p.time.dt, ...n.args.map(ev));
    }
    case "lookup":
      return F.lookupFn(p.tables[n.table]!, ev(n.x));
    default:
      // Random draws and `first` are refused before the walk.
      throw new Error(`a clock cannot evaluate '${n.op}'`);
  }
}
