import { saveCount } from "../compile/kernel.js";
import type { ChunkFailure, ChunkResult, ChunkTask } from "../engine/chunk-task.js";
import { jobIdentity, jobMeta, runChunk } from "../engine/montecarlo.js";
import { type PreparedModel, prepareModel } from "../engine/prepare.js";
import { RECORD_BUDGET_BYTES, RunRecords, recordBytesPerRun } from "../engine/records.js";
import { type ParamRows, RunFailure, type Sampling } from "../engine/run.js";
import { type RunsOut, runTableBytesPerRun } from "../engine/run-table.js";
import { type JobMeta, Summary, shapeOf } from "../engine/summary.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import { compileClaims } from "./check.js";
import { type CompiledClaim, compileClaim, needsRecords, type ScenarioRecords } from "./claims.js";
import { buildReport, type RunReport } from "./results.js";

export interface SimulateOptions {
  /** Number of runs; with `precision`, the most runs allowed. Default 1000 (1,000,000 with `precision`). */
  runs?: number;
  seed?: number;
  /** Worker threads; default: the machine's cores. Results do not depend on it. */
  workers?: number;
  sampling?: "random" | "lhs";
  /** Runs per chunk handed to a worker; results do not depend on it. */
  chunkSize?: number;
  /** Run until every outcome's 95% interval half-width is at most this. */
  precision?: number;
  scenario?: string;
  firstRun?: number;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  /** Use worker threads even for one worker (by default one worker runs on the calling thread). */
  threads?: boolean;
  /** Values for the model's decision variables (default: the file's). */
  decisions?: Record<string, number>;
  /** More claims to evaluate besides the model's own (the optimiser's objective and constraints), as text or
   * already compiled (claims built as data, e.g. about scenarios whose names cannot be written in a check). */
  extraClaims?: ({ id: string; check: string } | CompiledClaim)[];
  /** Evaluate the model's own claims (default true; the optimiser turns them off). */
  ownClaims?: boolean;
  /** Param values by run instead of drawn: a calibration's posterior draws (`brink run --posterior`). */
  paramRows?: ParamRows;
  /**
   * Write every run (params, decisions, end, tracked values at each save) as one file per chunk into this folder,
   * with these key/value metadata besides the job's identity. Runs on worker threads; the host writes the files.
   */
  runsOut?: {
    dir: string;
    metadata: Record<string, string>;
    /**
     * Also write the other scenarios run (for claims, or `brink compare`), each job into `DIR/scenario=NAME/`
     * (Hive-style partitions, which DuckDB, pandas and R read as a `scenario` column); the main job goes to
     * `DIR/scenario=NAME/` too. Without it only the main job is written, into DIR itself.
     */
    scenarios?: boolean;
  };
}

export interface Progress {
  done: number;
  total: number;
  elapsedSeconds: number;
  runsPerSecond: number;
}

export interface SimulationResult {
  model: PreparedModel;
  summary: Summary;
  report: RunReport;
  /** Reports of the other scenarios the claims named (run over the same run indices), by name ("base" for the base). */
  others: Record<string, RunReport>;
}

export class UsageError extends Error {}

/** The largest job: what `--runs` accepts. */
export const MAX_RUNS = 1e9;

/** The most memory one chunk's per-run table may take (`runsOut`): default chunks are cut to fit. */
export const RUN_TABLE_CHUNK_BYTES = 64 * 2 ** 20;

/**
 * Check the options a library caller passes as the CLI checks its flags, so that a bad value is a clear
 * UsageError rather than a crash (Infinity runs) or a silently different job (NaN or fractional seeds).
 */
