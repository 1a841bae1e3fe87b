import { isMap, isScalar, parseDocument } from "yaml";
import { quantile } from "../../engine/distributions.js";
import { parseDistribution } from "../../model/distribution.js";
import type { ModelSpec } from "../../model/schema.js";
import { sliderStep } from "../format.js";
import { html, type SafeHtml } from "../html.js";

/**
 * The parameter panel: a slider per decision and param, a checkbox per mechanism switch, grouped as the model
 * groups them. Pure (markup from the spec), so Node tests check it; the page wires the events (main.ts).
 */

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
      const original = pinned.get(name)?.dist;
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

/** A distribution pinned by a slider: its string (the slider's span) and the exact text it replaced (for ↺). */
export interface Pin {
  dist: string;
  /** The source text the pin replaced (`dist: "1 to 2"` in a map, or the bare `"1 to 2"`), restored verbatim. */
  original: string;
}

/** Distributions the user pinned to one value with a slider, by param, so ↺ can restore them. */
export type Pinned = ReadonlyMap<string, Pin>;

type Range = readonly [number, number];
const splice = (text: string, [from, to]: Range, insert: string) =>
  text.slice(0, from) + insert + text.slice(to);
const rangeOf = (node: unknown): Range | undefined => {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  return r ? [r[0], r[1]] : undefined;
};

/** Where the param's or decision's value sits in the text: the scalar itself, or the map's `value` / `dist` entry. */
function locate(text: string, section: Section, name: string) {
  const doc = parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length) return undefined;
  const node = doc.getIn([section, name], true);
  if (isScalar(node)) {
    const at = rangeOf(node);
    return at && { kind: "scalar" as const, at };
  }
  if (!isMap(node)) return undefined;
  const pair = (key: string) => node.items.find((p) => isScalar(p.key) && p.key.value === key);
  const value = pair("value");
  const dist = pair("dist");
  const valueAt = rangeOf(value?.value);
  const valueKey = rangeOf(value?.key);
  const distKey = rangeOf(dist?.key);
  const distValue = rangeOf(dist?.value);
  return {
    kind: "map" as const,
    value: valueAt,
    valueEntry: valueKey && valueAt ? ([valueKey[0], valueAt[1]] as Range) : undefined,
    dist: distKey && distValue ? ([distKey[0], distValue[1]] as Range) : undefined,
  };
}

/** A number as YAML writes it back (plain, so the model reads the same number). */
const yamlNumber = (value: number) => String(value);

/**
 * The model text with one param or decision set to a value, edited in place: only that value's characters
 * change, so comments, layout, quotes, flow style and key order stay as written. A param with a distribution is
 * pinned: its `dist` entry (or its bare distribution string) becomes the value, and `original` is the exact text
 * replaced, which `restoreDist` puts back.
 */
export function pinValue(
  text: string,
  section: Section,
  name: string,
  value: number,
  pinsDist: boolean,
): { text: string; original?: string } {
  const at = locate(text, section, name);
  const v = yamlNumber(value);
  if (at?.kind === "scalar") {
    const original = text.slice(...at.at);
    return { text: splice(text, at.at, v), ...(pinsDist ? { original } : {}) };
  }
  if (at?.kind === "map" && pinsDist && at.dist && !at.value)
    return { text: splice(text, at.dist, `value: ${v}`), original: text.slice(...at.dist) };
  if (at?.kind === "map" && at.value && !(pinsDist && at.dist)) return { text: splice(text, at.value, v) };
  // Shapes an in-place edit cannot reach (a value and a dist side by side, a missing entry): rewrite the tree.
  const doc = parseDocument(text);
  const node = doc.getIn([section, name], true);
  let original: string | undefined;
  if (isMap(node)) {
    if (pinsDist) {
      original = `dist: ${JSON.stringify(String(node.get("dist")))}`;
      node.delete("dist");
    }
    node.set("value", value);
  } else {
    if (pinsDist) original = JSON.stringify(String(doc.getIn([section, name])));
    doc.setIn([section, name], value);
  }
  return { text: doc.toString({ lineWidth: 0 }), ...(original === undefined ? {} : { original }) };
}

/** The model text with one param or decision set to a value (see pinValue). */
export const setValue = (text: string, section: Section, name: string, value: number, pinsDist: boolean) =>
  pinValue(text, section, name, value, pinsDist).text;

/**
 * The model text with a pinned param's distribution put back: the pinned value's text is replaced by the exact
 * text the pin took out, so moving a slider and pressing ↺ gives back the original file byte for byte.
 */
export function restoreDist(text: string, name: string, original: string): string {
  const at = locate(text, "params", name);
  if (at?.kind === "scalar") return splice(text, at.at, original);
  if (at?.kind === "map" && at.valueEntry) return splice(text, at.valueEntry, original);
  return text;
}
