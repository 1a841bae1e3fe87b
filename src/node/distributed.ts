import { createHash } from "node:crypto";
import { availableParallelism, hostname } from "node:os";
import { join } from "node:path";
import { type ConnectionOptions, type Job, Queue, QueueEvents, UnrecoverableError, Worker } from "bullmq";
import type { Redis as IORedis, RedisOptions } from "ioredis";
import { Piscina } from "piscina";
import {
  type CalibratePool,
  type CalibrateTask,
  type CalibrateTaskResult,
  type ChainTaskResult,
  CONTROL_FIELDS,
  CONTROL_HEADER_BYTES,
  controlBuffer,
  runCalibrateTask,
} from "../analysis/calibrate/calibrate-task.js";
import { NO_POSITIVE_LIKELIHOOD } from "../analysis/calibrate/pmmh.js";
import type { DesignPool, DesignRowsTask, SobolRowsTask } from "../analysis/sensitivity-job.js";
import { type ChunkPool, runSimulation, type SimulationResult, UsageError } from "../analysis/simulate.js";
import type { ChunkFailure, ChunkResult, ChunkTask } from "../engine/chunk-task.js";
import { type PreparedModel, prepareModel } from "../engine/prepare.js";
import { Summary, shapeOf } from "../engine/summary.js";
import { FileWriteError, PACKAGE_ROOT, VERSION } from "./files.js";
import { RedisError } from "./redis-error.js";
import type { SimulateOptions } from "./simulate.js";
import type { ChunkWriteFailure } from "./worker.js";

/** The BullMQ queue every `brink run --redis` submits chunks to and every `brink worker` serves. */
export const QUEUE = "brink-chunks";

/** A chunk job as stored in Redis: the task without its shared memory, and who submitted it. */
export interface ChunkJobData {
  task: Omit<ChunkTask, "control">;
  /** Brink's version on the submitting side: a worker of another version refuses the chunk. */
  engineVersion: string;
}

/**
 * A part of a sensitivity design as stored in Redis (job name "design"): a Sobol' row range (the worker makes
 * the points from their indices) or a batch of Morris points, whose uniforms travel as base64 of their bytes.
 */
export interface DesignJobData {
  design: Omit<DesignRowsTask, "points"> & { points?: string };
  engineVersion: string;
}

/**
 * A calibration task as stored in Redis (job name "calibrate"): a PMMH chain, a batch of particle-filter calls or
 * of backtest forecasts (src/analysis/calibrate/calibrate-task.ts), without its shared memory, in wire form.
 */
export interface CalibrateJobData {
  calibrate: Wire;
  engineVersion: string;
}

/** A calibration task's result as stored in Redis, in wire form. */
export interface StoredCalibrateResult {
  calibrated: Wire;
}

/** A design part's result as stored in Redis: the packed sums or outputs, base64 of their bytes. */
export interface StoredDesignResult {
  packed: string;
}

/** A chunk's result as stored in Redis (JSON): typed arrays as base64 of their bytes, so it is exact. */
export type StoredChunkResult =
  | {
      summary: string;
      records?: { start: number; outcome: string; step: string; values: string[] };
    }
  | ChunkFailure
  | { writeFailed: { path: string; message: string } };

const toBase64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
function fromBase64<T>(text: string, make: (b: ArrayBuffer) => T): T {
  const bytes = Buffer.from(text, "base64");
  // Copy into a fresh buffer: the typed array must start at an aligned offset.
  return make(new Uint8Array(bytes).buffer);
}

/**
 * JSON-safe form of plain data with typed arrays and non-finite numbers, exact bit for bit: typed arrays as
 * base64 of their bytes, NaN, ±Infinity and −0 by name. Key order is kept, so the same value gives the same text.
 */
export type Wire = null | boolean | string | number | Wire[] | { [key: string]: Wire };

export function toWire(value: unknown): Wire {
  if (typeof value === "number")
    return Number.isFinite(value) && !Object.is(value, -0)
      ? value
      : { $number: Object.is(value, -0) ? "-0" : String(value) };
  if (value instanceof Float64Array) return { $f64: toBase64(value) };
  if (value instanceof Int32Array) return { $i32: toBase64(value) };
  if (value instanceof Uint8Array) return { $u8: toBase64(value) };
  if (ArrayBuffer.isView(value)) throw new Error(`cannot send a ${value.constructor.name} to Redis`);
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === "object") {
    const out: { [key: string]: Wire } = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
    return out;
  }
  if (typeof value === "string" || typeof value === "boolean") return value;
  return null;
}