export function checkSimulateOptions(options: SimulateOptions): void {
  const whole = (name: string, x: unknown, min: number, max: number) => {
    if (x === undefined) return;
    if (typeof x !== "number" || !Number.isInteger(x) || x < min || x > max)
      throw new UsageError(
        `${name} must be a whole number from ${min.toLocaleString("en")} to ${max.toLocaleString("en")}, not ${String(x)}`,
      );
  };
  whole("runs", options.runs, 1, MAX_RUNS);
  whole("seed", options.seed, 0, Number.MAX_SAFE_INTEGER);
  whole("workers", options.workers, 1, 64);
  whole("chunkSize", options.chunkSize, 1, MAX_RUNS);
  whole("firstRun", options.firstRun, 0, 2 ** 52);
  const p = options.precision;
  if (p !== undefined && !(typeof p === "number" && p > 0 && p < 0.5))
    throw new UsageError(`precision must be a number between 0 and 0.5, such as 0.005, not ${String(p)}`);
  if (options.sampling !== undefined && options.sampling !== "random" && options.sampling !== "lhs")
    throw new UsageError(`sampling must be "random" or "lhs", not ${String(options.sampling)}`);
  if (options.decisions !== undefined) {
    for (const [name, value] of Object.entries(options.decisions))
      if (typeof value !== "number" || !Number.isFinite(value))
        throw new UsageError(`decision ${name} must be a finite number, not ${String(value)}`);
  }
}

/**
 * Where chunks run: Node worker threads (piscina) or browser Web Workers. Without one, runs go on the calling
 * thread in steps, yielding between them.
 */
export interface ChunkPool {
  run(task: ChunkTask): Promise<ChunkResult | ChunkFailure>;
  /** Whether workers share memory with the caller (progress and stop through a SharedArrayBuffer). */
  sharedMemory: boolean;
}

/** What the host supplies: its workers, its core count, and how to let events through between steps. */
export interface SimulationHost {
  /** The pool for a job on `workers` workers; asked only when the job uses workers at all. */
  pool?: (workers: number) => ChunkPool;
  cores: number;
  yieldToEvents: () => Promise<void>;
}

/** Time spent running on the calling thread between two looks at the event loop (so Ctrl-C is heard at once). */
const IN_PROCESS_SLICE_MS = 50;

/** The runs at which a --precision job checks whether it may stop: 1000, 2000, 4000, … (whatever the workers). */
export function precisionCheckpoints(first: number, max: number): number[] {
  const out: number[] = [];
  for (let n = Math.min(1000, max); ; n *= 2) {
    out.push(Math.min(n, max));
    if (n >= max) break;
  }
  return out.map((n) => first + n);
}

/** Largest 95% half-width among the outcomes (and the censored share). */
export function worstHalfWidth(report: RunReport): number {
  const widths = [...Object.values(report.outcomes), report.censored].map((o) => (o.hi - o.lo) / 2);
  return Math.max(0, ...widths);
}

/**
 * Run a model as Monte Carlo on worker threads. The job is a range of run indices split into chunks; each
 * worker compiles the model once; chunk summaries merge exactly, so the result is the same for any number of
 * workers and any chunk size.
 */
