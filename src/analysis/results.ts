import type { Summary } from "../engine/summary.js";
import { type ResolvedTime, saveTime, stepTime } from "../model/load.js";
import { modelTimeToDate } from "../model/time.js";
import { type ClaimResult, type CompiledClaim, evaluateClaim, needsRecords } from "./claims.js";
import { type IncidenceCurve, incidenceCurves } from "./incidence.js";
import { wilson } from "./stats.js";

/** The `brink run --json` object (a contract: see DESIGN.md). */
export interface RunReport {
  model: string;
  scenario: string | null;
  runs: number;
  seed: number;
  sampling: "random" | "lhs";
  partial: boolean;
  time: { start: number; stop: number; dt: number; unit: string | null; origin: string | null };
  outcomes: Record<string, OutcomeRow>;
  censored: { count: number; p: number; lo: number; hi: number };
  tracked: Record<string, TrackedPoint[]>;
  claims: ClaimResult[];
  /** Cumulative incidence of each outcome over time (Aalen–Johansen), with pointwise 95% intervals. */
  incidence: IncidenceCurve[];
}

export interface OutcomeRow {
  count: number;
  p: number;
  lo: number;
  hi: number;
  /** Median time of this outcome among the runs it ended (null when none did). */
  median_time: number | null;
  median_date?: string | null;
}

export interface TrackedPoint {
  t: number;
  date?: string;
  /** Runs still going at t: the quantiles describe these. */
  n: number;
  mean: number | null;
  sd: number | null;
  /** Quantiles from a sketch: each within 0.5% (relative) of a value of that rank. */
  q05: number | null;
  q25: number | null;
  q50: number | null;
  q75: number | null;
  q95: number | null;
}

const round = (x: number): number | null => (Number.isFinite(x) ? Number(x.toPrecision(12)) : null);

export function buildReport(args: {
  time: ResolvedTime;
  summary: Summary;
  claims: CompiledClaim[];
  /**
   * Evaluates claims with E, Q, P(var at T > x) or other scenarios' terms, which the summary's counts cannot
   * (from running statistics over the runs, or their records); absent, such claims are undecided.
   */
  evaluateFromRuns?: (claim: CompiledClaim) => ClaimResult;
}): RunReport {
  const { summary, time } = args;
  const n = summary.runs;
  const outcomes: Record<string, OutcomeRow> = {};
  const dateOf = (t: number) =>
    time.origin !== undefined && time.unit !== undefined
      ? modelTimeToDate(t, time.origin, time.unit)
      : undefined;
  summary.outcomeNames.forEach((name, o) => {
    const count = summary.outcomeCounts[o]!;
    const w = wilson(count, n);
    const medianStep = medianIndex(summary.outcomeTimes[o]!, count);
    const median = medianStep === undefined ? null : round(stepTime(time, medianStep));
    const row: OutcomeRow = {
      count,
      p: round(w.p) ?? 0,
      lo: round(w.lo) ?? 0,
      hi: round(w.hi) ?? 1,
      median_time: median,
    };
    if (time.origin !== undefined) row.median_date = median === null ? null : (dateOf(median) ?? null);
    outcomes[name] = row;
  });
  const c = wilson(summary.censored, n);
  const tracked: Record<string, TrackedPoint[]> = {};
  summary.trackedNames.forEach((name, j) => {
    const points: TrackedPoint[] = [];
    for (let s = 0; s < summary.saveCount; s++) {
      const t = saveTime(time, s);
      const st = summary.statsAt(j, s);
      const point: TrackedPoint = {
        t: round(t) ?? t,
        n: st.n,
        mean: st.n ? round(st.mean) : null,
        sd: st.n ? round(st.sd) : null,
        q05: round(st.quantile(0.05)),
        q25: round(st.quantile(0.25)),
        q50: round(st.quantile(0.5)),
        q75: round(st.quantile(0.75)),
        q95: round(st.quantile(0.95)),
      };
      const date = dateOf(t);
      if (date !== undefined) point.date = date;
      points.push(point);
    }
    tracked[name] = points;
  });
  const claims = args.claims.map((claim) => {
    const r =
      needsRecords(claim) && args.evaluateFromRuns
        ? args.evaluateFromRuns(claim)
        : evaluateClaim(claim, { runs: n, outcomeTimes: summary.outcomeTimes, censored: summary.censored });
    // Not-a-number estimates (a claim that could not be evaluated) print as null.
    const finite = (x: number | null) => (x === null ? null : round(x));
    return { ...r, p: finite(r.p), lo: finite(r.lo), hi: finite(r.hi) };
  });
  return {
    model: summary.meta.model,
    scenario: summary.meta.scenario,
    runs: n,
    seed: summary.meta.seed,
    sampling: summary.meta.sampling,
    partial: summary.partial,
    time: {
      start: time.start,
      stop: time.stop,
      dt: time.dt,
      unit: time.unit ?? null,
      origin: time.origin ?? null,
    },
    outcomes,
    censored: { count: summary.censored, p: round(c.p) ?? 0, lo: round(c.lo) ?? 0, hi: round(c.hi) ?? 1 },
    tracked,
    claims,
    incidence: incidenceCurves(summary, time).map((c) => ({
      ...c,
      points: c.points.map((p) => ({
        ...p,
        cif: round(p.cif) ?? 0,
        lo: round(p.lo) ?? 0,
        hi: round(p.hi) ?? 1,
      })),
    })),
  };
}

/** The step index by which half of `count` runs had ended (the lower median). */
function medianIndex(times: ArrayLike<number>, count: number): number | undefined {
  if (count === 0) return undefined;
  let cumulative = 0;
  for (let k = 0; k < times.length; k++) {
    cumulative += times[k]!;
    if (cumulative * 2 >= count) return k;
  }
  return times.length - 1;
}
