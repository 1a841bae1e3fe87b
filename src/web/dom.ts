import type { SafeHtml } from "./html.js";

/** The page's few DOM helpers: every markup write goes through setHtml, so it takes SafeHtml only. */

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export function setHtml(element: Element, markup: SafeHtml): void {
  element.innerHTML = markup.value;
}

/** Replace a select's options (built as nodes: a value is never parsed as markup). */
export function setOptions(
  select: HTMLSelectElement,
  options: readonly { value: string; label?: string }[],
): void {
  select.replaceChildren(...options.map((o) => new Option(o.label ?? o.value, o.value)));
}

/** Save a file the page made (a blob URL, revoked once the download has started). */
export function download(name: string, type: string, content: string): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([content], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
