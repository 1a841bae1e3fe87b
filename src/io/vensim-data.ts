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

/** Read one data file's text; `into` gathers several files. A file with no Time header row gives nothing. */
export function readVensimData(text: string, into: VensimData = new Map()): VensimData {
  const lines = text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .filter((l) => l.trim() !== "");
  if (lines.length < 2) return into;
  const sep = lines[0]!.includes("\t") ? "\t" : ",";
  const rows = lines.map((l) => l.split(sep));
  if (!/^"?time"?$/i.test(rows[0]![0]!.trim())) return into;
  const put = (label: string, points: [number, number][]) => {
    if (points.length) into.set(keyOf(label), points);
  };
  if (cell(rows[1]![0]) !== undefined) {
    // Down: a column per variable.
    const header = rows[0]!;
    for (let c = 1; c < header.length; c++) {
      const points: [number, number][] = [];
      for (const row of rows.slice(1)) {
        const t = cell(row[0]);
        const v = cell(row[c]);
        if (t !== undefined && v !== undefined) points.push([t, v]);
      }
      put(header[c]!, points);
    }
  } else {
    // Across: the first row holds the times.
    const times = rows[0]!.map(cell);
    for (const row of rows.slice(1)) {
      const points: [number, number][] = [];
      for (let c = 1; c < row.length; c++) {
        const t = times[c];
        const v = cell(row[c]);
        if (t !== undefined && v !== undefined) points.push([t, v]);
      }
      put(row[0]!, points);
    }
  }
  return into;
}
