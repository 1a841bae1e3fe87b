#!/usr/bin/env node
// Rolling-origin backtest of the flagship's front (models/flagship/front.yaml) by horizon, for docs/flagship.md.
// Usage: node scripts/flagship-backtest.js [--seed N] [--chains N] [--iterations N] [--burn-in N] [--covariance]
//   [--model FILE] [--json FILE] [--against FILE] [--from FILE]
//   --covariance: each origin's chains adapt their proposal's full covariance (docs/calibration.md)
//   --from: cut a run saved with --json by horizon instead of running one (its model and settings are the saved ones);
//   given more than once (runs of one model with other seeds or sampler settings), the model's rows of each run side
//   by side with their mean and sd over the runs — the backtest's own Monte Carlo spread — and the best baseline's
//   --against: another run's --json (the base model's, when this one scores a variant): each horizon gets a row
//   for that run's model, with this model − that one on the periods both scored
//   --model scores a variant of front.yaml (keep it in models/flagship/ so its data paths resolve)
//   (after npm run build; reads ../shared/data or $BRINK_DATA)
import { readFileSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { parseArgs } from "node:util";
import { convergenceWarning, originConvergence } from "../dist/analysis/calibrate/convergence.js";
import { FRONT_ORIGINS, frontBacktestByHorizon, writeFrontData } from "../dist/node/flagship.js";

const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
const sd = (xs) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));

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
    covariance: { type: "boolean", default: false },
    model: { type: "string" },
    json: { type: "string" },
    against: { type: "string" },
    from: { type: "string", multiple: true },
  },
});
if (flags.from && flags.from.length > 1) {
  if (flags.against || flags.model || flags.json) {
    console.error(
      "several --from take no --against, --model or --json: they summarise saved runs of one model",
    );
    process.exit(1);
  }
  const runs = [];
  let first;
  for (const file of flags.from) {
    const saved = JSON.parse(readFileSync(file, "utf8"));
    const origins = saved.origins.map((o) => o.label).join(",");
    first ??= { name: saved.model.name, origins };
    if (saved.model.name !== first.name || origins !== first.origins || saved.method !== "posterior") {
      console.error(
        `${file}: not a calibrated run of the same model from the same origins as ${flags.from[0]}`,
      );
      process.exit(1);
    }
    const rows = await frontBacktestByHorizon({
      saved,
      runs: saved.runs,
      seed: saved.seed,
      chains: 0,
      iterations: 0,
      burnIn: 0,
      particles: 0,
    });
    const rhat = originConvergence(saved).map((c) => c.maxRhat);
    runs.push({ rows });
    console.log(
      `${file}: seed ${saved.seed}, largest split R-hat per origin ${Math.min(...rhat).toFixed(2)}-${Math.max(...rhat).toFixed(2)}`,
    );
  }
  const f = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
  console.log(
    `| series | horizon | ${runs.map((_, i) => `run ${i + 1}`).join(" | ")} | mean (sd) | mean cov90 | best baseline |`,
  );
  console.log(`| --- | --- | ${runs.map(() => "---").join(" | ")} | --- | --- | --- |`);
  for (const row of runs[0].rows.filter((r) => r.forecaster === "model")) {
    const same = runs.map(
      (run) =>
        run.rows.find((r) => r.forecaster === "model" && r.series === row.series && r.horizon === row.horizon)
          .scores,
    );
    const crps = same.map((x) => x.crps);
    const cov = same.map((x) => x.coverage90);
    const best = runs[0].rows
      .filter((r) => r.forecaster !== "model" && r.series === row.series && r.horizon === row.horizon)
      .reduce((a, r) => (r.scores.crps < a.scores.crps ? r : a));
    console.log(
      `| ${row.series} | ${row.horizon} | ${same.map((x) => `${f(x.crps)} (${x.coverage90.toFixed(2)})`).join(" | ")} | ${f(mean(crps))} (${f(sd(crps))}) | ${mean(cov).toFixed(3)} (${sd(cov).toFixed(3)}) | ${f(best.scores.crps)} (${best.forecaster}) |`,
    );
  }
  process.exit(0);
}
let backtest;
const options = {
  ...(flags.model ? { file: resolve(flags.model) } : {}),
  runs: 1000,
  seed: Number(flags.seed),
  chains: Number(flags.chains),
  iterations: Number(flags.iterations),
  burnIn: Number(flags["burn-in"]),
  ...(flags.covariance ? { covariance: true } : {}),
  particles: 100,
  targetSd: 1.2,
  maxParticles: 800,
  // --json: every period's forecast and scores (the backtest's own JSON), written before the table is printed.
  ...(flags.from ? { saved: JSON.parse(readFileSync(flags.from[0], "utf8")) } : {}),
  ...(flags.against
    ? {
        against: {
          label: `model of ${basename(flags.against)}`,
          result: JSON.parse(readFileSync(flags.against, "utf8")),
        },
      }
    : {}),
  // Kept for the convergence line after the table.
  onResult: (result) => {
    backtest = result;
    if (flags.json) writeFileSync(flags.json, JSON.stringify(result));
  },
};
// A saved run's own settings are in its file; only what it was says here.
console.log(
  options.saved
    ? `${flags.from[0]}: ${options.saved.model.name}, seed ${options.saved.seed}, ${options.saved.runs} runs per origin, origins ${options.saved.origins.map((o) => o.label).join(", ")}${flags.against ? `; against ${flags.against}` : ""}`
    : `origins ${FRONT_ORIGINS.join(", ")}; ${JSON.stringify({ ...options, onResult: undefined, against: flags.against })}`,
);
const rows = await frontBacktestByHorizon(options);
const f = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
console.log(
  "| series | horizon | forecaster | periods | CRPS | cov50 | cov90 (95% interval) | bias | model − this (95% interval) |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  const s = r.scores;
  const c = r.comparison;
  const versus = c ? `${f(c.difference)} (${c.lo === null ? "–" : `${f(c.lo)} to ${f(c.hi)}`})` : "";
  console.log(
    `| ${r.series} | ${r.horizon} | ${r.forecaster} | ${s.periods} | ${f(s.crps)} | ${s.coverage50.toFixed(2)} | ${s.coverage90.toFixed(2)}${r.coverage?.interval90 ? ` (${r.coverage.interval90.map((x) => x.toFixed(2)).join("-")})` : ""} | ${f(s.bias)} | ${versus} |`,
  );
}
// Whether each origin's calibration settled: unsettled chains make the scores depend on the seed.
console.log(
  `\nlargest split R-hat per origin: ${originConvergence(backtest)
    .map((c) => `${c.label} ${c.maxRhat.toFixed(2)} (${c.worst})`)
    .join(", ")}`,
);
const warning = convergenceWarning(originConvergence(backtest));
if (warning) console.log(`warning: ${warning}`);
