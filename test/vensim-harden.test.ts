import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { importVensim, MAX_DIAGNOSTICS } from "../src/io/vensim.js";
import { lineCol, lineLocator } from "../src/io/vensim-parse.js";
import { outsideModelFolder } from "../src/io/vensim-sheets.js";
import { DiagnosticError, formatDiagnostic } from "../src/lang/diagnostic.js";
import { sheetReader } from "../src/node/sheets.js";

/** Hostile and oversized `.mdl` files found by a red-team pass: each ends in positioned diagnostics. */

const CONTROLS = "INITIAL TIME = 0 ~ ~ |\nFINAL TIME = 2 ~ ~ |\nTIME STEP = 1 ~ ~ |\nSAVEPER = 1 ~ ~ |\n";

const diagnosticsOf = (text: string, options: Parameters<typeof importVensim>[2] = {}, file = "m.mdl") => {
  try {
    importVensim(file, text, options);
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics.map(formatDiagnostic);
    throw e;
  }
  return [];
};

describe("large files", () => {
  it("locates offsets as a scan from the start does, for \\n, \\r\\n and \\r line ends", () => {
    const text = "ab\ncd\r\nef\rgh\n\nij";
    const naive = (offset: number) => {
      let line = 1;
      let start = 0;
      for (let i = 0; i < offset && i < text.length; i++)
        if (text[i] === "\n" || (text[i] === "\r" && text[i + 1] !== "\n")) {
          line++;
          start = i + 1;
        }
      return { line, col: offset - start + 1 };
    };
    const locate = lineLocator(text);
    for (let offset = 0; offset <= text.length + 2; offset++) {
      expect(locate(offset)).toEqual(naive(offset));
      expect(lineCol(text, offset)).toEqual(naive(offset));
    }
  });

  it("refuses a 150,000-equation file with one diagnostic at the equation that passes the size limit", () => {
    let text = "";
    for (let i = 0; i < 150_000; i++)
      text += `x${i} = ${i % 10 === 0 ? "1" : `x${i - 1} + 1`}\n ~ dmnl\n ~ |\n`;
    const found = diagnosticsOf(text + CONTROLS);
    expect(found).toEqual([
      "m.mdl:300001:1: error: in 'x100000': this variable brings the model to more than the 100000 variables Brink expands arrays into",
    ]);
  });

  it(`reports the first ${MAX_DIAGNOSTICS} of 60,000 errors, then how many more`, () => {
    let text = "";
    for (let i = 0; i < 60_000; i++) text += `x${i} = NO SUCH FUNCTION(${i})\n ~ ~ |\n`;
    const found = diagnosticsOf(text + CONTROLS);
    expect(found).toHaveLength(MAX_DIAGNOSTICS + 1);
    expect(found[0]).toBe("m.mdl:1:6: error: in 'x0': the function NO SUCH FUNCTION is not supported yet");
    expect(found[MAX_DIAGNOSTICS]).toBe(
      `m.mdl:${2 * MAX_DIAGNOSTICS + 1}:7: error: and ${60_000 - MAX_DIAGNOSTICS} more errors (only the first ${MAX_DIAGNOSTICS} are shown)`,
    );
  });
});

describe("nonsense", () => {
  it("refuses subscript ranges defined in a circle", () => {
    expect(diagnosticsOf(`A: B ~ ~ |\nB: A ~ ~ |\nx[A] = 1 ~ ~ |\n${CONTROLS}`)).toEqual([
      "m.mdl:2:4: error: in 'B': the subscript range 'A' is defined through 'B' itself; subscript ranges cannot be defined in a circle",
    ]);
    expect(diagnosticsOf(`A: B ~ ~ |\nB: C ~ ~ |\nC: A, c1 ~ ~ |\nx[A] = 1 ~ ~ |\n${CONTROLS}`)).toEqual([
      "m.mdl:3:4: error: in 'C': the subscript range 'A' is defined through 'C' itself; subscript ranges cannot be defined in a circle",
    ]);
  });

  it("still reads a range listed through a subrange defined later", () => {
    const text = `A: B, a3 ~ ~ |\nB: a1, a2 ~ ~ |\nx[A] = 1 ~ ~ |\n${CONTROLS}`;
    expect(importVensim("m.mdl", text).yaml).toContain("track: [x__a1, x__a2, x__a3]");
    // A range resolved earlier, then named again (an equivalence, a subrange): no circle.
    const equivalent = `B: b1, b2 ~ ~ |\nC <-> B ~ ~ |\nD: B ~ ~ |\nx[C] = 1 ~ ~ |\ny[D] = 2 ~ ~ |\n${CONTROLS}`;
    expect(importVensim("m.mdl", equivalent).yaml).toContain("track: [x__b1, x__b2, y__b1, y__b2]");
  });

  it("refuses a negative DELAY FIXED delay time at the argument", () => {
    expect(diagnosticsOf(`x = DELAY FIXED(1, -5, 0) ~ ~ |\n${CONTROLS}`)).toEqual([
      "m.mdl:1:20: error: in 'x': DELAY FIXED's delay time is -5; a delay time cannot be negative",
    ]);
    // A zero delay passes the input through, as before.
    expect(diagnosticsOf(`x = DELAY FIXED(1, 0, 0) ~ ~ |\n${CONTROLS}`)).toEqual([]);
  });
});

