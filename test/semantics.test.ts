import { describe, expect, it } from "vitest";
import { prepareText, series } from "./helpers.js";

const model = (body: string, time = "{ start: 0, stop: 10, dt: 0.5 }", method = "euler") =>
  prepareText(`brink: 1\nname: t\nmethod: ${method}\ntime: ${time}\n${body}`);

describe("stateful builtins follow XMILE, step by step", () => {
  it("smth1 and smth3 are first- and third-order exponential smooths", () => {
    const m = model(
      `vars:\n  input: step(10, 2)\n  s1: smth1(input, 2)\n  s3: smth3(input, 3, 1)\ntrack: [s1, s3]`,
    );
    const { series: s } = series(m);
    let a = 0;
    let b = [1, 1, 1];
    for (let k = 0; k <= 20; k++) {
      const t = k * 0.5;
      const input = t >= 2 ? 10 : 0;
      expect(s.s1![k]).toBeCloseTo(a, 12);
      expect(s.s3![k]).toBeCloseTo(b[2]!, 12);
      a += (0.5 * (input - a)) / 2;
      b = [
        b[0]! + (0.5 * (input - b[0]!)) / 1,
        b[1]! + (0.5 * (b[0]! - b[1]!)) / 1,
        b[2]! + (0.5 * (b[1]! - b[2]!)) / 1,
      ];
    }
  });

  it("delay1 and delay3 conserve what flows through them", () => {
    const m = model(
      `vars:\n  input: pulse(10, 1)\n  d1: delay1(input, 2)\n  d3: delay3(input, 3)\nstocks:\n  out1: { init: 0, inflows: [f1] }\n  out3: { init: 0, inflows: [f3] }\nflows:\n  f1: d1\n  f3: d3\ntrack: [d1, d3, out1, out3]`,
      "{ start: 0, stop: 60, dt: 0.25 }",
    );
    const { series: s } = series(m);
    // The pulse puts 10 units in over one step; after many delay times nearly all of it has come out.
    expect(s.out1!.at(-1)).toBeCloseTo(10, 6);
    expect(s.out3!.at(-1)).toBeCloseTo(10, 4);
    // First-order delay: the outflow right after the pulse is (10/dt)·dt / delay = 5.
    expect(s.d1![5]).toBeCloseTo(5, 12);
    // Third-order delay: output peaks later than first-order.
    const peak = (xs: number[]) => xs.indexOf(Math.max(...xs));
    expect(peak(s.d3!)).toBeGreaterThan(peak(s.d1!));
  });

  it("previous lags one step and init holds the first value", () => {
    const m = model(`vars:\n  x: time * 2\n  p: previous(x, -1)\n  i: init(x + 5)\ntrack: [x, p, i]`);
    const { series: s } = series(m);
    expect(s.p![0]).toBe(-1);
    for (let k = 1; k <= 20; k++) expect(s.p![k]).toBe(s.x![k - 1]);
    expect(new Set(s.i)).toEqual(new Set([5]));
  });

  it("rk4 integrates the teacup to the closed form, and matches a hand-written RK4 step", () => {
    const m = model(
      `stocks:\n  temp: { init: 180, outflows: [loss] }\nflows:\n  loss: (temp - 70) / 10\ntrack: [temp]`,
      "{ start: 0, stop: 30, dt: 0.5 }",
      "rk4",
    );
    const { series: s } = series(m);
    let y = 180;
    const f = (v: number) => -(v - 70) / 10;
    for (let k = 0; k <= 60; k++) {
      expect(s.temp![k]).toBeCloseTo(y, 12);
      expect(Math.abs(s.temp![k]! - (70 + 110 * Math.exp(-(k * 0.5) / 10)))).toBeLessThan(1e-5);
      const k1 = f(y);
      const k2 = f(y + 0.25 * k1);
      const k3 = f(y + 0.25 * k2);
      const k4 = f(y + 0.5 * k3);
      y = y + (0.5 / 6) * (k1 + 2 * k2 + 2 * k3 + k4);
    }
  });

  it("when-events fire on the step their condition turns true, and stocks respect min and max", () => {
    const m = model(
      `stocks:\n  level: { init: 0, inflows: [fill], max: 7 }\n  count: 0\nflows:\n  fill: 1\nevents:\n  crossed: { when: level >= 3, then: { count: count + 1, level: level - 2.5 } }\ntrack: [level, count]`,
    );
    const { series: s } = series(m);
    // level rises 0.5 per step; at 3 the event fires (count + 1) and knocks it back.
    const firstFire = s.level!.findIndex((x) => x >= 3);
    expect(s.count![firstFire]).toBe(0);
    expect(s.count![firstFire + 1]).toBe(1);
    expect(s.level![firstFire + 1]).toBeCloseTo(3 + 0.5 - 2.5, 12);
    expect(Math.max(...s.level!)).toBeLessThanOrEqual(7);
  });

  it("dated models: durations, dates in expressions, time-unit constants", () => {
    const m = prepareText(
      "brink: 1\nname: d\ntime: { start: 2025-08-21, stop: 1 year, dt: 1 week }\nvars:\n  after: step(1, 2026-01-01)\n  per_week: 365.25 / 7 / year\ntrack: [after, per_week]\n",
    );
    expect(m.loaded.time).toMatchObject({ start: 0, dt: 1, steps: 52, unit: "week", origin: "2025-08-21" });
    const { series: s } = series(m);
    // 2026-01-01 is 133 days = exactly 19 weeks after 2025-08-21: the step turns on at week 19.
    expect(s.after![18]).toBe(0);
    expect(s.after![19]).toBe(1);
    expect(s.per_week![0]).toBeCloseTo(1, 12);
  });
});

