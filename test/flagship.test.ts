import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { checkModelText } from "../src/analysis/check.js";
import { prepareModel } from "../src/engine/prepare.js";
import {
  irregularExitRate,
  joinTerritory,
  monthEnds,
  parseArchigos,
  parseDeepStateTerritory,
  parseKielAllocations,
  parseLiveuamapTerritory,
  parsePersonnelLosses,
  poissonInterval,
  valueAt,
} from "../src/io/datasets.js";
import { dataDir, hasDatasets, readDataset } from "../src/node/data.js";
import { FLAGSHIP, historyCheck } from "../src/node/history.js";
import { closeWorkers, simulate } from "../src/node/simulate.js";
import { pin, prepareText, ROOT, report, series } from "./helpers.js";

const text = readFileSync(FLAGSHIP, "utf8");
const fixture = (name: string) => readFileSync(join(ROOT, "test", "fixtures", "data", name), "utf8");
const data = hasDatasets();
if (!data) console.log(`skipping full-data tests: ${dataDir()} is absent`);

afterAll(() => closeWorkers());

describe("the flagship model", () => {
  it("checks clean in its base and every scenario, with the rival theses present", () => {
    const r = checkModelText(FLAGSHIP, text);
    expect(r.diagnostics).toEqual([]);
    expect(r.variants).toEqual(
      expect.arrayContaining([
        "base",
        "attrition_favours_russia",
        "russian_resilience",
        "western_fatigue",
        "coerced_settlement",
        "frozen_conflict",
        "genuine_talks",
        "history",
      ]),
    );
  });

  it("every param has a unit, a doc and a source; every mechanism a doc, a source and (but the front and end states) a switch", () => {
    const model = parse(text);
    for (const [name, p] of Object.entries(model.params as Record<string, Record<string, unknown>>)) {
      expect(p.unit, name).toBeTruthy();
      expect(p.doc, name).toBeTruthy();
      expect(p.source, name).toBeTruthy();
      expect(p.group, name).toBeTruthy();
    }
    const groups = model.groups as Record<string, { doc: string; source: string; switch?: string }>;
    expect(Object.keys(groups).length).toBeGreaterThanOrEqual(15);
    for (const [name, g] of Object.entries(groups)) {
      expect(g.doc, name).toBeTruthy();
      expect(g.source, name).toBeTruthy();
      if (!["front", "end_states"].includes(name)) expect(g.switch, name).toBeTruthy();
    }
    expect(model.claims.length).toBeGreaterThanOrEqual(8);
    for (const c of model.claims) expect(c.source, c.id).toMatch(/article/);
  });

  it("runs every scenario and evaluates every claim from runs", async () => {
    for (const scenario of [
      undefined,
      "attrition_favours_russia",
      "russian_resilience",
      "western_fatigue",
      "coerced_settlement",
      "frozen_conflict",
      "genuine_talks",
      "no_deployment",
      "single_deployment",
    ]) {
      const { report } = await simulate(
        { file: FLAGSHIP, text },
        { runs: 100, seed: 2, workers: 2, ...(scenario ? { scenario } : {}) },
      );
      expect(report.runs).toBe(100);
      expect(Object.keys(report.outcomes)).toEqual([
        "regime_collapse",
        "ceasefire_ukrainian_terms",
        "settlement_russian_terms",
        "ukraine_collapse",
        "armistice_on_the_line",
        "nuclear_use",
        "nato_russia_clash",
      ]);
      expect(report.claims.length).toBeGreaterThanOrEqual(8);
      for (const c of report.claims) expect(["holds", "fails", "undecided"]).toContain(c.verdict);
      for (const v of [
        "regime_stability",
        "logistics",
        "refining_capacity",
        "ukraine_will",
        "western_fear",
        "western_troops",
        "territory_occupied",
        "russian_manpower",
        "ukraine_manpower",
        "leader_out",
        "front_momentum",
      ]) {
        expect(report.tracked[v], v).toBeDefined();
      }
      // The start state: 17% of refining offline, 114,611 km² held.
      expect(report.tracked.refining_capacity![0]!.mean).toBeCloseTo(0.83, 6);
      expect(report.tracked.territory_occupied![0]!.mean).toBeCloseTo(114611, 3);
    }
  });

  it("switches change the outcome distribution (genuine talks end wars on the line)", async () => {
    const base = await simulate({ file: FLAGSHIP, text }, { runs: 400, seed: 3, workers: 1 });
    const talks = await simulate(
      { file: FLAGSHIP, text },
      { runs: 400, seed: 3, workers: 1, scenario: "genuine_talks" },
    );
    expect(talks.report.outcomes.armistice_on_the_line!.p).toBeGreaterThan(
      base.report.outcomes.armistice_on_the_line!.hi,
    );
  });
});

