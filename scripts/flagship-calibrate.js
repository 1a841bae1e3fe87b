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
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FRONT_DATA, writeFrontData } from "../dist/node/flagship.js";
import { blockDocument, FRONT_BLOCKS } from "./front-blocks.js";

if (!writeFrontData()) {
  console.error("the shared datasets are absent (set BRINK_DATA)");
  process.exit(1);
}
const options = process.argv.slice(2);
const only = options.indexOf("--block");
const chosen = only >= 0 ? options.splice(only, 2)[1] : undefined;
for (const [block, [observation, params]] of Object.entries(FRONT_BLOCKS)) {
  if (chosen !== undefined && block !== chosen) continue;
  const doc = blockDocument(observation, params);
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
