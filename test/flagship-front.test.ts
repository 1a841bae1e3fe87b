import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { BacktestResult } from "../src/analysis/calibrate/backtest.js";
import { periodChanges } from "../src/io/flagship-data.js";
import { dataDir, hasDatasets } from "../src/node/data.js";
import { FRONT, frontBacktestByHorizon, writeFrontData } from "../src/node/flagship.js";
import { FLAGSHIP } from "../src/node/history.js";

type Section = Record<string, { eq?: string; rate?: string; unit?: string }>;
const flagship = parse(readFileSync(FLAGSHIP, "utf8")) as Record<string, Section>;
const front = parse(readFileSync(FRONT, "utf8")) as Record<string, Section>;
const data = hasDatasets();
if (!data) console.log(`skipping the front backtest: ${dataDir()} is absent`);

describe("the flagship's front model", () => {
  it("has the flagship's front and aid equations word for word (so its fit and backtest are the flagship's)", () => {
    const shared = {
      flows: ["tempo_change", "momentum_change", "territory_change", "russian_casualties", "support_trend"],
      vars: ["momentum_target", "seasonal_tempo", "seasonal_front", "offensive_success_chance"],
    };
    for (const [section, names] of Object.entries(shared)) {
      for (const name of names) {
        expect(front[section]![name]?.eq, name).toBe(flagship[section]![name]?.eq);
        expect(front[section]![name]?.unit, name).toBe(flagship[section]![name]?.unit);
      }
    }
    // The tempo's surges: the same hazard and the same jump in both (the switch's value may differ).
    const events = (file: Record<string, Section>) =>
      file.events as Record<string, { rate?: string; then?: Record<string, string> }>;
    expect(events(front).tempo_surge, "tempo_surge").toBeDefined();
    expect(events(front).tempo_surge?.rate).toBe(events(flagship).tempo_surge?.rate);
    expect(events(front).tempo_surge?.then).toEqual(events(flagship).tempo_surge?.then);
    // The fitted params exist in the flagship with the same units.
    const params = flagship.params as Record<string, { unit?: string }>;
    for (const [name, p] of Object.entries(front.params as Record<string, { unit?: string }>)) {
      if (name.endsWith("_obs_sd") || name.endsWith("_0") || name === "start_year_fraction") continue;
      expect(params[name]?.unit, name).toBe(p.unit);
    }
  });

  it("differences a cumulative daily series over 4-week periods aligned to the start", () => {
    const daily = [
      { date: "2023-01-01", value: 100 },
      { date: "2023-01-15", value: 150 },
      { date: "2023-01-29", value: 200 },
      { date: "2023-02-20", value: 260 },
      { date: "2023-02-26", value: 300 },
    ];
    expect(periodChanges(daily, "2023-01-01", "2023-03-01")).toEqual([
      { date: "2023-01-29", value: 100 },
      { date: "2023-02-26", value: 100 },
    ]);
  });
});

describe.skipIf(!data)("the front's backtest on the shared data (small and fast)", () => {
  it("beats the naive baselines on CRPS for losses and area, no worse than when this guard was set", async () => {
    expect(writeFrontData()).toBe(true);
    let saved: BacktestResult | undefined;
    const options = {
      origins: ["2024-04-07", "2024-10-06"],
      runs: 300,
      seed: 1,
      chains: 2,
      iterations: 150,
      burnIn: 250,
      particles: 40,
    };
    const rows = await frontBacktestByHorizon({
      ...options,
      onResult: (r) => {
        saved = r;
      },
    });
    // A saved run cut again gives the same rows; against itself, its model's rows come with a difference of 0.
    const again = await frontBacktestByHorizon({
      ...options,
      saved: saved!,
      against: { label: "saved", result: saved! },
    });
    expect(again.filter((r) => r.forecaster !== "saved")).toEqual(rows);
    for (const r of again.filter((x) => x.forecaster === "saved")) {
      expect(r.scores).toEqual(
        rows.find((x) => x.series === r.series && x.horizon === r.horizon && x.forecaster === "model")!
          .scores,
      );
      expect(r.comparison).toMatchObject({ difference: 0, lo: null, hi: null });
    }
    // Each baseline's row says how far the model is from it, with an interval over the two origins.
    for (const r of rows.filter((x) => x.forecaster !== "model"))
      expect(r.comparison).toMatchObject({ series: r.series, baseline: r.forecaster, origins: 2 });
    const at = (series: string, forecaster: string) =>
      rows.find((r) => r.series === series && r.horizon === "6 months" && r.forecaster === forecaster)!
        .scores;
    // From this test's own run (seed 1): the model's CRPS and 90% coverage at 6 months, re-set when each
    // origin's calibration came to be fitted in independent parts (was 4,218 and 1.0; 128.7 and 0.92) and, for
    // losses, when the tempo shocks came to shrink as losses rise (was 3,999 and 1.0; area unchanged). Two
    // origins are too few for the model to beat every baseline on losses (the full backtest in docs/flagship.md
    // does at 6 and 12 months); area it beats here too.
    const recorded = {
      russian_losses_4w: { crps: 3180, coverage90: 1 },
      territory_change_4w: { crps: 121.7, coverage90: 0.83 },
    };
    for (const [series, was] of Object.entries(recorded)) {
      const model = at(series, "model");
      // Room for a change of random streams; a worse forecast fails.
      expect(model.crps, series).toBeLessThanOrEqual(was.crps * 1.15);
      expect(model.coverage90, series).toBeGreaterThanOrEqual(was.coverage90 - 0.1);
    }
    const area = at("territory_change_4w", "model");
    for (const baseline of ["persistence", "mean of last 3", "drift"])
      expect(area.crps, baseline).toBeLessThan(at("territory_change_4w", baseline).crps);
  }, 180_000);
});
