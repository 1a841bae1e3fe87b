/**
 * Every verb of the `brink` CLI, in the order `brink --help` lists them. Adding a verb: write
 * src/node/verbs/<verb>.ts exporting a `Verb` (see check.ts for the smallest), and add it here.
 */
import { backtestVerb } from "./backtest.js";
import { calibrateVerb } from "./calibrate.js";
import { check } from "./check.js";
import { compare } from "./compare.js";
import { conformance } from "./conformance.js";
import { exportVerb } from "./export.js";
import { importVerb } from "./import.js";
import { merge } from "./merge.js";
import { optimize } from "./optimize.js";
import { report } from "./report.js";
import { run } from "./run.js";
import { schema } from "./schema.js";
import { sensitivity } from "./sensitivity.js";
import { serve } from "./serve.js";
import type { Verb } from "./shared.js";
import { signpostsVerb } from "./signposts.js";
import { weighVerb } from "./weigh.js";
import { worker } from "./worker.js";

export const VERBS: Verb[] = [
  check,
  run,
  merge,
  sensitivity,
  compare,
  report,
  optimize,
  calibrateVerb,
  backtestVerb,
  weighVerb,
  signpostsVerb,
  importVerb,
  exportVerb,
  conformance,
  serve,
  worker,
  schema,
];