describe("competing risks", () => {
  it("cumulative incidence matches the closed form for constant competing hazards", async () => {
    const { incidenceCurves } = await import("../src/analysis/incidence.js");
    const { runMonteCarlo } = await import("../src/engine/montecarlo.js");
    const m = prepareText(
      "brink: 1\nname: h\ntime: { start: 0, stop: 30, dt: 0.5 }\noutcomes:\n  first: { rate: 0.06 }\n  second: { rate: 0.03 }\n",
    );
    const runs = 40_000;
    const curves = incidenceCurves(runMonteCarlo(m, { runs, seed: 4 }), m.loaded.time);
    // Per step, `first` fires with p1 and `second` with p2 (only when first did not); a run fired in step j
    // is recorded at step j + 1. So CIF_first(k) = p1 (1 − S^k) / (1 − S), CIF_second = (1 − p1) p2 (…).
    const p1 = 1 - Math.exp(-0.06 * 0.5);
    const p2 = 1 - Math.exp(-0.03 * 0.5);
    const S = (1 - p1) * (1 - p2);
    for (const point of curves[0]!.points.filter((_, i) => i % 10 === 5)) {
      const k = point.t / 0.5;
      const exact1 = (p1 * (1 - S ** k)) / (1 - S);
      const sd = Math.sqrt((exact1 * (1 - exact1)) / runs);
      expect(Math.abs(point.cif - exact1)).toBeLessThan(4 * sd + 1e-12);
      expect(point.lo).toBeLessThanOrEqual(point.cif);
      expect(point.hi).toBeGreaterThanOrEqual(point.cif);
    }
    const last = curves[1]!.points.at(-1)!;
    const exact2 = ((1 - p1) * p2 * (1 - S ** 60)) / (1 - S);
    expect(Math.abs(last.cif - exact2)).toBeLessThan(4 * Math.sqrt((exact2 * (1 - exact2)) / runs));
    // CIF_first reaches one half at the first k with p1 (1 − S^k)/(1 − S) ≥ 0.5.
    let k = 0;
    while ((p1 * (1 - S ** k)) / (1 - S) < 0.5) k++;
    expect(Math.abs(curves[0]!.median_time! - k * 0.5)).toBeLessThanOrEqual(1);
  });
});
