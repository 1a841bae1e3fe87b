import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FRONT } from "../src/node/flagship.js";
import { pin, prepareText, report } from "./helpers.js";

const text = readFileSync(FRONT, "utf8");

/** The sd of the log tempo after its first 4 weeks, from its 5-95% spread over runs (normal: 3.29 sd). */
function fourWeekSd(values: Record<string, number>): number {
  // No reversion and no season within the 4 weeks: the change is the four weekly shocks alone.
  const model = prepareText(
    Object.entries({
      tempo_reversion_time: 1e9,
      season_amplitude: 0,
      tempo_volatility: 0.05,
      ...values,
    }).reduce((source, [param, value]) => pin(source, param, value), text),
    FRONT,
  );
  const first = report(model, 4000, 3).tracked.front_tempo![1]!;
  return (first.q95! - first.q05!) / 3.29;
}

describe("the tempo's shocks shrink as losses rise, and stop growing below the floor", () => {
  const fixed = 0.05 * 2; // four weekly shocks of 0.05
  it("an elasticity of 0 keeps them a fixed share of the losses at any tempo", () => {
    expect(fourWeekSd({ tempo_shock_elasticity: 0, tempo_0: 1 }) / fixed).toBeCloseTo(1, 1);
    expect(fourWeekSd({ tempo_shock_elasticity: 0, tempo_0: -3 }) / fixed).toBeCloseTo(1, 1);
  });
  it("an elasticity of 1 scales them by exp(-tempo) above the floor", () => {
    expect(fourWeekSd({ tempo_shock_elasticity: 1, tempo_0: 1 }) / (fixed * Math.exp(-1))).toBeCloseTo(1, 1);
    expect(fourWeekSd({ tempo_shock_elasticity: 1, tempo_0: -0.5 }) / (fixed * Math.exp(0.5))).toBeCloseTo(
      1,
      1,
    );
  });
  it("far below the floor (−1) they are the floor's size, not exp(3) times the base", () => {
    expect(fourWeekSd({ tempo_shock_elasticity: 1, tempo_0: -3 }) / (fixed * Math.exp(1))).toBeCloseTo(1, 1);
  });
});