export async function runSimulation(
  input: { file: string; text: string },
  options: SimulateOptions,
  host: SimulationHost,
): Promise<SimulationResult> {
  checkSimulateOptions(options);
  const seed = options.seed ?? 1;
  const loadOptions = (scenario: string | undefined) => ({
    ...(scenario === undefined ? {} : { scenario }),
    ...(options.decisions ? { decisions: options.decisions } : {}),
  });
  const model = prepareModel(input.file, input.text, loadOptions(options.scenario));
  const own = compileClaims(model.loaded);
  const claims = [
    ...(options.ownClaims === false ? [] : own),
    ...compileExtraClaims(model, options.extraClaims ?? []),
  ];
  // Decisions change results without changing the text, so they are part of the job's identity.
  const identity = jobIdentity(input.text, options.decisions, options.paramRows);
  const precision = options.precision;
  const maxRuns = options.runs ?? (precision !== undefined ? 1_000_000 : 1000);
  if (options.sampling === "lhs" && precision !== undefined) {
    throw new UsageError(
      "Latin hypercube sampling needs a fixed number of runs; use --runs without --precision",
    );
  }
  const sampling: Sampling = options.sampling === "lhs" ? { kind: "lhs", runs: maxRuns } : { kind: "random" };
  const first = options.firstRun ?? 0;
  const workers = Math.max(1, Math.min(options.workers ?? host.cores, 64));
  // A few chunks per worker: enough to balance the load, few enough that merging stays cheap. Progress and
  // stopping do not wait for chunks: workers report through shared memory.
  const defaultChunk = Math.min(50_000, Math.max(256, Math.ceil(maxRuns / (workers * 4))));
  const p = model.program;
  const saves = saveCount(p.time.steps, p.time.saveEvery);
  // A chunk's per-run table is held whole in its worker until written, so default chunks are cut to fit.
  const tableRuns = Math.max(
    1,
    Math.floor(RUN_TABLE_CHUNK_BYTES / runTableBytesPerRun(p.params.length, p.tracked.length, saves)),
  );
  const chunkSize = Math.max(
    1,
    options.chunkSize ?? (options.runsOut ? Math.min(defaultChunk, tableRuns) : defaultChunk),
  );
  const started = performance.now();
  const progress = (done: number, total: number) => {
    const elapsedSeconds = (performance.now() - started) / 1000;
    options.onProgress?.({
      done,
      total,
      elapsedSeconds,
      runsPerSecond: elapsedSeconds > 0 ? done / elapsedSeconds : 0,
    });
  };
  // Per-run files are written by the workers, one per chunk, so such a job always runs on worker threads.
  const pool = workers > 1 || options.threads === true || options.runsOut ? host.pool?.(workers) : undefined;
  if (options.runsOut && !pool)
    throw new UsageError("per-run output needs worker threads, which this host lacks");
  const aborted = () => options.signal?.aborted === true;

  /** Run the runs [from, to) of one scenario's job into `summary` (and `records`, when given). */
  const runRange = async (job: Job, from: number, to: number): Promise<void> => {
    const { prepared, meta, summary, records } = job;
    if (!pool) {
      // On this thread, in slices of about 50 ms, yielding between them so that Ctrl-C (an event) is heard.
      let a = from;
      while (a < to && !aborted()) {
        const before = summary.runs;
        const deadline = performance.now() + IN_PROCESS_SLICE_MS;
        runChunk(prepared, {
          meta,
          start: a,
          end: to,
          into: summary,
          pause: () => performance.now() > deadline,
          ...(records ? { records } : {}),
          ...(options.paramRows ? { paramRows: options.paramRows } : {}),
        });
        a += summary.runs - before;
        progress(summary.runs, maxRuns);
        await host.yieldToEvents();
      }
      return;
    }
    const control = pool.sharedMemory ? new SharedArrayBuffer(8) : null;
    const shared = control ? new Int32Array(control) : null;
    const base = summary.runs;
    // Without shared memory, a stop is heard between chunks and progress counts finished chunks.
    let finished = 0;
    let stopped = false;
    const stop = () => {
      stopped = true;
      if (shared) Atomics.store(shared, 1, 1);
    };
    if (aborted()) stop();
    options.signal?.addEventListener("abort", stop);
    // Every chunk runs to its end or its first failing run; the failing run with the lowest index is reported,
    // so the same job fails the same way whatever the workers (chunks after a known failure are not needed).
    const failures: RunFailure[] = [];
    const firstFailure = () => Math.min(Number.POSITIVE_INFINITY, ...failures.map((f) => f.run));
    const ticker = setInterval(
      () => progress(base + (shared ? Atomics.load(shared, 0) : finished), maxRuns),
      250,
    );
    // Chunks are handed out a few per worker at a time, so a stop leaves no queue of chunks to drain and the
    // queue's memory does not grow with the runs.
    let next = from;
    const feed = async (): Promise<void> => {
      while (!stopped && next < to && next < firstFailure()) {
        const a = next;
        const b = Math.min(to, a + chunkSize);
        next = b;
        const task: ChunkTask = {
          file: input.file,
          text: input.text,
          scenario: job.scenario,
          meta,
          start: a,
          end: b,
          control,
          probes: records ? records.probes : null,
          decisions: options.decisions ?? null,
          ...(options.paramRows ? { paramRows: options.paramRows } : {}),
          ...(job.runsOut ? { runsOut: job.runsOut } : {}),
        };
        const part = await pool.run(task);
        finished += b - a;
        if ("diagnostic" in part) failures.push(new RunFailure(part.run, part.diagnostic));
        else {
          summary.mergePacked({ meta, shape: summary.shape(), data: part.summary });
          if (part.records && records) records.absorb(part.records);
        }
      }
    };
    try {
      const feeders = Math.min(2 * workers, Math.ceil((to - from) / chunkSize));
      await Promise.all(Array.from({ length: feeders }, feed));
    } finally {
      clearInterval(ticker);
      options.signal?.removeEventListener("abort", stop);
    }
    if (failures.length) throw failures.sort((x, y) => x.run - y.run)[0]!;
    progress(summary.runs, maxRuns);
  };

  // Claims with E, Q or another scenario's terms need per-run records of each scenario they name.
  const recordClaims = claims.filter(needsRecords);
  const currentKey = options.scenario ?? "base";
  const keyOf = (s: string | null) => (s === null ? currentKey : s);
  const probesByKey = new Map<string, Set<string>>();
  for (const claim of recordClaims) {
    for (const atom of claim.atoms) {
      const key = keyOf(atom.scenario);
      const set = probesByKey.get(key) ?? new Set<string>();
      if (atom.kind !== "P") set.add(`${atom.variable}\u0000${atom.save}`);
      probesByKey.set(key, set);
    }
  }
  // Per-run records grow with the runs done; a job that could not hold them all is refused before it starts.
  let recordBytes = 0;
  for (const probes of probesByKey.values()) recordBytes += maxRuns * recordBytesPerRun(probes.size);
  if (recordBytes > RECORD_BUDGET_BYTES) {
    const most = Math.floor((maxRuns * RECORD_BUDGET_BYTES) / recordBytes);
    throw new UsageError(
      `the claims ${recordClaims.map((c) => c.id).join(", ")} need every run's end state (E, Q or another scenario's terms): ` +
        `${maxRuns.toLocaleString("en")} runs would take ${(recordBytes / 2 ** 30).toFixed(1)} GiB; use at most ${most.toLocaleString("en")} runs`,
    );
  }
  const makeJob = (prepared: PreparedModel, scenario: string | null): Job => {
    const probeKeys = probesByKey.get(scenario ?? "base");
    const trackedNames = prepared.program.tracked.map((t) => t.name);
    const probes = probeKeys
      ? [...probeKeys].map((k) => {
          const [variable, save] = k.split("\u0000") as [string, string];
          return { tracked: trackedNames.indexOf(variable), save: Number(save) };
        })
      : undefined;
    const meta = jobMeta(prepared, identity, seed, sampling);
    return {
      prepared,
      scenario,
      meta,
      summary: new Summary(shapeOf(prepared.program), meta),
      ...(probes
        ? {
            records: new RunRecords(
              first,
              maxRuns,
              probes.filter((p) => p.tracked >= 0),
              trackedNames.length,
            ),
          }
        : {}),
    };
  };

  const main = makeJob(model, options.scenario ?? null);
  const runsOutFor = (job: Job, key: string): RunsOut | undefined => {
    const given = options.runsOut;
    if (!given) return undefined;
    if (!given.scenarios) return job === main ? runsOutOf(job.prepared, job.meta, given) : undefined;
    const dir = `${given.dir.replace(/[\\/]+$/, "")}/scenario=${encodeURIComponent(key)}`;
    return runsOutOf(job.prepared, job.meta, { ...given, dir });
  };
  const mainRunsOut = runsOutFor(main, currentKey);
  if (mainRunsOut) main.runsOut = mainRunsOut;
  if (precision === undefined) {
    await runRange(main, first, first + maxRuns);
  } else {
    let from = first;
    for (const checkpoint of precisionCheckpoints(first, maxRuns)) {
      await runRange(main, from, checkpoint);
      from = checkpoint;
      if (aborted()) break;
      if (
        worstHalfWidth(buildReport({ time: model.loaded.time, summary: main.summary, claims: [] })) <=
        precision
      )
        break;
    }
  }
  const summary = main.summary;
  if (aborted() || (precision === undefined && summary.runs < maxRuns)) summary.partial = true;

  // The other scenarios the claims name, over the same run indices (the same random numbers).
  const jobs = new Map<string, Job>([[currentKey, main]]);
  for (const key of probesByKey.keys()) {
    if (jobs.has(key) || aborted()) continue;
    const other = prepareModel(input.file, input.text, loadOptions(key === "base" ? undefined : key));
    const job = makeJob(other, key === "base" ? null : key);
    const runsOut = runsOutFor(job, key);
    if (runsOut) job.runsOut = runsOut;
    await runRange(job, first, first + summary.runs);
    jobs.set(key, job);
  }
  const recordsOf = (scenario: string | null): ScenarioRecords => {
    const job = jobs.get(keyOf(scenario))!;
    const trackedNames = job.prepared.program.tracked.map((t) => t.name);
    const probes = job.records?.probes ?? [];
    return {
      records: job.records ?? new RunRecords(first, 0, [], 0),
      outcomes: job.prepared.program.outcomes.map((o) => o.name),
      probe: (tracked, save) => {
        // Atoms carry the tracked index of the scenario being run; find the same variable in this one.
        const name = model.program.tracked[tracked]?.name;
        return probes.findIndex((p) => trackedNames[p.tracked] === name && p.save === save);
      },
    };
  };
  const report = buildReport({
    time: model.loaded.time,
    summary,
    claims,
    ...(recordClaims.length && !aborted() ? { recordsOf } : {}),
  });
  const others: Record<string, RunReport> = {};
  for (const [key, job] of jobs) {
    if (job !== main)
      others[key] = buildReport({ time: job.prepared.loaded.time, summary: job.summary, claims: [] });
  }
  return { model, summary, report, others };
}

