import { parse } from "csv-parse/sync";

/**
 * Loaders for the public datasets the flagship cites (see each folder's SOURCE.md under ../shared/data). They
 * take file text and return typed rows, so they run anywhere; reading the files is the caller's business.
 */

function csvRows(text: string): Record<string, string>[] {
  return parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
}

// ---- Archigos leader spells ------------------------------------------------------------------------------

export interface LeaderSpell {
  leader: string;
  state: number;
  start: string;
  end: string;
  exit: string;
}

export function parseArchigos(text: string): LeaderSpell[] {
  return csvRows(text)
    .filter((r) => /^\d{4}-\d{2}-\d{2}/.test(r.startdate ?? "") && /^\d{4}-\d{2}-\d{2}/.test(r.enddate ?? ""))
    .map((r) => ({
      leader: r.leader ?? "",
      state: Number(r.gwcode),
      start: r.startdate!.slice(0, 10),
      end: r.enddate!.slice(0, 10),
      exit: r.exit ?? "",
    }));
}

export interface ExitRate {
  /** Irregular exits counted (spells ending irregularly after the tenure threshold). */
  exits: number;
  /** Leader-years at risk beyond the tenure threshold. */
  leaderYears: number;
  /** Exits per leader-year, with an exact 95% Poisson interval. */
  rate: number;
  lo: number;
  hi: number;
}

const YEAR_MS = 365.25 * 86_400_000;

/** Irregular exits per leader-year, counting only time served beyond `minTenureYears`. */
export function irregularExitRate(spells: LeaderSpell[], minTenureYears = 0): ExitRate {
  let exits = 0;
  let leaderYears = 0;
  for (const s of spells) {
    const years = (Date.parse(s.end) - Date.parse(s.start)) / YEAR_MS;
    if (years <= minTenureYears) continue;
    leaderYears += years - minTenureYears;
    if (s.exit === "Irregular") exits++;
  }
  const { lo, hi } = poissonInterval(exits);
  return { exits, leaderYears, rate: exits / leaderYears, lo: lo / leaderYears, hi: hi / leaderYears };
}

/** Exact (Garwood) 95% interval for a Poisson count, by bisection on the Poisson CDF. */
export function poissonInterval(k: number): { lo: number; hi: number } {
  const cdf = (n: number, mean: number) => {
    let term = Math.exp(-mean);
    let sum = term;
    for (let i = 1; i <= n; i++) {
      term *= mean / i;
      sum += term;
    }
    return sum;
  };
  const solve = (f: (m: number) => number, target: number) => {
    let lo = 0;
    let hi = k + 10 * Math.sqrt(k + 1) + 10;
    for (let i = 0; i < 200; i++) {
      const mid = (lo + hi) / 2;
      if (f(mid) > target) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  };
  // P(X >= k | lo) = 0.025 and P(X <= k | hi) = 0.025.
  const lo = k === 0 ? 0 : solve((m) => cdf(k - 1, m), 0.975);
  const hi = solve((m) => cdf(k, m), 0.025);
  return { lo, hi };
}

// ---- Ukrainian General Staff claims of Russian losses ----------------------------------------------------

export interface DailyValue {
  date: string;
  value: number;
}

/** Cumulative claimed Russian personnel losses by day (russia_losses_personnel.json). */
export function parsePersonnelLosses(text: string): DailyValue[] {
  const rows = JSON.parse(text) as { date: string; personnel: number }[];
  return rows
    .map((r) => ({ date: r.date, value: Number(r.personnel) }))
    .sort((a, b) => a.date.localeCompare(b.date));
}

// ---- Territory -----------------------------------------------------------------------------------------------

export function parseLiveuamapTerritory(text: string): DailyValue[] {
  return csvRows(text).map((r) => ({ date: r.date!.slice(0, 10), value: Number(r.area) }));
}

export function parseDeepStateTerritory(text: string): DailyValue[] {
  return csvRows(text).map((r) => ({ date: r.date!, value: Number(r.occupied_area_km2) }));
}

/**
 * One daily series from liveuamap before `switchDate` and DeepState from it on, as territory/SOURCE.md
 * advises (the two agree within about 0.5% where they overlap).
 */
export function joinTerritory(
  liveuamap: DailyValue[],
  deepstate: DailyValue[],
  switchDate = "2024-07-08",
): DailyValue[] {
  return [...liveuamap.filter((d) => d.date < switchDate), ...deepstate.filter((d) => d.date >= switchDate)];
}

// ---- Kiel Ukraine Support Tracker --------------------------------------------------------------------------

export interface MonthlyAid {
  month: string;
  military: number;
  total: number;
}

export function parseKielAllocations(text: string): MonthlyAid[] {
  return csvRows(text).map((r) => ({
    month: `${r.year}-${String(r.month).padStart(2, "0")}`,
    military: Number(r.military),
    total: Number(r.total_allocations),
  }));
}

// ---- series helpers ----------------------------------------------------------------------------------------

/** The value on or before each date (series sorted by date). */
export function valueAt(series: DailyValue[], date: string): number | undefined {
  let found: number | undefined;
  for (const d of series) {
    if (d.date > date) break;
    found = d.value;
  }
  return found;
}

/** Month-end dates from `from` (a month, YYYY-MM) to `to` inclusive. */
export function monthEnds(from: string, to: string): string[] {
  const out: string[] = [];
  let [y, m] = from.split("-").map(Number) as [number, number];
  const [ty, tm] = to.split("-").map(Number) as [number, number];
  while (y < ty || (y === ty && m <= tm)) {
    out.push(new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10));
    m++;
    if (m > 12) {
      m = 1;
      y++;
    }
  }
  return out;
}
