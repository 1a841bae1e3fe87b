import { makePausableKernel, type PausableRunFunction, pausedStateLength } from "../compile/codegen.js";
import { Interpreter, type NumericFault } from "../compile/interpreter.js";
import type { Program } from "../compile/ir.js";
import { NUMERIC_FAILURE, type RunFunction } from "../compile/kernel.js";
import { type Diagnostic, DiagnosticError } from "../lang/diagnostic.js";
import { saveTotal } from "../model/load.js";
import type { ModelSource } from "../model/source.js";
import { modelTimeToDate } from "../model/time.js";
import { quantile } from "./distributions.js";
import { permuteIndex } from "./lhs.js";
import type { PreparedModel } from "./prepare.js";
import { hashName, hashUniform, mix32, SiteStreams } from "./rng.js";

/** How params are drawn: independently per run, or as a Latin hypercube over `runs` runs. */
export type Sampling = { kind: "random" } | { kind: "lhs"; runs: number };

/**
 * Param values given by run instead of drawn (a calibration's posterior draws): run r takes row r mod the
 * number of rows, for the named params; the others are drawn as usual.
 */
export interface ParamRows {
  params: string[];
  /** Row-major: values[row · params.length + i] is param i in that row. */
  values: number[];
  /**
   * Start states by row (`brink run --from`, from a posterior's filtered state): run r resumes from state row
   * r mod rows — a paused run's whole state (`width` = pausedStateLength − 1 numbers, the pausable kernel's
   * order) — instead of starting at time 0. Rows pair with the param rows, which must be as many.
   */
  states?: { width: number; values: number[] };
}

/** A run that produced a NaN, an infinity or a negative hazard: its diagnostic, and which run it was. */
export class RunFailure extends DiagnosticError {
  constructor(
    readonly run: number,
    diagnostic: Diagnostic,
  ) {
    super([diagnostic]);
  }
}

/** What one run ended with. Saved values stay in the runner's `saved` buffer until the next run. */
export interface RunEnd {
  /** Index of the outcome that ended the run, or -1 when it reached the horizon (censored). */
  outcome: number;
  /** Model time at which the run ended. */
  time: number;
  /** Step index of the end time (0 … steps), the bin for exact outcome-time counts. */
  timeIndex: number;
  /** Number of save times written. */
  saves: number;
}

/**
 * Executes runs of one prepared model for one seed, reusing its buffers: a run allocates nothing.
 * `backend: "interpreter"` runs the reference interpreter instead of the compiled kernel.
 */
export class Runner {
  readonly program: Program;
  readonly saved: Float64Array;
  readonly saveCount: number;
  private readonly values: Float64Array;
  private readonly result = new Float64Array(3);
  private readonly streams: SiteStreams;
  private readonly paramKeys: Uint32Array;
  private readonly kernel: RunFunction;
  private readonly interpreter?: Interpreter;
  private readonly rowSlots?: Int32Array;
  /** With start states: the pausable kernel that resumes from them, and the state it resumes from. */
  private readonly resume?: { kernel: PausableRunFunction; state: Float64Array; width: number };

  constructor(
    private readonly model: PreparedModel,
    readonly seed: number,
    backend: "kernel" | "interpreter" = "kernel",
    readonly sampling: Sampling = { kind: "random" },
    private readonly rows?: ParamRows,
  ) {
    const p = model.program;
    this.program = p;
    this.saveCount = saveTotal(p.time);
    this.saved = new Float64Array(this.saveCount * p.tracked.length);
    this.values = new Float64Array(p.slots.length);
    this.streams = new SiteStreams(p.randomSites);
    this.paramKeys = Uint32Array.from(p.params.map((q) => hashName(`param:${q.name}`)));
    this.kernel = model.kernel;
    if (backend === "interpreter") this.interpreter = new Interpreter(p, this.streams);
    // A row's param that this model (or scenario) lacks is ignored.
    if (rows)
      this.rowSlots = Int32Array.from(rows.params, (n) => p.params.find((q) => q.name === n)?.slot ?? -1);
    if (rows?.states) {
      const width = pausedStateLength(p) - 1;
      if (rows.states.width !== width || backend === "interpreter")
        throw new Error(`start states of ${rows.states.width} numbers do not fit this model's ${width}`);
      this.resume = { kernel: makePausableKernel(p), state: new Float64Array(width + 1), width };
    }
  }

