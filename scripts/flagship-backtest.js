#!/usr/bin/env node
// Rolling-origin backtest of the flagship's front (models/flagship/front.yaml) by horizon, for docs/flagship.md.
// Usage: node scripts/flagship-backtest.js [--seed N] [--chains N] [--iterations N] [--burn-in N] [--model FILE]
//   [--json FILE]
//   --model scores a variant of front.yaml (keep it in models/flagship/ so its data paths resolve)
//   (after npm run build; reads ../shared/data or $BRINK_DATA)
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
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
    model: { type: "string" },
    json: { type: "string" },
  },
});
const options = {
  ...(flags.model ? { file: resolve(flags.model) } : {}),
  runs: 1000,
  seed: Number(flags.seed),
  chains: Number(flags.chains),
  iterations: Number(flags.iterations),
  burnIn: Number(flags["burn-in"]),
  particles: 100,
  targetSd: 1.2,
  maxParticles: 800,
  // --json: every period's forecast and scores (the backtest's own JSON), written before the table is printed.
  ...(flags.json ? { onResult: (result) => writeFileSync(flags.json, JSON.stringify(result)) } : {}),
};
console.log(`origins ${FRONT_ORIGINS.join(", ")}; ${JSON.stringify({ ...options, onResult: undefined })}`);
const rows = await frontBacktestByHorizon(options);
const f = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
console.log(
  "| series | horizon | forecaster | periods | CRPS | cov50 | cov90 | bias | model − this (95% interval) |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  const s = r.scores;
  const c = r.comparison;
  const versus = c ? `${f(c.difference)} (${c.lo === null ? "–" : `${f(c.lo)} to ${f(c.hi)}`})` : "";
  console.log(
    `| ${r.series} | ${r.horizon} | ${r.forecaster} | ${s.periods} | ${f(s.crps)} | ${s.coverage50.toFixed(2)} | ${s.coverage90.toFixed(2)} | ${f(s.bias)} | ${versus} |`,
  );
}
