import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { prepareModel } from "../engine/prepare.js";
import { Runner } from "../engine/run.js";
import { importVensim } from "../io/vensim.js";
import { readVensimData, type VensimData } from "../io/vensim-data.js";
import { columnId, importXmile as importXmileFile } from "../io/xmile.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import { saveTime } from "../model/load.js";
import { sheetReader } from "./sheets.js";

export interface ConformanceRow {
  folder: string;
  model: string;
  /** `invalid`: the suite's own model file cannot be read as written (not well-formed, or a lost equation). */
  status: "passed" | "failed" | "unsupported" | "invalid";
  /** What failed first, or which feature is unsupported. */
  detail: string;
  cells: number;
}

/** Relative tolerance of the comparison (as PySD and Simlin use), with an absolute floor near zero. */
export const RELATIVE_TOLERANCE = 1e-5;
export const ABSOLUTE_FLOOR = 1e-8;

function readExpected(path: string): { header: string[]; rows: number[][] } {
  // Some expected outputs are Latin-1, not UTF-8 (unicode_characters).
  const bytes = readFileSync(path);
  const utf8 = bytes.toString("utf8");
  const text = utf8.includes("\uFFFD") ? bytes.toString("latin1") : utf8;
  const sep = path.endsWith(".tab") ? "\t" : ",";
  const lines = text.split(/\r\n|\r|\n/).filter((l) => l.trim() !== "");
  const split = (l: string) => l.split(sep).map((c) => c.trim().replace(/^"|"$/g, ""));
  // An empty cell (a constant printed only once) is not a value to compare.
  const value = (c: string) => (c === "" ? Number.NaN : Number(c));
  return { header: split(lines[0]!), rows: lines.slice(1).map((l) => split(l).map(value)) };
}

/** Which of a folder's models a conformance run reads: XMILE (.xmile, .stmx) or Vensim (.mdl). */
export type ConformanceFormat = "xmile" | "mdl";

