import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Piscina } from "piscina";
import type {
  CalibratePool,
  CalibrateTask,
  CalibrateTaskResult,
} from "../analysis/calibrate/calibrate-task.js";
import { PACKAGE_ROOT } from "./files.js";

const WORKER = join(PACKAGE_ROOT, "dist", "node", "calibrate-worker.js");

/**
 * Worker threads for `brink calibrate` and `brink backtest`: chains, and batches of particle-filter calls, run
 * there (src/analysis/calibrate/calibrate-task.ts). None for one worker: the work then runs on this thread,
 * with the same result. Idle threads exit after a second, so a finished program is not held open.
 */
const pools = new Map<number, Piscina<CalibrateTask, CalibrateTaskResult>>();

export function calibratePool(workers?: number): CalibratePool | undefined {
  const threads = Math.max(1, Math.min(workers ?? availableParallelism(), 64));
  if (threads === 1) return undefined;
  let piscina = pools.get(threads);
  if (!piscina) {
    piscina = new Piscina<CalibrateTask, CalibrateTaskResult>({
      filename: WORKER,
      minThreads: 0,
      maxThreads: threads,
      idleTimeout: 1000,
    });
    pools.set(threads, piscina);
  }
  const pool = piscina;
  return { size: threads, run: (task) => pool.run(task) };
}

/** Stop every calibration worker thread now. */
export async function closeCalibrateWorkers(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.destroy()));
}
