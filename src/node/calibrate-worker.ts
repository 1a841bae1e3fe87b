import { type CalibrateTask, runCalibrateTask } from "../analysis/calibrate/calibrate-task.js";

/** The Node worker-thread entry of calibration pools: piscina calls the default export with each task. */
export default function runCalibrateWorkerTask(task: CalibrateTask) {
  return runCalibrateTask(task);
}
