import type { PreparedModel } from "./prepare.js";
import { Runner } from "./run.js";
import { Summary } from "./summary.js";

export interface MonteCarloOptions {
  runs: number;
  seed: number;
  /** Index of the first run (a job may be split into ranges of run indices). */
  firstRun?: number;
  /** Called now and then with the number of runs done. */
  onProgress?: (done: number, total: number) => void;
  /** Stop early; the summary then says it is partial. */
  signal?: AbortSignal;
  backend?: "kernel" | "interpreter";
}

/** Run runs firstRun … firstRun + runs − 1 of a job and summarise them (one thread). */
export function runMonteCarlo(model: PreparedModel, options: MonteCarloOptions): Summary {
  const runner = new Runner(model, options.seed, options.backend ?? "kernel");
  const first = options.firstRun ?? 0;
  const summary = new Summary(model.program);
  const every = Math.max(1, Math.min(1000, Math.floor(options.runs / 100)));
  for (let i = 0; i < options.runs; i++) {
    if (options.signal?.aborted) {
      summary.partial = true;
      break;
    }
    const end = runner.run(first + i);
    summary.add(end, runner.saved);
    if (options.onProgress && (i + 1) % every === 0) options.onProgress(i + 1, options.runs);
  }
  return summary;
}
