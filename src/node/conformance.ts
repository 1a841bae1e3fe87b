import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { prepareModel } from "../engine/prepare.js";
import { Runner } from "../engine/run.js";
import { canonicalName, importXmile } from "../io/xmile.js";
import { DiagnosticError } from "../lang/diagnostic.js";

export interface ConformanceRow {
  folder: string;
  model: string;
  status: "passed" | "failed" | "unsupported";
  /** What failed first, or which feature is unsupported. */
  detail: string;
  cells: number;
}

/** Relative tolerance of the comparison (as PySD and Simlin use), with an absolute floor near zero. */
export const RELATIVE_TOLERANCE = 1e-5;
const ABSOLUTE_FLOOR = 1e-8;

function readExpected(path: string): { header: string[]; rows: number[][] } {
  const text = readFileSync(path, "utf8");
  const sep = path.endsWith(".tab") ? "\t" : ",";
  const lines = text.split(/\r\n|\r|\n/).filter((l) => l.trim() !== "");
  const split = (l: string) => l.split(sep).map((c) => c.trim().replace(/^"|"$/g, ""));
  return { header: split(lines[0]!), rows: lines.slice(1).map((l) => split(l).map(Number)) };
}

/** Run one folder of the XMILE conformance suite: import, run, compare every column at every time. */
export function conformanceCase(folder: string): ConformanceRow {
  const name = folder.replace(/^.*[\\/]/, "");
  const files = readdirSync(folder);
  // Prefer .xmile; fall back to the folder's other models when one is not well-formed XML.
  const candidates = [
    ...files.filter((f) => f.endsWith(".xmile")),
    ...files.filter((f) => f.endsWith(".stmx")),
  ];
  const wellFormed = candidates.find((f) => {
    try {
      importXmile(join(folder, f), readFileSync(join(folder, f), "utf8"));
      return true;
    } catch (e) {
      return !(e instanceof DiagnosticError && /malformed XML/.test(e.diagnostics[0]?.message ?? ""));
    }
  });
  const model = wellFormed ?? candidates[0];
  const expectedFile = ["output.tab", "output.csv"].find((f) => files.includes(f));
  if (!model)
    return { folder: name, model: "–", status: "unsupported", detail: "no .xmile or .stmx model", cells: 0 };
  if (!expectedFile)
    return { folder: name, model, status: "unsupported", detail: "no expected output", cells: 0 };
  try {
    const imported = importXmile(join(folder, model), readFileSync(join(folder, model), "utf8"));
    const prepared = prepareModel(join(folder, model), imported.yaml);
    const runner = new Runner(prepared, 1);
    const end = runner.run(0);
    const tracked = prepared.program.tracked.map((t) => t.name);
    const { time } = prepared.loaded;
    const expected = readExpected(join(folder, expectedFile));
    let cells = 0;
    for (const row of expected.rows) {
      const t = row[0]!;
      const k = Math.round((t - time.start) / (time.dt * time.saveEvery));
      if (
        Math.abs(time.start + k * time.dt * time.saveEvery - t) > 1e-9 * Math.max(1, Math.abs(t)) ||
        k < 0 ||
        k >= end.saves
      )
        continue;
      for (let c = 1; c < expected.header.length; c++) {
        const j = tracked.indexOf(canonicalName(expected.header[c]!));
        if (j < 0) continue;
        const want = row[c]!;
        const got = runner.saved[k * tracked.length + j]!;
        if (Number.isNaN(want)) continue;
        cells++;
        if (
          !(
            Math.abs(got - want) <=
            RELATIVE_TOLERANCE * Math.max(Math.abs(got), Math.abs(want)) + ABSOLUTE_FLOOR
          )
        ) {
          return {
            folder: name,
            model,
            status: "failed",
            detail: `${expected.header[c]} at time ${t}: expected ${want}, got ${got}`,
            cells,
          };
        }
      }
    }
    if (cells === 0)
      return { folder: name, model, status: "failed", detail: "no expected value could be compared", cells };
    return { folder: name, model, status: "passed", detail: `${cells} values`, cells };
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    const d = e.diagnostics[0]!;
    const unsupported = /not supported|unsupported/.test(d.message);
    return {
      folder: name,
      model,
      status: unsupported ? "unsupported" : "failed",
      detail: `${d.message} (line ${d.line})`,
      cells: 0,
    };
  }
}

/** Every folder of a conformance suite (its `tests/` and `samples/` folders, or the folder itself). */
export function runConformance(dir: string): ConformanceRow[] {
  const roots = ["tests", "samples"].map((d) => join(dir, d)).filter((d) => existsSync(d));
  const folders = (roots.length ? roots : [dir]).flatMap((root) =>
    readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(root, e.name)),
  );
  return folders.sort().map(conformanceCase);
}
