#!/usr/bin/env node
// Rolling-origin backtest of the flagship's front (models/flagship/front.yaml) by horizon, for docs/flagship.md.
// Usage: node scripts/flagship-backtest.js [--seed N] [--chains N] [--iterations N] [--burn-in N]
//   (after npm run build; reads ../shared/data or $BRINK_DATA)
import { parseArgs } from "node:util";
import { FRONT_ORIGINS, frontBacktestByHorizon, writeFrontData } from "../dist/node/flagship.js";

if (!writeFrontData()) {
  console.error("the shared datasets are absent (set BRINK_DATA)");
  process.exit(1);
}
// Adaptive particle numbers (docs/calibration.md): each origin's chains raise their 100 particles, up to 800, until
// the log-likelihood estimate's sd is about 1.2.
const { values: flags } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    chains: { type: "string", default: "4" },
    iterations: { type: "string", default: "600" },
    "burn-in": { type: "string", default: "600" },
  },
});
const options = {
  runs: 1000,
  seed: Number(flags.seed),
  chains: Number(flags.chains),
  iterations: Number(flags.iterations),
  burnIn: Number(flags["burn-in"]),
  particles: 100,
  targetSd: 1.2,
  maxParticles: 800,
};
console.log(`origins ${FRONT_ORIGINS.join(", ")}; ${JSON.stringify(options)}`);
const rows = await frontBacktestByHorizon(options);
const f = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
console.log("| series | horizon | forecaster | periods | CRPS | cov50 | cov90 | bias |");
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  const s = r.scores;
  console.log(
    `| ${r.series} | ${r.horizon} | ${r.forecaster} | ${s.periods} | ${f(s.crps)} | ${s.coverage50.toFixed(2)} | ${s.coverage90.toFixed(2)} | ${f(s.bias)} |`,
  );
}