/** Run one folder of the conformance suite: import, run, compare every column at every time. */
export function conformanceCase(
  folder: string,
  format: ConformanceFormat = "xmile",
  absolute = ABSOLUTE_FLOOR,
  relative = RELATIVE_TOLERANCE,
): ConformanceRow {
  const name = folder.replace(/^.*[\\/]/, "");
  const files = readdirSync(folder);
  // A Vensim model's data variables read the folder's data files (tab or CSV, other than the expected outputs).
  const data = () => {
    const series: VensimData = new Map();
    for (const f of files.filter((f) => /\.(tab|csv)$/i.test(f) && !/^output/i.test(f)))
      readVensimData(readFileSync(join(folder, f), "utf8"), series);
    return series;
  };
  const importXmile =
    format === "mdl"
      ? (file: string, text: string) => importVensim(file, text, { data: data(), sheets: sheetReader(file) })
      : importXmileFile;
  // Prefer .xmile; fall back to the folder's other models when one is not well-formed XML.
  const candidates =
    format === "mdl"
      ? files
          .filter((f) => f.endsWith(".mdl"))
          .sort((a, b) => Number(b.startsWith("test")) - Number(a.startsWith("test")))
      : [...files.filter((f) => f.endsWith(".xmile")), ...files.filter((f) => f.endsWith(".stmx"))];
  // A folder with several .mdl models (get_time_value: a simple one its output was made from, and a fuller one)
  // is judged on the first that imports.
  const imports = (f: string) => {
    try {
      importXmile(join(folder, f), readFileSync(join(folder, f), "utf8"));
      return true;
    } catch (e) {
      if (e instanceof DiagnosticError) return false;
      throw e;
    }
  };
  const firstImporting = format === "mdl" && candidates.length > 1 ? candidates.find(imports) : undefined;
  const wellFormed =
    firstImporting ??
    candidates.find((f) => {
      try {
        importXmile(join(folder, f), readFileSync(join(folder, f), "utf8"));
        return true;
      } catch (e) {
        return !(e instanceof DiagnosticError && /malformed XML/.test(e.diagnostics[0]?.message ?? ""));
      }
    });
  const model = wellFormed ?? candidates[0];
  // The suite's reference outputs: the primary one, then any other engine's (such as output_stella.csv).
  const expectedFiles = [
    ...["output.tab", "output.csv"].filter((f) => files.includes(f)),
    ...files.filter((f) => /^output_.+\.(tab|csv)$/.test(f)).sort(),
  ];
  const expectedFile = expectedFiles[0];
  if (!model)
    return {
      folder: name,
      model: "–",
      status: "unsupported",
      detail: format === "mdl" ? "no .mdl model" : "no .xmile or .stmx model",
      cells: 0,
    };
  if (!expectedFile)
    return { folder: name, model, status: "unsupported", detail: "no expected output", cells: 0 };
  try {
    const imported = importXmile(join(folder, model), readFileSync(join(folder, model), "utf8"));
    const prepared = prepareModel(join(folder, model), imported.yaml);
    const runner = new Runner(prepared, 1);
    const end = runner.run(0);
    const tracked = prepared.program.tracked.map((t) => t.name);
    const { time } = prepared.loaded;
    const compare = (file: string): { failure?: string; cells: number } => {
      const expected = readExpected(join(folder, file));
      const columns = expected.header.map((h) => tracked.indexOf(columnId(h)));
      let cells = 0;
      for (const row of expected.rows) {
        const t = row[0]!;
        // A variable clock's save times are its schedule's (time.clock); a fixed clock's are start + k·save.
        const schedule = time.clock?.schedule;
        const k = schedule
          ? schedule.saveSteps.findIndex(
              (step) => Math.abs(schedule.times[step]! - t) <= 1e-9 * Math.max(1, Math.abs(t)),
            )
          : Math.round((t - time.start) / (time.dt * time.saveEvery));
        if (Math.abs(saveTime(time, k) - t) > 1e-9 * Math.max(1, Math.abs(t)) || k < 0 || k >= end.saves)
          continue;
        for (let c = 1; c < expected.header.length; c++) {
          const j = columns[c]!;
          const want = row[c]!;
          if (j < 0 || Number.isNaN(want)) continue;
          const got = runner.saved[k * tracked.length + j]!;
          cells++;
          if (!(Math.abs(got - want) <= relative * Math.max(Math.abs(got), Math.abs(want)) + absolute))
            return { failure: `${expected.header[c]} at time ${t}: expected ${want}, got ${got}`, cells };
        }
      }
      return cells === 0 ? { failure: "no expected value could be compared", cells } : { cells };
    };
    // The model passes when it matches one of the reference outputs; the detail names which.
    const results = expectedFiles.map((f) => ({ file: f, ...compare(f) }));
    const match = results.find((r) => r.failure === undefined);
    if (match)
      return {
        folder: name,
        model,
        status: "passed",
        detail: `${match.cells} values${match.file === expectedFile ? "" : ` (against ${match.file}; ${expectedFile}: ${results[0]!.failure})`}`,
        cells: match.cells,
      };
    return { folder: name, model, status: "failed", detail: results[0]!.failure!, cells: results[0]!.cells };
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    const d = e.diagnostics[0]!;
    // A file the model reads that the suite does not ship (its spreadsheets were left out) is not Brink's failure.
    const unsupported = /not supported|unsupported|cannot read .*: no such file/.test(d.message);
    const invalid = /malformed XML|placeholder/.test(d.message);
    return {
      folder: name,
      model,
      status: invalid ? "invalid" : unsupported ? "unsupported" : "failed",
      detail: `${d.message} (line ${d.line})`,
      cells: 0,
    };
  }
}

/** Every folder of a conformance suite (its `tests/` and `samples/` folders, or the folder itself). */
export function suiteFolders(dir: string): string[] {
  const roots = ["tests", "samples"].map((d) => join(dir, d)).filter((d) => existsSync(d));
  const folders = (roots.length ? roots : [dir]).flatMap((root) =>
    readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(root, e.name)),
  );
  return folders.sort();
}

/** Run every folder of a conformance suite. */
export function runConformance(
  dir: string,
  format: ConformanceFormat = "xmile",
  absolute = ABSOLUTE_FLOOR,
  relative = RELATIVE_TOLERANCE,
): ConformanceRow[] {
  return suiteFolders(dir).map((f) => conformanceCase(f, format, absolute, relative));
}