export function fromWire(wire: Wire): unknown {
  if (Array.isArray(wire)) return wire.map(fromWire);
  if (wire === null || typeof wire !== "object") return wire;
  const keys = Object.keys(wire);
  if (keys.length === 1) {
    const v = wire[keys[0]!];
    if (typeof v === "string")
      switch (keys[0]) {
        case "$number":
          return v === "-0" ? -0 : Number(v);
        case "$f64":
          return fromBase64(v, (b) => new Float64Array(b));
        case "$i32":
          return fromBase64(v, (b) => new Int32Array(b));
        case "$u8":
          return fromBase64(v, (b) => new Uint8Array(b));
      }
  }
  return Object.fromEntries(keys.map((k) => [k, fromWire(wire[k]!)]));
}

/**
 * The id of a calibration job: a sha256 of the task in full (model text, observations, filter settings, seed,
 * chain or call numbers and their params) and the engine version.
 */
export function calibrateJobId(task: Wire, engineVersion: string): string {
  return createHash("sha256")
    .update(JSON.stringify(["calibrate", task, engineVersion]))
    .digest("hex");
}

export function encodeChunkResult(
  r: ChunkResult | ChunkFailure | { writeFailed: { path: string; message: string } },
): StoredChunkResult {
  if (!("summary" in r)) return r;
  const records = r.records;
  return {
    summary: toBase64(r.summary),
    ...(records
      ? {
          records: {
            start: records.start,
            outcome: toBase64(records.outcome),
            step: toBase64(records.step),
            values: records.values.map((v) => toBase64(v)),
          },
        }
      : {}),
  };
}

export function decodeChunkResult(stored: StoredChunkResult): ChunkResult | ChunkFailure {
  if ("writeFailed" in stored) {
    const { path, message } = stored.writeFailed;
    throw new FileWriteError(path, message.slice(`cannot write ${path}: `.length));
  }
  if (!("summary" in stored)) return stored;
  const result: ChunkResult = { summary: fromBase64(stored.summary, (b) => new Float64Array(b)) };
  if (stored.records) {
    const r = stored.records;
    result.records = {
      start: r.start,
      outcome: fromBase64(r.outcome, (b) => new Int32Array(b)),
      step: fromBase64(r.step, (b) => new Int32Array(b)),
      values: r.values.map((v) => fromBase64(v, (b) => new Float64Array(b))),
    };
  }
  return result;
}

export function encodeDesignTask(task: DesignRowsTask): DesignJobData["design"] {
  if (task.kind === "sobol") return task;
  return { ...task, points: toBase64(task.points) };
}

export function decodeDesignTask(stored: DesignJobData["design"]): DesignRowsTask {
  if (stored.kind === "sobol") return stored as SobolRowsTask;
  return {
    ...stored,
    kind: "points",
    points: fromBase64(stored.points ?? "", (b) => new Float64Array(b)),
  } as DesignRowsTask;
}

export function encodeDesignResult(packed: Float64Array): StoredDesignResult {
  return { packed: toBase64(packed) };
}

/** The id of a design job: a sha256 of the design part in full (its model text included) and the engine version. */
export function designJobId(design: DesignJobData["design"], engineVersion: string): string {
  return createHash("sha256")
    .update(JSON.stringify(["design", design, engineVersion]))
    .digest("hex");
}

/**
 * The id of a chunk job: a sha256 of everything its result depends on — model text, scenario, decisions,
 * posterior rows, seed, sampling, engine version, run range, and what it is asked to keep. The same chunk
 * submitted twice is one job, and a finished one is reused.
 */
export function chunkJobId(task: Omit<ChunkTask, "control">, engineVersion: string): string {
  const identity = JSON.stringify([
    task.text,
    task.scenario,
    task.decisions,
    task.paramRows ?? null,
    task.meta.seed,
    task.meta.sampling,
    task.meta.designRuns,
    engineVersion,
    task.start,
    task.end,
    task.probes,
    task.runsOut ?? null,
  ]);
  return createHash("sha256").update(identity).digest("hex");
}

/** Redis connection options from a `redis://host:port[/db]` URL, as BullMQ's workers need them. */
export function redisConnection(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisUrlError(url);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new RedisUrlError(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname || "127.0.0.1",
    port: u.port ? Number(u.port) : 6379,
    db: Number.isInteger(db) ? db : 0,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    // Commands wait for Redis to come back rather than fail the job (BullMQ requires this for workers).
    maxRetriesPerRequest: null,
  };
}

