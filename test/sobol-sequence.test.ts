import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SOBOL_MAX_DIMENSIONS, SobolSequence } from "../src/analysis/sobol-sequence.js";

// Independent answer: SciPy's unscrambled Sobol' points (same Joe–Kuo table, its own implementation).
const scipy = JSON.parse(readFileSync(new URL("./fixtures/sobol-scipy.json", import.meta.url), "utf8")) as {
  low: number[][];
  high: number[][];
};

describe("Sobol' sequence", () => {
  it("matches SciPy's points in the first 40 dimensions and in dimensions 1001–1024", () => {
    const low = new SobolSequence(40);
    scipy.low.forEach((row, n) => expect(Array.from(low.point(n))).toEqual(row));
    const high = new SobolSequence(1024);
    scipy.high.forEach((row, n) => expect(Array.from(high.point(n)).slice(1000)).toEqual(row));
  });

  it("puts exactly one of the first 2^m points in each interval of width 2^-m, in every dimension", () => {
    const seq = new SobolSequence(64, { shift: { seed: 7, stream: 3 } });
    const m = 10;
    const counts = Array.from({ length: 64 }, () => new Uint16Array(2 ** m));
    const p = new Float64Array(64);
    let outside = 0;
    for (let n = 0; n < 2 ** m; n++) {
      seq.point(n, p);
      for (let d = 0; d < 64; d++) {
        if (!(p[d]! > 0 && p[d]! < 1)) outside++;
        counts[d]![Math.floor(p[d]! * 2 ** m)]!++;
      }
    }
    expect(outside).toBe(0);
    for (const c of counts) expect(c.every((x) => x === 1)).toBe(true);
  });

  it("gives each point from its index alone, and different shifts for different streams", () => {
    const a = new SobolSequence(5, { shift: { seed: 1, stream: 0 } });
    const b = new SobolSequence(5, { shift: { seed: 1, stream: 0 } });
    const c = new SobolSequence(5, { shift: { seed: 1, stream: 1 } });
    const late = a.point(123_456_789);
    for (let n = 0; n < 100; n++) b.point(n);
    expect(b.point(123_456_789)).toEqual(late);
    expect(c.point(123_456_789)).not.toEqual(late);
  });

  it("refuses dimensions and indices it cannot give", () => {
    expect(() => new SobolSequence(SOBOL_MAX_DIMENSIONS + 1)).toThrow(/1 to 1024 dimensions/);
    expect(() => new SobolSequence(2).point(2 ** 32)).toThrow(/below 2³²/);
  });
});
