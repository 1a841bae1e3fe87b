import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Interpreter } from "../src/compile/interpreter.js";
import type { PreparedModel } from "../src/engine/prepare.js";
import { hashName, hashUniform, SiteStreams } from "../src/engine/rng.js";
import { Runner } from "../src/engine/run.js";
import { sortDoubles } from "../src/engine/sort-doubles.js";
import { prepareText } from "./helpers.js";

/** A tiny deterministic generator, so each fast-check seed maps to one model. */
function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Gen {
  r: () => number;
  pick<T>(xs: readonly T[]): T;
  int(lo: number, hi: number): number;
}

function gen(seed: number): Gen {
  const r = mulberry32(seed);
  return {
    r,
    pick: (xs) => xs[Math.floor(r() * xs.length)]!,
    int: (lo, hi) => lo + Math.floor(r() * (hi - lo + 1)),
  };
}

/** A random expression over `names`; `allow` says which kinds of builtin may appear. */
function expr(
  g: Gen,
  names: string[],
  depth: number,
  allow: { stateful: boolean; random: boolean; table?: string },
): string {
  if (depth <= 0 || g.r() < 0.25) {
    const leaf = g.r();
    if (leaf < 0.35 || names.length === 0) return String(g.pick([0, 1, 2, 0.5, 3.25, 10, 0.1]));
    if (leaf < 0.45) return "time";
    if (leaf < 0.5) return "dt";
    return g.pick(names);
  }
  const sub = () => expr(g, names, depth - 1, allow);
  const choices: (() => string)[] = [
    () => `(${sub()} ${g.pick(["+", "-", "*"])} ${sub()})`,
    () => `(${sub()} / (abs(${sub()}) + 1))`,
    () => `(${sub()} ${g.pick(["<", "<=", ">", ">=", "==", "!="])} ${sub()})`,
    () => `(${sub()} ${g.pick(["and", "or"])} ${sub()})`,
    () => `(not ${sub()})`,
    () => `(-${sub()})`,
    () => `(if ${sub()} then ${sub()} else ${sub()})`,
    () => `${g.pick(["min", "max"])}(${sub()}, ${sub()})`,
    () => `${g.pick(["abs", "floor", "ceil", "round", "sign", "sin", "cos", "arctan"])}(${sub()})`,
    () => `exp(clamp(${sub()}, -5, 5))`,
    () => `sqrt(abs(${sub()}))`,
    () => `ln(abs(${sub()}) + 1)`,
    () => `clamp(${sub()}, -3, 3) ^ 2`,
    () => `(${sub()} % 3)`,
    () => `xidz(${sub()}, ${sub()}, 1)`,
    () => `step(${sub()}, ${g.int(0, 5)})`,
    () => `pulse(${sub()}, ${g.int(0, 4)}, ${g.pick([0, 1, 2])})`,
    () => `ramp(${sub()}, ${g.int(0, 3)}, ${g.int(4, 8)})`,
  ];
  if (allow.table)
    choices.push(
      () => `${allow.table}(${sub()})`,
      () => `lookup(${allow.table}, ${sub()})`,
    );
  if (allow.stateful) {
    choices.push(
      () => `smth1(${sub()}, ${g.pick([1, 2, 3.5])})`,
      () => `smth3(${sub()}, ${g.pick([1, 3])}, ${sub()})`,
      () => `delay1(${sub()}, ${g.pick([1, 2])})`,
      () => `delay3(${sub()}, ${g.pick([1.5, 3])})`,
      () => `previous(${sub()}, ${g.pick([0, 1])})`,
      () => `init(${sub()})`,
    );
  }
  if (allow.random) {
    choices.push(
      () => `uniform(0, ${g.pick([1, 2])})`,
      () => `normal(${sub()}, 1)`,
      () => `lognormal(0, 0.5)`,
      () => `exponential(2)`,
      () => `bernoulli(0.3)`,
      () => `poisson(${g.pick([0.5, 4, 45])})`,
      () => `gamma(${g.pick([0.4, 2.5])}, 1.5)`,
      () => `student(${g.pick([1, 4.5])})`,
    );
  }
  return g.pick(choices)();
}

