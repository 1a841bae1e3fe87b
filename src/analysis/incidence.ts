import type { Summary } from "../engine/summary.js";
import { isSaveStep, type ResolvedTime, stepTime } from "../model/load.js";
import { modelTimeToDate } from "../model/time.js";
import { wilson } from "./stats.js";

export interface IncidencePoint {
  t: number;
  date?: string;
  /** Cumulative incidence: the chance the run has ended in this outcome by t. */
  cif: number;
  lo: number;
  hi: number;
}

export interface IncidenceCurve {
  outcome: string;
  points: IncidencePoint[];
  /** First time the cumulative incidence reaches one half (null when it never does). */
  median_time: number | null;
}

/**
 * Cumulative-incidence curves of competing outcomes by the discrete-time Aalen–Johansen estimator:
 * CIF_o(k) = Σ_{j ≤ k} S(j − 1) · d_o(j) / n(j), with S the all-cause survival, d_o(j) the runs ending in o at
 * step j and n(j) the runs at risk. Runs still going at the horizon are censored there, and runs of a partial
 * job are complete, so here the estimator equals the share of runs ended in o by step k, and its pointwise
 * 95% interval is the Wilson interval of that count.
 */
export function incidenceCurves(summary: Summary, time: ResolvedTime): IncidenceCurve[] {
  const n = summary.runs;
  const steps = summary.steps;
  const atRisk = new Float64Array(steps + 1);
  const endedAt = new Float64Array(steps + 1);
  for (const times of summary.outcomeTimes) for (let k = 0; k <= steps; k++) endedAt[k]! += times[k]!;
  let risk = n;
  for (let k = 0; k <= steps; k++) {
    atRisk[k] = risk;
    risk -= endedAt[k]!;
  }
  return summary.outcomeNames.map((outcome, o) => {
    const times = summary.outcomeTimes[o]!;
    const points: IncidencePoint[] = [];
    let survival = 1;
    let cif = 0;
    let count = 0;
    let median: number | null = null;
    for (let k = 0; k <= steps; k++) {
      if (atRisk[k]! > 0) cif += (survival * times[k]!) / atRisk[k]!;
      if (atRisk[k]! > 0) survival *= 1 - endedAt[k]! / atRisk[k]!;
      count += times[k]!;
      const t = stepTime(time, k);
      if (median === null && cif >= 0.5) median = t;
      if (isSaveStep(time, k) || k === steps) {
        const w = wilson(count, n);
        const point: IncidencePoint = { t, cif, lo: w.lo, hi: w.hi };
        if (time.origin !== undefined && time.unit !== undefined)
          point.date = modelTimeToDate(t, time.origin, time.unit);
        points.push(point);
      }
    }
    return { outcome, points, median_time: median };
  });
}
