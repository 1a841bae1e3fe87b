import { move, transferableSymbol, valueSymbol } from "piscina";
import { type ChunkFailure, type ChunkResult, type ChunkTask, runTask } from "../engine/chunk-task.js";
import { FileWriteError } from "./files.js";
import { writeRunsPart } from "./runs-parquet.js";

/** A chunk whose per-run file could not be written (re-thrown as a FileWriteError by the pool's caller). */
export interface ChunkWriteFailure {
  writeFailed: { path: string; message: string };
}

/**
 * The Node worker-thread entry: piscina calls the default export with each chunk task. With `runsOut`, the chunk's
 * runs are written here, in the worker, so that encoding them costs the main thread nothing.
 */
export default function runNodeTask(task: ChunkTask): ChunkResult | ChunkFailure | ChunkWriteFailure {
  return transferSummary(runAndWrite(task));
}

/**
 * The packed summary (megabytes for a chunk of a model with many tracked values) is moved to the main thread,
 * not copied: a structured clone would double it for as long as both threads hold it.
 */
function transferSummary<R extends ChunkResult | ChunkFailure | ChunkWriteFailure>(result: R): R {
  if (!("summary" in result)) return result;
  return move({ [transferableSymbol]: [result.summary.buffer], [valueSymbol]: result }) as unknown as R;
}

function runAndWrite(task: ChunkTask): ChunkResult | ChunkFailure | ChunkWriteFailure {
  const result = runTask(task);
  if (!task.runsOut || !("summary" in result) || !result.table) return result;
  const { table, ...rest } = result;
  try {
    writeRunsPart(task.runsOut, table);
  } catch (e) {
    if (e instanceof FileWriteError) return { writeFailed: { path: e.path, message: e.message } };
    throw e;
  }
  return rest;
}

/** Batches of sensitivity-design points (piscina's `name: "evaluateDesignRows"`). */
export { evaluateDesignRows } from "../analysis/sensitivity-job.js";