/** How long `brink run --redis` and `brink worker` wait for Redis at the start before giving up. */
const CONNECT_TIMEOUT_MS = 10_000;

async function reachable(url: string, ready: Promise<unknown>): Promise<void> {
  if (
    (await within(
      ready.then(() => true),
      CONNECT_TIMEOUT_MS,
    )) === undefined
  )
    throw new RedisError(`cannot reach Redis at ${url} (waited ${CONNECT_TIMEOUT_MS / 1000} s)`);
}

export class RedisUrlError extends UsageError {
  constructor(url: string) {
    super(`--redis must be a URL such as redis://127.0.0.1:6379, not ${JSON.stringify(url)}`);
  }
}

/** Retries of a chunk whose worker failed or died, with exponential backoff from one second. */
const ATTEMPTS = 5;

type JobData = ChunkJobData | DesignJobData | CalibrateJobData;
type StoredResult = StoredChunkResult | StoredDesignResult | StoredCalibrateResult;

/**
 * The submitting side of the queue. `submit` adds a job under its content id (an existing one, finished or not,
 * is reused; a failed one is retried), then awaits it — or a stop, which removes it if still waiting (one already
 * running on a worker finishes there and is kept for reuse) and answers "stopped". Two submitters of the same
 * job (the same command run twice) share it, so each counts itself among its waiters (`jobWaitersKey`) and a stop
 * withdraws or cancels the job only when no other submitter still awaits it.
 */
