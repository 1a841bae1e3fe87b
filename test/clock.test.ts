import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { checkModelText } from "../src/analysis/check.js";
import {
  generateKernelSource,
  makePausableKernel,
  PAUSED,
  pausedStateLength,
} from "../src/compile/codegen.js";
import { SiteStreams } from "../src/engine/rng.js";
import { saveTime, saveTotal } from "../src/model/load.js";
import { closeWorkers, simulate } from "../src/node/simulate.js";
import { diagnosticsOf, example, prepareText, report, series } from "./helpers.js";

/** A model whose step halves at time 2: s' = time, so Euler gives s = Σ t_k · h_k over the steps taken. */
const model = (clock: string, extra = "", time = "start: 0, stop: 4, dt: 1") => `brink: 1
name: clock
time: { ${time}, clock: { ${clock} } }
stocks:
  s: { init: 0, inflows: [inflow] }
flows:
  inflow: { eq: time }
vars:
  step: { eq: "if time < 2 then 1 else 0.5" }
${extra}track: [s, step]
`;

const times = (text: string) => {
  const m = prepareText(text);
  return Array.from({ length: saveTotal(m.program.time) }, (_, s) => saveTime(m.program.time, s));
};

describe("a clock that changes during the run (time.clock)", () => {
  afterAll(() => closeWorkers());

  it("takes the step its var gives at each time, in the kernel and the interpreter alike", () => {
    const m = prepareText(model("dt: step"));
    expect(times(model("dt: step"))).toEqual([0, 1, 2, 2.5, 3, 3.5, 4]);
    // Steps of 1 from 0 to 2, then of 0.5: s = 0, 0, 0+1, 1+2·0.5, 2+2.5·0.5, 3.25+3·0.5, 4.75+3.5·0.5.
    const expected = [0, 0, 1, 2, 3.25, 4.75, 6.5];
    for (const backend of ["kernel", "interpreter"] as const) {
      const { end, series: out } = series(m, 0, 1, backend);
      expect(out.s, backend).toEqual(expected);
      expect(out.step, backend).toEqual([1, 1, 0.5, 0.5, 0.5, 0.5, 0.5]);
      expect(end, backend).toMatchObject({ outcome: -1, time: 4, timeIndex: 6, saves: 7 });
    }
    // The run report labels each save with its time.
    expect(report(m, 4).tracked.s!.map((p) => [p.t, p.mean])).toEqual(
      [0, 1, 2, 2.5, 3, 3.5, 4].map((t, i) => [t, expected[i]]),
    );
  });

  it("saves every step without a save var or time.save, even when the times are not multiples of the step", () => {
    // Steps of 1 to time 2, then of 0.3: 2.3 is no multiple of 0.3, and a sum of many small steps drifts off one.
    const third = model("dt: step").replace("else 0.5", "else 0.3");
    const m = prepareText(third);
    expect(m.program.time.clock!.schedule!.times.length).toBe(saveTotal(m.program.time));
    for (const backend of ["kernel", "interpreter"] as const)
      expect(series(m, 0, 1, backend).end.saves, backend).toBe(saveTotal(m.program.time));
    const small = prepareText(model("dt: step").replace("if time < 2 then 1 else 0.5", "0.001"));
    expect(saveTotal(small.program.time)).toBe(4001);
    expect(saveTime(small.program.time, 4000)).toBeCloseTo(4, 9);
  });

  it("refuses a clock that reads a param an event sets, which the compiler's walk would not see change", () => {
    // A rate event: each run's step shrinks at its own time, yet saves were labelled 0, 1, …, 4 in every run.
    const extra = "  h_var: { eq: h }\n";
    for (const when of ["rate: 0.2", "when: time > 2"]) {
      const text = model("dt: h_var", extra).replace(
        "vars:",
        `params:\n  h: 1\nevents:\n  shrink: { ${when}, then: { h: 0.1 } }\nvars:`,
      );
      expect(diagnosticsOf(() => prepareText(text)).join("\n")).toMatch(
        /time\.clock\.dt: 'h_var' depends on 'h', which an event sets/,
      );
    }
  });

  it("answers claims at a time from the save on or before it", async () => {
    const claims = `claims:\n  - id: a\n    check: "E(s at 2.7) > 1"\n  - id: b\n    check: "E(s at 3.9) > 1"\n`;
    const text = model("dt: step") + claims;
    // The saves on or before 2.7 and 3.9 are at 2.5 and 3.5 (on a fixed grid of 1 they would be 2 and 3).
    const { report: done } = await simulate({ file: "model.yaml", text }, { runs: 4, seed: 1 });
    expect(done.claims.map((c) => c.p)).toEqual([2, 4.75]);
    expect(checkModelText("model.yaml", text.replace("3.9", "4.5")).diagnostics[0]?.message).toMatch(
      /outside the run/,
    );
  });

  it("saves when the time since the start is a multiple of the saving period's value, and stops at the stop's", () => {
    const extra = `  every: { eq: "if time < 2 then 0.5 else 1" }\n  end: { eq: "if time < 3 then 3.5 else 5" }\n`;
    const text = model("dt: step, save: every, stop: end", extra);
    // Saved at 0 and 1 (a multiple of 0.5 on steps of 1), then at every whole time; the stop grows from 3.5 to 5.
    expect(times(text)).toEqual([0, 1, 2, 3, 4, 5]);
    const m = prepareText(text);
    const a = series(m, 0, 1, "kernel");
    const b = series(m, 0, 1, "interpreter");
    expect(a).toEqual(b);
    expect(a.end.time).toBe(5);
    // A fixed saving period (time.save) with a changing step.
    expect(times(model("dt: step", "", "start: 0, stop: 4, dt: 1, save: 2"))).toEqual([0, 2, 4]);
  });

  it("agrees between the kernel and the interpreter under RK4, with hazards and events, over many runs", () => {
    const text = `brink: 1
name: clock rk4
time: { start: 0, stop: 6, dt: 0.5, save: 1, clock: { dt: step } }
method: rk4
params:
  r: "0.2 to 0.6"
stocks:
  p: { init: 1, inflows: [grow] }
flows:
  grow: { eq: "r * p * (1 - p / 10) + ramp(0.1, 2)" }
vars:
  step: { eq: "if time < 3 then 0.5 else 0.25" }
events:
  shock: { rate: 0.3, then: { p: p * 0.8 } }
  cap: { when: p > 4, then: { p: p - 1 } }
outcomes:
  collapse: { rate: "0.02 * p" }
track: [p, grow]
`;
    const m = prepareText(text);
    for (let run = 0; run < 40; run++)
      expect(series(m, run, 7, "kernel"), `run ${run}`).toEqual(series(m, run, 7, "interpreter"));
  });

  it("reads dt in equations as the step being taken", () => {
    const extra = "  taken: { eq: dt * 10 }\n";
    const m = prepareText(model("dt: step", extra).replace("track: [s, step]", "track: [taken]"));
    expect(series(m).series.taken).toEqual([10, 10, 5, 5, 5, 5, 5]);
  });

  it("pauses and resumes with the step it was taking", () => {
    const m = prepareText(model("dt: step"));
    const p = m.program;
    const whole = series(m).series.s;
    const kernel = makePausableKernel(p);
    const state = new Float64Array(pausedStateLength(p));
    const out = new Float64Array(saveTotal(p.time) * p.tracked.length);
    const streams = new SiteStreams(p.randomSites);
    const v = new Float64Array(p.slots.length);
    const result = new Float64Array(3);
    expect(kernel(v, out, streams, result, state, 3)).toBe(PAUSED);
    expect(kernel(v, out, streams, result, state, -1)).toBe(-1);
    expect(Array.from({ length: 7 }, (_, s) => out[s * 2])).toEqual(whole);
  });

  it("leaves a fixed clock's kernel as it was", () => {
    const fixed = prepareText(model("dt: step").replace(", clock: { dt: step }", ""));
    const source = generateKernelSource(fixed.program);
    expect(source).toContain("t = START + k * DT;");
    expect(source).not.toContain("saveDue");
  });

  it("refuses a clock that could differ between runs, at the clock's key", () => {
    const stockStep = diagnosticsOf(() =>
      prepareText(model("dt: fast", `  fast: { eq: "if s > 1 then 0.5 else 1" }\n`)),
    );
    expect(stockStep).toEqual([
      expect.stringMatching(
        /^model\.yaml:3:\d+: error: time\.clock\.dt: 'fast' depends on the stock 's', but the clock must be the same in every run/,
      ),
    ]);
    const randomStep = diagnosticsOf(() =>
      prepareText(model("dt: noisy", `  noisy: { eq: "uniform(0.5, 1)" }\n`)),
    );
    expect(randomStep[0]).toMatch(/time\.clock\.dt: 'noisy' draws uniform\(…\) at random/);
    const sampled = diagnosticsOf(() =>
      prepareText(
        model("dt: step")
          .replace("stocks:", 'params:\n  k: "1 to 2"\nstocks:')
          .replace('else 0.5"', 'else 0.5 * k"'),
      ),
    );
    expect(sampled[0]).toMatch(/time\.clock\.dt: 'step' depends on the sampled param 'k'/);
    expect(diagnosticsOf(() => prepareText(model("dt: nothing")))[0]).toMatch(
      /time\.clock\.dt: 'nothing' is not a var of this model/,
    );
    expect(
      diagnosticsOf(() => prepareText(model("dt: zero", `  zero: { eq: "if time < 2 then 1 else 0" }\n`)))[0],
    ).toMatch(/the step is 0 at time 2; it must be a positive number/);
    expect(
      diagnosticsOf(() => prepareText(model("dt: step", `  late: { eq: "delay(time, 1)" }\n`)))[0],
    ).toMatch(/delay\(…\) needs a fixed step/);
    // Observations (calibration) are placed on a fixed step grid.
    const flu = readFileSync(example("boarding-school-flu.yaml"), "utf8");
    const time = /^time: \{ (.*) \}$/m.exec(flu)![1]!;
    const clocked = flu.replace(
      `time: { ${time} }`,
      `time: { ${time}, clock: { stop: horizon } }\nvars:\n  horizon: { eq: "10" }`,
    );
    expect(diagnosticsOf(() => prepareText(clocked))[0]).toMatch(
      /time\.clock is not supported yet in a model with observations \(calibration\)/,
    );
  });
});
