/**
 * A corpus of hostile names for the browser app and the HTML report: markup that would run script if a name
 * reached the DOM as HTML (an element with a handler, a closed attribute, a script element). Each payload calls
 * alert() and sets data-xss on <body>, so a test sees a dialog or the attribute if one ever runs.
 */
const run = (tag: string) => `document.body.dataset.xss='${tag}';alert('${tag}')`;
export const hostile = (tag: string): [string, string, string, string] => [
  `<img src=x onerror="${run(tag)}">`,
  `'"><img src=x onerror=${run(tag).replace(/'/g, "")}>`,
  `<svg onload=${run(tag).replace(/'/g, "")}>`,
  `</select><script>${run(tag)}</script>`,
];

/** YAML scalar in double quotes: the corpus carries quotes and backslashes. */
const q = (s: string) => JSON.stringify(s);

/**
 * A model whose free-text fields are hostile, and that still runs: title, group doc, param doc and source, claim
 * text. Names — groups and scenarios included — must be identifiers, so the loader refuses markup there.
 */
export function hostileRunnableModel(): string {
  const [a, b, c, d] = hostile("runnable");
  return `brink: 1
name: ${q(`title ${a}`)}
doc: ${q(`doc ${b}`)}
time: { start: 0, stop: 10, dt: 1, unit: year }
groups:
  mechanism: { doc: ${q(`group doc ${d} ${c}`)}, switch: mech }
params:
  mech: { value: 1, doc: ${q(`switch doc ${b}`)} }
  k: { dist: "0.1 to 0.2", doc: ${q(`param doc ${a}`)}, source: ${q(`source ${c}`)} }
stocks:
  s: { init: 1, inflows: [grow] }
flows:
  grow: s * k * mech
outcomes:
  big: { when: s > 2 }
track: [s]
claims:
  - id: c1
    text: ${q(`claim ${a}`)}
    check: P(big) > 0
scenarios:
  scenario_a: { params: { k: 0.2 } }
  scenario_d: { params: { k: 0.15 } }
`;
}

/**
 * A model whose names the loader rejects (a param, an outcome, a decision and a scenario that are markup): it
 * does not load, and the page shows the diagnostics that quote the names.
 */
export function hostileNamesModel(): string {
  const [a, b, , d] = hostile("names");
  return `brink: 1
name: Hostile names
time: { start: 0, stop: 10, dt: 1, unit: year }
decisions:
  ${q(`decision ${d}`)}: { value: 1, min: 0, max: 2 }
params:
  ${q(b)}: { dist: "1 to 2" }
  ${q(`pinned ${a}`)}: 3
stocks:
  s: { init: 1, inflows: [grow] }
flows:
  grow: 0.1 * s
outcomes:
  ${q(a)}: { when: s > 2 }
track: [s]
scenarios:
  ${q(`scenario ${b}`)}: { params: { k: 0.2 } }
`;
}

/** Attributes the app's own markup uses; anything else in generated markup (an `on…` handler) is injected. */
const ATTRIBUTES = new Set(
  "id class for title type min max step value checked data-section data-name data-restore data-lever aria-label aria-live scope role tabindex".split(
    " ",
  ),
);

/**
 * The tags and attributes of markup the app generated (double-quoted attributes, as html.ts writes them).
 * Throws when a '<' does not open a well-formed tag or an attribute is not one the app uses — that is, when a
 * name escaped its text or attribute and became markup.
 */
export function markupTags(markup: string): string[] {
  const tag = /^<\/?([a-z][a-z0-9]*)((?:\s+[a-z-]+(?:="[^"<>]*")?)*)\s*\/?>/;
  const tags: string[] = [];
  for (let i = markup.indexOf("<"); i >= 0; i = markup.indexOf("<", i + 1)) {
    const m = tag.exec(markup.slice(i));
    if (!m) throw new Error(`stray '<' at ${i}: ${markup.slice(i, i + 60)}`);
    tags.push(m[1]!);
    for (const a of m[2]!.matchAll(/([a-z-]+)(?:="[^"]*")?/g))
      if (!ATTRIBUTES.has(a[1]!)) throw new Error(`unexpected attribute ${a[1]} in ${m[0]}`);
  }
  return tags;
}
