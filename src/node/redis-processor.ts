import { type Job, UnrecoverableError } from "bullmq";
import { evaluateDesignRows } from "../analysis/sensitivity-job.js";
import type { ChunkTask } from "../engine/chunk-task.js";
import {
  type ChunkJobData,
  type DesignJobData,
  decodeDesignTask,
  encodeChunkResult,
  encodeDesignResult,
  type StoredChunkResult,
  type StoredDesignResult,
} from "./distributed.js";
import { VERSION } from "./files.js";
import runNodeTask from "./worker.js";

/**
 * BullMQ's sandboxed processor for `brink worker`: runs one Monte Carlo chunk, or one part of a sensitivity
 * design, in a worker thread. A job submitted by another version of Brink is refused without retries, since its
 * results could differ from the submitter's own.
 */
export default function processJob(
  job: Job<ChunkJobData | DesignJobData>,
): StoredChunkResult | StoredDesignResult {
  const { engineVersion } = job.data;
  if (engineVersion !== VERSION)
    throw new UnrecoverableError(
      `this worker runs Brink ${VERSION} but the job was submitted by Brink ${engineVersion}; run workers of the submitter's version`,
    );
  if ("design" in job.data) return encodeDesignResult(evaluateDesignRows(decodeDesignTask(job.data.design)));
  return encodeChunkResult(runNodeTask({ ...job.data.task, control: null } as ChunkTask));
}
