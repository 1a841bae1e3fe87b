// Base rates of irregular leader exit from Archigos 4.1 (the prior of the flagship's regime_base_hazard).
// Usage: node scripts/base-rates.js   (after npm run build; reads ../shared/data or $BRINK_DATA)
import { irregularExitRate, parseArchigos } from "../dist/io/datasets.js";
import { readDataset } from "../dist/node/data.js";

const spells = parseArchigos(readDataset("leaders-archigos/archigos_v4.1_leaders.csv"));
console.log(`Archigos 4.1: ${spells.length} leader spells with dates`);
console.log(
  "\nirregular exits per leader-year, counting only time served beyond a tenure threshold (exact 95% Poisson interval)\n",
);
console.log("tenure beyond   exits   leader-years    rate/yr    95% interval");
for (const years of [0, 5, 10, 15, 20]) {
  const r = irregularExitRate(spells, years);
  console.log(
    `${String(years).padStart(6)} years ${String(r.exits).padStart(7)} ${r.leaderYears.toFixed(0).padStart(14)} ${r.rate.toFixed(4).padStart(10)}    ${r.lo.toFixed(4)}–${r.hi.toFixed(4)}`,
  );
}
console.log(
  "\nThe data here do not code wars or regime type; states at war would need COW war years joined (not in ../shared/data).",
);
