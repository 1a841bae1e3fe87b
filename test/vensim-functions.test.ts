import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { allocateAvailable } from "../src/compile/functions.js";
import { prepareModel } from "../src/engine/prepare.js";
import { importVensim } from "../src/io/vensim.js";
import { readVensimData } from "../src/io/vensim-data.js";
import { conformanceCase } from "../src/node/conformance.js";
import { ROOT, series } from "./helpers.js";

const SUITE = resolve(ROOT, "..", "shared", "test-models", "tests");
const hasSuite = existsSync(SUITE);

/** A Vensim model of the given equations, run from 0 to 2 in steps of 1. */
const mdl = (equations: string) =>
  `{UTF-8}\n${equations}\nFINAL TIME = 2 ~ Month ~|\nINITIAL TIME = 0 ~ Month ~|\nSAVEPER = TIME STEP ~ Month ~|\nTIME STEP = 1 ~ Month ~|\n`;

const values = (equations: string) => {
  const model = prepareModel("m.yaml", importVensim("m.mdl", mdl(equations)).yaml);
  const s = series(model, 0, 1).series;
  return (name: string, row = 0) => {
    expect(s[name], `${name} is tracked`).toBeDefined();
    return s[name]![row]!;
  };
};

describe("VECTOR SELECT", () => {
  const at = values(
    [
      "d: (a1-a3) ~~|",
      "sel[d] = 2, 0, -1 ~~|",
      "x[d] = 3, 5, 4 ~~|",
      "none[d] = 0 ~~|",
      "s0 = VECTOR SELECT(sel[d!], x[d!], -9, 0, 0) ~~|",
      "p1 = VECTOR SELECT(sel[d!], x[d!], -9, 1, 0) ~~|",
      "mn2 = VECTOR SELECT(sel[d!], x[d!], -9, 2, 0) ~~|",
      "mean4 = VECTOR SELECT(sel[d!], x[d!], -9, 4, 0) ~~|",
      "pow5 = VECTOR SELECT(sel[d!], x[d!], -9, 5, 0) ~~|",
      "s6 = VECTOR SELECT(sel[d!], x[d!], -9, 6, 0) ~~|",
      "mx9 = VECTOR SELECT(sel[d!], x[d!], -9, 9, 0) ~~|",
      "dyn = VECTOR SELECT(sel[d!], x[d!], -9, Time + 6, 0) ~~|",
      "missing = VECTOR SELECT(none[d!], x[d!], -9, 0, 0) ~~|",
    ].join("\n"),
  );
  it("0–4 act on selection × expression over the selected elements, 5 on expression ^ selection", () => {
    expect(at("s0")).toBeCloseTo(2 * 3 - 4, 12);
    expect(at("p1")).toBeCloseTo(6 * -4, 12);
    expect(at("mn2")).toBeCloseTo(-4, 12);
    expect(at("mean4")).toBeCloseTo((6 - 4) / 2, 12);
    expect(at("pow5")).toBeCloseTo(3 ** 2 * 4 ** -1, 12);
  });
  it("6–10 act on the expression where the selection is not 0; nothing selected gives the missing value", () => {
    expect(at("s6")).toBe(7);
    expect(at("mx9")).toBe(4);
    expect([0, 1, 2].map((row) => at("dyn", row))).toEqual([7, 12, 3]);
    expect(at("missing")).toBe(-9);
  });
});

describe("INVERT MATRIX", () => {
  it("gives each element of the inverse, for 2×2 and 3×3 matrices (a zero on the diagonal too)", () => {
    const at = values(
      [
        "r: r1, r2, r3 ~~|",
        "c: c1, c2, c3 ~~|",
        "m[r, c] = 3, 0, 2; 2, 0, -2; 0, 1, 1; ~~|",
        "inv[r, c] = INVERT MATRIX(m[r, c], 3) ~~|",
      ].join("\n"),
    );
    const m = [
      [3, 0, 2],
      [2, 0, -2],
      [0, 1, 1],
    ];
    const inv = (i: number, j: number) => at(`inv__r${i + 1}__c${j + 1}`);
    // m · inv is the identity.
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++)
        expect(m[i]!.reduce((acc, v, k) => acc + v * inv(k, j), 0)).toBeCloseTo(i === j ? 1 : 0, 12);
  });
});