interface Job {
  prepared: PreparedModel;
  /** Scenario name, or null for the base model. */
  scenario: string | null;
  meta: JobMeta;
  summary: Summary;
  records?: RunRecords;
  /** Where this job's runs are written (the main job of a `runsOut` simulation only). */
  runsOut?: RunsOut;
}

/** The columns and metadata of a job's per-run files. */
function runsOutOf(
  model: PreparedModel,
  meta: JobMeta,
  given: { dir: string; metadata: Record<string, string> },
): RunsOut {
  const p = model.program;
  const saves = saveCount(p.time.steps, p.time.saveEvery);
  const { time } = model.loaded;
  const decisions = Object.fromEntries(
    Object.entries(model.loaded.spec.decisions ?? {}).map(([name, d]) => [name, d.value]),
  );
  return {
    dir: given.dir,
    params: p.params.map((q) => q.name),
    decisions,
    tracked: p.tracked.map((t) => t.name),
    saveTimes: Array.from({ length: saves }, (_, s) => time.start + s * time.saveEvery * time.dt),
    outcomes: p.outcomes.map((o) => o.name),
    metadata: {
      ...given.metadata,
      "brink.model": meta.model,
      "brink.model_hash": meta.modelHash,
      "brink.scenario": meta.scenario ?? "",
      "brink.seed": String(meta.seed),
      "brink.sampling": meta.sampling,
      ...(meta.designRuns !== null ? { "brink.design_runs": String(meta.designRuns) } : {}),
      "brink.decisions": JSON.stringify(decisions),
      "brink.columns": "run, outcome, end_time, param.NAME, decision.NAME, VAR@T (null after the run ended)",
    },
  };
}

/** Compile claims given as text (objectives and constraints); their errors name the option, not a file line. */
function compileExtraClaims(
  model: PreparedModel,
  extra: ({ id: string; check: string } | CompiledClaim)[],
): CompiledClaim[] {
  const ctx = {
    outcomes: model.program.outcomes.map((o) => o.name),
    time: model.loaded.time,
    tracked: model.program.tracked.map((t) => t.name),
    scenarios: model.loaded.scenarios,
  };
  return extra.map((c) => {
    if ("atoms" in c) return c;
    const compiled = compileClaim(c, ctx, (offset) => ({ line: 1, col: offset + 1 }), c.id);
    if (Array.isArray(compiled)) throw new DiagnosticError(compiled);
    return compiled;
  });
}
