import {
  type DesignRowsTask,
  type SensitivityReport,
  sensitivityAnalysis,
} from "../analysis/sensitivity-job.js";
import {
  POOL_CHUNK,
  type RunsPart,
  type SignpostOptions,
  type SignpostResult,
  type SignpostScenario,
  signposts,
} from "../analysis/signposts.js";
import {
  type ChunkPool,
  type Progress,
  runSimulation,
  type SimulateOptions,
  type SimulationResult,
} from "../analysis/simulate.js";
import {
  type EvidencePath,
  type WeighOptions,
  type WeighResult,
  type WeighScenario,
  weigh,
} from "../analysis/weigh.js";
import type { ChunkFailure, ChunkResult, ChunkTask } from "../engine/chunk-task.js";
import type { WorkerAnswer, WorkerRequest } from "./worker.js";

type Pending = {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onProgress?: (done: number, total: number) => void;
};

// Distributive Omit, so each request kind keeps its own fields.
type RequestBody = WorkerRequest extends infer R ? (R extends unknown ? Omit<R, "id"> : never) : never;

/** One Web Worker and its open requests. */
class EngineWorker {
  private readonly worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  busy = 0;

  constructor() {
    this.worker.onmessage = (e: MessageEvent<WorkerAnswer>) => {
      const answer = e.data;
      const p = this.pending.get(answer.id);
      if (!p) return;
      if ("progress" in answer) {
        p.onProgress?.(answer.progress, answer.total);
        return;
      }
      this.pending.delete(answer.id);
      this.busy--;
      if (answer.ok) p.resolve(answer.value);
      else p.reject(new Error(answer.error));
    };
  }

  request<T>(body: RequestBody, onProgress?: (done: number, total: number) => void): Promise<T> {
    const id = this.next++;
    this.busy++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        ...(onProgress ? { onProgress } : {}),
      });
      this.worker.postMessage({ ...body, id } as WorkerRequest);
    });
  }

  terminate(): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new Error("stopped"));
    this.pending.clear();
  }
}

/** The browser's worker pool: one Web Worker per core, chunks to the least busy. */
export class BrowserPool implements ChunkPool {
  private workers: EngineWorker[] = [];
  readonly sharedMemory = typeof SharedArrayBuffer !== "undefined" && globalThis.crossOriginIsolated === true;

  constructor(readonly size = Math.max(1, navigator.hardwareConcurrency || 2)) {}

