import { describe, expect, it } from "vitest";
import { makePausableKernel, PAUSED, pausedStateLength } from "../src/compile/codegen.js";
import type { Program } from "../src/compile/ir.js";
import { CENSORED } from "../src/compile/kernel.js";
import { SiteStreams } from "../src/engine/rng.js";
import { Runner } from "../src/engine/run.js";
import { example, prepareFile, prepareText, ROOT } from "./helpers.js";

/** Run `run` of a model through the pausable kernel, pausing at each of `pauses` and resuming from the state. */
function pausedRun(program: Program, values: Float64Array, seed: number, run: number, pauses: number[]) {
  const kernel = makePausableKernel(program);
  const state = new Float64Array(pausedStateLength(program));
  const streams = new SiteStreams(program.randomSites);
  streams.reset(seed, run);
  const out = new Float64Array((program.time.steps + 1) * program.tracked.length);
  const result = new Float64Array(3);
  let status = PAUSED;
  const stops: number[] = [];
  for (const at of [...pauses, -1]) {
    status = kernel(values, out, streams, result, state, at);
    if (status !== PAUSED) break;
    stops.push(result[2]!);
  }
  return { status, out, result, stops };
}

const MODELS: [string, string | undefined][] = [
  [example("teacup.yaml"), undefined],
  [example("sir.yaml"), "uncertain"],
  [example("lanchester-duel.yaml"), undefined],
  [example("war-of-attrition.yaml"), undefined],
  [`${ROOT}/models/flagship/flagship.yaml`, undefined],
];

describe("pausable kernel", () => {
  it.each(MODELS)(
    "%s: paused and resumed anywhere, a run retraces the plain kernel exactly",
    (file, scenario) => {
      const model = prepareFile(file, scenario);
      const p = model.program;
      const runner = new Runner(model, 5);
      for (let run = 0; run < 6; run++) {
        const end = runner.run(run);
        const plain = runner.saved.slice(0, end.saves * p.tracked.length);
        const values = runner.sampleParams(run, new Float64Array(p.slots.length));
        const every = Math.max(1, Math.floor(p.time.steps / 7));
        // Pauses inside the run and at the horizon (a run paused there ends when resumed).
        const pauses = [
          ...Array.from({ length: 7 }, (_, i) => (i + 1) * every - (run % 3)).filter(
            (k) => k >= 0 && k < p.time.steps,
          ),
          p.time.steps,
        ];
        const paused = pausedRun(p, values, 5, run, pauses);
        expect(paused.status).toBe(end.outcome);
        expect(paused.result[0]).toBe(end.time);
        expect(Array.from(paused.out.subarray(0, plain.length))).toEqual(Array.from(plain));
        // It paused where asked, up to the end of the run.
        expect(paused.stops).toEqual(
          pauses.filter((k) => k < end.timeIndex || (end.outcome === CENSORED && k === end.timeIndex)),
        );
      }
    },
  );

  it("a paused run's state holds what the next step needs, so a copy resumes like the original", () => {
    const model = prepareText(`brink: 1
name: walk
time: { start: 0, stop: 30, dt: 1 }
stocks:
  x: { init: 0, inflows: [step] }
flows:
  step: { eq: "normal(0, 1)" }
vars:
  lagged: { eq: "previous(x, -1)" }
track: [x, lagged]
`);
    const p = model.program;
    const kernel = makePausableKernel(p);
    const values = new Float64Array(p.slots.length);
    const a = new Float64Array(pausedStateLength(p));
    const streams = new SiteStreams(p.randomSites);
    streams.reset(1, 0);
    const out = new Float64Array(31 * 2);
    const result = new Float64Array(3);
    expect(kernel(values, out, streams, result, a, 10)).toBe(PAUSED);
    const b = Float64Array.from(a);
    const s1 = new SiteStreams(p.randomSites);
    const s2 = new SiteStreams(p.randomSites);
    s1.reset(1, 7);
    s2.reset(1, 7);
    const out1 = Float64Array.from(out);
    const out2 = Float64Array.from(out);
    expect(kernel(values, out1, s1, result, a, 20)).toBe(PAUSED);
    expect(kernel(values, out2, s2, result, b, 20)).toBe(PAUSED);
    expect(Array.from(out1)).toEqual(Array.from(out2));
    // previous(x) at step 11 is x at step 10: carried across the pause.
    expect(out1[11 * 2 + 1]).toBe(out1[10 * 2]);
  });
});