describe("the flagship's rival theses", () => {
  it("genuine talks are graded: a larger genuine share ends more wars on the line, not all or nothing", () => {
    const armistice = (share: number) =>
      report(prepareText(pin(text, "talks_genuine", share), FLAGSHIP), 300, 4).outcomes
        .armistice_on_the_line!;
    const [none, some, most] = [armistice(0), armistice(0.2), armistice(0.8)];
    expect(some.p).toBeGreaterThan(none.hi);
    expect(most.p).toBeGreaterThan(some.hi);
    // The genuine_talks scenario draws the share rather than setting every round genuine.
    const scenario = (parse(text) as { scenarios: Record<string, { params: Record<string, unknown> }> })
      .scenarios;
    expect(scenario.genuine_talks!.params.talks_genuine).toMatch(/^uniform\(0\.\d+, 0\.\d+\)$/);
  });

  it("the frozen-conflict front stays on the map (a stall ratio near 1 once sent it past Ukraine's area)", async () => {
    const frozen = report(prepareModel(FLAGSHIP, text, { scenario: "frozen_conflict" }), 200, 5);
    // Ukraine's area within its 1991 borders, km² (Crimea included).
    for (const p of frozen.tracked.territory_occupied!) expect(p.q95).toBeLessThan(603_628);
  });
});