function redisQueue(url: string, signal: AbortSignal | undefined, opened: { close(): Promise<void> }[]) {
  // Once closing, a client that never reached Redis stops retrying: otherwise QueueEvents.close() waits for a
  // connection that never comes and the verb hangs after its error. Until then, BullMQ's own backoff.
  let closing = false;
  const connection: ConnectionOptions = {
    ...redisConnection(url),
    retryStrategy: (times: number) => (closing ? null : Math.max(Math.min(Math.exp(times), 20_000), 1000)),
  };
  const queue = new Queue<JobData, StoredResult>(QUEUE, { connection });
  const events = new QueueEvents(QUEUE, { connection });
  opened.push({
    close: async () => {
      closing = true;
      await Promise.all([events.close(), queue.close()]);
    },
  });
  // While Redis is away the clients retry; say so once per distinct reason rather than with every retry's stack.
  const said = new Set<string>();
  const onError = (e: Error) => {
    if (said.has(e.message)) return;
    said.add(e.message);
    process.stderr.write(`brink: Redis: ${e.message} (retrying)\n`);
  };
  queue.on("error", onError);
  events.on("error", onError);
  // One wait per job in flight listens on these: not a leak.
  queue.setMaxListeners(0);
  events.setMaxListeners(0);
  // Progress reported by the workers running a job (a chain's iterations), passed to whoever awaits it.
  const progressOf = new Map<string, (data: unknown) => void>();
  events.on("progress", ({ jobId, data }) => progressOf.get(jobId)?.(data));
  // A job removed while awaited (by another submitter of it that stopped): the wait for it is told.
  const removedOf = new Map<string, () => void>();
  events.on("removed", ({ jobId }) => removedOf.get(jobId)?.());
  // One listener for the signal, which wakes every job still awaited.
  const stopWaiters = new Set<() => void>();
  signal?.addEventListener("abort", () => {
    for (const wake of stopWaiters) wake();
  });
  // Awaited from the first submit on: a verb that fails before submitting anything (a model with nothing to vary)
  // must not leave a timed-out wait behind, to crash the process as an unhandled rejection 10 s later.
  let ready: Promise<void> | undefined;
  // The jobs this submitter counts itself a waiter of (joined, not yet left): left on close at the latest.
  const joined = new Set<string>();
  // A connection for plain commands (waiter counts, cancellations, partial chains), opened at the first submit.
  let publisher: Promise<IORedis> | undefined;
  const commands = () =>
    (publisher ??= import("ioredis").then(({ Redis }) => {
      const client = new Redis(connection as RedisOptions);
      client.on("error", () => {});
      opened.push({
        close: async () => {
          // Jobs still joined (a verb that gave up after another job failed): leave them first, briefly.
          await within(Promise.all([...joined].map((id) => leaveWaiters(id))), 2000);
          client.disconnect();
        },
      });
      return client;
    }));
  const publishCancel = async (id: string) => {
    // A caller that has given up on its other jobs (a backtest whose chain failed) may have closed the queue.
    if (closing) return;
    await (await commands()).publish(CANCEL_CHANNEL, id).catch(() => 0);
  };
  /** Count this submitter among the job's waiters (before adding it, so a stop elsewhere sees it). */
  const joinWaiters = async (id: string) => {
    if (joined.has(id)) return;
    const client = await commands();
    const counted = await client
      .multi()
      .incr(jobWaitersKey(id))
      .expire(jobWaitersKey(id), WAITERS_TTL_S)
      .exec()
      .catch(() => null);
    if (counted && !counted[0]?.[0]) joined.add(id);
  };
  /**
   * Leave the job's waiters (once; a second call is a no-op) and say how many are left: 0 when Redis cannot say,
   * and never below 0 — a count that expired while its job was awaited is not re-created negative.
   */
  const leaveWaiters = async (id: string): Promise<number> => {
    if (!joined.delete(id)) return 0;
    const client = await commands();
    const left = await client.eval(LEAVE_WAITERS, 1, jobWaitersKey(id)).catch(() => 0);
    return Math.max(0, Number(left));
  };
  /** A cancelled chain's draws as its worker left them (read once), or undefined. */
  const takePartial = async (id: string): Promise<Wire | undefined> => {
    if (closing || !publisher) return undefined;
    const client = await publisher;
    // GET then DEL in one transaction rather than GETDEL, which needs Redis 6.2.
    const replies = await client
      .multi()
      .get(partialChainKey(id))
      .del(partialChainKey(id))
      .exec()
      .catch(() => null);
    const text = replies?.[0]?.[1];
    if (typeof text !== "string") return undefined;
    try {
      return JSON.parse(text) as Wire;
    } catch {
      return undefined; // not what a worker wrote: the chain is left out, as if nothing had been kept
    }
  };
  const submit = async (
    name: "chunk" | "design" | "calibrate",
    data: JobData,
    id: string,
    what: string,
    /** Called with each progress report of the job's worker. */
    onProgress?: (data: unknown) => void,
    /** A job that can leave a partial result when cancelled while running (a chain): wait for it on a stop. */
    keepsPartial = false,
  ): Promise<StoredResult | "stopped" | { partial: Wire }> => {
    ready ??= reachable(url, Promise.all([events.waitUntilReady(), queue.waitUntilReady()]));
    await ready;
    await joinWaiters(id);
    if (onProgress) progressOf.set(id, onProgress);
    try {
      // Another submitter of the same job that stopped may withdraw or cancel it under this one in spite of the
      // waiter count (it read the count just before this one joined): then it is added again, a few times at most.
      for (let resubmits = 0; ; resubmits++) {
        let job: Job<JobData, StoredResult> = await queue.add(name, data, {
          jobId: id,
          attempts: ATTEMPTS,
          backoff: { type: "exponential", delay: 1000 },
          removeOnFail: false,
          removeOnComplete: false,
        });
        const state = await job.getState();
        if (state === "failed") {
          // A job that failed before (refused by a worker of another version, or cancelled) is tried again.
          await job.retry("failed");
          job = (await queue.getJob(id)) ?? job;
        }
        const finished = job.waitUntilFinished(events) as Promise<StoredResult | string>;
        let release = () => {};
        const stopped = new Promise<"stopped">((resolve) => {
          release = () => resolve("stopped");
          stopWaiters.add(release);
        });
        if (signal?.aborted) release();
        const removed = new Promise<"removed">((resolve) => removedOf.set(id, () => resolve("removed")));
        const outcome = await Promise.race([finished, stopped, removed])
          .catch((e: unknown) => ({ failed: e instanceof Error ? e.message : String(e) }))
          .finally(() => {
            stopWaiters.delete(release);
            removedOf.delete(id);
          });
        if (outcome === "stopped") {
          void finished.catch(() => {});
          // Another submitter still awaits this job (the same command run twice): leave it to them, untouched.
          if ((await leaveWaiters(id)) > 0) return "stopped";
          // Withdrawn if still waiting; if a worker is running it, that worker is asked to stop it.
          const withdrawn = await job.remove().then(
            () => true,
            () => false,
          );
          await publishCancel(id);
          if (keepsPartial && !withdrawn) {
            // Running: the worker stops between two iterations and leaves what it drew before failing the job.
            const ended = await within(
              finished.catch(() => undefined),
              PARTIAL_WAIT_MS,
            );
            // It ended before it heard the stop: the whole result.
            if (ended !== undefined)
              return typeof ended === "string" ? (JSON.parse(ended) as StoredResult) : ended;
            const kept = await takePartial(id);
            if (kept) return { partial: kept };
          }
          return "stopped";
        }
        const underUs =
          outcome === "removed" ||
          (typeof outcome === "object" && "failed" in outcome && outcome.failed === CANCELLED);
        if (underUs && !signal?.aborted && !closing && resubmits < RESUBMITS) {
          void finished.catch(() => {});
          continue;
        }
        if (outcome === "removed")
          throw new RedisError(`${what} was removed from the queue by another submitter`);
        // Failed on every attempt (or refused): say which part, and why, as the workers reported it.
        if (typeof outcome === "object" && "failed" in outcome)
          throw new RedisError(`${what} failed on the workers: ${outcome.failed}`);
        await leaveWaiters(id);
        return typeof outcome === "string" ? (JSON.parse(outcome) as StoredResult) : outcome;
      }
    } finally {
      progressOf.delete(id);
      // Every path that has not left yet (a failure, a throw from Redis) leaves here; leaving twice is a no-op.
      await leaveWaiters(id);
    }
  };
  return { submit };
}

