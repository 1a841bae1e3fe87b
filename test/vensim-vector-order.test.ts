import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { prepareModel } from "../src/engine/prepare.js";
import { importVensim } from "../src/io/vensim.js";
import { conformanceCase } from "../src/node/conformance.js";
import { ROOT, series } from "./helpers.js";

/** A Vensim model of the given equations, run from 0 to 2 in steps of 1. */
const mdl = (equations: string) =>
  `{UTF-8}\n${equations}\nFINAL TIME = 2 ~ Month ~|\nINITIAL TIME = 0 ~ Month ~|\nSAVEPER = TIME STEP ~ Month ~|\nTIME STEP = 1 ~ Month ~|\n`;

/** Values of one model, run by the compiled kernel and by the reference interpreter, which must agree. */
const values = (equations: string) => {
  const model = prepareModel("m.yaml", importVensim("m.mdl", mdl(equations)).yaml);
  const kernel = series(model, 0, 1, "kernel").series;
  const interpreter = series(model, 0, 1, "interpreter").series;
  expect(interpreter).toEqual(kernel);
  return (name: string, row = 0) => {
    expect(kernel[name], `${name} is tracked`).toBeDefined();
    return kernel[name]![row]!;
  };
};
/** A vector's values at one saved row: over S (s1…s5), or over the subrange Sub (d2, d4, d5) for `sub…`. */
const row = (at: (name: string, row?: number) => number, name: string, n: number, r = 0) =>
  Array.from({ length: n }, (_, k) =>
    at(`${name}__${name.startsWith("sub") ? ["d2", "d4", "d5"][k] : `s${k + 1}`}`, r),
  );

describe("VECTOR SORT ORDER, VECTOR RANK and VECTOR REORDER", () => {
  // v: 3, 1, 3, 5, 1 — two ties. Sorted up: 1 (d2), 1 (d5), 3 (d1), 3 (d3), 5 (d4); down: 5 (d4), 3 (d1),
  // 3 (d3), 1 (d2), 1 (d5) (equal values keep their order in the range).
  const at = values(
    [
      "D: (d1-d5) -> S ~~|",
      "S: (s1-s5) -> D ~~|",
      "Sub: d2, d4, d5 ~~|",
      "v[D] = 3, 1, 3, 5, 1 ~~|",
      "up[S] = VECTOR SORT ORDER(v[D], 1) ~~|",
      "down[S] = VECTOR SORT ORDER(v[D], 0) ~~|",
      "downneg[S] = VECTOR SORT ORDER(v[D], -1) ~~|",
      "rankup[S] = VECTOR RANK(v[D], 1) ~~|",
      "rankdown[S] = VECTOR RANK(v[D], -1) ~~|",
      "sortedup[S] = VECTOR REORDER(v[D], up[S]) ~~|",
      "sorteddown[S] = VECTOR REORDER(v[D], down[S]) ~~|",
      // The direction turns at time 1, and w's order changes at time 2 (w = v + t·(0, 0, 0, −3, 1)).
      "turn = IF THEN ELSE(Time >= 1, -1, 1) ~~|",
      "step[D] = 0, 0, 0, -3, 1 ~~|",
      "w[D] = v[D] + Time * step[D] ~~|",
      "turning[S] = VECTOR SORT ORDER(w[D], turn) ~~|",
      // A subrange sorts its own elements, numbered from 0 within it: v at d2, d4, d5 is 1, 5, 1.
      "subup[Sub] = VECTOR SORT ORDER(v[Sub], 1) ~~|",
      // Two ranges: each row sorted along the last one.
      "R: r1, r2 ~~|",
      "m[R, D] = 4, 2, 9, 0, 2; 1, 1, 1, 1, 0 ~~|",
      "morder[R, S] = VECTOR SORT ORDER(m[R, D], 1) ~~|",
      "msorted[R, S] = VECTOR REORDER(m[R, D], morder[R, S]) ~~|",
    ].join("\n"),
  );
  it("SORT ORDER gives the positions (from 0) of the values in ascending or descending order; ties keep their order", () => {
    expect(row(at, "up", 5)).toEqual([1, 4, 0, 2, 3]);
    expect(row(at, "down", 5)).toEqual([3, 0, 2, 1, 4]);
    expect(row(at, "downneg", 5)).toEqual([3, 0, 2, 1, 4]);
  });
  it("RANK gives each value's place (from 1) in that order", () => {
    expect(row(at, "rankup", 5)).toEqual([3, 1, 4, 5, 2]);
    expect(row(at, "rankdown", 5)).toEqual([2, 4, 3, 1, 5]);
  });
  it("REORDER picks the values at the positions given", () => {
    expect(row(at, "sortedup", 5)).toEqual([1, 1, 3, 3, 5]);
    expect(row(at, "sorteddown", 5)).toEqual([5, 3, 3, 1, 1]);
  });
  it("follows a direction and values that change in time", () => {
    // t = 0: w = 3, 1, 3, 5, 1 up; t = 1: w = 3, 1, 3, 2, 2 down; t = 2: w = 3, 1, 3, −1, 3 down.
    expect(row(at, "turning", 5, 0)).toEqual([1, 4, 0, 2, 3]);
    expect(row(at, "turning", 5, 1)).toEqual([0, 2, 3, 4, 1]);
    expect(row(at, "turning", 5, 2)).toEqual([0, 2, 4, 1, 3]);
  });
  it("sorts a subrange within itself and each row of a matrix along its last range", () => {
    expect(row(at, "subup", 3)).toEqual([0, 2, 1]);
    const matrix = (name: string, r: string) =>
      Array.from({ length: 5 }, (_, k) => at(`${name}__${r}__s${k + 1}`));
    // r1: 4, 2, 9, 0, 2 → 0 (3), 2 (1), 2 (4), 4 (0), 9 (2); r2: 1, 1, 1, 1, 0 → 0 (4), then 0, 1, 2, 3.
    expect(matrix("morder", "r1")).toEqual([3, 1, 4, 0, 2]);
    expect(matrix("msorted", "r1")).toEqual([0, 2, 2, 4, 9]);
    expect(matrix("morder", "r2")).toEqual([4, 0, 1, 2, 3]);
  });
  it("refuses a vector that is not subscripted by a range, at the call", () => {
    expect(() => importVensim("m.mdl", mdl("x = 3 ~~|\ny = VECTOR RANK(x, 1) ~~|"))).toThrow(
      /VECTOR RANK takes a vector subscripted by a range/,
    );
  });
});