  /**
   * The uniform behind param i in run `run`. Random sampling hashes (seed, run, param name); a Latin
   * hypercube of n runs uses (π_i(run) + v)/n, π_i a keyed shuffle of the n strata and v uniform within one.
   */
  paramUniform(run: number, i: number): number {
    const key = this.paramKeys[i]!;
    if (this.sampling.kind === "random") return hashUniform(this.seed, run, key);
    const n = this.sampling.runs;
    if (run >= n) throw new RangeError(`run ${run} is outside the Latin hypercube of ${n} runs`);
    const shuffle = mix32(key ^ mix32(this.seed >>> 0) ^ Math.floor(this.seed / 4294967296));
    return (permuteIndex(run, n, shuffle) + hashUniform(this.seed, run, key, 1)) / n;
  }

  /** Draw run `run`'s params into the value array, each by inverse transform of its own uniform. */
  sampleParams(run: number, into: Float64Array = this.values): Float64Array {
    into.fill(0);
    const params = this.program.params;
    for (let i = 0; i < params.length; i++) {
      const q = params[i]!;
      into[q.slot] = q.dist.kind === "fixed" ? q.dist.value : quantile(q.dist, this.paramUniform(run, i));
    }
    if (this.rows && this.rowSlots) {
      const width = this.rowSlots.length;
      const row = run % (this.rows.values.length / width);
      for (let i = 0; i < width; i++)
        if (this.rowSlots[i]! >= 0) into[this.rowSlots[i]!] = this.rows.values[row * width + i]!;
    }
    return into;
  }

  /**
   * Run `run` with params set from given uniforms (one per param, in declaration order; fixed params keep their
   * value), as sensitivity designs need. Random streams are those of run `run`.
   */
  runWithUniforms(run: number, uniforms: ArrayLike<number>): RunEnd {
    const params = this.program.params;
    this.values.fill(0);
    for (let i = 0; i < params.length; i++) {
      const q = params[i]!;
      this.values[q.slot] =
        q.dist.kind === "fixed"
          ? q.dist.value
          : quantile(q.dist, Math.min(1 - 1e-12, Math.max(1e-12, uniforms[i]!)));
    }
    return this.execute(run);
  }

  /** The value param i took in the last run (the kernel only reads the value array, so it is still there). */
  paramValue(i: number): number {
    return this.values[this.program.params[i]!.slot]!;
  }

  run(run: number): RunEnd {
    this.sampleParams(run);
    return this.execute(run);
  }

  /**
   * Run with run `paramsRun`'s params but the given random streams, positioned by the caller (a branch of a
   * history, a counting replay). Compiled kernel only.
   */
  runWithStreams(paramsRun: number, streams: SiteStreams): RunEnd {
    this.sampleParams(paramsRun);
    return this.finish(this.kernel(this.values, this.saved, streams, this.result), paramsRun);
  }

  private execute(run: number): RunEnd {
    this.streams.reset(this.seed, run);
    let status: number;
    if (this.resume) status = this.resumeRun(run);
    else if (this.interpreter) status = this.interpreter.run(this.values, this.saved, this.result).status;
    else status = this.kernel(this.values, this.saved, this.streams, this.result);
    return this.finish(status, run);
  }

  /**
   * Run `run` on from its start state. The saves before the start hold the start's values: a restarted run
   * has no past of its own (`brink run --from` reports from the start on).
   */
  private resumeRun(run: number): number {
    const { kernel, state, width } = this.resume!;
    const values = this.rows!.states!.values;
    const row = run % (values.length / width);
    state[0] = 1;
    for (let i = 0; i < width; i++) state[i + 1] = values[row * width + i]!;
    const savedBefore = state[width]!;
    const tracked = this.program.tracked;
    const nT = tracked.length;
    for (let s = 0; s < savedBefore; s++)
      for (let j = 0; j < nT; j++) this.saved[s * nT + j] = state[1 + tracked[j]!.slot]!;
    return kernel(this.values, this.saved, this.streams, this.result, state, -1);
  }