describe("ALLOCATE BY PRIORITY", () => {
  const at = values(
    [
      "d: a, b, c ~~|",
      "request[d] = 8, 1, 3 ~~|",
      "priority[d] = 5, 3, 0 ~~|",
      "supply = 8.5 ~~|",
      "share[d] = ALLOCATE BY PRIORITY(request[d], priority[d], ELMCOUNT(d), 3, supply) ~~|",
      "plenty[d] = ALLOCATE BY PRIORITY(request[d], priority[d], ELMCOUNT(d), 3, 100) ~~|",
      "nothing[d] = ALLOCATE BY PRIORITY(request[d], priority[d], ELMCOUNT(d), 3, 0) ~~|",
      "growing[d] = ALLOCATE BY PRIORITY(request[d], priority[d], ELMCOUNT(d), 3, 4 * Time) ~~|",
    ].join("\n"),
  );
  it("serves the highest priorities first; priorities within the width share (level 1.5 here)", () => {
    // At level 1.5, a (priority 5) is served in full, b (3) for (3 − 1.5) / 3 of its request, c (0) not at all.
    [8, 0.5, 0].forEach((v, k) => expect(at(`share__${"abc"[k]}`)).toBeCloseTo(v, 12));
  });
  it("gives every request when the supply covers them, nothing without supply, and always the whole supply", () => {
    expect(["a", "b", "c"].map((e) => at(`plenty__${e}`))).toEqual([8, 1, 3]);
    expect(["a", "b", "c"].map((e) => at(`nothing__${e}`))).toEqual([0, 0, 0]);
    for (const row of [1, 2])
      expect(["a", "b", "c"].reduce((acc, e) => acc + at(`growing__${e}`, row), 0)).toBeCloseTo(4 * row, 12);
  });
});

describe("ALLOCATE AVAILABLE", () => {
  it("shares the supply by priority profiles, solved for the priority level", () => {
    // Rectangular profiles of width 2 at priorities 10 (a) and 5 (b), 100 requested each: a is served first;
    // at a supply of 150, b gets the half its profile gives at level 5 (its midpoint).
    const at = values(
      [
        "branch: a, b ~~|",
        "pprofile: ptype, ppriority, pwidth, pextra ~~|",
        "demand[branch] = 100, 100 ~~|",
        "rect[branch, pprofile] = 1, 10, 2, 0; 1, 5, 2, 0; ~~|",
        "normal[branch, pprofile] = 3, 10, 1, 0; 3, 8, 1, 0; ~~|",
        "supply = 150 - 50 * Time ~~|",
        "by rect[branch] = ALLOCATE AVAILABLE(demand[branch], rect[branch, ptype], supply) ~~|",
        "by normal[branch] = ALLOCATE AVAILABLE(demand[branch], normal[branch, ptype], supply) ~~|",
      ].join("\n"),
    );
    expect([at("by_rect__a"), at("by_rect__b")]).toEqual([100, 50]);
    // At a supply of 100, a takes all of it; the normal profiles meet at level 9, between their priorities,
    // where a gets Φ(1) of its request and b Φ(−1).
    expect(at("by_rect__a", 1)).toBeCloseTo(100, 9);
    expect(at("by_rect__b", 1)).toBeCloseTo(0, 9);
    expect(at("by_normal__a", 1)).toBeCloseTo(84.1345, 3);
    expect(at("by_normal__b", 1)).toBeCloseTo(15.8655, 3);
    // At 50, a (first in priority) takes all of it.
    expect(at("by_rect__a", 2)).toBeCloseTo(50, 9);
    expect(at("by_rect__b", 2)).toBeCloseTo(0, 9);
  });

  it("gives every request when the supply covers them, and NaN for a profile it does not know", () => {
    expect(allocateAvailable(2, 300, 100, 1, 10, 2, 120, 1, 5, 2)).toBe(120);
    expect(allocateAvailable(1, 0, 100, 1, 10, 2, 120, 1, 5, 2)).toBe(0);
    // Two triangular profiles at one priority split the supply evenly.
    expect(allocateAvailable(1, 50, 100, 2, 5, 2, 100, 2, 5, 2)).toBeCloseTo(25, 9);
    // Exponential: equal requests at one priority, so equal halves.
    expect(allocateAvailable(2, 30, 100, 4, 5, 1, 100, 4, 5, 1)).toBeCloseTo(15, 9);
    expect(allocateAvailable(1, 50, 100, 9, 5, 2, 100, 1, 5, 2)).toBeNaN();
    expect(allocateAvailable(1, 50, 100, 1, 5, 0, 100, 1, 5, 2)).toBeNaN();
  });
});

