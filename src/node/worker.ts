import { move, transferableSymbol, valueSymbol } from "piscina";
import { type ChunkFailure, type ChunkResult, type ChunkTask, runTask } from "../engine/chunk-task.js";
import { dropSpareBuffers } from "../engine/sketch.js";
import { FileWriteError } from "./files.js";
import { freeDroppedBuffers } from "./free-buffer.js";

freeDroppedBuffers();

/** A chunk whose per-run file could not be written (re-thrown as a FileWriteError by the pool's caller). */
export interface ChunkWriteFailure {
  writeFailed: { path: string; message: string };
}

/**
 * The Node worker-thread entry: piscina calls the default export with each chunk task. With `runsOut`, the chunk's
 * runs are written here, in the worker, so that encoding them costs the main thread nothing.
 */
export default function runNodeTask(
  task: ChunkTask,
): ChunkResult | ChunkFailure | ChunkWriteFailure | Promise<ChunkResult | ChunkFailure | ChunkWriteFailure> {
  const result = runTask(task);
  // Between chunks a worker keeps no spare leaves or nodes: the last chunks of a job are merged while the
  // other workers sit idle, and their spares (tens of megabytes each) were the job's peak.
  dropSpareBuffers();
  if (!task.runsOut || !("summary" in result) || !result.table) return transferSummary(result);
  return writeTable(task.runsOut, result).then(transferSummary);
}

/**
 * The packed summary (megabytes for a chunk of a model with many tracked values) is moved to the main thread,
 * not copied: a structured clone would double it for as long as both threads hold it.
 */
function transferSummary<R extends ChunkResult | ChunkFailure | ChunkWriteFailure>(result: R): R {
  if (!("summary" in result)) return result;
  return move({ [transferableSymbol]: [result.summary.buffer], [valueSymbol]: result }) as unknown as R;
}

/** The chunk's per-run file (the Parquet writer is loaded only by jobs that write one, not by every thread). */
async function writeTable(
  runsOut: NonNullable<ChunkTask["runsOut"]>,
  result: ChunkResult,
): Promise<ChunkResult | ChunkWriteFailure> {
  const { table, ...rest } = result;
  const { writeRunsPart } = await import("./runs-parquet.js");
  try {
    writeRunsPart(runsOut, table!);
  } catch (e) {
    if (e instanceof FileWriteError) return { writeFailed: { path: e.path, message: e.message } };
    throw e;
  }
  return rest;
}

/** Batches of sensitivity-design points (piscina's `name: "evaluateDesignRows"`). */
export { evaluateDesignRows } from "../analysis/sensitivity-job.js";
