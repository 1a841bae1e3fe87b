import { escapeHtml } from "../report/html.js";

/**
 * Markup the page may put into the DOM. The only way to make it is the `html` template (every interpolated
 * value escaped, unless it is itself SafeHtml) or `trustedSvg` (Vega's output, which escapes its own text), so a
 * name from a model file or a share link cannot become markup. Pure: no DOM, so Node tests check it.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What an interpolation may be: text (escaped), numbers, markup, nothing, or a list of these. */
export type HtmlValue = SafeHtml | string | number | null | undefined | readonly HtmlValue[];

function part(v: HtmlValue): string {
  if (v === null || v === undefined) return "";
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(part).join("");
  return escapeHtml(String(v));
}

/** `html\`<td>${name}</td>\``: the literal parts as written, each value escaped (text and attribute safe). */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += part(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** An SVG string from the Vega renderer (report/render.ts): Vega escapes every text and attribute it writes. */
export const trustedSvg = (svg: string) => new SafeHtml(svg);

export { escapeHtml };

/**
 * A table in its own horizontal scroll box, so a wide table scrolls inside the page instead of widening it.
 * The box takes keyboard focus and has a name, so it scrolls from the keyboard too (WCAG: scrollable regions).
 */
export const scrollBox = (label: string, table: SafeHtml): SafeHtml =>
  html`<div class="scroll" role="region" tabindex="0" aria-label="${label}">${table}</div>`;
