import { DiagnosticError } from "../lang/diagnostic.js";
import { canonicalName } from "./xmile.js";

/**
 * Time series for Vensim data variables (`x :INTERPOLATE:` with no equation, whose values Vensim takes from a
 * run's data file), read from tab- or comma-separated text: a header row `Time, x, y[A,B], …` and one row per time
 * ("down"), or one row per variable with the times across the first row ("across"), as Vensim writes them. Empty
 * cells are skipped. Keyed by `id` or `id[element,…]` in canonical form.
 */
export type VensimData = Map<string, [number, number][]>;

/** The key a variable's column is read under: `growth rate[north,old]`. */
export const dataKey = (name: string, elements: readonly string[] = []): string =>
  elements.length
    ? `${canonicalName(name)}[${elements.map((e) => canonicalName(e)).join(",")}]`
    : canonicalName(name);

const keyOf = (label: string): string => {
  const m = /^\s*(.*?)\s*\[(.*)\]\s*$/.exec(label.replace(/^"|"$/g, ""));
  return m ? dataKey(m[1]!, m[2]!.split(",")) : dataKey(label.trim());
};

const cell = (s: string | undefined): number | undefined => {
  const t = s?.trim() ?? "";
  if (t === "") return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
};

/**
 * Read one data file's text; `into` gathers several files. Without `file`, a file with no Time header row gives
 * nothing and cells that are not numbers are skipped (the conformance runner reads every text file of a folder).
 * With `file` (a file the user named), those are diagnostics at the line and column of the cell.
 */
export function readVensimData(text: string, into: VensimData = new Map(), file?: string): VensimData {
  const fail = (line: number, col: number, message: string) => {
    if (file !== undefined) throw new DiagnosticError([{ file, line, col, message }]);
  };
  const numbered = text
    .replace(/^\uFEFF/, "")
    .split(/\r\n|\r|\n/)
    .map((l, k) => ({ l, line: k + 1 }))
    .filter(({ l }) => l.trim() !== "");
  if (numbered.length < 2) {
    fail(1, 1, "a data file needs a header row (Time, then the variables) and at least one row of values");
    return into;
  }
  const sep = numbered[0]!.l.includes("\t") ? "\t" : ",";
  const rows = numbered.map(({ l }) => l.split(sep));
  /** The column (from 1) where cell c of a row starts. */
  const colOf = (k: number, c: number) => rows[k]!.slice(0, c).reduce((n, x) => n + x.length + 1, 1);
  if (!/^"?time"?$/i.test(rows[0]![0]!.trim())) {
    fail(
      numbered[0]!.line,
      1,
      `a data file starts with a header whose first cell is Time, not '${rows[0]![0]!.trim().slice(0, 40)}'`,
    );
    return into;
  }
  const value = (k: number, c: number): number | undefined => {
    const v = cell(rows[k]![c]);
    if (v === undefined && (rows[k]![c]?.trim() ?? "") !== "")
      fail(numbered[k]!.line, colOf(k, c), `'${rows[k]![c]!.trim().slice(0, 40)}' is not a number`);
    return v;
  };
  const put = (label: string, points: [number, number][]) => {
    if (points.length) into.set(keyOf(label), points);
  };
  if (cell(rows[1]![0]) !== undefined) {
    // Down: a column per variable.
    const header = rows[0]!;
    for (let c = 1; c < header.length; c++) {
      const points: [number, number][] = [];
      for (let k = 1; k < rows.length; k++) {
        const t = value(k, 0);
        const v = value(k, c);
        if (t !== undefined && v !== undefined) points.push([t, v]);
      }
      put(header[c]!, points);
    }
  } else {
    // Across: the first row holds the times.
    const times = rows[0]!.map((_, c) => (c === 0 ? undefined : value(0, c)));
    for (let k = 1; k < rows.length; k++) {
      const points: [number, number][] = [];
      for (let c = 1; c < rows[k]!.length; c++) {
        const t = times[c];
        const v = value(k, c);
        if (t !== undefined && v !== undefined) points.push([t, v]);
      }
      put(rows[k]![0]!, points);
    }
  }
  return into;
}