const q = (s: string) => JSON.stringify(s);

/** A random valid model file. */
function randomModel(seed: number): string {
  const g = gen(seed);
  const random = g.r() < 0.6;
  const method = !random && g.r() < 0.4 ? "rk4" : "euler";
  const params = Array.from({ length: g.int(1, 3) }, (_, i) => `p${i}`);
  const stocks = Array.from({ length: g.int(1, 3) }, (_, i) => `s${i}`);
  const flows = Array.from({ length: g.int(1, 3) }, (_, i) => `f${i}`);
  const vars = Array.from({ length: g.int(0, 4) }, (_, i) => `v${i}`);
  const lines: string[] = ["brink: 1", "name: random", `method: ${method}`];
  lines.push(
    `time: { start: ${g.pick([0, 1])}, stop: ${g.pick([5, 8, 12])}, dt: ${g.pick([0.25, 0.5, 1])}, save: ${g.pick([0.5, 1, 2])} }`,
  );
  lines.push("params:");
  for (const p of params)
    lines.push(
      `  ${p}: ${g.pick(['"1 to 3"', "2", '"uniform(0, 1)"', '"normal(0, 2)"', '"beta(2, 3)"', '"pert(0, 1, 4)"'])}`,
    );
  lines.push("tables:", "  tb: [[0, 0], [1, 2], [2, 1.5], [4, 3]]");
  const base = { stateful: false, random: false };
  lines.push("stocks:");
  for (const s of stocks) {
    const ins = flows.filter(() => g.r() < 0.4);
    const outs = flows.filter((f) => !ins.includes(f) && g.r() < 0.3);
    const min = g.r() < 0.3 ? ", min: 0" : "";
    const max = g.r() < 0.2 ? ", max: 50" : "";
    lines.push(
      `  ${s}: { init: ${q(expr(g, params, 2, base))}, inflows: [${ins.join(", ")}], outflows: [${outs.join(", ")}]${min}${max} }`,
    );
  }
  const allow = { stateful: g.r() < 0.5, random, table: "tb" };
  lines.push("vars:");
  vars.forEach((v, i) =>
    lines.push(`  ${v}: ${q(expr(g, [...params, ...stocks, ...vars.slice(0, i)], 3, allow))}`),
  );
  if (!vars.length) lines.push("  unused_var: 0");
  lines.push("flows:");
  for (const f of flows) lines.push(`  ${f}: ${q(expr(g, [...params, ...stocks, ...vars], 3, allow))}`);
  const events: string[] = [];
  if (g.r() < 0.6) {
    events.push(
      `  grow: { when: ${q(`${g.pick(stocks)} > ${g.int(1, 5)}`)}, then: { ${g.pick(stocks)}: ${q(expr(g, [...stocks, ...params], 2, base))} } }`,
    );
  }
  if (g.r() < 0.6) {
    events.push(
      `  shock: { rate: ${q(`abs(${expr(g, [...params, ...stocks], 2, base)}) / 4`)}, then: { ${g.pick(stocks)}: ${q(expr(g, stocks, 2, base))}, ${g.pick(params)}: 1 } }`,
    );
  }
  if (events.length) lines.push("events:", ...events);
  const outcomes: string[] = [];
  if (g.r() < 0.6) outcomes.push(`  high: { when: ${q(`${g.pick(stocks)} > ${g.int(5, 40)}`)} }`);
  if (g.r() < 0.6)
    outcomes.push(
      `  hazard: { rate: ${q(`clamp(${expr(g, [...params, ...stocks], 2, base)}, 0, 2) / 10`)} }`,
    );
  if (outcomes.length) lines.push("outcomes:", ...outcomes);
  lines.push(`track: [${[...stocks, ...flows, ...vars].join(", ")}]`);
  return `${lines.join("\n")}\n`;
}

