import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WarRoomGame } from "../src/analysis/warroom.js";
import { prepareModel } from "../src/engine/prepare.js";
import { BranchStreams, CountingStreams } from "../src/engine/rng.js";
import { Runner } from "../src/engine/run.js";
import { ROOT } from "./helpers.js";

const FLAGSHIP = join(ROOT, "models", "flagship", "flagship.yaml");
const text = readFileSync(FLAGSHIP, "utf8");

describe("branching a history (Monte Carlo from here)", () => {
  it("a branch retraces the history up to the branch point, then goes its own way", () => {
    const file = join(ROOT, "models", "examples", "war-of-attrition.yaml");
    const model = prepareModel(file, readFileSync(file, "utf8"));
    const sites = model.program.randomSites;
    const runner = new Runner(model, 5);
    runner.run(3);
    const history = Float64Array.from(runner.saved);
    // Count the history's draws, then branch with the first half of them.
    const counting = new CountingStreams(sites);
    counting.reset(5, 3);
    runner.runWithStreams(3, counting);
    expect(Float64Array.from(runner.saved)).toEqual(history);
    const half = Uint32Array.from(counting.counts, (c) => Math.floor(c / 2));
    const branch = new BranchStreams(sites);
    branch.position(5, 3, half, 1 << 30);
    runner.runWithStreams(3, branch);
    const branched = Float64Array.from(runner.saved);
    expect(counting.counts.some((c) => c > 1)).toBe(true);
    expect(branched[0]).toBe(history[0]);
    expect(branched).not.toEqual(history);
    // A branch given every draw of the history is the history.
    branch.position(5, 3, counting.counts, 1 << 30);
    runner.runWithStreams(3, branch);
    expect(Float64Array.from(runner.saved)).toEqual(history);
  });
});

describe("the war room", () => {
  it("plays turns along one history, with forecasts that are the same for the same seed", () => {
    const game = new WarRoomGame(FLAGSHIP, text, { role: "west", seed: 1, history: 7 });
    const start = game.state();
    expect(start.date).toBe("2025-08-21");
    expect(start.values.western_troops).toBe(0);
    const a = game.forecast({ deploy: 2000, strikes: 1 }, 200);
    const b = new WarRoomGame(FLAGSHIP, text, { role: "west", seed: 1, history: 7 }).forecast(
      { deploy: 2000, strikes: 1 },
      200,
    );
    expect(a).toEqual(b);
    expect(a.runs).toBe(200);
    expect(a.outcomes.reduce((s, o) => s + o.p, 0)).toBeCloseTo(1, 12);
    const next = game.advance({ deploy: 2000, strikes: 1 }, a.risk);
    expect(next.turn).toBe(1);
    expect(next.date).toBe("2025-09-18");
    // The player's troops arrived (the model's own policy is off in the game).
    expect(next.values.western_troops).toBe(2000);
    const third = game.advance({ deploy: 0, strikes: 0 }, null);
    expect(third.values.western_troops).toBe(2000);
    expect(game.log.map((l) => l.choice.deploy)).toEqual([2000, 0]);
  });

  it("forecasts from the current state: continuations share the history's past", () => {
    const game = new WarRoomGame(FLAGSHIP, text, { role: "west", seed: 3, history: 11 });
    game.advance({ deploy: 1000, strikes: 1 }, null);
    game.advance({ deploy: 1000, strikes: 1 }, null);
    const here = game.state();
    // Sending nothing more vs a large increment now: a bigger jump is at least as provocative in this model.
    const calm = game.forecast({ deploy: 0, strikes: 1 }, 400);
    const bold = game.forecast({ deploy: 10000, strikes: 1 }, 400);
    expect(here.values.western_troops).toBe(2000);
    expect(bold.risk.p).toBeGreaterThanOrEqual(calm.risk.p);
  });
});

describe("the warroom section of a model file", () => {
  it("offers each declared role; the West's rule keeps running when the player is Ukraine", () => {
    const game = new WarRoomGame(FLAGSHIP, text, { role: "ukraine", seed: 1, history: 7, turns: 6 });
    expect(game.config.role).toBe("Ukraine");
    expect(game.config.levers.map((l) => l.id)).toEqual(["strikes"]);
    expect(game.config.set).toEqual({});
    expect(game.times).toHaveLength(7);
    let state = game.state();
    for (let m = 0; m < 6 && !game.over; m++) state = game.advance({ strikes: 0 }, null);
    expect(state.turn).toBeGreaterThan(0);
    expect(() => new WarRoomGame(FLAGSHIP, text, { role: "russia", seed: 1, history: 7 })).toThrow(
      "the war room has no role 'russia' (it has: west, ukraine)",
    );
  });

  it("points at levers, params and outcomes that do not exist", async () => {
    const { checkModelText } = await import("../src/analysis/check.js");
    const model = [
      "brink: 1",
      "name: tiny",
      "time: { start: 0, stop: 10, dt: 1 }",
      "params: { k: 0.1 }",
      "stocks: { x: { init: 1, inflows: [grow] } }",
      "flows: { grow: k * x }",
      "vars: { double: 2 * x }",
      "outcomes: { big: { when: x > 2 } }",
      "warroom:",
      "  watch: [x, y]",
      "  roles:",
      "    me:",
      "      label: me",
      "      levers:",
      "        push: { label: push, min: 0, max: 1, step: 0.1, value: 2, adds_to: double }",
      "        both: { label: both, min: 0, max: 1, step: 0.1, value: 0 }",
      "      set: { kk: 1 }",
      "      risk: bigg",
      "",
    ].join("\n");
    const messages = checkModelText("tiny.yaml", model).diagnostics.map(
      (d) => `${d.line}:${d.col}: ${d.message}`,
    );
    expect(messages).toEqual(
      expect.arrayContaining([
        "10:14: the war room needs a tracked variable; 'y' is not one — did you mean 'x'?",
        "18:13: the war room needs an outcome; 'bigg' is not one — did you mean 'big'?",
        "17:14: the war room needs a param; 'kk' is not one — did you mean 'k'?",
        "15:76: the war room needs a stock; 'double' is not one",
        "15:64: lever 'push' starts at 2, outside [0, 1]",
        "16:15: lever 'both' needs exactly one of 'adds_to' (a stock) or 'scales' (a var)",
      ]),
    );
  });
});

describe("a war room on another model", () => {
  it("plays the teaching example's defender: the player's reserves arrive in the stock", () => {
    const file = join(ROOT, "models", "examples", "war-of-attrition.yaml");
    const game = new WarRoomGame(file, readFileSync(file, "utf8"), { role: "defender", seed: 2, history: 4 });
    expect(game.config.turns).toBe(12);
    expect(game.config.riskOutcome).toBe("defender_breaks");
    const start = game.state();
    const forecast = game.forecast({ reinforce: 20 }, 200);
    expect(forecast.outcomes.map((o) => o.name)).toEqual([
      "attacker_breaks",
      "defender_breaks",
      "negotiated_ceasefire",
      "still going at the horizon",
    ]);
    // Reserves raised now: more than the history alone would have had a month later.
    const alone = new WarRoomGame(file, readFileSync(file, "utf8"), {
      role: "defender",
      seed: 2,
      history: 4,
    });
    const without = alone.advance({ reinforce: 0 }, null);
    const withReserves = game.advance({ reinforce: 20 }, forecast.risk);
    expect(start.turn).toBe(0);
    expect(withReserves.turn).toBe(1);
    // The 20 raised are in the defender's reserves a month later (regeneration draws the same from either).
    expect(withReserves.values.defender_reserves! - without.values.defender_reserves!).toBeCloseTo(20, 6);
  });
});
