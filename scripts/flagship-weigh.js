#!/usr/bin/env node
// Weigh the flagship's rival theses on the 2023-25 front data with `brink weigh` (docs/flagship.md, "Which thesis
// the evidence favours, and what to watch"). The flagship starts on the article's date, so its scenarios cannot be
// weighed on data inside its own time; models/flagship/front.yaml runs its front and aid mechanism over 2023-25
// against the data, and its `scenarios` are the theses' parts that act on those data.
//
// The three blocks of front.yaml — losses, area, aid — share no state and no param, so each scenario's likelihood,
// and with independent priors its marginal likelihood, is the product of the blocks': log p(y | T) is the sum over
// blocks. No thesis changes the losses block, so it is the same factor for all and cancels from the weights; the
// area and aid blocks are weighed one at a time, each on front.yaml with the other blocks' observations removed and
// their params fixed at their prior medians (they cannot move the block's likelihood), as flagship-calibrate.js
// does. In a block, a scenario whose overrides of that block's params equal another's is the same model: it is run
// once and shares that evidence. Flagship theses with no scenario in front.yaml predict these data as the article
// does and get the article's evidence.
// Usage: node scripts/flagship-weigh.js [brink weigh options…]   (after npm run build; needs ../shared/data)
// Writes models/flagship/data/front-weigh-BLOCK.yaml, weigh-BLOCK.json and weights.json (ignored folder).
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { posteriorWeights } from "../dist/analysis/weigh.js";
import { FRONT, FRONT_DATA, writeFrontData } from "../dist/node/flagship.js";
import { blockDocument, FRONT_BLOCKS } from "./front-blocks.js";

const UNTIL = "2025-08-21";
/** The blocks a thesis can change: area with the offensives' params (front.yaml fixes them otherwise), and aid. */
const BLOCKS = {
  area: [
    FRONT_BLOCKS.area[0],
    [...FRONT_BLOCKS.area[1], "offensive_rate", "offensive_success_base", "offensive_front_jump"],
  ],
  aid: FRONT_BLOCKS.aid,
};
const FLAGSHIP = join(FRONT, "..", "flagship.yaml");
/** The flagship's scenarios that are theses (the rest are policies and checks). */
const THESES = [
  "attrition_favours_russia",
  "russian_resilience",
  "western_fatigue",
  "coerced_settlement",
  "frozen_conflict",
  "genuine_talks",
];

if (!writeFrontData()) {
  console.error("the shared datasets are absent (set BRINK_DATA)");
  process.exit(1);
}
const options = process.argv.slice(2);
const front = parse(readFileSync(FRONT, "utf8"));
const flagshipScenarios = Object.keys(parse(readFileSync(FLAGSHIP, "utf8")).scenarios);
for (const t of THESES)
  if (!flagshipScenarios.includes(t)) throw new Error(`the flagship has no scenario '${t}'`);
const names = ["article", ...THESES];
/** Per block: each thesis's representative (the scenario run for it), and the weigh result. */
const blocks = {};
for (const [block, [observation, params]] of Object.entries(BLOCKS)) {
  const doc = blockDocument(observation, params);
  // Each scenario keeps its overrides of this block's params only; equal overrides are one model, run once.
  const representative = {};
  const seen = new Map();
  for (const name of names) {
    const overrides = front.scenarios[name]?.params ?? front.scenarios.article.params;
    const own = Object.fromEntries(
      Object.entries(overrides)
        .filter(([p]) => params.includes(p))
        .sort(([a], [b]) => a.localeCompare(b)),
    );
    const key = JSON.stringify(own);
    if (!seen.has(key)) seen.set(key, front.scenarios[name] ? name : "article");
    representative[name] = seen.get(key);
    if (front.scenarios[name]) doc.setIn(["scenarios", name, "params"], doc.createNode(own, { flow: true }));
  }
  for (const name of Object.keys(front.scenarios))
    if (![...seen.values()].includes(name)) doc.deleteIn(["scenarios", name]);
  const file = join(FRONT_DATA, `front-weigh-${block}.yaml`);
  writeFileSync(file, doc.toString());
  const run = [...new Set(Object.values(representative))];
  const shown = (f) => f.replace(`${process.cwd()}/`, "");
  const out = join(FRONT_DATA, `weigh-${block}.json`);
  const args = [
    "weigh",
    file,
    "--scenarios",
    run.join(","),
    "--until",
    UNTIL,
    "--every",
    "month",
    ...options,
  ];
  console.log(`\n$ brink ${args.map(shown).join(" ")} --json > ${shown(out)}`);
  for (const name of names)
    if (representative[name] !== name)
      console.log(`  ${name}: the same model as ${representative[name]} in this block`);
  const r = spawnSync(process.execPath, ["bin/brink.js", ...args, "--json"], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
  writeFileSync(out, r.stdout);
  const result = JSON.parse(r.stdout);
  for (const w of result.warnings) console.log(`  warning: ${w}`);
  for (const e of result.evidence)
    console.log(
      `  ${e.scenario}: log ML ${e.log_marginal_likelihood.toFixed(2)} ± ${e.se.toPrecision(2)} (ESS ${Math.round(e.ess)}${e.rhat_max !== undefined ? `, max R-hat ${e.rhat_max.toFixed(3)}` : ""})`,
    );
  blocks[block] = { representative, result };
}

/** Each thesis's log evidence summed over the blocks (the losses block cancels); the blocks' errors add in quadrature. */
function joint(pick) {
  return names.map((name) => {
    let lml = 0;
    let variance = 0;
    for (const { representative, result } of Object.values(blocks)) {
      const e = pick(result, representative[name]);
      if (!e) continue;
      lml += e.log_marginal_likelihood;
      variance += e.se ** 2;
    }
    return { log_marginal_likelihood: lml, se: Math.sqrt(variance) };
  });
}
const priors = names.map(() => 1 / names.length);
const seed = 1;
const today = joint((result, name) => result.evidence.find((e) => e.scenario === name));
const weights = posteriorWeights(names, today, priors, seed, 4000, 0);
const pct = (x) => `${(100 * x).toFixed(1)}%`;
console.log(`\nweights of the theses given the area and aid data to ${UNTIL} (equal prior weights):`);
for (const [i, w] of weights.entries())
  console.log(
    `  ${w.scenario.padEnd(26)} log ML ${today[i].log_marginal_likelihood.toFixed(2).padStart(8)} ± ${today[i].se.toFixed(2)}  weight ${pct(w.weight).padStart(6)} (${pct(w.lo)}–${pct(w.hi)})`,
  );

// The weights at the end of each month: each block's evidence for its data up to then (none yet: a factor 1).
const months = [
  ...new Set(Object.values(blocks).flatMap(({ result }) => result.series.map((p) => p.date.slice(0, 7)))),
].sort();
const series = months.map((month, k) => {
  const at = joint((result, name) => {
    const upTo = result.series.filter((p) => p.date.slice(0, 7) <= month);
    return upTo[upTo.length - 1]?.weights.find((w) => w.scenario === name);
  });
  return { month, weights: posteriorWeights(names, at, priors, seed, 4000, k + 1) };
});
console.log("\nweights at the end of each month:");
console.log(`  ${"month".padEnd(8)} ${names.map((n) => n.slice(0, 12).padStart(13)).join("")}`);
for (const p of series)
  console.log(`  ${p.month.padEnd(8)} ${p.weights.map((w) => pct(w.weight).padStart(13)).join("")}`);
writeFileSync(
  join(FRONT_DATA, "weights.json"),
  `${JSON.stringify({ until: UNTIL, theses: names, evidence: today, weights, series }, null, 1)}\n`,
);
