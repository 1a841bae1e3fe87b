#!/usr/bin/env node
// Outside view for the flagship's P(leader out) (docs/flagship.md): among Archigos 4.1 leaders who were in power
// at some date after serving at least MIN_TENURE years and reaching MIN_AGE, the share out of office 1, 2 and 5
// years later (any exit: regular, irregular, natural death), counting only anchors whose window Archigos covers.
// Then the model's own P(leader out), P(ceasefire or settlement), P(war over) at 1, 2 and 5 years (RUNS runs, seed 1).
// Usage: node scripts/flagship-outside-view.js [MIN_TENURE=20] [MIN_AGE=70] [RUNS=4000]
//   (after npm run build; reads ../shared/data or $BRINK_DATA)
import { readFileSync } from "node:fs";
import { parse } from "csv-parse/sync";
import { prepareModel } from "../dist/engine/prepare.js";
import { Runner } from "../dist/engine/run.js";
import { readDataset } from "../dist/node/data.js";
import { FLAGSHIP } from "../dist/node/history.js";

const minTenure = Number(process.argv[2] ?? 20);
const minAge = Number(process.argv[3] ?? 70);
const YEAR = 365.25 * 86_400_000;
const DATA_END = Date.parse("2015-12-31");
const rows = parse(readDataset("leaders-archigos/archigos_v4.1_leaders.csv"), {
  columns: true,
  skip_empty_lines: true,
});
const spells = rows
  .filter(
    (r) =>
      /^\d{4}-\d{2}-\d{2}/.test(r.startdate) &&
      /^\d{4}-\d{2}-\d{2}/.test(r.enddate) &&
      /^\d{4}$/.test(r.yrborn),
  )
  .map((r) => ({
    leader: r.leader,
    start: Date.parse(r.startdate),
    end: Date.parse(r.enddate),
    born: Date.parse(`${r.yrborn}-07-01`),
    exit: r.exit,
    exitcode: r.exitcode,
  }));
console.log(
  `Archigos 4.1: ${spells.length} spells with dates and a birth year; anchor: in office after ${minTenure} years of tenure and aged ${minAge}+`,
);
console.log("window  anchors  out by then  share   95% (Wilson)   of which irregular  natural death");
for (const k of [1, 2, 5]) {
  let n = 0;
  let out = 0;
  let irregular = 0;
  let natural = 0;
  for (const s of spells) {
    const anchor = Math.max(s.start + minTenure * YEAR, s.born + minAge * YEAR);
    if (anchor >= s.end) continue; // never in office at both thresholds
    const stillIn = s.exit === "Still in Office" || s.end >= DATA_END;
    if (anchor + k * YEAR > DATA_END) continue; // window not covered by the data
    n++;
    if (s.end <= anchor + k * YEAR && !stillIn) {
      out++;
      if (s.exit === "Irregular") irregular++;
      if (/death|natural/i.test(`${s.exit} ${s.exitcode}`)) natural++;
    }
  }
  const p = out / n;
  const z = 1.96;
  const c = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const h = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  console.log(
    `${String(k).padStart(3)} yr ${String(n).padStart(8)} ${String(out).padStart(12)}  ${(100 * p).toFixed(1).padStart(5)}%  ${(100 * (c - h)).toFixed(1)}–${(100 * (c + h)).toFixed(1)}% ${String(irregular).padStart(12)} ${String(natural).padStart(14)}`,
  );
}

// The model: leader out by T = the regime collapsed by T, or the leader had left (a successor fighting on) by the
// last save at or before min(T, the run's end); ceasefire = any negotiated or armistice end.
const runs = Number(process.argv[4] ?? 4000);
const model = prepareModel(FLAGSHIP, readFileSync(FLAGSHIP, "utf8"));
const p = model.program;
const runner = new Runner(model, 1);
const names = p.outcomes.map((o) => o.name);
const leaderSlot = p.tracked.findIndex((t) => t.name === "leader_out");
const ceasefire = new Set(["ceasefire_ukrainian_terms", "settlement_russian_terms", "armistice_on_the_line"]);
const weeksPerYear = 365.25 / 7;
const counts = { 1: [0, 0, 0], 2: [0, 0, 0], 5: [0, 0, 0] };
for (let i = 0; i < runs; i++) {
  const end = runner.run(i);
  const outcome = end.outcome >= 0 ? names[end.outcome] : undefined;
  for (const k of [1, 2, 5]) {
    const T = k * weeksPerYear;
    const ended = outcome !== undefined && end.time <= T;
    const save = Math.min(Math.floor(Math.min(T, end.time) / (p.time.dt * p.time.saveEvery)), end.saves - 1);
    const out =
      (ended && outcome === "regime_collapse") || runner.saved[save * p.tracked.length + leaderSlot] > 0;
    counts[k][0] += Number(out);
    counts[k][1] += Number(ended && ceasefire.has(outcome));
    counts[k][2] += Number(ended);
  }
}
console.log(`\nthe flagship (${runs} runs, seed 1): P(leader out), P(ceasefire or settlement), P(war over)`);
for (const k of [1, 2, 5])
  console.log(`${k} yr  ${counts[k].map((c) => `${((100 * c) / runs).toFixed(1)}%`).join("  ")}`);
