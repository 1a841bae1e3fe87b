import { createRequire } from "node:module";
import { SaxesParser } from "saxes";
import { type Cell, delimitedGrid, type Grid, type SheetReader } from "../io/vensim-sheets.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import { MAX_MODEL_BYTES } from "../model/source.js";
import { insideModelFolder, readFileBytes } from "./files.js";

/** Spreadsheets may be larger than model files; their unpacked XML is capped too (a zip bomb is refused). */
const MAX_SHEET_BYTES = 64 * 1024 * 1024;
const MAX_UNPACKED_BYTES = 256 * 1024 * 1024;

/**
 * The reader of the files a Vensim model's GET DIRECT and GET XLS calls name, relative to the model's folder:
 * CSV and other delimited text (Vensim's `tab` argument is then the delimiter), and .xlsx workbooks (the `tab` is
 * the sheet's name). Vensim's old binary .xls is refused with a message saying to save it as .xlsx or CSV.
 */
export function sheetReader(modelPath: string): SheetReader {
  return (file, tab) => {
    if (file.startsWith("?"))
      throw new Error(`'${file}' names an external data alias from Vensim's settings; name the file itself`);
    const path = insideModelFolder(modelPath, file);
    const bytes = () => {
      try {
        // Only a regular file: a FIFO would block the import, a device is no spreadsheet.
        return readFileBytes(path, MAX_SHEET_BYTES, "data files", { regularOnly: true });
      } catch (e) {
        throw new Error(e instanceof DiagnosticError ? (e.diagnostics[0]?.message ?? String(e)) : String(e));
      }
    };
    if (/\.xls$/i.test(file))
      throw new Error(
        "the old binary .xls format is not supported: save the workbook as .xlsx, or the sheet as CSV",
      );
    if (/\.xls[xm]$/i.test(file)) return xlsxSheet(bytes(), tab);
    const text = new TextDecoder("utf-8").decode(bytes());
    if (text.length > MAX_MODEL_BYTES * 8) throw new Error("the file is too large");
    const delimiter = tab.length === 1 ? tab : /\.csv$/i.test(file) ? "," : "\t";
    return delimitedGrid(text, delimiter);
  };
}

/** fflate is loaded only when a workbook is read, so starting Brink does not pay for it. */
let fflate: typeof import("fflate") | undefined;
const unzipper = () => {
  fflate ??= createRequire(import.meta.url)("fflate") as typeof import("fflate");
  return fflate;
};

/** Walk an XML text's elements: `open(name, attributes)`, `text(t)` and `close(name)`. */
function walkXml(
  xml: string,
  on: {
    open?: (name: string, attrs: Record<string, string>) => void;
    text?: (t: string) => void;
    close?: (name: string) => void;
  },
): void {
  const parser = new SaxesParser();
  parser.on("opentag", (tag) => on.open?.(tag.name, tag.attributes as Record<string, string>));
  if (on.text) parser.on("text", on.text);
  if (on.close) parser.on("closetag", (tag) => on.close!(tag.name));
  parser.write(xml).close();
}

/** One sheet of an .xlsx workbook (a zip of XML parts) as a grid: numbers, texts (shared or inline), booleans. */
export function xlsxSheet(bytes: Uint8Array, sheetName: string): Grid {
  const { unzipSync, strFromU8 } = unzipper();
  let unpacked = 0;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: (f) => {
        if (!/^xl\/.*\.(xml|rels)$/.test(f.name)) return false;
        unpacked += f.originalSize;
        if (unpacked > MAX_UNPACKED_BYTES) throw new Error("the workbook unpacks to more than 256 MB");
        return true;
      },
    });
  } catch (e) {
    throw new Error(`not a readable .xlsx workbook (${(e as Error).message})`);
  }
  const part = (name: string) => (files[name] ? strFromU8(files[name]!) : undefined);
  const workbook = part("xl/workbook.xml");
  if (!workbook) throw new Error("not a readable .xlsx workbook (no xl/workbook.xml)");
  const sheets = new Map<string, string>();
  walkXml(workbook, {
    open: (name, a) => {
      if (name === "sheet" && a.name !== undefined) sheets.set(a.name, a["r:id"] ?? "");
    },
  });
  const rel = sheets.get(sheetName);
  if (rel === undefined)
    throw new Error(
      `no sheet named '${sheetName}' (the workbook has ${[...sheets.keys()].map((s) => `'${s}'`).join(", ")})`,
    );
  let target: string | undefined;
  walkXml(part("xl/_rels/workbook.xml.rels") ?? "<Relationships/>", {
    open: (name, a) => {
      if (name === "Relationship" && a.Id === rel) target = a.Target;
    },
  });
  const sheetPath =
    target === undefined ? undefined : target.startsWith("/") ? target.slice(1) : `xl/${target}`;
  const sheetXml = sheetPath === undefined ? undefined : part(sheetPath);
  if (sheetXml === undefined) throw new Error(`the sheet '${sheetName}' is missing from the workbook`);
  // Shared strings: the text of each <si>, its runs joined.
  const shared: string[] = [];
  let inSi = false;
  let inT = false;
  walkXml(part("xl/sharedStrings.xml") ?? "<sst/>", {
    open: (name) => {
      if (name === "si") {
        inSi = true;
        shared.push("");
      } else if (name === "t" && inSi) inT = true;
    },
    text: (t) => {
      if (inT) shared[shared.length - 1] += t;
    },
    close: (name) => {
      if (name === "si") inSi = false;
      else if (name === "t") inT = false;
    },
  });
  const grid: Cell[][] = [];
  let cell: { row: number; col: number; type: string } | undefined;
  let value = "";
  let inValue = false;
  walkXml(sheetXml, {
    open: (name, a) => {
      if (name === "c") {
        const m = /^([A-Z]{1,3})(\d{1,7})$/.exec(a.r ?? "");
        cell = m
          ? {
              col: [...m[1]!].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0) - 1,
              row: Number(m[2]) - 1,
              type: a.t ?? "n",
            }
          : undefined;
        value = "";
      } else if ((name === "v" || name === "t") && cell) inValue = true;
    },
    text: (t) => {
      if (inValue) value += t;
    },
    close: (name) => {
      if (name === "v" || name === "t") inValue = false;
      if (name !== "c" || !cell) return;
      const v: Cell =
        cell.type === "s"
          ? shared[Number(value)]
          : cell.type === "n"
            ? value === ""
              ? undefined
              : Number(value)
            : cell.type === "b"
              ? Number(value)
              : value;
      const row = grid[cell.row] ?? [];
      grid[cell.row] = row;
      row[cell.col] = v;
      cell = undefined;
    },
  });
  return grid;
}
