import { describe, expect, it } from "vitest";
import { CLOCK_MAX_STEPS } from "../src/compile/clock.js";
import { saveTotal } from "../src/model/load.js";
import { diagnosticsOf, prepareText } from "./helpers.js";

/** A model whose variable clock takes steps of `step` from 0 to `stop`, saving once a time unit. */
const model = (step: string, stop: number, stopVar = false) => `brink: 1
name: long clock
time: { start: 0, stop: ${stop}, dt: 1, clock: { dt: step, save: every${stopVar ? ", stop: ends" : ""} } }
stocks:
  s: { init: 0, inflows: [inflow] }
flows:
  inflow: { eq: 1 }
vars:
  step: { eq: "${step}" }
  every: { eq: 1 }
  ends: { eq: ${stop} }
track: [s]
`;

describe("a variable clock's step limit (time.clock)", () => {
  it("refuses a clock taking more steps than the limit, at time.clock.dt, naming the limit", () => {
    // Steps of 1e-6 to time 2: two million steps, twice the limit.
    const [message, ...rest] = diagnosticsOf(() => prepareText(model("0.000001", 2)));
    expect(rest).toEqual([]);
    expect(message).toMatch(/^model\.yaml:3:\d+: error: /);
    expect(message).toContain(`more than ${CLOCK_MAX_STEPS.toLocaleString("en")} steps to reach its stop`);
    expect(message).toContain("keeps every step's time");
    // The position is the value of time.clock.dt on line 3.
    const col = Number(/^model\.yaml:3:(\d+):/.exec(message!)![1]);
    expect(
      model("0.000001", 2)
        .split("\n")[2]!
        .slice(col - 1),
    ).toMatch(/^step, save/);
  });

  it("places the refusal at time.clock.stop when a stop var ends the run", () => {
    const text = model("0.000001", 2, true);
    const [message] = diagnosticsOf(() => prepareText(text));
    const col = Number(/^model\.yaml:3:(\d+):/.exec(message!)![1]);
    expect(text.split("\n")[2]!.slice(col - 1)).toMatch(/^ends \}/);
  });

  it("accepts a clock just under the limit and keeps its schedule", () => {
    // Steps of 2⁻¹⁰ (exact in binary, so no drift) to time 976: 999,424 steps, saving once a time unit.
    const stop = 976;
    expect(stop * 1024).toBeLessThanOrEqual(CLOCK_MAX_STEPS);
    const m = prepareText(model("0.0009765625", stop));
    const { times, saveSteps } = m.program.time.clock!.schedule!;
    expect(times.length - 1).toBe(stop * 1024);
    expect(times[times.length - 1]).toBe(stop);
    expect(saveSteps.length).toBe(stop + 1);
    expect(saveTotal(m.program.time)).toBe(stop + 1);
  });
});
