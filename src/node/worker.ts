import { runTask } from "../engine/chunk-task.js";

/** The Node worker-thread entry: piscina calls the default export with each chunk task. */
export default runTask;
