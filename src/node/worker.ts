import { Piscina } from "piscina";
import { runChunk } from "../engine/montecarlo.js";
import { type PreparedModel, prepareModel } from "../engine/prepare.js";
import { RunFailure } from "../engine/run.js";
import type { JobMeta } from "../engine/summary.js";
import type { Diagnostic } from "../lang/diagnostic.js";

/** One chunk of a job, as sent to a worker thread. */
export interface ChunkTask {
  file: string;
  text: string;
  scenario: string | null;
  meta: JobMeta;
  start: number;
  end: number;
  /** Shared with the caller: [runs done so far in this job, stop requested (1)]. */
  control: SharedArrayBuffer;
}

// Each worker compiles a model once and keeps it for every later chunk of the same job.
const compiled = new Map<string, PreparedModel>();

/** A chunk that stopped at a failing run: the first such run and its diagnostic. */
export interface ChunkFailure {
  run: number;
  diagnostic: Diagnostic;
}

/**
 * Runs one chunk and returns its summary packed into one array (the caller knows the job and shape), or the
 * chunk's first failing run.
 */
export default function runTask(task: ChunkTask): Float64Array | ChunkFailure {
  try {
    return runChunkTask(task);
  } catch (e) {
    if (e instanceof RunFailure) return { run: e.run, diagnostic: e.diagnostics[0]! };
    throw e;
  }
}

function runChunkTask(task: ChunkTask): Float64Array {
  const key = `${task.meta.modelHash}\u0000${task.scenario ?? ""}`;
  let model = compiled.get(key);
  if (!model) {
    model = prepareModel(task.file, task.text, task.scenario === null ? {} : { scenario: task.scenario });
    compiled.clear();
    compiled.set(key, model);
  }
  const control = new Int32Array(task.control);
  let reported = 0;
  const summary = runChunk(model, {
    meta: task.meta,
    start: task.start,
    end: task.end,
    shouldStop: () => Atomics.load(control, 1) !== 0,
    onProgress: (done) => {
      Atomics.add(control, 0, done - reported);
      reported = done;
    },
  });
  Atomics.add(control, 0, summary.runs - reported);
  const { data } = summary.pack();
  // Transfer the numbers instead of copying them.
  return Piscina.move(data) as unknown as Float64Array;
}
