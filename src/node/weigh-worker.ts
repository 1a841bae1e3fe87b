/**
 * The worker-thread entry of `brink weigh` (the default export: one scenario's evidence) and `brink signposts`
 * (`runsTask`: a range of one scenario's runs). Each task prepares its model from the file's text, so its answer
 * depends on the seed and the task only, never on which thread ran it.
 */

export { runsTask } from "../analysis/signposts.js";
export { evidenceTask as default } from "../analysis/weigh.js";
