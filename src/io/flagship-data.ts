/**
 * The series the flagship's front model (models/flagship/front.yaml) observes, derived from the public datasets:
 * Russian personnel losses and the change of occupied area over 4-week periods aligned to the model's weekly
 * steps from its start date, and monthly Western military aid as an index (1 = 3.5 bn EUR a month, the 2024-25
 * average), dated mid-month.
 */
import {
  type DailyValue,
  joinTerritory,
  parseDeepStateTerritory,
  parseKielAllocations,
  parseLiveuamapTerritory,
  parsePersonnelLosses,
  valueAt,
} from "./datasets.js";

export const FRONT_START = "2023-01-01";
export const FRONT_CUT = "2025-08-21";
/** Kiel's 2024-25 monthly average of military allocations, bn EUR: the flagship's aid index of 1. */
export const AID_INDEX_BN_EUR = 3.5;
const PERIOD_DAYS = 28;

export interface FlagshipSources {
  personnel: string;
  liveuamap: string;
  deepstate: string;
  kiel: string;
}

const addDays = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** The change of a cumulative daily series over each 4-week period ending from start + 28 days to the cut. */
export function periodChanges(series: DailyValue[], start = FRONT_START, cut = FRONT_CUT): DailyValue[] {
  const out: DailyValue[] = [];
  for (let end = addDays(start, PERIOD_DAYS); end <= cut; end = addDays(end, PERIOD_DAYS)) {
    const a = valueAt(series, addDays(end, -PERIOD_DAYS));
    const b = valueAt(series, end);
    if (a !== undefined && b !== undefined) out.push({ date: end, value: Math.round((b - a) * 10) / 10 });
  }
  return out;
}

export function flagshipSeries(src: FlagshipSources): Record<string, DailyValue[]> {
  const territory = joinTerritory(
    parseLiveuamapTerritory(src.liveuamap),
    parseDeepStateTerritory(src.deepstate),
  );
  const aid = parseKielAllocations(src.kiel)
    .filter((m) => m.month >= FRONT_START.slice(0, 7) && `${m.month}-15` <= FRONT_CUT)
    .map((m) => ({
      date: `${m.month}-15`,
      value: Math.round((m.military / AID_INDEX_BN_EUR) * 10_000) / 10_000,
    }));
  return {
    "russian-losses-4w": periodChanges(parsePersonnelLosses(src.personnel)),
    "territory-change-4w": periodChanges(territory),
    "aid-military-monthly": aid,
  };
}
