import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Piscina } from "piscina";
import type { DesignPool, DesignRowsTask } from "../analysis/sensitivity-job.js";
import {
  type ChunkPool,
  runSimulation,
  type SimulateOptions,
  type SimulationResult,
} from "../analysis/simulate.js";
import type { ChunkFailure, ChunkResult, ChunkTask } from "../engine/chunk-task.js";
import { FileWriteError, PACKAGE_ROOT } from "./files.js";
import { freeDroppedBuffers } from "./free-buffer.js";
import type { ChunkWriteFailure } from "./worker.js";

export {
  type Progress,
  precisionCheckpoints,
  type SimulateOptions,
  type SimulationResult,
  UsageError,
  worstHalfWidth,
} from "../analysis/simulate.js";

const WORKER = join(PACKAGE_ROOT, "dist", "node", "worker.js");

// Chunk summaries merged here free what they drop at once (their packed arrays, spare nodes, report views).
freeDroppedBuffers();

/**
 * Jobs up to this many run·steps (with no --workers) run on the calling thread: about 0.1–1.5 µs a run·step, so
 * at most a few tenths of a second, against a worker's start (a thread, the engine's modules, the model compiled).
 */
export const IN_PROCESS_RUN_STEPS = 1_000_000;

/**
 * Worker pools are kept between jobs (sensitivity analysis and optimisation run many), one per thread count.
 * Idle threads exit after a second, so a finished program is not held open.
 */
type WorkerTask = ChunkTask | DesignRowsTask;
type WorkerResult = ChunkResult | ChunkFailure | ChunkWriteFailure | Float64Array;
const pools = new Map<number, Piscina<WorkerTask, WorkerResult>>();
const WORKER_YOUNG_GENERATION_MB = 8;

/** Piscina is loaded with the first pool, so jobs that run on the calling thread never load it. */
async function piscinaOf(threads: number): Promise<Piscina<WorkerTask, WorkerResult>> {
  const { Piscina } = await import("piscina");
  let pool = pools.get(threads);
  if (!pool) {
    pool = new Piscina<WorkerTask, WorkerResult>({
      filename: WORKER,
      minThreads: 0,
      maxThreads: threads,
      idleTimeout: 1000,
      // Runs make short-lived garbage at a high rate, which grows each thread's young generation to V8's
      // default ceiling (tens of megabytes per thread, most of a million-run job's peak); a smaller one is
      // scavenged more often at no measurable cost.
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    pools.set(threads, pool);
  }
  return pool;
}

/** The worker threads as a pool for Monte Carlo chunks. */
function poolOf(threads: number): ChunkPool {
  // The default export answers chunk tasks (see worker.ts).
  const run = async (task: ChunkTask) => {
    const piscina = await piscinaOf(threads);
    const result = (await piscina.run(task)) as ChunkResult | ChunkFailure | ChunkWriteFailure;
    if ("writeFailed" in result) {
      const { path, message } = result.writeFailed;
      throw new FileWriteError(path, message.slice(`cannot write ${path}: `.length));
    }
    return result;
  };
  return { run, sharedMemory: true };
}

/** The worker threads as a pool for sensitivity designs; none for one worker (the design then runs here). */
export function designPool(workers?: number): DesignPool | undefined {
  const threads = Math.max(1, Math.min(workers ?? availableParallelism(), 64));
  if (threads === 1) return undefined;
  return {
    size: threads,
    // The named export answers design batches (see worker.ts).
    evaluate: async (task: DesignRowsTask) =>
      (await piscinaOf(threads)).run(task, { name: "evaluateDesignRows" }) as Promise<Float64Array>,
  };
}

/** Stop every worker thread now (they also stop by themselves after a second idle). */
export async function closeWorkers(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.destroy()));
}

/**
 * Run a model as Monte Carlo on worker threads. The job is a range of run indices split into chunks; each
 * worker compiles the model once; chunk summaries merge exactly, so the result is the same for any number of
 * workers and any chunk size.
 */
export function simulate(
  input: { file: string; text: string },
  options: SimulateOptions = {},
): Promise<SimulationResult> {
  return runSimulation(input, options, {
    cores: availableParallelism(),
    pool: poolOf,
    yieldToEvents: () => new Promise((resolve) => setImmediate(resolve)),
    inProcessRunSteps: IN_PROCESS_RUN_STEPS,
  });
}