describe("the flagship's structure", () => {
  it("equations hold no fixed numbers but 0, 1, the deployment policy's codes, 2π and a divide-by-zero guard", () => {
    const model = parse(text) as Record<string, Record<string, Record<string, unknown>>>;
    const allowed = new Set(["0", "1", "2", "6.283185307", "0.001"]);
    const found: string[] = [];
    for (const section of ["flows", "vars", "events", "outcomes", "stocks"]) {
      for (const [name, entry] of Object.entries(model[section] ?? {})) {
        const parts = [entry.eq, entry.rate, entry.when, entry.init, ...Object.values(entry.then ?? {})];
        for (const part of parts) {
          if (part === undefined) continue;
          for (const m of String(part).matchAll(/(?<![A-Za-z_0-9.])\d+(?:\.\d+)?/g))
            if (!allowed.has(m[0])) found.push(`${section}.${name}: ${m[0]}`);
        }
      }
    }
    expect(found).toEqual([]);
  });

  it("Russia can grow stronger only with its switch on, and drains when it is the weaker side", () => {
    const grows = report(prepareText(text, FLAGSHIP), 60, 4);
    const manpower = grows.tracked.russian_manpower!;
    const industry = grows.tracked.defence_industry!;
    expect(manpower.at(-1)!.q95).toBeGreaterThan(1.05);
    expect(industry.at(-1)!.q95).toBeGreaterThan(1);
    const held = report(prepareText(pin(text, "russia_can_grow", 0), FLAGSHIP), 60, 4).tracked;
    for (const p of held.russian_manpower!) expect(p.q05 === 1 && p.q95 === 1).toBe(true);
    // With recruitment at zero the force only shrinks; the symmetric drain is part of that flow.
    const noRecruits = report(prepareText(pin(text, "recruitment_rate", 0), FLAGSHIP), 60, 4).tracked;
    expect(noRecruits.russian_manpower!.at(-1)!.q95).toBeLessThan(1);
  });

  it("a leader's exit ends the war unless a successor keeps fighting; the leader can also die a natural death", () => {
    // No irregular exits, no war-driven hazard: only natural death takes the leader out.
    let natural = pin(pin(text, "regime_base_hazard", 0), "successor_can_fight", 0);
    natural = pin(natural, "natural_death_hazard_0", 0.5);
    const r = report(prepareText(natural, FLAGSHIP), 200, 5);
    expect(r.outcomes.regime_collapse!.count).toBeGreaterThan(100);
    for (const p of r.tracked.leader_out!) expect(p.q95).toBe(0);
    // Every successor keeps fighting and never falls: the leader leaves, the war goes on.
    let successor = pin(pin(natural, "successor_can_fight", 1), "successor_fights_share", 1);
    successor = pin(successor, "regime_base_hazard", 0);
    const s = report(prepareText(successor, FLAGSHIP), 200, 5);
    expect(s.outcomes.regime_collapse!.count).toBe(0);
    expect(s.tracked.leader_out!.at(-1)!.mean).toBeGreaterThan(0.5);
  });

  it("the front moves at a varying pace within a run, and offensives move it", () => {
    const model = prepareText(text, FLAGSHIP);
    const { series: one } = series(model, 0, 1);
    const steps = one.territory_occupied!.slice(1).map((v, i) => v - one.territory_occupied![i]!);
    const mean = steps.reduce((a, b) => a + b, 0) / steps.length;
    const sd = Math.sqrt(steps.reduce((a, b) => a + (b - mean) ** 2, 0) / steps.length);
    expect(sd).toBeGreaterThan(0.2 * Math.abs(mean));
    const still = pin(pin(pin(text, "momentum_volatility", 0), "offensive_rate", 0), "tempo_volatility", 0);
    const calm = series(prepareText(pin(still, "season_amplitude", 0), FLAGSHIP), 0, 1).series;
    const jumpy = series(
      prepareText(pin(pin(still, "season_amplitude", 0), "offensive_rate", 50), FLAGSHIP),
      0,
      1,
    ).series;
    expect(jumpy.front_momentum).not.toEqual(calm.front_momentum);
  });

  it("tempo surges, when switched on, make Russian losses jump; off, the run is unchanged", () => {
    // Only the surges move the tempo here: no weekly shocks, no season.
    const still = pin(pin(text, "tempo_volatility", 0), "season_amplitude", 0);
    const largestShift = (source: string) => {
      const losses = series(prepareText(source, FLAGSHIP), 0, 1).series.russian_casualties!;
      const logs = losses.slice(1).map((v, i) => Math.abs(Math.log(v / losses[i]!)));
      return Math.max(...logs.slice(1));
    };
    const off = largestShift(pin(still, "tempo_surges", 0));
    expect(off).toBe(largestShift(still));
    const on = largestShift(
      pin(pin(pin(still, "tempo_surges", 1), "tempo_surge_rate", 12), "tempo_surge_size", 0.4),
    );
    expect(on).toBeGreaterThan(off + 0.1);
  });

  it("a donor cut-off takes the donor's share of aid at once", () => {
    let cut = pin(pin(text, "donor_cutoff_hazard", 1000), "aid_volatility", 0);
    cut = pin(pin(cut, "support_drift", 0), "talk_round_rate", 0);
    cut = pin(cut, "donor_share", 0.4);
    const r = report(prepareText(cut, FLAGSHIP), 20, 6).tracked.western_support!;
    expect(r[1]!.q50).toBeCloseTo(0.6, 6);
  });
});

