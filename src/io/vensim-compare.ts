import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { prepareModel } from "../engine/prepare.js";
import { Runner } from "../engine/run.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import { importVensim } from "./vensim.js";
import { importXmile } from "./xmile.js";

/** How the Vensim and XMILE imports of the same model compare, run for run. */
export interface ImportComparison {
  status: "same" | "differ" | "not compared";
  detail: string;
  /** Values compared (every shared variable at every saved time). */
  cells: number;
}

function run(file: string, yaml: string) {
  const prepared = prepareModel(file, yaml);
  const runner = new Runner(prepared, 1);
  const end = runner.run(0);
  return {
    names: prepared.program.tracked.map((t) => t.name),
    saved: runner.saved,
    saves: end.saves,
    time: prepared.loaded.time,
  };
}

/**
 * Import one model twice — its `.mdl` and its `.xmile` text — run both once, and compare every variable both
 * track at every saved time (relative tolerance, absolute floor near zero).
 */
export function compareImports(
  mdl: { file: string; text: string },
  xmile: { file: string; text: string },
  tolerance = 1e-9,
): ImportComparison {
  let a: ReturnType<typeof run>;
  let b: ReturnType<typeof run>;
  try {
    a = run(mdl.file, importVensim(mdl.file, mdl.text).yaml);
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    return { status: "not compared", detail: `.mdl: ${e.diagnostics[0]!.message}`, cells: 0 };
  }
  try {
    b = run(xmile.file, importXmile(xmile.file, xmile.text).yaml);
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    return { status: "not compared", detail: `.xmile: ${e.diagnostics[0]!.message}`, cells: 0 };
  }
  if (a.time.start !== b.time.start || a.time.dt !== b.time.dt || a.saves !== b.saves)
    return {
      status: "differ",
      detail: `clocks differ: start ${a.time.start}/${b.time.start}, dt ${a.time.dt}/${b.time.dt}, saves ${a.saves}/${b.saves}`,
      cells: 0,
    };
  const shared = a.names.filter((n) => b.names.includes(n));
  let cells = 0;
  for (let k = 0; k < a.saves; k++)
    for (const n of shared) {
      const x = a.saved[k * a.names.length + a.names.indexOf(n)]!;
      const y = b.saved[k * b.names.length + b.names.indexOf(n)]!;
      cells++;
      const same =
        (Number.isNaN(x) && Number.isNaN(y)) ||
        Math.abs(x - y) <= tolerance * Math.max(Math.abs(x), Math.abs(y)) + 1e-12;
      if (!same)
        return {
          status: "differ",
          detail: `${n} at save ${k}: .mdl ${x}, .xmile ${y}`,
          cells,
        };
    }
  if (shared.length === 0) return { status: "not compared", detail: "no variable in common", cells: 0 };
  return { status: "same", detail: `${shared.length} variables, ${cells} values`, cells };
}

/** Every suite folder that ships both a `.mdl` and a `.xmile` model, with how their imports compare. */
export function compareSuiteImports(folders: string[]): ({ folder: string } & ImportComparison)[] {
  const rows: ({ folder: string } & ImportComparison)[] = [];
  for (const folder of folders) {
    const files = readdirSync(folder).sort();
    const mdl =
      files.find((f) => f.endsWith(".mdl") && f.startsWith("test")) ?? files.find((f) => f.endsWith(".mdl"));
    const xmile = files.find((f) => f.endsWith(".xmile"));
    if (!mdl || !xmile) continue;
    const read = (f: string) => ({ file: join(folder, f), text: readFileSync(join(folder, f), "utf8") });
    let result: ImportComparison;
    try {
      result = compareImports(read(mdl), read(xmile));
    } catch (e) {
      // Malformed XML and the like.
      result = { status: "not compared", detail: e instanceof Error ? e.message : String(e), cells: 0 };
    }
    rows.push({ folder: basename(folder), ...result });
  }
  return rows;
}