/**
 * Chunks as BullMQ jobs. A stop answers at once with an empty summary, so the job ends partial with the chunks
 * already merged, as a local one does.
 */
function redisPool(url: string, signal: AbortSignal | undefined, opened: { close(): Promise<void> }[]) {
  const { submit } = redisQueue(url, signal, opened);
  const empties = new Map<string, PreparedModel>();
  const emptyResult = (task: ChunkTask): ChunkResult => {
    const key = `${task.meta.modelHash}\u0000${task.scenario ?? ""}`;
    let model = empties.get(key);
    if (!model) {
      model = prepareModel(task.file, task.text, {
        ...(task.scenario === null ? {} : { scenario: task.scenario }),
        ...(task.decisions ? { decisions: task.decisions } : {}),
      });
      empties.set(key, model);
    }
    return { summary: new Summary(shapeOf(model.program), task.meta).pack().data };
  };
  const run = async (full: ChunkTask): Promise<ChunkResult | ChunkFailure> => {
    const { control: _, ...task } = full;
    if (signal?.aborted) return emptyResult(full);
    const stored = await submit(
      "chunk",
      { task, engineVersion: VERSION },
      chunkJobId(task, VERSION),
      `runs ${task.start}–${task.end - 1}`,
    );
    if (stored === "stopped") return emptyResult(full);
    return decodeChunkResult(stored as StoredChunkResult);
  };
  return { run, sharedMemory: false } satisfies ChunkPool;
}

/** Thrown by a design pool on Redis when the submitter is stopped: a sensitivity analysis has no partial result. */
export class DesignStopped extends Error {
  constructor() {
    super("stopped");
  }
}

/**
 * A sensitivity design's parts as BullMQ jobs (`size` of them in flight is the hint for splitting the design;
 * the queue holds the rest). The result is the same bits as on local threads: parts merge as exact sums.
 */
export function redisDesignPool(
  url: string,
  options: { workers?: number; signal?: AbortSignal },
  opened: { close(): Promise<void> }[],
): DesignPool {
  const { submit } = redisQueue(url, options.signal, opened);
  return {
    size: options.workers ?? 8,
    evaluate: async (task) => {
      const design = encodeDesignTask(task);
      const what = task.kind === "sobol" ? `design rows ${task.from}–${task.to - 1}` : "design points";
      const stored = await submit(
        "design",
        { design, engineVersion: VERSION },
        designJobId(design, VERSION),
        what,
      );
      if (stored === "stopped") throw new DesignStopped();
      return fromBase64((stored as StoredDesignResult).packed, (b) => new Float64Array(b));
    },
  };
}

/**
 * Calibration tasks (`brink backtest --redis`: each origin's PMMH chains, its filtered-state and forecast batches)
 * as BullMQ jobs: the units local worker threads get, so the result is the same bits. A chain's progress comes
 * back through the job's progress and is written into the task's shared progress fields, where the caller reads
 * it as from a local thread. A stop (the signal, or the task's own stop flag) withdraws the waiting jobs and
 * cancels the running ones: a waiting chain answers at once with nothing kept, a running chain with the draws its
 * worker made before stopping (as a local thread's stopped chain; nothing if the worker does not answer within
 * 30 s) — the calibration ends partial — while a filter or forecast batch is finished on this thread (the same
 * numbers), as local threads finish theirs: the origin's forecasts are complete even without a worker left.
 */