describe("dataset loaders (on small fixtures)", () => {
  it("Archigos: spells with dates, irregular exits per leader-year beyond a tenure", () => {
    const spells = parseArchigos(fixture("archigos-mini.csv"));
    expect(spells).toHaveLength(4);
    const all = irregularExitRate(spells, 0);
    expect(all.exits).toBe(2);
    expect(all.leaderYears).toBeCloseTo(30 + 5 + 20 + 21, 1);
    const long = irregularExitRate(spells, 20);
    // Only Alpha (30 years: 10 at risk, irregular) and Delta (21 years: 1 at risk, irregular) pass 20 years.
    expect(long.exits).toBe(2);
    expect(long.leaderYears).toBeCloseTo(11, 1);
    expect(long.lo).toBeLessThan(long.rate);
    expect(long.hi).toBeGreaterThan(long.rate);
  });

  it("Garwood Poisson intervals match published values", () => {
    // k = 0: (0, 3.689); k = 10: (4.795, 18.390).
    expect(poissonInterval(0).hi).toBeCloseTo(3.689, 3);
    expect(poissonInterval(10).lo).toBeCloseTo(4.795, 3);
    expect(poissonInterval(10).hi).toBeCloseTo(18.39, 2);
  });

  it("losses, territory and aid parse into dated series", () => {
    const losses = parsePersonnelLosses(fixture("personnel-mini.json"));
    expect(losses.map((d) => d.date)).toEqual(["2024-01-01", "2024-01-02", "2024-02-01"]);
    expect(valueAt(losses, "2024-01-31")).toBe(361000);
    const joined = joinTerritory(
      parseLiveuamapTerritory(fixture("liveuamap-mini.csv")),
      parseDeepStateTerritory(fixture("deepstate-mini.csv")),
    );
    expect(joined.map((d) => d.value)).toEqual([100, 110, 111.5, 113]);
    expect(parseKielAllocations(fixture("kiel-mini.csv"))[1]).toEqual({
      month: "2024-12",
      military: 5.5,
      total: 14.7,
    });
    expect(monthEnds("2023-12", "2024-02")).toEqual(["2023-12-31", "2024-01-31", "2024-02-29"]);
  });
});

describe.skipIf(!data)("the flagship against the shared data", () => {
  it("the regime hazard prior cites what scripts/base-rates.js computes from Archigos", () => {
    const spells = parseArchigos(readDataset("leaders-archigos/archigos_v4.1_leaders.csv"));
    const r = irregularExitRate(spells, 15);
    expect(r.exits).toBe(44);
    expect(Math.round(r.leaderYears)).toBe(2027);
    expect(r.rate.toFixed(3)).toBe("0.022");
    expect(irregularExitRate(spells, 10).rate.toFixed(3)).toBe("0.025");
    expect(text).toContain("44 irregular exits in 2,027 leader-years beyond 15 years of tenure = 0.022/yr");
  });

  it("the start state matches the data on 21 Aug 2025", () => {
    const deepstate = parseDeepStateTerritory(readDataset("territory/deepstate_occupied_area_daily.csv"));
    expect(valueAt(deepstate, "2025-08-21")).toBeCloseTo(114611.1, 1);
    expect(text).toContain("territory_0: { value: 114611,");
  });

  it("history check: monthly errors stay within what docs/flagship.md reports", async () => {
    const checks = await historyCheck(400, 1);
    const mape = (series: string, period: string) =>
      checks.find((c) => c.series.startsWith(series) && c.period.startsWith(period))!.mape;
    // Reported in docs/flagship.md (node scripts/history-check.js): 16.3%, 14.2%, 138.2%, 74.3%. The losses'
    // guard was re-set when the tempo shocks came to shrink as losses rise (was 15.8% and 17.6%: 16.5% over
    // the 19 months, now 15.5%).
    expect(mape("Russian losses", "2024")).toBeLessThanOrEqual(0.164);
    expect(mape("Russian losses", "2025")).toBeLessThanOrEqual(0.143);
    expect(mape("territory", "2024")).toBeLessThanOrEqual(1.383);
    expect(mape("territory", "2025")).toBeLessThanOrEqual(0.744);
    const docs = readFileSync(join(ROOT, "docs", "flagship.md"), "utf8");
    for (const figure of ["15.8%", "17.6%", "138.2%", "74.3%"]) expect(docs).toContain(figure);
  });
});
