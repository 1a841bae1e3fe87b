// The blocks of models/flagship/front.yaml, shared by flagship-calibrate.js and flagship-weigh.js. Losses (the
// tempo process), area (the momentum process and offensives) and aid share no state and no param, so a block can
// be run alone: front.yaml with the other blocks' observations removed and their params fixed at their prior
// medians (they cannot move the block's likelihood).
import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { FRONT } from "../dist/node/flagship.js";

/** Each block's observation and the params it fits. */
export const FRONT_BLOCKS = {
  losses: [
    "russian_losses_4w",
    [
      "russian_loss_rate",
      "tempo_volatility",
      "tempo_shock_elasticity",
      "tempo_reversion_time",
      "tempo_0",
      "season_amplitude",
      "tempo_surge_rate",
      "tempo_surge_size",
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

/**
 * front.yaml as a YAML document for one block, to be written into models/flagship/data/: only `observation` is
 * kept (its data path made relative to that folder) and every uncertain param outside `params` is fixed at its
 * prior median.
 */
export function blockDocument(observation, params) {
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
  return doc;
}