  private finish(status: number, run: number): RunEnd {
    if (status === NUMERIC_FAILURE) throw new RunFailure(run, this.diagnose(run));
    const { start, dt, clock } = this.program.time;
    const time = this.result[0]!;
    // A variable clock's step index is the kernel's (one more when a rate outcome ended the run a step later).
    const timeIndex = clock?.schedule
      ? this.result[2]! + (time > clock.schedule.times[this.result[2]!]! ? 1 : 0)
      : Math.round((time - start) / dt);
    return { outcome: status, time, timeIndex, saves: this.result[1]! };
  }

  /** Re-run `run` in the interpreter to find which value went bad, and say so at its definition. */
  diagnose(run: number): Diagnostic {
    const p = this.program;
    if (this.resume) {
      // The interpreter starts at time 0, so it cannot retrace a restarted run: say where it failed.
      return {
        file: this.model.loaded.source.file,
        line: 1,
        col: 1,
        message: `a run restarted from a posterior's state produced a NaN, an infinity or a negative hazard at time ${formatTime(this.model, this.result[0]!)} (run ${run}, seed ${this.seed})`,
      };
    }
    const streams = new SiteStreams(p.randomSites);
    streams.reset(this.seed, run);
    // The kernel only reads the value array, so it still holds this run's params (sampled or given).
    const values = Float64Array.from(this.values);
    const interpreter = new Interpreter(p, streams);
    const out = new Float64Array(this.saved.length);
    const { fault } = interpreter.run(values, out, new Float64Array(3));
    const where = `at time ${formatTime(this.model, fault?.time ?? 0)} (run ${run}, seed ${this.seed})`;
    if (!fault) {
      // The kernel and the interpreter disagree: a bug in Brink, not in the model.
      return {
        file: this.model.loaded.source.file,
        line: 1,
        col: 1,
        message: `internal error: the compiled run failed ${where} but the reference interpreter did not`,
      };
    }
    return faultDiagnostic(this.model.loaded.source, p, fault, where);
  }
}

export function formatTime(model: PreparedModel, t: number): string {
  const { origin, unit } = model.loaded.time;
  const n = String(Number(t.toPrecision(10)));
  return origin !== undefined && unit !== undefined ? `${n} (${modelTimeToDate(t, origin, unit)})` : n;
}

function faultDiagnostic(source: ModelSource, p: Program, fault: NumericFault, where: string): Diagnostic {
  const shown = (x: number) =>
    Number.isNaN(x)
      ? "NaN"
      : x === Infinity
        ? "Infinity"
        : x === -Infinity
          ? "-Infinity"
          : String(Number(x.toPrecision(6)));
  const inputs = fault.inputs
    .filter((i) => p.slots[i.slot]!.kind !== "hidden")
    .map((i) => `${p.slots[i.slot]!.name} = ${shown(i.value)}`)
    .join(", ");
  const withInputs = `${inputs ? `; it read ${inputs}` : ""}${fault.reason ? ` — ${fault.reason}` : ""}`;
  if (fault.trigger) {
    const kind = fault.trigger.section === "events" ? "event" : "outcome";
    return source.at(
      [fault.trigger.section, fault.trigger.name, "rate"],
      `the rate of ${kind} '${fault.trigger.name}' is ${shown(fault.value)} ${where} — a hazard must be a finite number ≥ 0${withInputs}`,
    );
  }
  const slot = p.slots[fault.slot!]!;
  const name =
    slot.kind === "hidden" || slot.kind === "hidden-stock"
      ? `'${slot.name.split(" in ")[1]}' (inside ${slot.name.split(" in ")[0]})`
      : `'${slot.name}'`;
  return source.at(slot.path, `${name} is ${shown(fault.value)} ${where}${withInputs}`);
}
