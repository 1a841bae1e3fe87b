import { html, type SafeHtml } from "./html.js";

/** How the page writes numbers: probabilities as percentages with one decimal. */
export const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Whole numbers with thousands separators, the same on every locale. */
export const count = (n: number) => n.toLocaleString("en");

/** An outcome name as a reader sees it (`nuclear_use` → `nuclear use`). */
export const spaced = (name: string) => name.replace(/_/g, " ");

/**
 * How far a probability moved since the previous run, in percentage points; "●" when the previous estimate lies
 * outside this run's own 95% interval (moves inside it are noise-sized).
 */
export function moved(now: number, before: number | undefined, lo: number, hi: number): SafeHtml | string {
  if (before === undefined) return "";
  const d = now - before;
  if (Math.abs(d) < 1e-12) return "±0";
  const beyond = before < lo || before > hi;
  return html`<span class="${d > 0 ? "up" : "down"}">${d > 0 ? "+" : "−"}${(100 * Math.abs(d)).toFixed(1)} pt${beyond ? " ●" : ""}</span>`;
}

/** A slider's step: a hundredth of its range, rounded to two significant digits. */
export const sliderStep = (min: number, max: number) => Number(((max - min) / 100).toPrecision(2)) || 0.01;
