#!/usr/bin/env node
// Calibrate the flagship's front and aid params on models/flagship/front.yaml with `brink calibrate`, one block at
// a time. The three blocks — losses (the tempo process), area (the momentum process and offensives) and aid — share
// no state and no param, so their likelihoods multiply and, with independent priors, the joint posterior is the
// product of the blocks' posteriors: fitting them apart is exact, and each sampler faces a third of the particle
// noise. Each block's model is front.yaml with the other blocks' observations removed and their params fixed at
// their prior medians (they cannot move the block's likelihood), written to models/flagship/data/.
// Usage: node scripts/flagship-calibrate.js [--block losses|area|aid] [brink calibrate options…]
//   (after npm run build; needs the data; without --block, every block in turn)
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { FRONT, FRONT_DATA, writeFrontData } from "../dist/node/flagship.js";

const BLOCKS = {
  losses: [
    "russian_losses_4w",
    [
      "russian_loss_rate",
      "tempo_volatility",
      "tempo_reversion_time",
      "tempo_0",
      "season_amplitude",
      "loss_obs_sd",
    ],
  ],
  area: [
    "territory_change_4w",
    [
      "territory_gain_rate",
      "momentum_volatility",
      "momentum_reversion_time",
      "momentum_0",
      "season_amplitude_front",
      "territory_obs_sd",
    ],
  ],
  aid: ["aid_military", ["support_drift", "aid_volatility", "support_0", "aid_obs_sd"]],
};

/** The median of a distribution string: "a to b" (lognormal when 0 < a, else normal), normal(m, s), uniform(a, b). */
function priorMedian(dist) {
  const to = /^\s*(-?[\d.e+-]+)\s+to\s+(-?[\d.e+-]+)\s*$/.exec(dist);
  if (to) {
    const [a, b] = [Number(to[1]), Number(to[2])];
    return a > 0 ? Math.sqrt(a * b) : (a + b) / 2;
  }
  const call = /^\s*(normal|uniform)\(\s*(-?[\d.e+-]+)\s*,\s*(-?[\d.e+-]+)\s*\)\s*$/.exec(dist);
  if (call) return call[1] === "normal" ? Number(call[2]) : (Number(call[2]) + Number(call[3])) / 2;
  throw new Error(`no median rule for '${dist}'`);
}

if (!writeFrontData()) {
  console.error("the shared datasets are absent (set BRINK_DATA)");
  process.exit(1);
}
const options = process.argv.slice(2);
const only = options.indexOf("--block");
const chosen = only >= 0 ? options.splice(only, 2)[1] : undefined;
for (const [block, [observation, params]] of Object.entries(BLOCKS)) {
  if (chosen !== undefined && block !== chosen) continue;
  const doc = parseDocument(readFileSync(FRONT, "utf8"));
  for (const name of Object.keys(doc.get("observations").toJSON())) {
    if (name !== observation) doc.deleteIn(["observations", name]);
    else
      doc.setIn(
        ["observations", name, "file"],
        doc.getIn(["observations", name, "file"]).replace(/^data\//, ""),
      );
  }
  for (const [name, p] of Object.entries(doc.get("params").toJSON())) {
    if (p.dist !== undefined && !params.includes(name)) {
      doc.deleteIn(["params", name, "dist"]);
      doc.setIn(["params", name, "value"], priorMedian(p.dist));
    }
  }
  const file = join(FRONT_DATA, `front-${block}.yaml`);
  writeFileSync(file, doc.toString());
  const out = join(FRONT_DATA, `posterior-${block}.json`);
  const args = ["bin/brink.js", "calibrate", file, ...options, "-o", out];
  console.log(
    `\n$ brink calibrate ${file.replace(`${process.cwd()}/`, "")} ${options.join(" ")} -o ${out.replace(`${process.cwd()}/`, "")}`,
  );
  const r = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  process.stdout.write(r.stdout);
  if (r.status !== 0) process.exit(r.status ?? 1);
}
