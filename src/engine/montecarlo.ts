import type { PreparedModel } from "./prepare.js";
import type { RunRecords } from "./records.js";
import { hashName } from "./rng.js";
import { type ParamRows, Runner, type Sampling } from "./run.js";
import type { RunTable } from "./run-table.js";
import { type JobMeta, Summary, shapeOf, type TrackedCells } from "./summary.js";

export interface ChunkOptions {
  meta: JobMeta;
  /** First run index and one past the last. */
  start: number;
  end: number;
  backend?: "kernel" | "interpreter";
  /** Checked between runs; when it says stop, the summary is marked partial. */
  signal?: AbortSignal;
  shouldStop?: () => boolean;
  /** Checked every few runs: when it says so, the chunk returns early without being partial (the caller goes on). */
  pause?: () => boolean;
  /** Called now and then with the number of runs done in this chunk. */
  onProgress?: (done: number) => void;
  /** Add to this summary instead of a new one. */
  into?: Summary;
  /** Also keep each run's end state and probed values here. */
  records?: RunRecords;
  /** Param values by run instead of drawn (a posterior's draws). */
  paramRows?: ParamRows;
  /** Also keep every run's params, end and tracked values here (`--runs-out`). */
  table?: RunTable;
  /** Which tracked cells a new summary keeps statistics of (default "all"; see `TrackedCells`). */
  trackedCells?: TrackedCells;
}

/**
 * What a job's model hash is taken of: the model file's text, and the decision values and posterior param rows
 * when they were set (both change results without changing the text).
 */
export function jobIdentity(
  text: string,
  decisions?: Record<string, number> | null,
  paramRows?: ParamRows | null,
): string {
  const withDecisions = decisions ? `${text}\u0000decisions:${JSON.stringify(decisions)}` : text;
  // Params taken from a posterior change results too.
  return paramRows ? `${withDecisions}\u0000params:${JSON.stringify(paramRows)}` : withDecisions;
}

/** The hash of a job identity that summaries carry, so that summaries of different models never merge. */
export function modelHash(identity: string): string {
  const h = hashName(identity);
  const h2 = hashName(`${identity.length}:${identity}`);
  return `${h.toString(16).padStart(8, "0")}${h2.toString(16).padStart(8, "0")}`;
}

/** Identity of a job, hashed from the model text (see jobIdentity). */
export function jobMeta(model: PreparedModel, text: string, seed: number, sampling: Sampling): JobMeta {
  return {
    model: model.loaded.spec.name,
    modelHash: modelHash(text),
    scenario: model.loaded.scenario ?? null,
    seed,
    sampling: sampling.kind,
    designRuns: sampling.kind === "lhs" ? sampling.runs : null,
  };
}

export function samplingOf(meta: JobMeta): Sampling {
  return meta.sampling === "lhs" ? { kind: "lhs", runs: meta.designRuns! } : { kind: "random" };
}

/** Run runs start … end − 1 of a job on this thread and summarise them. */
export function runChunk(model: PreparedModel, options: ChunkOptions): Summary {
  const { meta } = options;
  const runner = new Runner(
    model,
    meta.seed,
    options.backend ?? "kernel",
    samplingOf(meta),
    options.paramRows,
  );
  const summary = options.into ?? new Summary(shapeOf(model.program), meta, options.trackedCells);
  for (let run = options.start; run < options.end; run++) {
    if (options.signal?.aborted || options.shouldStop?.()) {
      summary.partial = true;
      break;
    }
    if (options.pause && run > options.start && (run - options.start) % 4 === 0 && options.pause()) break;
    const end = runner.run(run);
    summary.add(run, end, runner.saved);
    options.records?.record(run, end, runner.saved);
    options.table?.record(run, end, runner);
    if (options.onProgress && (run - options.start + 1) % 256 === 0)
      options.onProgress(run - options.start + 1);
  }
  return summary;
}

export interface MonteCarloOptions {
  runs: number;
  seed: number;
  firstRun?: number;
  sampling?: Sampling;
  /** The model file's text, for the job's identity (defaults to the model's own source). */
  text?: string;
  backend?: "kernel" | "interpreter";
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Run a whole job on this thread (the worker-pool driver in src/node splits the same work into chunks). */
export function runMonteCarlo(model: PreparedModel, options: MonteCarloOptions): Summary {
  const sampling = options.sampling ?? { kind: "random" };
  const meta = jobMeta(model, options.text ?? model.loaded.source.text, options.seed, sampling);
  const start = options.firstRun ?? 0;
  return runChunk(model, {
    meta,
    start,
    end: start + options.runs,
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: (done: number) => options.onProgress!(done, options.runs) } : {}),
  });
}
