import { type Job, UnrecoverableError } from "bullmq";
import type { ChunkTask } from "../engine/chunk-task.js";
import { type ChunkJobData, encodeChunkResult, type StoredChunkResult } from "./distributed.js";
import { VERSION } from "./files.js";
import runNodeTask from "./worker.js";

/**
 * BullMQ's sandboxed processor for `brink worker`: runs one chunk in a worker thread. A chunk submitted by another
 * version of Brink is refused without retries, since its results could differ from the submitter's own.
 */
export default function processChunk(job: Job<ChunkJobData>): StoredChunkResult {
  const { task, engineVersion } = job.data;
  if (engineVersion !== VERSION)
    throw new UnrecoverableError(
      `this worker runs Brink ${VERSION} but the chunk was submitted by Brink ${engineVersion}; run workers of the submitter's version`,
    );
  return encodeChunkResult(runNodeTask({ ...task, control: null } as ChunkTask));
}
