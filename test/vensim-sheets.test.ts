import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { prepareModel } from "../src/engine/prepare.js";
import { DiagnosticError, formatDiagnostic } from "../src/lang/diagnostic.js";
import { readModel } from "../src/node/files.js";
import { xlsxSheet } from "../src/node/sheets.js";
import { series } from "./helpers.js";

/** A Vensim model of the given equations, run from 0 to 4 in steps of 1. */
const mdl = (equations: string) =>
  `{UTF-8}\n${equations}\nFINAL TIME = 4 ~ Month ~|\nINITIAL TIME = 0 ~ Month ~|\nSAVEPER = TIME STEP ~ Month ~|\nTIME STEP = 1 ~ Month ~|\n`;

/** A folder holding the given files; returns its path. */
const folder = (files: Record<string, string | Uint8Array>) => {
  const dir = mkdtempSync(join(tmpdir(), "brink-sheets-"));
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  return dir;
};

const run = async (dir: string, equations: string) => {
  const path = join(dir, "m.mdl");
  writeFileSync(path, mdl(equations));
  const model = prepareModel("m.yaml", await readModel(path));
  return series(model, 0, 1).series;
};

const diagnostics = async (dir: string, equations: string): Promise<string[]> => {
  const path = join(dir, "m.mdl");
  writeFileSync(path, mdl(equations));
  try {
    await readModel(path);
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics.map(formatDiagnostic);
    throw e;
  }
  return [];
};

/** A minimal .xlsx workbook as Excel lays it out: a workbook part, its relationships, shared strings, one sheet. */
function xlsx(sheetName: string, rows: (number | string | undefined)[][]): Uint8Array {
  const strings: string[] = [];
  const cellXml = rows
    .map(
      (row, r) =>
        `<row r="${r + 1}">${row
          .map((v, c) => {
            const ref = `${String.fromCharCode(65 + c)}${r + 1}`;
            if (v === undefined) return "";
            if (typeof v === "number") return `<c r="${ref}"><v>${v}</v></c>`;
            strings.push(v);
            return `<c r="${ref}" t="s"><v>${strings.length - 1}</v></c>`;
          })
          .join("")}</row>`,
    )
    .join("");
  const ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
  return zipSync({
    "[Content_Types].xml": strToU8("<Types/>"),
    "xl/workbook.xml": strToU8(
      `<workbook ${ns} xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Notes" sheetId="1" r:id="rId1"/><sheet name="${sheetName}" sheetId="2" r:id="rId2"/></sheets></workbook>`,
    ),
    "xl/_rels/workbook.xml.rels": strToU8(
      '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Target="worksheets/sheet2.xml"/></Relationships>',
    ),
    "xl/sharedStrings.xml": strToU8(
      `<sst ${ns}>${strings.map((s) => `<si><r><t>${s.slice(0, 1)}</t></r><r><t>${s.slice(1)}</t></r></si>`).join("")}</sst>`,
    ),
    "xl/worksheets/sheet1.xml": strToU8(`<worksheet ${ns}><sheetData/></worksheet>`),
    "xl/worksheets/sheet2.xml": strToU8(`<worksheet ${ns}><sheetData>${cellXml}</sheetData></worksheet>`),
  });
}