const FOLDER = resolve(ROOT, "..", "shared", "test-models", "tests", "vector_order");
describe.skipIf(!existsSync(FOLDER))("the suite's vector_order", () => {
  const file = join(FOLDER, "test_vector_order.mdl");
  const text = () => readFileSync(file, "utf8");
  it("stops only at the spreadsheet the suite does not ship", () => {
    const row = conformanceCase(FOLDER, "mdl");
    expect(row.status).toBe("unsupported");
    expect(row.detail).toMatch(/GET DIRECT DATA cannot read input\.xlsx: no such file/);
    // Every problem the import finds is a read of that spreadsheet: none is about a VECTOR function.
    let problems = "";
    try {
      importVensim(file, text());
    } catch (err) {
      problems = String(err);
    }
    const lines = problems.split("\n").filter((line) => line.includes("error:"));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/GET DIRECT DATA reads the file input\.xlsx/);
  });
  it("imports every VECTOR SORT ORDER, RANK and REORDER once the spreadsheet's series are constants", () => {
    // Each GET DIRECT DATA becomes a constant (the column's letter's position), so only the spreadsheet is left out.
    const constant = text()
      .replace(/:RAW::=/g, "=")
      .replace(
        /GET DIRECT DATA\('input\.xlsx', 'Sheet1', 'time_index', 'revenue(_([ABC]))?'\)/g,
        (_, __, c) => String(c ? "ABC".indexOf(c) + 2 : 1),
      );
    expect(constant).not.toMatch(/GET DIRECT DATA/);
    const { yaml } = importVensim(file, constant);
    expect(yaml).toMatch(/sort_place/);
  });
  it("matches Vensim's output where the spreadsheet's series are recovered from that output", () => {
    // Vensim's output holds each series sorted (sorted revenue REORDERed…) and the order it sorted them in (SORT
    // ORDER…), so revenue at company k is the sorted value at the place whose order is k. With the series written
    // back as lookups of Time, every other column (ranks, descending orders, the 2-D and 3-D variants) is checked.
    const [header, ...rows] = readFileSync(join(FOLDER, "output.tab"), "utf8")
      .trim()
      .split(/\r?\n/)
      .map((line) => line.split("\t").map((cell) => cell.replace(/^"|"$/g, "")));
    const column = (name: string) => rows.map((r) => Number(r[header!.indexOf(name)]));
    const times = column("Time");
    const recovered = (order: (i: number) => string, sorted: (i: number) => string) => {
      const byCompany: number[][] = Array.from({ length: 5 }, () => []);
      for (let i = 0; i < 5; i++) {
        const [places, values] = [column(order(i)), column(sorted(i))];
        times.forEach((_, t) => {
          byCompany[places[t]!]![t] = values[t]!;
        });
      }
      return byCompany;
    };
    const series: Record<string, number[][]> = {
      "": recovered(
        (i) => `SORT ORDER[sort${i + 1}]`,
        (i) => `sorted revenue REORDERed[sort${i + 1}]`,
      ),
    };
    for (const region of ["A", "B", "C"])
      series[`_${region}`] = recovered(
        (i) => `SORT ORDER2B[${region},sort${i + 1}]`,
        (i) => `sorted revenue REORDERed2B[${region},sort${i + 1}]`,
      );
    const lookup = (values: number[]) =>
      `WITH LOOKUP(Time, ([(0,-1e9)-(100,1e9)],${times.map((t, k) => `(${t},${values[k]})`).join(",")}))`;
    // Each equation reading the spreadsheet becomes one equation per company.
    const model = text().replace(
      /([\w ]+)\[([^\]]*)\]:RAW::=\s*GET DIRECT DATA\('input\.xlsx', 'Sheet1', 'time_index', 'revenue(_[ABC])?'\)/g,
      (_, name: string, subs: string, region: string | undefined) => {
        const list = subs.split(",").map((x) => x.trim());
        const k = list.indexOf("company");
        return Array.from({ length: 5 }, (__, c) => {
          const at = list.map((x, p) => (p === k ? `company${c + 1}` : x));
          return `${name}[${at.join(",")}]=\n\t${lookup(series[region ?? ""]![c]!)}`;
        }).join(" ~~|\n");
      },
    );
    expect(model).not.toMatch(/GET DIRECT DATA/);
    const folder = mkdtempSync(join(tmpdir(), "brink-vector-order-"));
    try {
      writeFileSync(join(folder, "test_vector_order.mdl"), model);
      copyFileSync(join(FOLDER, "output.tab"), join(folder, "output.tab"));
      const row = conformanceCase(folder, "mdl");
      expect(row.status, row.detail).toBe("passed");
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