export function redisCalibratePool(
  url: string,
  options: { workers?: number; signal?: AbortSignal },
  opened: { close(): Promise<void> }[],
): CalibratePool {
  const controller = new AbortController();
  options.signal?.addEventListener("abort", () => controller.abort(), { once: true });
  const { submit } = redisQueue(url, controller.signal, opened);
  return {
    size: options.workers ?? 8,
    run: async (task) => {
      // Nothing to compute (a stopped calibration's filtered state of no draws): no job for it.
      if (task.kind !== "chain" && task.calls.length === 0) return runCalibrateTask(task);
      const { control, ...rest } = task as CalibrateTask & { control?: SharedArrayBuffer | null };
      const wire = toWire(task.kind === "chain" ? { ...rest, control: null } : rest);
      let watch: NodeJS.Timeout | undefined;
      let onProgress: ((data: unknown) => void) | undefined;
      if (task.kind === "chain" && control) {
        const stop = new Int32Array(control, 0, 1);
        const fields = new Float64Array(
          control,
          CONTROL_HEADER_BYTES + 8 * CONTROL_FIELDS * task.chain,
          CONTROL_FIELDS,
        );
        onProgress = (data) => {
          if (Array.isArray(data) && data.length === CONTROL_FIELDS)
            data.forEach((x, i) => {
              fields[i] = typeof x === "number" ? x : Number.NaN;
            });
        };
        // The caller asks its chains to stop through the shared flag; here that withdraws the job.
        watch = setInterval(() => {
          if (Atomics.load(stop, 0) !== 0) controller.abort();
        }, 100);
      }
      try {
        if (controller.signal.aborted)
          return task.kind === "chain" ? stoppedChain(task.job.particles) : runCalibrateTask(task);
        const stored = await submit(
          "calibrate",
          { calibrate: wire, engineVersion: VERSION },
          calibrateJobId(wire, VERSION),
          task.kind === "chain" ? `calibration chain ${task.chain + 1}` : `a batch of ${task.kind}`,
          onProgress,
          task.kind === "chain",
        ).catch((e: unknown) => {
          // Data the model cannot produce: the same error as on a local thread, which the caller turns into a
          // diagnostic at the model's observations.
          if (e instanceof RedisError && e.message.endsWith(NO_POSITIVE_LIKELIHOOD))
            throw new Error(NO_POSITIVE_LIKELIHOOD);
          throw e;
        });
        // A stopped batch is finished here instead (the same numbers), as local threads finish theirs.
        if (stored === "stopped")
          return task.kind === "chain" ? stoppedChain(task.job.particles) : runCalibrateTask(task);
        // A chain stopped on its worker: the draws it made, as a local thread's stopped chain keeps them.
        if ("partial" in stored) return fromWire(stored.partial) as CalibrateTaskResult;
        return fromWire((stored as StoredCalibrateResult).calibrated) as CalibrateTaskResult;
      } finally {
        clearInterval(watch);
      }
    },
  };
}

/** A chain stopped before it returned: nothing kept (combineChains leaves it out). */
function stoppedChain(particles: number): ChainTaskResult {
  return {
    particles,
    kind: "chain",
    width: 0,
    values: new Float64Array(0),
    scores: new Float64Array(0),
    logLikelihood: new Float64Array(0),
    acceptance: 0,
    stopped: true,
  };
}

/**
 * Run a job's chunks on `brink worker`s through Redis and merge them here: the same result, byte for byte, as
 * the job run locally (summaries merge exactly whatever order the chunks finish in).
 */
export async function simulateOnRedis(
  input: { file: string; text: string },
  options: SimulateOptions,
  url: string,
): Promise<SimulationResult> {
  const opened: { close(): Promise<void> }[] = [];
  try {
    return await runSimulation(
      input,
      // `workers` here is how many chunks are in flight at once (two per "worker"), not threads.
      { ...options, threads: true, workers: options.workers ?? 8 },
      {
        cores: availableParallelism(),
        pool: () => redisPool(url, options.signal, opened),
        yieldToEvents: () => new Promise((resolve) => setImmediate(resolve)),
      },
    );
  } finally {
    await Promise.all(opened.map((o) => o.close().catch(() => {})));
  }
}

