import type { Comparison } from "../analysis/compare.js";
import type { RunReport } from "../analysis/results.js";
import type { SensitivityReport } from "../analysis/sensitivity-job.js";
import type { LoadedModel } from "../model/load.js";
import type { Pin } from "./panels/params.js";

/** What the page holds between events: the open file, its loaded model and the results computed from it. */
export interface AppState {
  file: string;
  /** The model text as it was opened (a bundled model, a file, a share link), to tell whether it was edited since. */
  openedText?: string;
  loaded?: LoadedModel;
  report?: RunReport;
  /** The previous report of the same model and scenario, to show what moved. */
  previous?: RunReport;
  compare?: Comparison;
  sensitivity?: SensitivityReport;
  sensitivitySamples?: number;
  /** Distributions the user pinned to one value with a slider, by param, so ↺ can restore them. */
  pinned: Map<string, Pin>;
}

export const newState = (file: string): AppState => ({ file, pinned: new Map() });

/** A new file: its results and pins go, the file name stays for diagnostics and downloads. */
export function openFile(state: AppState, file: string, text?: string): void {
  state.file = file;
  state.openedText = text;
  state.pinned.clear();
  state.report = undefined;
  state.previous = undefined;
  state.compare = undefined;
  state.sensitivity = undefined;
  if (text === undefined) delete state.openedText;
}

/** Record a finished run; the last one stays as `previous` when it is of the same model and scenario. */
export function recordRun(state: AppState, report: RunReport): void {
  const same = state.report?.model === report.model && state.report?.scenario === report.scenario;
  state.previous = same ? state.report : undefined;
  state.report = report;
}

/** The run bar's fields as run settings: at least 100 runs and at most the field's 1,000,000; whole seeds. */
export function runSettings(runsField: string, seedField: string): { runs: number; seed: number } {
  const runs = Math.min(1_000_000, Math.max(100, Math.round(Number(runsField)) || 1000));
  const seed = Math.max(0, Math.round(Number(seedField)) || 0);
  return { runs, seed };
}
