import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Piscina } from "piscina";
import { compileClaims } from "../analysis/check.js";
import { buildReport, type RunReport } from "../analysis/results.js";
import { jobMeta, runChunk } from "../engine/montecarlo.js";
import { type PreparedModel, prepareModel } from "../engine/prepare.js";
import { RunFailure, type Sampling } from "../engine/run.js";
import { Summary, shapeOf } from "../engine/summary.js";
import { PACKAGE_ROOT } from "./files.js";
import type { ChunkFailure, ChunkTask } from "./worker.js";

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
}

export class UsageError extends Error {}

/** Runs done on the calling thread between two looks at the event loop. */
const IN_PROCESS_STEP = 500;

const WORKER = join(PACKAGE_ROOT, "dist", "node", "worker.js");

/**
 * Worker pools are kept between jobs (sensitivity analysis and optimisation run many), one per thread count.
 * Idle threads exit after a second, so a finished program is not held open.
 */
const pools = new Map<number, Piscina<ChunkTask, Float64Array | ChunkFailure>>();

function poolOf(threads: number): Piscina<ChunkTask, Float64Array | ChunkFailure> {
  let pool = pools.get(threads);
  if (!pool) {
    pool = new Piscina<ChunkTask, Float64Array | ChunkFailure>({
      filename: WORKER,
      minThreads: 0,
      maxThreads: threads,
      idleTimeout: 1000,
    });
    pools.set(threads, pool);
  }
  return pool;
}

/** Stop every worker thread now (they also stop by themselves after a second idle). */
export async function closeWorkers(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.destroy()));
}

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
export async function simulate(
  input: { file: string; text: string },
  options: SimulateOptions = {},
): Promise<SimulationResult> {
  const seed = options.seed ?? 1;
  const scenario = options.scenario;
  const model = prepareModel(input.file, input.text, scenario === undefined ? {} : { scenario });
  const claims = compileClaims(model.loaded);
  const precision = options.precision;
  const maxRuns = options.runs ?? (precision !== undefined ? 1_000_000 : 1000);
  if (options.sampling === "lhs" && precision !== undefined) {
    throw new UsageError(
      "Latin hypercube sampling needs a fixed number of runs; use --runs without --precision",
    );
  }
  const sampling: Sampling = options.sampling === "lhs" ? { kind: "lhs", runs: maxRuns } : { kind: "random" };
  const meta = jobMeta(model, input.text, seed, sampling);
  const first = options.firstRun ?? 0;
  const workers = Math.max(1, Math.min(options.workers ?? availableParallelism(), 64));
  // A few chunks per worker: enough to balance the load, few enough that merging stays cheap.
  const chunkSize = Math.max(
    1,
    options.chunkSize ?? Math.min(50_000, Math.max(256, Math.ceil(maxRuns / (workers * 4)))),
  );
  const summary = new Summary(shapeOf(model.program), meta);
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

  const pool = workers > 1 || options.threads === true ? poolOf(workers) : undefined;
  const runRange = async (from: number, to: number): Promise<void> => {
    const chunks: [number, number][] = [];
    for (let a = from; a < to; a += chunkSize) chunks.push([a, Math.min(to, a + chunkSize)]);
    if (!pool) {
      // On this thread: small steps, yielding between them so that Ctrl-C (an event) is heard.
      for (let a = from; a < to; a += IN_PROCESS_STEP) {
        if (options.signal?.aborted) break;
        runChunk(model, { meta, start: a, end: Math.min(to, a + IN_PROCESS_STEP), into: summary });
        progress(summary.runs, maxRuns);
        await new Promise((resolve) => setImmediate(resolve));
      }
      return;
    }
    const scenarioName = scenario ?? null;
    const control = new SharedArrayBuffer(8);
    const shared = new Int32Array(control);
    const base = summary.runs;
    const stop = () => Atomics.store(shared, 1, 1);
    options.signal?.addEventListener("abort", stop);
    // Every chunk runs to its end or its first failing run; the failing run with the lowest index is reported,
    // so the same job fails the same way whatever the workers.
    const failures: RunFailure[] = [];
    const ticker = setInterval(() => progress(base + Atomics.load(shared, 0), maxRuns), 250);
    try {
      await Promise.all(
        chunks.map(async ([a, b]) => {
          const task: ChunkTask = {
            file: input.file,
            text: input.text,
            scenario: scenarioName,
            meta,
            start: a,
            end: b,
            control,
          };
          const part = await pool.run(task);
          if (part instanceof Float64Array) summary.mergePacked({ meta, shape: summary.shape(), data: part });
          else failures.push(new RunFailure(part.run, part.diagnostic));
        }),
      );
    } finally {
      clearInterval(ticker);
      options.signal?.removeEventListener("abort", stop);
    }
    if (failures.length) throw failures.sort((x, y) => x.run - y.run)[0]!;
    progress(summary.runs, maxRuns);
  };

  // Stop between chunks when aborted: the chunks already done make a partial summary.
  const abortedCheck = () => options.signal?.aborted === true;
  if (precision === undefined) {
    await runRange(first, first + maxRuns);
  } else {
    let from = first;
    for (const checkpoint of precisionCheckpoints(first, maxRuns)) {
      await runRange(from, checkpoint);
      from = checkpoint;
      if (abortedCheck()) break;
      if (worstHalfWidth(buildReport({ time: model.loaded.time, summary, claims: [] })) <= precision) break;
    }
  }
  if (abortedCheck() || (precision === undefined && summary.runs < maxRuns)) summary.partial = true;
  const report = buildReport({ time: model.loaded.time, summary, claims });
  return { model, summary, report };
}