/** Where a submitter that stops asks the workers to stop the chunks they are running (Redis pub/sub). */
export const CANCEL_CHANNEL = `${QUEUE}:cancel`;
/**
 * Where a worker leaves what a cancelled calibration chain drew before it stopped (a key per job id, kept 10
 * minutes), for the submitter that stopped it: the job itself fails as cancelled, so a later submit runs the chain
 * again in full.
 */
export const partialChainKey = (jobId: string) => `${QUEUE}:partial:${jobId}`;
/**
 * How many submitters await a job (a key per job id). Kept a day after the last submit, so a submitter that died
 * without leaving cannot stop the job from being cancelled for ever: at worst a stop in that day lets the job run on.
 */
export const jobWaitersKey = (jobId: string) => `${QUEUE}:waiters:${jobId}`;
const WAITERS_TTL_S = 86_400;
/** Decrement a waiter count that exists, floored at 0 (a missing key stays missing): the count left. */
const LEAVE_WAITERS = `if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
local left = redis.call("DECR", KEYS[1])
if left < 0 then redis.call("INCRBY", KEYS[1], -left) return 0 end
return left`;
/** Why a worker fails a job whose submitter stopped it. */
const CANCELLED = "cancelled: the submitter stopped";
/** How often a submitter adds a job again that another submitter withdrew or cancelled under it. */
const RESUBMITS = 5;
const PARTIAL_TTL_S = 600;
/** How long a submitter that stopped waits for a running chain to stop and leave its draws. */
const PARTIAL_WAIT_MS = 30_000;
/** How long a worker tries to leave a cancelled chain's draws before it gives up on them. */
const PARTIAL_WRITE_MS = 5_000;

/** What `promise` gives within `ms`, else undefined (the promise itself is left to settle). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The worker-thread entry that local jobs use too (see worker.ts). */
const WORKER_FILE = join(PACKAGE_ROOT, "dist", "node", "worker.js");
/** The worker-thread entry of local calibrations and backtests (see calibrate-worker.ts). */
const CALIBRATE_WORKER_FILE = join(PACKAGE_ROOT, "dist", "node", "calibrate-worker.js");
/** How often a worker reports a running chain's progress to the submitter. */
const PROGRESS_MS = 500;

export interface ServeOptions {
  concurrency: number;
  /** How long a worker's lock on a chunk lasts without renewal; a dead worker's chunk is retried after it. */
  lockDurationMs: number;
}

/**
 * Serve chunks from Redis until `signal` says stop. Each job runs on one of the process's worker threads (the
 * pool local jobs use), so its event loop stays free to renew locks however long a chunk takes, and hears
 * cancellations: a submitter that stops publishes the ids of its jobs, and a chunk running here is told to stop
 * between runs (through the same shared flag as a local Ctrl-C) and fails as cancelled, without retries.
 */
