import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type DailyValue,
  joinTerritory,
  monthEnds,
  parseDeepStateTerritory,
  parseLiveuamapTerritory,
  parsePersonnelLosses,
  valueAt,
} from "../io/datasets.js";
import { modelTimeToDate } from "../model/time.js";
import { readDataset } from "./data.js";
import { PACKAGE_ROOT } from "./files.js";
import { simulate } from "./simulate.js";

export const FLAGSHIP = join(PACKAGE_ROOT, "models", "flagship", "flagship.yaml");

export interface SeriesCheck {
  series: string;
  period: string;
  months: number;
  /** Mean absolute percentage error of the model's monthly values (run means) against the data. */
  mape: number;
  /** Mean absolute error, in the series' unit. */
  mae: number;
  rows: { month: string; data: number; model: number }[];
}

/** Periods of the check: the loss and gain rates' priors are centred on 2024; 2025 is out of sample. */
export const PERIODS = [
  { name: "2024 (fitted)", from: "2024-01", to: "2024-12" },
  { name: "2025-01..07 (out of sample)", from: "2025-01", to: "2025-07" },
] as const;

/**
 * Run the flagship's `history` scenario (1 Jan 2024 to 21 Aug 2025: the attrition and territory mechanisms,
 * everything else held still) and compare monthly Russian losses and territorial change with the data.
 */
export async function historyCheck(runs = 400, seed = 1): Promise<SeriesCheck[]> {
  const text = readFileSync(FLAGSHIP, "utf8");
  const { report, model } = await simulate(
    { file: FLAGSHIP, text },
    { scenario: "history", runs, seed, workers: 1 },
  );
  const { origin, unit } = model.loaded.time;
  const modelSeries = (name: string): DailyValue[] =>
    report.tracked[name]!.map((p) => ({
      date: modelTimeToDate(p.t, origin!, unit!),
      value: p.mean ?? Number.NaN,
    }));
  const losses = parsePersonnelLosses(readDataset("ua-mod-russian-losses/russia_losses_personnel.json"));
  const territory = joinTerritory(
    parseLiveuamapTerritory(readDataset("territory/liveuamap_territory_daily.csv")),
    parseDeepStateTerritory(readDataset("territory/deepstate_occupied_area_daily.csv")),
  );
  const out: SeriesCheck[] = [];
  for (const [series, data, simulated] of [
    ["Russian losses per month (personnel)", losses, modelSeries("russian_losses")],
    ["territory taken per month (km²)", territory, modelSeries("territory_occupied")],
  ] as const) {
    for (const period of PERIODS) {
      const ends = monthEnds(previousMonth(period.from), period.to);
      const rows: SeriesCheck["rows"] = [];
      for (let i = 1; i < ends.length; i++) {
        const [a, b] = [ends[i - 1]!, ends[i]!];
        const d = valueAt(data, b)! - valueAt(data, a)!;
        // Model values: the run mean at the save on or before each month end (saves are weekly).
        const m =
          valueAt(simulated, b)! -
          (a < "2024-01-01" ? valueAt(simulated, "2024-01-01")! : valueAt(simulated, a)!);
        rows.push({ month: b.slice(0, 7), data: d, model: m });
      }
      const ape = rows.map((r) => Math.abs(r.model - r.data) / Math.abs(r.data));
      const ae = rows.map((r) => Math.abs(r.model - r.data));
      out.push({
        series,
        period: period.name,
        months: rows.length,
        mape: ape.reduce((s, x) => s + x, 0) / rows.length,
        mae: ae.reduce((s, x) => s + x, 0) / rows.length,
        rows,
      });
    }
  }
  return out;
}

function previousMonth(month: string): string {
  const [y, m] = month.split("-").map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, "0")}`;
}