describe("GET DIRECT: constants, data and lookups from CSV files", () => {
  const dir = folder({
    "series.csv": "Time,a,b\n0,1,10\n2,3,30\n4,5,50\n",
    "table.csv": "label,x,y,z\nrow1,7,8,9\nrow2,4,5,6\n",
    "tabbed.tab": "Time\t0\t4\nv\t2\t6\n",
  });

  it("reads constants across a row, down a column ('B2*') and as a matrix (rows, then columns)", async () => {
    const s = await run(
      dir,
      [
        "d: a, b ~~|",
        "e: p, q, r ~~|",
        "one = GET DIRECT CONSTANTS('table.csv', ',', 'C3') ~~|",
        "across[e] = GET DIRECT CONSTANTS('table.csv', ',', 'B2') ~~|",
        "down[d] = GET DIRECT CONSTANTS('table.csv', ',', 'B2*') ~~|",
        "matrix[d, e] = GET DIRECT CONSTANTS('table.csv', ',', 'B2') ~~|",
      ].join("\n"),
    );
    expect(s.one![0]).toBe(5);
    expect(["p", "q", "r"].map((e) => s[`across__${e}`]![0])).toEqual([7, 8, 9]);
    expect(["a", "b"].map((e) => s[`down__${e}`]![0])).toEqual([7, 4]);
    expect(s.matrix__a__r![0]).toBe(9);
    expect(s.matrix__b__q![0]).toBe(5);
  });

  it("reads time series down a column or across a row, as data variables and lookups", async () => {
    const s = await run(
      dir,
      [
        "d: a, b ~~|",
        "down[d] := GET DIRECT DATA('series.csv', ',', 'A', 'B2') ~~|",
        "held :HOLD BACKWARD: := GET DIRECT DATA('series.csv', ',', 'A', 'C2') ~~|",
        "across := GET DIRECT DATA('tabbed.tab', '\\t', '1', 'B2') ~~|",
        "curve( GET DIRECT LOOKUPS('series.csv', ',', 'A', 'C2')) ~~|",
        "looked = curve(Time / 2) ~~|",
      ].join("\n"),
    );
    // Interpolated between the rows (0, 1), (2, 3), (4, 5); held backward (10 until time 2).
    expect(s.down__a).toEqual([1, 2, 3, 4, 5]);
    expect(s.down__b).toEqual([10, 20, 30, 40, 50]);
    expect(s.held).toEqual([10, 10, 30, 30, 50]);
    expect(s.across).toEqual([2, 3, 4, 5, 6]);
    expect(s.looked).toEqual([10, 15, 20, 25, 30]);
  });

  it("tells a missing file, an empty cell, a text cell and a bad cell address at the call", async () => {
    expect((await diagnostics(dir, "x = GET DIRECT CONSTANTS('absent.csv', ',', 'B2') ~~|"))[0]).toMatch(
      /m\.mdl:2:5: error: in 'x': GET DIRECT CONSTANTS cannot read absent\.csv: no such file/,
    );
    expect((await diagnostics(dir, "x = GET DIRECT CONSTANTS('table.csv', ',', 'F9') ~~|"))[0]).toMatch(
      /in 'x': GET DIRECT CONSTANTS\('table\.csv', ','\): cell F9 is empty/,
    );
    expect((await diagnostics(dir, "x = GET DIRECT CONSTANTS('table.csv', ',', 'A2') ~~|"))[0]).toMatch(
      /cell A2 holds 'row1', not a number/,
    );
    expect((await diagnostics(dir, "x = GET DIRECT CONSTANTS('table.csv', ',', 'my range') ~~|"))[0]).toMatch(
      /'my range' is not a cell such as 'B2'/,
    );
    expect((await diagnostics(dir, "x = GET DIRECT CONSTANTS(table, ',', 'B2') ~~|"))[0]).toMatch(
      /m\.mdl:2:26: error: in 'x': GET DIRECT CONSTANTS takes quoted texts/,
    );
  });
});

describe("GET XLS: .xlsx workbooks", () => {
  const book = xlsx("Inputs", [
    ["Year", 0, 2, 4],
    ["north", 1, 2, 3],
    ["south", 10, 20, undefined],
    ["rate", 0.25],
  ]);
  const dir = folder({ "inputs.xlsx": book, "old.xls": "binary" });

  it("reads a sheet by name: shared strings, numbers and empty cells", () => {
    const grid = xlsxSheet(book, "Inputs");
    expect(grid[0]).toEqual(["Year", 0, 2, 4]);
    expect(grid[2]).toEqual(["south", 10, 20]);
    expect(() => xlsxSheet(book, "Absent")).toThrow(
      /no sheet named 'Absent' \(the workbook has 'Notes', 'Inputs'\)/,
    );
    expect(() => xlsxSheet(strToU8("not a zip"), "Inputs")).toThrow(/not a readable \.xlsx workbook/);
  });

  it("reads constants and series from the workbook, and refuses the old .xls format with a reason", async () => {
    const s = await run(
      dir,
      [
        "region: north, south ~~|",
        "rate = GET XLS CONSTANTS('inputs.xlsx', 'Inputs', 'B4') ~~|",
        "demand[region] := GET XLS DATA('inputs.xlsx', 'Inputs', '1', 'B2') ~~|",
      ].join("\n"),
    );
    expect(s.rate![0]).toBe(0.25);
    expect(s.demand__north).toEqual([1, 1.5, 2, 2.5, 3]);
    // south has no value at time 4: its series ends at time 2, and holds there.
    expect(s.demand__south).toEqual([10, 15, 20, 20, 20]);
    expect((await diagnostics(dir, "x = GET XLS CONSTANTS('old.xls', 'Inputs', 'B4') ~~|"))[0]).toMatch(
      /GET XLS CONSTANTS cannot read old\.xls: the old binary \.xls format is not supported: save the workbook as \.xlsx/,
    );
  });
});
