/**
 * The flagship's front model (models/flagship/front.yaml): its data files derived from the shared datasets, and
 * its rolling-origin backtest scored by horizon (docs/flagship.md; scripts/flagship-backtest.js; the guard in
 * test/flagship-front.test.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type BacktestResult, backtest, parseOrigins } from "../analysis/calibrate/backtest.js";
import {
  type CoverageInterval,
  compareForecasters,
  coverageIntervals,
  type ForecastComparison,
  pairBacktests,
} from "../analysis/calibrate/compare-forecasts.js";
import { type ScoreSummary, summarizeScores } from "../analysis/calibrate/scoring.js";
import { prepareModel } from "../engine/prepare.js";
import { flagshipSeries } from "../io/flagship-data.js";
import { hasDatasets, readDataset } from "./data.js";
import { PACKAGE_ROOT } from "./files.js";
import { loadObservations } from "./observations.js";

export const FRONT = join(PACKAGE_ROOT, "models", "flagship", "front.yaml");
export const FRONT_DATA = join(dirname(FRONT), "data");

/** Quarterly origins across 2023-25 (the first with half a year of data before it). */
export const FRONT_ORIGINS = [
  "2023-07-02",
  "2023-10-01",
  "2024-01-07",
  "2024-04-07",
  "2024-07-07",
  "2024-10-06",
  "2025-01-05",
  "2025-04-06",
];
/** Horizons in 4-week observation periods: about 3, 6 and 12 months. */
export const FRONT_HORIZONS = [
  { label: "3 months", periods: 3 },
  { label: "6 months", periods: 6 },
  { label: "12 months", periods: 13 },
];

/**
 * Write the front model's data files from the shared datasets (see src/io/flagship-data.ts); false, with nothing
 * written, when the datasets are absent.
 */
export function writeFrontData(): boolean {
  if (!hasDatasets()) return false;
  const series = flagshipSeries({
    personnel: readDataset("ua-mod-russian-losses/russia_losses_personnel.json"),
    liveuamap: readDataset("territory/liveuamap_territory_daily.csv"),
    deepstate: readDataset("territory/deepstate_occupied_area_daily.csv"),
    kiel: readDataset("aid-kiel-ust/total_allocations.csv"),
  });
  mkdirSync(FRONT_DATA, { recursive: true });
  for (const [name, rows] of Object.entries(series)) {
    const text = `date,value\n${rows.map((r) => `${r.date},${r.value}`).join("\n")}\n`;
    const path = join(FRONT_DATA, `${name}.csv`);
    if (!existsSync(path) || readFileSync(path, "utf8") !== text) writeFileSync(path, text);
  }
  return true;
}

export interface FrontBacktestOptions {
  /** A variant of front.yaml to score instead (its data paths resolve from its own folder); absent: FRONT. */
  file?: string;
  origins?: string[];
  runs: number;
  seed: number;
  chains: number;
  iterations: number;
  burnIn: number;
  particles: number;
  /** Adaptive particle numbers at each origin (see CalibrateOptions.targetSd; absent: none). */
  targetSd?: number;
  maxParticles?: number;
  /** Adapt the proposals' full covariance (CalibrateOptions.covariance). */
  covariance?: boolean;
  /** Called with the whole backtest (every period's forecast and scores) before it is cut by horizon. */
  onResult?: (result: BacktestResult) => void;
  /**
   * Another backtest of the same origins (its `--json`, a variant's or the base model's): each horizon's rows
   * then include this model against that one on the periods both scored.
   */
  against?: { label: string; result: BacktestResult };
  /** A backtest already run (its `--json`): cut it by horizon instead of running one. */
  saved?: BacktestResult;
}

export interface HorizonRow {
  series: string;
  horizon: string;
  forecaster: string;
  scores: ScoreSummary;
  /** On a baseline's row: the model's mean CRPS minus this baseline's on these periods, with its 95% interval. */
  comparison?: ForecastComparison;
  /** This forecaster's coverage on these periods, with 95% intervals (coverageIntervals). */
  coverage?: CoverageInterval;
}

/**
 * Backtest the front model from each origin to 12 months ahead, then score every series by horizon: for each
 * horizon, the periods up to that many observations after their origin where every forecaster had a forecast.
 */
export async function frontBacktestByHorizon(options: FrontBacktestOptions): Promise<HorizonRow[]> {
  const file = options.file ?? FRONT;
  const model = prepareModel(file, readFileSync(file, "utf8"));
  const series = loadObservations(file, model.loaded);
  const origins = parseOrigins(model, series, (options.origins ?? FRONT_ORIGINS).join(","));
  if ("error" in origins) throw new Error(origins.error);
  const longest = Math.max(...FRONT_HORIZONS.map((h) => h.periods));
  const result =
    options.saved ??
    (await backtest(model, file, series, {
      origins: origins.steps,
      horizonSteps: 4 * longest,
      priorsOnly: false,
      runs: options.runs,
      baselineK: 3,
      seed: options.seed,
      chains: options.chains,
      iterations: options.iterations,
      burnIn: options.burnIn,
      particles: options.particles,
      ...(options.targetSd ? { targetSd: options.targetSd } : {}),
      ...(options.maxParticles ? { maxParticles: options.maxParticles } : {}),
      ...(options.covariance ? { covariance: true } : {}),
    }));
  options.onResult?.(result);
  const rows: HorizonRow[] = [];
  for (const s of series) {
    for (const h of FRONT_HORIZONS) {
      const periods = result.periods.filter(
        (p) => p.series === s.name && p.lead <= h.periods && p.scores.length === result.forecasters.length,
      );
      const comparisons = compareForecasters(periods, result.forecasters);
      const coverage = coverageIntervals(periods, result.forecasters);
      for (const forecaster of result.forecasters) {
        const scores = periods.map((p) => p.scores.find((x) => x.forecaster === forecaster)!);
        const comparison = comparisons.find((c) => c.baseline === forecaster);
        const covered = coverage.find((c) => c.forecaster === forecaster);
        if (scores.length)
          rows.push({
            series: s.name,
            horizon: h.label,
            forecaster,
            scores: summarizeScores(scores),
            ...(comparison ? { comparison } : {}),
            ...(covered ? { coverage: covered } : {}),
          });
      }
      // The other run's model on the periods both scored: its scores, and this model against it.
      if (options.against) {
        const { label } = options.against;
        const paired = pairBacktests(periods, options.against.result.periods, ["model", label]);
        const [comparison] = compareForecasters(paired, ["model", label]);
        if (comparison)
          rows.push({
            series: s.name,
            horizon: h.label,
            forecaster: label,
            scores: summarizeScores(paired.map((p) => p.scores[1]!)),
            comparison,
          });
      }
    }
  }
  return rows;
}