export async function serveChunks(url: string, options: ServeOptions, signal: AbortSignal): Promise<void> {
  const connection = redisConnection(url);
  const threads = new Piscina<unknown, unknown>({
    filename: WORKER_FILE,
    minThreads: 0,
    maxThreads: options.concurrency,
    idleTimeout: 10_000,
  });
  // Calibration tasks run on threads of their own: the calibration worker entry keeps its model and filters.
  const calibrateThreads = new Piscina<CalibrateTask, CalibrateTaskResult>({
    filename: CALIBRATE_WORKER_FILE,
    minThreads: 0,
    maxThreads: options.concurrency,
    idleTimeout: 10_000,
  });
  const processor = async (
    job: Job<JobData>,
    _token?: string,
    cancel?: AbortSignal,
  ): Promise<StoredResult> => {
    const { engineVersion } = job.data;
    if (engineVersion !== VERSION)
      throw new UnrecoverableError(
        `this worker runs Brink ${VERSION} but the job was submitted by Brink ${engineVersion}; run workers of the submitter's version`,
      );
    if ("design" in job.data) {
      const out = (await threads.run(decodeDesignTask(job.data.design), {
        name: "evaluateDesignRows",
      })) as Float64Array;
      return encodeDesignResult(out);
    }
    if ("calibrate" in job.data)
      return calibrateJob(job as Job<CalibrateJobData>, calibrateThreads, cancel, leavePartial);
    const control = new SharedArrayBuffer(8);
    const flags = new Int32Array(control);
    const stop = () => Atomics.store(flags, 1, 1);
    cancel?.addEventListener("abort", stop, { once: true });
    try {
      const result = (await threads.run({ ...job.data.task, control })) as
        | ChunkResult
        | ChunkFailure
        | ChunkWriteFailure;
      if (cancel?.aborted) throw new UnrecoverableError(CANCELLED);
      return encodeChunkResult(result);
    } finally {
      cancel?.removeEventListener("abort", stop);
    }
  };
  const worker = new Worker<JobData, StoredResult>(QUEUE, processor, {
    connection,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: Math.max(1000, Math.floor(options.lockDurationMs / 2)),
    maxStalledCount: ATTEMPTS,
    // Shown as each job's processedBy, so an operator can tell which machine and process ran a chunk.
    name: `${hostname()}:${process.pid}`,
  });
  worker.on("error", (e) => process.stderr.write(`brink worker: ${e.message}\n`));
  const destroyThreads = () => Promise.all([threads.destroy(), calibrateThreads.destroy()]);
  const { Redis } = await import("ioredis");
  // A connection for cancelled chains' draws, opened at the first one only.
  let store: IORedis | undefined;
  const leavePartial = async (id: string, chain: Wire) => {
    store ??= new Redis(connection as RedisOptions).on("error", () => {});
    // Bounded: with Redis away the write would wait for it, and hold the job (and a SIGTERM's close) open.
    await within(
      store.set(partialChainKey(id), JSON.stringify(chain), "EX", PARTIAL_TTL_S).catch(() => {}),
      PARTIAL_WRITE_MS,
    );
  };
  const cancellations = new Redis({ ...(connection as RedisOptions), lazyConnect: true });
  cancellations.on("error", () => {});
  cancellations.on("message", (_channel: string, id: string) => {
    worker.cancelJob(id, "the submitter stopped");
  });
  try {
    await reachable(
      url,
      Promise.all([
        worker.waitUntilReady(),
        cancellations.connect().then(() => cancellations.subscribe(CANCEL_CHANNEL)),
      ]),
    );
  } catch (e) {
    await worker.close(true).catch(() => {});
    cancellations.disconnect();
    await destroyThreads();
    throw e;
  }
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
  await worker.close();
  cancellations.disconnect();
  store?.disconnect();
  await destroyThreads();
}

/**
 * One calibration task on a worker thread. A chain gets a progress and stop buffer of its own: its progress goes
 * to the submitter as the job's progress, and a cancellation sets its stop flag, so it ends between two
 * iterations, leaves what it drew for the submitter (`leavePartial`) and fails as cancelled (a partial chain is
 * never the job's result: a later submit runs it again in full).
 */
async function calibrateJob(
  job: Job<CalibrateJobData>,
  threads: Piscina<CalibrateTask, CalibrateTaskResult>,
  cancel: AbortSignal | undefined,
  leavePartial: (id: string, chain: Wire) => Promise<void>,
): Promise<StoredCalibrateResult> {
  const task = fromWire(job.data.calibrate) as CalibrateTask;
  // Impossible data fail the same way on every attempt: no retries.
  const unrecoverable = (e: unknown) => {
    if (e instanceof Error && e.message === NO_POSITIVE_LIKELIHOOD) throw new UnrecoverableError(e.message);
    throw e;
  };
  if (task.kind !== "chain") return { calibrated: toWire(await threads.run(task).catch(unrecoverable)) };
  const control = controlBuffer(task.chain + 1);
  const stop = new Int32Array(control, 0, 1);
  const fields = new Float64Array(
    control,
    CONTROL_HEADER_BYTES + 8 * CONTROL_FIELDS * task.chain,
    CONTROL_FIELDS,
  );
  const onCancel = () => Atomics.store(stop, 0, 1);
  cancel?.addEventListener("abort", onCancel, { once: true });
  let reported = 0;
  const timer = setInterval(() => {
    if (fields[0] === reported) return;
    reported = fields[0]!;
    // NaN (the ESS before it is known) does not survive JSON: sent as null, read back as NaN.
    job.updateProgress(Array.from(fields, (x) => (Number.isFinite(x) ? x : null))).catch(() => {});
  }, PROGRESS_MS);
  try {
    const result = await threads.run({ ...task, control }).catch(unrecoverable);
    // A chain that ended before it heard the cancellation is whole: kept as the job's result.
    if (result.kind === "chain" && result.stopped) {
      if (job.id) await leavePartial(job.id, toWire(result));
      throw new UnrecoverableError(CANCELLED);
    }
    return { calibrated: toWire(result) };
  } finally {
    clearInterval(timer);
    cancel?.removeEventListener("abort", onCancel);
  }
}
