import type { ChunkFailure, ChunkResult, ChunkTask } from "../engine/chunk-task.js";
import { jobIdentity, jobMeta, runChunk } from "../engine/montecarlo.js";
import { type PreparedModel, prepareModel } from "../engine/prepare.js";
import { type Probe, RECORD_BUDGET_BYTES, RunRecords, recordBytesPerRun } from "../engine/records.js";
import { type ParamRows, RunFailure, type Sampling } from "../engine/run.js";
import { type RunsOut, runTableBytesPerRun } from "../engine/run-table.js";
import { discardArray, leafAlignedChunk } from "../engine/sketch.js";
import { type JobMeta, Summary, shapeOf, type TrackedCells } from "../engine/summary.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import { saveTime, saveTotal } from "../model/load.js";
import { compileClaims } from "./check.js";
import {
  type CompiledClaim,
  compileClaim,
  evaluateClaimWithRecords,
  needsRecords,
  needsRunValues,
  type ScenarioRecords,
} from "./claims.js";
import { type ChunkRuns, ClaimStatistics, type ScenarioLayout } from "./claims-stream.js";
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
  /**
   * Which tracked cells get quantiles, means and standard deviations (default "all"). "last": only each
   * variable's at the last save any run reached, what `brink run`'s text prints — the other points of
   * `report.tracked` (and of the other scenarios' reports) then have their `n` and null statistics, and the
   * summary cannot be saved. Its work per run no longer grows with the saves.
   */
  trackedCells?: TrackedCells;
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
  /**
   * The running statistics of the claims the summary's counts cannot decide (E, Q, other scenarios), for saving
   * with the summary so that `brink merge` can decide them; absent when there are none or the job was stopped.
   */
  claimStatistics?: ClaimStatistics;
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
  /**
   * Run one chunk. The packed summary it resolves to becomes the caller's, which frees it once merged (where
   * the host frees buffers at once: detached, so the pool must not read it afterwards).
   */
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
  /**
   * Jobs of at most this many run·steps, with no worker count asked for, run on the calling thread: one thread
   * finishes them before worker threads would have started and compiled the model. The result is the same
   * either way. Unset (the browser, whose page compiles no kernels): such jobs go to the pool as any other.
   */
  inProcessRunSteps?: number;
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
  const p = model.program;
  const saves = saveTotal(p.time);
  const defaultChunk = leafAlignedChunk(
    Math.min(50_000, Math.max(256, Math.ceil(maxRuns / (workers * 4)))),
    p.tracked.length * saves,
  );
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
  const small =
    options.workers === undefined &&
    host.inProcessRunSteps !== undefined &&
    maxRuns * Math.max(1, p.time.steps) <= host.inProcessRunSteps;
  // Per-run files are written by the workers, one per chunk, so such a job always runs on worker threads.
  const pool =
    (workers > 1 && !small) || options.threads === true || options.runsOut ? host.pool?.(workers) : undefined;
  if (options.runsOut && !pool)
    throw new UsageError("per-run output needs worker threads, which this host lacks");
  const aborted = () => options.signal?.aborted === true;

  // Claims with E, Q, P(var at T > x) or another scenario's terms read per-run values of each scenario they
  // name. The scenarios run side by side, chunk by chunk over the same run indices (the same random numbers),
  // and each chunk's values are folded into the claims' running statistics (claims-stream.ts) and dropped, so
  // memory does not grow with the runs. Only a Q term combined with other terms needs every run's values (a
  // paired bootstrap over runs): those claims keep records, within a budget checked before the job starts.
  const recordClaims = claims.filter(needsRecords);
  const bootstrapClaims = recordClaims.filter(needsRunValues);
  const currentKey = options.scenario ?? "base";
  const keyOf = (s: string | null) => (s === null ? currentKey : s);
  const probeKey = (atom: { variable: string; save: number }) => `${atom.variable}\u0000${atom.save}`;
  const probesByKey = new Map<string, Set<string>>();
  const keptProbesByKey = new Map<string, Set<string>>();
  for (const claim of recordClaims) {
    for (const atom of claim.atoms) {
      const key = keyOf(atom.scenario);
      const set = probesByKey.get(key) ?? new Set<string>();
      if (atom.kind !== "P") set.add(probeKey(atom));
      probesByKey.set(key, set);
    }
  }
  for (const claim of bootstrapClaims) {
    for (const atom of claim.atoms) {
      const key = keyOf(atom.scenario);
      const set = keptProbesByKey.get(key) ?? new Set<string>();
      if (atom.kind !== "P") set.add(probeKey(atom));
      keptProbesByKey.set(key, set);
    }
  }
  // Records kept for bootstrapped claims grow with the runs done; a job that could not hold them is refused.
  let recordBytes = 0;
  for (const probes of keptProbesByKey.values()) recordBytes += maxRuns * recordBytesPerRun(probes.size);
  if (recordBytes > RECORD_BUDGET_BYTES) {
    const most = Math.floor((maxRuns * RECORD_BUDGET_BYTES) / recordBytes);
    const message =
      `this claim combines a Q(…) term with other terms, so its interval is a bootstrap over every run's values: ` +
      `${maxRuns.toLocaleString("en")} runs would keep ${(recordBytes / 2 ** 30).toFixed(1)} GiB of them; ` +
      `use at most ${most.toLocaleString("en")} runs, or compare the Q(…) term with a number`;
    const declared = model.loaded.spec.claims ?? [];
    const diagnostics = bootstrapClaims.flatMap((claim) => {
      const i = declared.findIndex((c) => c.id === claim.id && c.check === claim.check);
      return i < 0 ? [] : [model.loaded.source.at(["claims", i, "check"], message)];
    });
    if (diagnostics.length === bootstrapClaims.length) throw new DiagnosticError(diagnostics);
    throw new UsageError(`the claims ${bootstrapClaims.map((c) => c.id).join(", ")}: ${message}`);
  }

  // Every scenario's summary keeps the cells asked for (`brink compare`'s text prints no other scenario's tracked values).
  const makeJob = (
    prepared: PreparedModel,
    scenario: string | null,
    trackedCells: TrackedCells = "all",
  ): Job => {
    const key = scenario ?? "base";
    const trackedNames = prepared.program.tracked.map((t) => t.name);
    const probesOf = (keys: Set<string> | undefined) =>
      keys
        ? [...keys]
            .map((k) => {
              const [variable, save] = k.split("\u0000") as [string, string];
              return { tracked: trackedNames.indexOf(variable), save: Number(save) };
            })
            .filter((p) => p.tracked >= 0)
        : undefined;
    const probes = probesOf(probesByKey.get(key));
    const kept = probesOf(keptProbesByKey.get(key));
    const meta = jobMeta(prepared, identity, seed, sampling);
    return {
      prepared,
      scenario,
      meta,
      summary: new Summary(shapeOf(prepared.program), meta, trackedCells),
      ...(probes ? { probes } : {}),
      ...(kept ? { records: new RunRecords(first, maxRuns, kept, trackedNames.length) } : {}),
    };
  };

  const main = makeJob(model, options.scenario ?? null, options.trackedCells ?? "all");
  const runsOutFor = (job: Job, key: string): RunsOut | undefined => {
    const given = options.runsOut;
    if (!given) return undefined;
    if (!given.scenarios) return job === main ? runsOutOf(job.prepared, job.meta, given) : undefined;
    const dir = `${given.dir.replace(/[\\/]+$/, "")}/scenario=${encodeURIComponent(key)}`;
    return runsOutOf(job.prepared, job.meta, { ...given, dir });
  };
  const mainRunsOut = runsOutFor(main, currentKey);
  if (mainRunsOut) main.runsOut = mainRunsOut;
  // The other scenarios the claims name, run over the same run indices as the main job.
  const jobs = new Map<string, Job>([[currentKey, main]]);
  for (const key of probesByKey.keys()) {
    if (jobs.has(key)) continue;
    const other = prepareModel(input.file, input.text, loadOptions(key === "base" ? undefined : key));
    const job = makeJob(other, key === "base" ? null : key, options.trackedCells ?? "all");
    const runsOut = runsOutFor(job, key);
    if (runsOut) job.runsOut = runsOut;
    jobs.set(key, job);
  }
  const group = [...jobs.values()];
  const layoutOf = (scenario: string | null): ScenarioLayout => {
    const job = jobs.get(keyOf(scenario))!;
    const trackedNames = job.prepared.program.tracked.map((t) => t.name);
    const probes = job.probes ?? [];
    return {
      outcomes: job.prepared.program.outcomes.map((o) => o.name),
      probe: (tracked, save) => {
        // Atoms carry the tracked index of the scenario being run; find the same variable in this one.
        const name = model.program.tracked[tracked]?.name;
        return probes.findIndex((p) => trackedNames[p.tracked] === name && p.save === save);
      },
    };
  };
  const statistics = new ClaimStatistics(
    recordClaims.filter((c) => !needsRunValues(c)),
    layoutOf,
  );
  /** Fold one chunk's runs [a, a + count) of every scenario (in `group` order) into the claims. */
  const fold = (a: number, count: number, parts: (ChunkRuns & { start: number })[]) => {
    const partOf = (scenario: string | null) => parts[group.indexOf(jobs.get(keyOf(scenario))!)]!;
    statistics.addChunk(a, count, partOf);
    group.forEach((job, j) => {
      const records = job.records;
      if (!records) return;
      const part = parts[j]!;
      // The kept probes are some of the chunk's probes: pick their columns.
      const columns = records.probes.map((p) =>
        job.probes!.findIndex((q) => q.tracked === p.tracked && q.save === p.save),
      );
      records.absorb({ ...part, values: columns.map((c) => part.values[c]!) });
    });
  };

  /** Run the runs [from, to) of every job in `group`, the same indices in each, folding them into the claims. */
  const runRange = async (from: number, to: number): Promise<void> => {
    const wantsRuns = recordClaims.length > 0;
    const tracked = (job: Job) => job.prepared.program.tracked.length;
    if (!pool) {
      // On this thread, in slices of about 50 ms, yielding between them so that Ctrl-C (an event) is heard.
      let a = from;
      while (a < to && !aborted()) {
        const before = main.summary.runs;
        const deadline = performance.now() + IN_PROCESS_SLICE_MS;
        const slice = (job: Job, capacity: number) =>
          wantsRuns ? new RunRecords(a, capacity, job.probes ?? [], tracked(job)) : undefined;
        const mainRuns = slice(main, to - a);
        runChunk(main.prepared, {
          meta: main.meta,
          start: a,
          end: to,
          into: main.summary,
          pause: () => performance.now() > deadline,
          ...(mainRuns ? { records: mainRuns } : {}),
          ...(options.paramRows ? { paramRows: options.paramRows } : {}),
        });
        const done = main.summary.runs - before;
        const parts = [mainRuns];
        for (const job of group.slice(1)) {
          const runs = slice(job, done);
          runChunk(job.prepared, {
            meta: job.meta,
            start: a,
            end: a + done,
            into: job.summary,
            ...(runs ? { records: runs } : {}),
            ...(options.paramRows ? { paramRows: options.paramRows } : {}),
          });
          parts.push(runs);
        }
        if (wantsRuns) fold(a, done, parts as RunRecords[]);
        a += done;
        progress(main.summary.runs, maxRuns);
        await host.yieldToEvents();
      }
      return;
    }
    const control = pool.sharedMemory ? new SharedArrayBuffer(8) : null;
    const shared = control ? new Int32Array(control) : null;
    const base = main.summary.runs;
    // Without shared memory, a stop is heard between chunks and progress counts finished chunks.
    let finished = 0;
    let stopped = false;
    const stop = () => {
      stopped = true;
      if (shared) Atomics.store(shared, 1, 1);
    };
    if (aborted()) stop();
    options.signal?.addEventListener("abort", stop);
    // Every chunk runs to its end or its first failing run; the failing run with the lowest index is reported
    // (the main scenario's first at the same index), so the same job fails the same way whatever the workers
    // (chunks after a known failure are not needed).
    const failures: { failure: RunFailure; job: number }[] = [];
    const firstFailure = () => Math.min(Number.POSITIVE_INFINITY, ...failures.map((f) => f.failure.run));
    // Workers count the runs of every scenario in the group.
    const ticker = setInterval(
      () =>
        progress(base + (shared ? Math.floor(Atomics.load(shared, 0) / group.length) : finished), maxRuns),
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
        const task = (job: Job): ChunkTask => ({
          file: input.file,
          text: input.text,
          scenario: job.scenario,
          meta: job.meta,
          start: a,
          end: b,
          control,
          probes: wantsRuns ? (job.probes ?? []) : null,
          decisions: options.decisions ?? null,
          ...(options.paramRows ? { paramRows: options.paramRows } : {}),
          ...(job.runsOut ? { runsOut: job.runsOut } : {}),
          ...(job.summary.trackedCells !== "all" ? { trackedCells: job.summary.trackedCells } : {}),
        });
        const parts = await Promise.all(group.map((job) => pool.run(task(job))));
        finished += b - a;
        const runs: (ChunkRuns & { start: number })[] = [];
        parts.forEach((part, j) => {
          if ("diagnostic" in part)
            failures.push({ failure: new RunFailure(part.run, part.diagnostic), job: j });
          else {
            const job = group[j]!;
            job.summary.mergePacked({
              meta: job.meta,
              shape: job.summary.shape(),
              data: part.summary,
              trackedCells: job.summary.trackedCells,
            });
            // Merging copies what it keeps: the chunk's packed array (megabytes) is freed now, not when this
            // thread's collector gets to it (it lets tens of megabytes of them pile up first).
            discardArray(part.summary);
            if (part.records) runs.push(part.records);
          }
        });
        // A stopped chunk's runs are not folded: claims are evaluated only on a whole job.
        if (wantsRuns && runs.length === group.length && runs.every((r) => r.outcome.length === b - a))
          fold(a, b - a, runs);
      }
    };
    try {
      // About two tasks per worker in flight, counting each scenario's task of a chunk.
      const feeders = Math.min(Math.ceil((2 * workers) / group.length), Math.ceil((to - from) / chunkSize));
      await Promise.all(Array.from({ length: feeders }, feed));
    } finally {
      clearInterval(ticker);
      options.signal?.removeEventListener("abort", stop);
    }
    if (failures.length)
      throw failures.sort((x, y) => x.failure.run - y.failure.run || x.job - y.job)[0]!.failure;
    progress(main.summary.runs, maxRuns);
  };

  if (precision === undefined) {
    await runRange(first, first + maxRuns);
  } else {
    let from = first;
    for (const checkpoint of precisionCheckpoints(first, maxRuns)) {
      await runRange(from, checkpoint);
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

  const recordsOf = (scenario: string | null): ScenarioRecords => {
    const job = jobs.get(keyOf(scenario))!;
    const trackedNames = job.prepared.program.tracked.map((t) => t.name);
    const probes = job.records?.probes ?? [];
    return {
      records: job.records ?? new RunRecords(first, 0, [], 0),
      outcomes: job.prepared.program.outcomes.map((o) => o.name),
      probe: (tracked, save) => {
        const name = model.program.tracked[tracked]?.name;
        return probes.findIndex((p) => trackedNames[p.tracked] === name && p.save === save);
      },
    };
  };
  const report = buildReport({
    time: model.loaded.time,
    summary,
    claims,
    ...(recordClaims.length && !aborted()
      ? {
          evaluateFromRuns: (claim: CompiledClaim) =>
            needsRunValues(claim) ? evaluateClaimWithRecords(claim, recordsOf) : statistics.result(claim),
        }
      : {}),
  });
  const others: Record<string, RunReport> = {};
  for (const [key, job] of jobs) {
    if (job !== main)
      others[key] = buildReport({ time: job.prepared.loaded.time, summary: job.summary, claims: [] });
  }
  const keepStatistics = recordClaims.length > 0 && !aborted();
  return { model, summary, report, others, ...(keepStatistics ? { claimStatistics: statistics } : {}) };
}

interface Job {
  prepared: PreparedModel;
  /** Scenario name, or null for the base model. */
  scenario: string | null;
  meta: JobMeta;
  summary: Summary;
  /** Values each chunk reports per run, for claims (absent: none of this scenario's). */
  probes?: Probe[];
  /** Every run's values, kept for claims bootstrapped over runs (absent: no such claim names this scenario). */
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
  const saves = saveTotal(p.time);
  const { time } = model.loaded;
  const decisions = Object.fromEntries(
    Object.entries(model.loaded.spec.decisions ?? {}).map(([name, d]) => [name, d.value]),
  );
  return {
    dir: given.dir,
    params: p.params.map((q) => q.name),
    decisions,
    tracked: p.tracked.map((t) => t.name),
    saveTimes: Array.from({ length: saves }, (_, s) => saveTime(time, s)),
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