/** Run `run` of `seed` with both backends and return what each produced. */
function bothBackends(model: PreparedModel, seed: number, run: number) {
  const kernel = new Runner(model, seed);
  const p = model.program;
  const n = kernel.saved.length;
  const kOut = new Float64Array(n).fill(-7);
  const kRes = new Float64Array(3);
  const streams = new SiteStreams(p.randomSites);
  const values = kernel.sampleParams(run, new Float64Array(p.slots.length));
  streams.reset(seed, run);
  const kStatus = model.kernel(values, kOut, streams, kRes);
  const iOut = new Float64Array(n).fill(-7);
  const iRes = new Float64Array(3);
  streams.reset(seed, run);
  const iStatus = new Interpreter(p, streams).run(
    kernel.sampleParams(run, new Float64Array(p.slots.length)),
    iOut,
    iRes,
  ).status;
  return { kStatus, iStatus, kOut, iOut, kRes, iRes };
}

describe("compiled kernel agrees with the reference interpreter", () => {
  it("on random valid models (every saved value, status and end time)", () => {
    let failures = 0;
    let outcomesSeen = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const text = randomModel(seed);
        const model = prepareText(text);
        for (let run = 0; run < 3; run++) {
          const r = bothBackends(model, 99, run);
          expect(r.kStatus, text).toBe(r.iStatus);
          if (r.kStatus === -2) {
            failures++;
            expect(r.kRes[2], text).toBe(r.iRes[2]);
            continue;
          }
          if (r.kStatus >= 0) outcomesSeen++;
          expect(Array.from(r.kRes), text).toEqual(Array.from(r.iRes));
          expect(Array.from(r.kOut), text).toEqual(Array.from(r.iOut));
        }
      }),
      { numRuns: 300, seed: 20251121 },
    );
    // The generator must exercise the interesting paths, not only clean runs.
    expect(outcomesSeen).toBeGreaterThan(50);
    expect(failures).toBeLessThan(300);
  });

  it("on random single expressions", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const g = gen(seed);
        const e = expr(g, ["a", "b", "s"], 5, { stateful: true, random: true, table: "tb" });
        const text = `brink: 1\nname: e\ntime: { start: 0, stop: 6, dt: 0.5 }\nparams: { a: "normal(0, 3)", b: "0.5 to 4" }\ntables: { tb: [[0, 1], [3, -1]] }\nstocks: { s: { init: a, inflows: [f] } }\nflows: { f: ${q(e)} }\ntrack: [s, f]\n`;
        const model = prepareText(text);
        const r = bothBackends(model, 5, seed % 1000);
        expect(r.kStatus, e).toBe(r.iStatus);
        if (r.kStatus !== -2) expect(Array.from(r.kOut), e).toEqual(Array.from(r.iOut));
      }),
      { numRuns: 500, seed: 42 },
    );
  });
});

describe("runs are pure functions of (model, seed, run index)", () => {
  it("the same run gives the same values whatever ran before it", () => {
    const model = prepareText(randomModel(12345));
    const a = new Runner(model, 3);
    const first = Array.from((a.run(5), a.saved));
    const b = new Runner(model, 3);
    for (let i = 0; i < 5; i++) b.run(i);
    b.run(5);
    expect(Array.from(b.saved)).toEqual(first);
  });

  it("param draws depend on the param's name, not its position", () => {
    const key = hashName("param:x");
    expect(hashUniform(1, 2, key)).toBe(hashUniform(1, 2, key));
    expect(hashUniform(1, 2, key)).not.toBe(hashUniform(1, 3, key));
    expect(hashUniform(1, 2, key)).not.toBe(hashUniform(2, 2, key));
  });
});

describe("sorting tracked values for quantile summaries", () => {
  it("sortDoubles orders like Float64Array.prototype.sort (−0 before +0, NaN last), at any length", () => {
    const special = fc.constantFrom(
      0,
      -0,
      Number.NaN,
      Infinity,
      -Infinity,
      Number.MIN_VALUE,
      -Number.MAX_VALUE,
    );
    const value = fc.oneof(fc.double(), special, fc.integer({ min: -3, max: 3 }));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 400 }), (xs) => {
        const got = Float64Array.from(xs);
        sortDoubles(got);
        const want = Float64Array.from(xs).sort();
        expect(got.length).toBe(want.length);
        for (let i = 0; i < want.length; i++) expect(Object.is(got[i], want[i]), `at ${i}`).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
