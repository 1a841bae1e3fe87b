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
