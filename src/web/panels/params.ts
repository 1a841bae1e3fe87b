import { isMap, parseDocument } from "yaml";
import { quantile } from "../../engine/distributions.js";
import { parseDistribution } from "../../model/distribution.js";
import type { ModelSpec } from "../../model/schema.js";
import { sliderStep } from "../format.js";
import { html, type SafeHtml } from "../html.js";

/**
 * The parameter panel: a slider per decision and param, a checkbox per mechanism switch, grouped as the model
 * groups them. Pure (markup from the spec), so Node tests check it; the page wires the events (main.ts).
 */

/** Distributions the user pinned to one value with a slider, by param, so ↺ can restore them. */
export type Pinned = ReadonlyMap<string, string>;

type Section = "params" | "decisions";

function slider(
  section: Section,
  name: string,
  value: number,
  min: number,
  max: number,
  unit: string,
  doc: string,
  shown: SafeHtml | string | number,
): SafeHtml {
  const id = `p-${section}-${name}`;
  return html`<div class="param"><label for="${id}" title="${doc}">${name} <small>${unit}</small></label><input id="${id}" type="range" min="${min}" max="${max}" step="${sliderStep(min, max)}" value="${value}" data-section="${section}" data-name="${name}"/><output for="${id}">${shown}</output></div>`;
}

/** The rounded 1% and 99% quantiles of a distribution string: the span of its slider. */
function span(dist: string): { lo: number; hi: number; median: number } {
  const d = parseDistribution(dist);
  const r = (p: number) => Number(quantile(d, p).toPrecision(3));
  return { lo: r(0.01), hi: r(0.99), median: r(0.5) };
}

export function paramsPanel(spec: ModelSpec, pinned: Pinned): SafeHtml {
  const groupOf = (entry: { group?: string }) => entry.group ?? "";
  const switches = new Map(
    Object.entries(spec.groups ?? {}).flatMap(([g, def]) => (def.switch ? [[def.switch, g] as const] : [])),
  );
  const rows = new Map<string, SafeHtml[]>();
  const push = (group: string, row: SafeHtml) => rows.set(group, [...(rows.get(group) ?? []), row]);
  for (const [name, d] of Object.entries(spec.decisions ?? {}))
    push(groupOf(d), slider("decisions", name, d.value, d.min, d.max, d.unit ?? "", d.doc ?? "", d.value));
  for (const [name, p] of Object.entries(spec.params ?? {})) {
    const group = switches.get(name) ?? groupOf(p);
    const doc = p.doc ?? "";
    const unit = p.unit ?? "";
    if (switches.has(name) && (p.value === 0 || p.value === 1) && !p.dist) {
      const id = `p-params-${name}`;
      push(
        group,
        html`<div class="param switch"><label for="${id}">mechanism on <small>(${name})</small></label><input id="${id}" type="checkbox" data-section="params" data-name="${name}" ${p.value ? "checked" : ""} title="${doc}"/><span>${p.value ? "on" : "off"}</span></div>`,
      );
    } else if (p.dist) {
      // An uncertain param: the slider spans its 1–99% range and pins it to one value when moved.
      const { lo, hi, median } = span(String(p.dist));
      push(group, slider("params", name, median, lo, hi, unit, doc, `uncertain: ${String(p.dist)}`));
    } else if (typeof p.value === "number") {
      const v = p.value;
      const original = pinned.get(name);
      const range = original === undefined ? undefined : span(original);
      const reach = v === 0 ? 1 : Math.abs(v);
      const min = range ? range.lo : Math.min(0, v - reach);
      const max = range ? range.hi : v + reach;
      const shown =
        original === undefined
          ? v
          : html`${v} <button type="button" class="restore" data-restore="${name}" aria-label="restore the distribution of ${name}" title="restore ${original}">↺</button>`;
      push(group, slider("params", name, v, Math.min(min, v), Math.max(max, v), unit, doc, shown));
    }
  }
  const order = [...Object.keys(spec.groups ?? {}), ""];
  const sets = order
    .filter((g) => rows.has(g))
    .map((g) => {
      const doc = spec.groups?.[g]?.doc ?? "";
      const legend = g ? html`${g}${doc ? html` <small>— ${doc}</small>` : ""}` : "other";
      return html`<fieldset><legend>${legend}</legend>${rows.get(g)!}</fieldset>`;
    });
  return sets.length ? html`${sets}` : html`<p>No parameters or decisions.</p>`;
}

/** The value a control sets: 0/1 for a switch, else the slider's value to four significant digits. */
export const controlValue = (checkbox: boolean, checked: boolean, value: string) =>
  checkbox ? (checked ? 1 : 0) : Number(Number(value).toPrecision(4));

/**
 * The model text with one param or decision set to a value. A param with a distribution is pinned: its `dist`
 * goes (the caller keeps it for ↺). Comments and layout elsewhere stay as written.
 */
export function setValue(
  text: string,
  section: Section,
  name: string,
  value: number,
  pinsDist: boolean,
): string {
  const doc = parseDocument(text);
  const node = doc.getIn([section, name], true);
  if (isMap(node)) {
    if (pinsDist) node.delete("dist");
    node.set("value", value);
  } else doc.setIn([section, name], value);
  return doc.toString({ lineWidth: 0 });
}

/** The model text with a pinned param's distribution put back in place of its value. */
export function restoreDist(text: string, name: string, dist: string): string {
  const doc = parseDocument(text);
  if (isMap(doc.getIn(["params", name], true))) {
    doc.deleteIn(["params", name, "value"]);
    doc.setIn(["params", name, "dist"], dist);
  } else doc.setIn(["params", name], dist);
  return doc.toString({ lineWidth: 0 });
}
