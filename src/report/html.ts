import type { RunReport } from "../analysis/results.js";
import type { SobolIndex } from "../analysis/sensitivity.js";
import { count, percent, points, quantity, STILL_GOING, signedQuantity } from "./format.js";

/** How a column's numbers read on the page (the CSV and JSON exports keep the raw numbers). */
export type CellFormat = "text" | "percent" | "points" | "count" | "quantity" | "signed";

/** A table of the report, shown in the page and offered as CSV and JSON. */
export interface ReportTable {
  id: string;
  title: string;
  columns: string[];
  rows: (string | number | null)[][];
  /** Each column's format on the page (numbers without one print with three significant digits). */
  formats?: CellFormat[];
  /** Per-row formats where a column's meaning changes by row (a claim's estimate: probability, difference, mean). */
  rowFormats?: CellFormat[][];
  note?: string;
  /** Shown folded (a click opens it): detail that the section's charts already summarise. */
  collapsed?: boolean;
}

const FORMATTERS: Record<CellFormat, (x: number) => string> = {
  text: String,
  percent,
  points,
  count,
  quantity: (x) => quantity(x),
  signed: (x) => signedQuantity(x),
};

/** A cell as the page shows it: numbers formatted for their meaning, nothing as a dash. */
export function cellText(v: string | number | null, format: CellFormat | undefined): string {
  if (v === null) return "–";
  if (typeof v === "string") return v;
  return FORMATTERS[format ?? "quantity"](v);
}

export interface ReportSection {
  title: string;
  intro?: string;
  /** `small` charts sit side by side where the page is wide enough. */
  charts: { id: string; svg: string; small?: boolean }[];
  tables: ReportTable[];
}

export interface ReportDocument {
  title: string;
  subtitle: string;
  sections: ReportSection[];
  metadata: Record<string, string>;
}

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function base64(text: string): string {
  // btoa works on code units below 256 only; go through UTF-8 first.
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * A spreadsheet opening the CSV would run a text cell starting with = + - @ (or tab / carriage return) as a
 * formula, and names come from model files and share links: such cells get a leading apostrophe. Numbers and
 * number-like text (-0.5, +3) are left as they are.
 */
const neutraliseFormula = (s: string) =>
  /^[=+\-@\t\r]/.test(s) && !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?%?$/.test(s) ? `'${s}` : s;

export function tableCsv(t: ReportTable): string {
  const cell = (v: string | number | null) => {
    const s = v === null ? "" : typeof v === "number" ? String(v) : neutraliseFormula(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [t.columns, ...t.rows].map((r) => r.map(cell).join(",")).join("\n");
}

export function tableJson(t: ReportTable): string {
  return JSON.stringify(t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c, r[i] ?? null]))));
}

function renderTable(t: ReportTable): string {
  // Long snake_case headers (scenario names) may break after an underscore, so wide tables fit a laptop screen.
  const head = t.columns.map((c) => `<th scope="col">${escapeHtml(c).replace(/_/g, "_<wbr>")}</th>`).join("");
  const body = t.rows
    .map(
      (r, i) =>
        `<tr>${r.map((v, j) => `<td${typeof v === "number" ? ' class="num"' : ""}>${escapeHtml(cellText(v, t.rowFormats?.[i]?.[j] ?? t.formats?.[j]))}</td>`).join("")}</tr>`,
    )
    .join("\n");
  const id = escapeHtml(t.id);
  const links = `<a download="${id}.csv" href="data:text/csv;base64,${base64(tableCsv(t))}">CSV</a> · <a download="${id}.json" href="data:application/json;base64,${base64(tableJson(t))}">JSON</a>`;
  const figure = `<figure class="table" id="${id}"><figcaption>${escapeHtml(t.title)} <span class="export">${links}</span></figcaption>
<div class="scroll" role="region" tabindex="0" aria-label="${escapeHtml(t.title)} (scrolls sideways)"><table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></div>${t.note ? `<p class="note">${escapeHtml(t.note)}</p>` : ""}</figure>`;
  return t.collapsed ? `<details><summary>${escapeHtml(t.title)}</summary>${figure}</details>` : figure;
}

/** One self-contained HTML page: inline styles and SVG charts, data exports as data: links, no scripts, no network. */
export function renderHtml(doc: ReportDocument): string {
  const sections = doc.sections
    .map(
      (s) => `<section>
<h2>${escapeHtml(s.title)}</h2>
${s.intro ? `<p>${escapeHtml(s.intro)}</p>` : ""}
${s.charts.map((c) => `<figure class="chart${c.small ? " small" : ""}" id="${escapeHtml(c.id)}" role="img" aria-label="${escapeHtml(c.id)}">${c.svg}</figure>`).join("\n")}
${s.tables.map(renderTable).join("\n")}
</section>`,
    )
    .join("\n");
  // Only a page with small charts carries their rule, so other reports stay as they were.
  const small = doc.sections.some((s) => s.charts.some((c) => c.small))
    ? "\n.chart.small { display: inline-block; vertical-align: top; margin: 0.5rem 1.5rem 0.5rem 0; max-width: 100%; }"
    : "";
  const meta = Object.entries(doc.metadata)
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
    .join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.title)}</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; color: #1b1b1b; background: #fff; max-width: 1180px; margin: 2rem auto; padding: 0 1rem; overflow-wrap: break-word; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ccc; margin-top: 2.5rem; }
.subtitle { color: #444; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.88rem; margin: 0.5rem 0 1.5rem; overflow-wrap: normal; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { max-width: 100%; overflow-x: auto; } .chart svg { max-width: 100%; height: auto; }${small}
details { margin: 0.5rem 0; } summary { cursor: pointer; color: #0b5394; }
figure { margin: 1rem 0; } figcaption { font-weight: 600; margin-bottom: 0.3rem; }
.export { font-weight: normal; font-size: 0.85rem; } a { color: #0b5394; }
.note { color: #444; font-size: 0.88rem; } dl { display: grid; grid-template-columns: fit-content(40%) minmax(0, 1fr); gap: 0.2rem 1rem; }
dt { font-weight: 600; } dt, dd { min-width: 0; margin: 0; overflow-wrap: anywhere; }
.holds { color: #0a6b2a; font-weight: 600; } .fails { color: #a11; font-weight: 600; }
</style>
</head>
<body>
<header><h1>${escapeHtml(doc.title)}</h1><p class="subtitle">${escapeHtml(doc.subtitle)}</p></header>
<main>
${sections}
<section><h2>Run metadata</h2><dl>${meta}</dl></section>
</main>
</body>
</html>
`;
}

/** Rows of the outcome table of a run report. */
export function outcomeRows(r: RunReport): (string | number | null)[][] {
  return [
    ...Object.entries(r.outcomes).map(([name, o]) => [
      name,
      o.count,
      o.p,
      o.lo,
      o.hi,
      o.median_date ?? o.median_time,
    ]),
    [STILL_GOING, r.censored.count, r.censored.p, r.censored.lo, r.censored.hi, null],
  ];
}

export function sobolRows(indices: SobolIndex[]): (string | number | null)[][] {
  const r = (x: number) => Number(x.toPrecision(4));
  return indices.map((s) => [
    s.input,
    r(s.total),
    r(s.totalLo),
    r(s.totalHi),
    r(s.first),
    r(s.firstLo),
    r(s.firstHi),
  ]);
}
