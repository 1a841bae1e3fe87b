import type { Diagnostic } from "../lang/diagnostic.js";
import { saveTotal } from "../model/load.js";
import { runChunk } from "./montecarlo.js";
import { type PreparedModel, prepareModel } from "./prepare.js";
import { type Probe, RunRecords } from "./records.js";
import { type ParamRows, RunFailure } from "./run.js";
import { type RunsOut, RunTable, type RunTableData } from "./run-table.js";
import type { JobMeta, TrackedCells } from "./summary.js";

/** One chunk of a job, as sent to a worker thread. */
export interface ChunkTask {
  file: string;
  text: string;
  scenario: string | null;
  meta: JobMeta;
  start: number;
  end: number;
  /**
   * Shared with the caller when threads share memory: [runs done so far in this job, stop requested (1)].
   * Null where memory is not shared (a browser page that is not cross-origin isolated): progress then comes
   * per chunk.
   */
  control: SharedArrayBuffer | null;
  /** Keep per-run records with these probes (null: no records). */
  probes: Probe[] | null;
  /** Decision values set for this job (null: the file's). */
  decisions: Record<string, number> | null;
  /** Param values by run instead of drawn (`brink run --posterior`). */
  paramRows?: ParamRows;
  /**
   * Keep every run's params, end and tracked values, and have the host write them as one file per chunk into
   * this folder (`brink run --runs-out`; Node only). Absent: nothing extra is kept.
   */
  runsOut?: RunsOut;
  /** Which tracked cells the chunk's summary keeps statistics of (absent: "all"). */
  trackedCells?: TrackedCells;
}

/** A chunk's summary, packed, and its per-run records when asked for. */
export interface ChunkResult {
  summary: Float64Array;
  records?: { start: number; outcome: Int32Array; step: Int32Array; values: Float64Array[] };
  /** Every run of the chunk, when `runsOut` asked for them and the chunk ran to its end. */
  table?: RunTableData;
}

// Each worker compiles a model once and keeps it for every later chunk of the same job. Claims naming other
// scenarios run their chunks side by side with the job's, so a few models (one per scenario) are kept.
const compiled = new Map<string, PreparedModel>();
const MODELS_KEPT = 8;

/** A chunk that stopped at a failing run: the first such run and its diagnostic. */
export interface ChunkFailure {
  run: number;
  diagnostic: Diagnostic;
}

/**
 * Runs one chunk and returns its summary packed into one array (the caller knows the job and shape), or the
 * chunk's first failing run. The same function serves Node worker threads and browser Web Workers.
 */
export function runTask(task: ChunkTask): ChunkResult | ChunkFailure {
  try {
    return runChunkTask(task);
  } catch (e) {
    if (e instanceof RunFailure) return { run: e.run, diagnostic: e.diagnostics[0]! };
    throw e;
  }
}

function runChunkTask(task: ChunkTask): ChunkResult {
  const key = `${task.meta.modelHash}\u0000${task.scenario ?? ""}\u0000${JSON.stringify(task.decisions)}`;
  let model = compiled.get(key);
  if (!model) {
    model = prepareModel(task.file, task.text, {
      ...(task.scenario === null ? {} : { scenario: task.scenario }),
      ...(task.decisions ? { decisions: task.decisions } : {}),
    });
    if (compiled.size >= MODELS_KEPT) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, model);
  }
  const control = task.control ? new Int32Array(task.control) : null;
  const records = task.probes
    ? new RunRecords(task.start, task.end - task.start, task.probes, model.program.tracked.length)
    : undefined;
  const table = task.runsOut
    ? new RunTable(
        task.start,
        task.end - task.start,
        model.program.params.length,
        model.program.tracked.length,
        saveTotal(model.program.time),
      )
    : undefined;
  let reported = 0;
  const summary = runChunk(model, {
    meta: task.meta,
    start: task.start,
    end: task.end,
    ...(control ? { shouldStop: () => Atomics.load(control, 1) !== 0 } : {}),
    ...(records ? { records } : {}),
    ...(table ? { table } : {}),
    ...(task.paramRows ? { paramRows: task.paramRows } : {}),
    ...(task.trackedCells ? { trackedCells: task.trackedCells } : {}),
    onProgress: (done) => {
      if (control) Atomics.add(control, 0, done - reported);
      reported = done;
    },
  });
  if (control) Atomics.add(control, 0, summary.runs - reported);
  const { data } = summary.pack();
  // The packed copy is all that leaves; the leaf buffers go back for the next chunk instead of to the collector.
  summary.release();
  // A stopped chunk's table is dropped: a file per chunk holds the whole chunk or is not written.
  const whole = table && !summary.partial && table.count === table.capacity ? { table: table.data() } : {};
  if (!records) return { summary: data, ...whole };
  // (Piscina transfers typed arrays it is told to move; the records are small next to the summary.)
  return {
    summary: data,
    records: { start: records.start, outcome: records.outcome, step: records.step, values: records.values },
    ...whole,
  };
}
