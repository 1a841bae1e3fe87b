// History check of the flagship's attrition and territory mechanisms (see docs/flagship.md).
// Usage: node scripts/history-check.js   (after npm run build; reads ../shared/data or $BRINK_DATA)

import { historyCheck } from "../dist/node/history.js";
import { closeWorkers } from "../dist/node/simulate.js";

const checks = await historyCheck();
await closeWorkers();
console.log("series                                  period                        months   MAPE      MAE");
for (const c of checks) {
  console.log(
    `${c.series.padEnd(40)}${c.period.padEnd(30)}${String(c.months).padStart(6)} ${(100 * c.mape).toFixed(1).padStart(5)}% ${c.mae.toFixed(0).padStart(8)}`,
  );
}
if (process.argv.includes("--rows")) for (const c of checks) console.table(c.rows);
