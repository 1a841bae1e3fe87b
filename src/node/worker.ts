import { runTask } from "../engine/chunk-task.js";

/** The Node worker-thread entry: piscina calls the default export with each chunk task. */
export default runTask;

/** Batches of sensitivity-design points (piscina's `name: "evaluateDesignRows"`). */
export { evaluateDesignRows } from "../analysis/sensitivity-job.js";