describe("GAME", () => {
  it("is its argument outside Vensim's gaming mode", () => {
    const at = values("x = INTEG(1, 2) ~~|\ng = GAME(x * 3) ~~|");
    expect([0, 1, 2].map((row) => at("g", row))).toEqual([6, 9, 12]);
  });
});

describe.skipIf(!hasSuite)("the suite's folders for Vensim's array functions", () => {
  for (const folder of ["vector_select", "invert_matrix", "game"])
    it(`${folder} matches its expected output`, () => {
      const row = conformanceCase(join(SUITE, folder), "mdl");
      expect(row.status, row.detail).toBe("passed");
    });
  // At PySD's tolerance (absolute 1e-5): allocate_by_priority's expected output holds tiny leftovers (4e-7) where
  // the exact share is 0; data_from_other_model's data file is printed to 6 digits, its expected output was run
  // from the unrounded data (1.420735 against 1.42074).
  for (const folder of ["allocate_by_priority", "data_from_other_model"])
    it(`${folder} matches its expected output within PySD's tolerance (absolute 1e-5)`, () => {
      const row = conformanceCase(join(SUITE, folder), "mdl", 1e-5);
      expect(row.status, row.detail).toBe("passed");
    });
  // Vensim's own search for ALLOCATE AVAILABLE's priority level stops with totals up to 1.6e-3 off the supply
  // (79.9984 of 80), so its shares differ from the exact ones by as much; PySD judges this folder at relative 2e-2.
  it("allocate_available matches its expected output within PySD's tolerance for it (relative 2e-2)", () => {
    const row = conformanceCase(join(SUITE, "allocate_available"), "mdl", 1e-5, 2e-2);
    expect(row.status, row.detail).toBe("passed");
  });
});

describe("data variables", () => {
  const down = "Time\tgrowth\tload[A]\tload[B]\n0\t1\t10\t5\n2\t3\t\t7\n4\t5\t30\t9\n";
  const across = "Time,0,2,4\ngrowth,1,3,5\n";
  it("reads data files written down (a column per variable) or across (a row per variable)", () => {
    const d = readVensimData(down);
    expect(d.get("growth")).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    // An empty cell is no point.
    expect(d.get("load[a]")).toEqual([
      [0, 10],
      [4, 30],
    ]);
    expect(readVensimData(across).get("growth")).toEqual(d.get("growth"));
    expect(readVensimData("no time header\n1\t2\n").size).toBe(0);
  });
  it("interpolates (:INTERPOLATE: or no keyword), holds backward, and looks forward, through the run's data", () => {
    const text = `{UTF-8}\ngrowth:INTERPOLATE:\n~~|\nd: A, B ~~|\nload[d]:HOLD BACKWARD:\n~~|\nahead:LOOK FORWARD:\n~~|\nplain\n~~|\nFINAL TIME = 4 ~ Month ~|\nINITIAL TIME = 0 ~ Month ~|\nSAVEPER = TIME STEP ~ Month ~|\nTIME STEP = 1 ~ Month ~|\n`;
    const data = readVensimData(down);
    data.set("ahead", data.get("growth")!);
    data.set("plain", data.get("growth")!);
    const s = series(prepareModel("m.yaml", importVensim("m.mdl", text, { data }).yaml), 0, 1).series;
    expect(s.growth).toEqual([1, 2, 3, 4, 5]);
    expect(s.plain).toEqual([1, 2, 3, 4, 5]);
    expect(s.load__a).toEqual([10, 10, 10, 10, 30]);
    expect(s.ahead).toEqual([1, 3, 3, 5, 5]);
  });
  it("names a data variable that no data file holds", () => {
    expect(() => importVensim("m.mdl", mdl("growth:INTERPOLATE:\n~~|"))).toThrow(
      /'growth' is a data variable; its values come from a data file, and no data file given holds it/,
    );
  });
});