describe("files a model names", () => {
  it("knows which paths stay in the model's folder", () => {
    for (const inside of [
      "data.csv",
      "sub/data.csv",
      "./sub/../data.csv",
      "sub\\data.xlsx",
      "a/b/../../c.csv",
    ])
      expect(outsideModelFolder(inside), inside).toBeUndefined();
    for (const absolute of ["/etc/passwd", "\\\\server\\share\\x.csv", "C:\\data.xlsx", "c:data.csv"])
      expect(outsideModelFolder(absolute), absolute).toBe("an absolute path");
    for (const up of ["../x.csv", "sub/../../x.csv", "..\\x.csv", "./.."])
      expect(outsideModelFolder(up), up).toBe("a path that leads out of the model's folder");
  });

  it("refuses absolute paths and paths out of the folder at the file argument, before any reader is asked", () => {
    const asked: string[] = [];
    const sheets = (file: string) => {
      asked.push(file);
      return [[0]];
    };
    for (const [fn, args] of [
      ["GET DIRECT CONSTANTS", "'../../../../etc/passwd', ',', 'B2'"],
      ["GET XLS CONSTANTS", "'/etc/passwd', 'Sheet1', 'B2'"],
      ["GET DIRECT DATA", "'..\\\\..\\\\secret.csv', ',', 'A', 'B2'"],
    ] as const) {
      const found = diagnosticsOf(`x := ${fn}(${args}) ~ ~ |\n${CONTROLS}`, { sheets });
      expect(found, fn).toHaveLength(1);
      expect(found[0]).toMatch(
        /^m\.mdl:1:\d+: error: in 'x': GET .* names '.*', (an absolute path|a path that leads out of the model's folder): a model may read only files in its own folder or below it$/,
      );
    }
    const lookups = diagnosticsOf(
      `tbl(GET DIRECT LOOKUPS('/etc/hosts', ',', 'A', 'B2')) ~ ~ |\ny = tbl(1) ~ ~ |\n${CONTROLS}`,
      {
        sheets,
      },
    );
    expect(lookups.join("\n")).toContain("'/etc/hosts', an absolute path");
    expect(asked).toEqual([]);
    // Without a reader (the browser app), the same error comes first.
    expect(
      diagnosticsOf(`x = GET DIRECT CONSTANTS('/etc/passwd', ',', 'B2') ~ ~ |\n${CONTROLS}`)[0],
    ).toContain("an absolute path");
  });

  it("the node reader refuses a symbolic link out of the model's folder and reads files below it", () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-vensim-harden-"));
    const outside = mkdtempSync(join(tmpdir(), "brink-vensim-outside-"));
    writeFileSync(join(outside, "secret.csv"), "a,b\n1,42\n");
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "sub", "inputs.csv"), "a,b\n1,7\n");
    symlinkSync(join(outside, "secret.csv"), join(dir, "sub", "link.csv"));
    symlinkSync(outside, join(dir, "linked-folder"));
    const model = join(dir, "m.mdl");
    const read = (file: string) =>
      diagnosticsOf(
        `x = GET DIRECT CONSTANTS('${file}', ',', 'B2') ~ ~ |\n${CONTROLS}`,
        { sheets: sheetReader(model) },
        model,
      );
    expect(read("sub/inputs.csv")).toEqual([]);
    for (const file of ["sub/link.csv", "linked-folder/secret.csv"]) {
      const found = read(file);
      expect(found, file).toHaveLength(1);
      expect(found[0]).toContain(`'${file}' leads out of the model's folder through a symbolic link`);
    }
    // Called directly, the reader applies the text check too.
    expect(() => sheetReader(model)(join(outside, "secret.csv"), ",")).toThrow(/an absolute path/);
  });
});