  private least(): EngineWorker {
    while (this.workers.length < this.size) this.workers.push(new EngineWorker());
    return this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  run(task: ChunkTask): Promise<ChunkResult | ChunkFailure> {
    return this.least().request<ChunkResult | ChunkFailure>({ kind: "chunk", task });
  }

  evaluateDesign(task: DesignRowsTask): Promise<Float64Array> {
    return this.least().request<Float64Array>({ kind: "design-rows", task });
  }

  /** A request to one worker of its own (sensitivity, the war room). */
  dedicated = new Map<string, EngineWorker>();
  worker(role: string): EngineWorker {
    let w = this.dedicated.get(role);
    if (!w) {
      w = new EngineWorker();
      this.dedicated.set(role, w);
    }
    return w;
  }

  /** Stop every worker now (a cancel); the next job starts fresh ones. */
  reset(): void {
    for (const w of this.workers) w.terminate();
    this.workers = [];
  }
}

export const pool = new BrowserPool();

/** Run a model as Monte Carlo on the page's Web Workers: the same job, and the same numbers, as `brink run`. */
export function simulateInBrowser(
  input: { file: string; text: string },
  options: SimulateOptions & { onProgress?: (p: Progress) => void },
  on: BrowserPool = pool,
): Promise<SimulationResult> {
  return runSimulation(
    input,
    { ...options, threads: true, workers: options.workers ?? on.size },
    { pool: () => on, cores: on.size, yieldToEvents: () => new Promise((r) => setTimeout(r, 0)) },
  );
}

/**
 * The benchmark page (`?bench=RUNS`): the flagship on one Web Worker, after a warm-up, as runs per second —
 * what `npm run bench` sets against one Node worker thread.
 */
export async function benchmarkOneWorker(file: string, text: string, runs: number): Promise<number> {
  const single = new BrowserPool(1);
  await simulateInBrowser({ file, text }, { runs: 2000, seed: 2, workers: 1, ownClaims: false }, single);
  const started = performance.now();
  await simulateInBrowser({ file, text }, { runs, seed: 1, workers: 1, ownClaims: false }, single);
  const seconds = (performance.now() - started) / 1000;
  single.reset();
  return runs / seconds;
}

/** A Sobol analysis with its design points evaluated on every Web Worker. */
export function sensitivityInBrowser(
  input: { file: string; text: string },
  options: { scenario: string | null; samples: number; seed: number },
  onProgress: (done: number, total: number) => void,
): Promise<SensitivityReport> {
  return sensitivityAnalysis(
    input,
    {
      samples: options.samples,
      replicates: 1,
      seed: options.seed,
      onProgress,
      ...(options.scenario ? { scenario: options.scenario } : {}),
    },
    { size: pool.size, evaluate: (task) => pool.evaluateDesign(task) },
  );
}

/** A weighing of theses running on Web Workers of its own: its result, and how to stop it. */
export interface WeighJob {
  result: Promise<WeighResult>;
  /** Stop now: the job's workers are terminated and `result` rejects. */
  cancel(): void;
}

/**
 * `brink weigh`'s job in the page: each scenario's evidence (PMMH, then importance sampling with the particle
 * filter) is one task on a Web Worker of the job's own — the same task, keyed by the same seed, as a Node worker
 * thread's, so the weights are the CLI's — and the weights are put together here. Progress is the samplers'
 * iterations over all scenarios; cancelling terminates the job's workers.
 */
export function weighInBrowser(
  file: string,
  text: string,
  scenarios: readonly WeighScenario[],
  options: Omit<WeighOptions, "onProgress" | "shouldStop" | "pause">,
  onProgress: (done: number, total: number) => void,
  size = pool.size,
): WeighJob {
  const workers = Array.from(
    { length: Math.max(1, Math.min(size, scenarios.length)) },
    () => new EngineWorker(),
  );
  const perTask = options.chains * (options.iterations + options.burnIn);
  const done = new Map<string, number>();
  let next = 0;
  const result = weigh(file, scenarios, options, {
    text,
    run: (task) => {
      const worker = workers[next++ % workers.length]!;
      return worker.request<EvidencePath | { problem: string }>({ kind: "evidence", task }, (d) => {
        done.set(task.scenario, d);
        onProgress(
          [...done.values()].reduce((a, b) => a + b, 0),
          perTask * scenarios.length,
        );
      });
    },
  });
  const stop = () => {
    for (const w of workers) w.terminate();
  };
  return {
    result: result.finally(stop),
    cancel: stop,
  };
}

/** A signposts job on Web Workers of its own: its result, and how to stop it. */
export interface SignpostsJob {
  result: Promise<SignpostResult>;
  cancel(): void;
}

/**
 * `brink signposts`' job in the page: each scenario's runs in chunks (the same tasks, keyed by seed and run index,
 * as Node's worker threads), on Web Workers of the job's own; progress counts the chunks done.
 */
export function signpostsInBrowser(
  file: string,
  text: string,
  scenarios: readonly SignpostScenario[],
  options: Omit<SignpostOptions, "shouldStop" | "pause">,
  onProgress: (done: number, total: number) => void,
  size = pool.size,
): SignpostsJob {
  const workers = Array.from({ length: Math.max(1, size) }, () => new EngineWorker());
  const total = scenarios.length * Math.ceil(options.runs / POOL_CHUNK);
  let next = 0;
  let done = 0;
  const result = signposts(file, scenarios, options, {
    text,
    run: (task) =>
      workers[next++ % workers.length]!.request<RunsPart>({ kind: "runs", task }).then((part) => {
        onProgress(++done, total);
        return part;
      }),
  });
  const stop = () => {
    for (const w of workers) w.terminate();
  };
  return { result: result.finally(stop), cancel: stop };
}
