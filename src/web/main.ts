import { autocompletion } from "@codemirror/autocomplete";
import { yaml as yamlLanguage } from "@codemirror/lang-yaml";
import { type Diagnostic as CmDiagnostic, linter } from "@codemirror/lint";
import { EditorView } from "@codemirror/view";
import { basicSetup } from "codemirror";
import { isMap, parseDocument } from "yaml";
import { checkModelText } from "../analysis/check.js";
import type { RunReport } from "../analysis/results.js";
import type { SensitivityReport } from "../analysis/sensitivity-job.js";
import type { Progress } from "../analysis/simulate.js";
import { quantile } from "../engine/distributions.js";
import { importXmile } from "../io/xmile.js";
import { type Diagnostic, DiagnosticError, formatDiagnostic } from "../lang/diagnostic.js";
import { parseDistribution } from "../model/distribution.js";
import { type LoadedModel, loadModel } from "../model/load.js";
import type { ModelSpec } from "../model/schema.js";
import { fanChart, incidenceChart, scenarioChart, tornadoChart } from "../report/charts.js";
import { renderHtml, tableCsv } from "../report/html.js";
import { renderSvg } from "../report/render.js";
import {
  assumptionsSection,
  claimsSection,
  endStatesSection,
  outcomesTable,
  scenariosSection,
  sensitivitySection,
  trackedSection,
} from "../report/sections.js";
import { completeModel } from "./completion.js";
import { benchmarkOneWorker, pool, sensitivityInBrowser, simulateInBrowser } from "./engine.js";
import { escapeHtml, pct } from "./format.js";
import { readShareLink, shareLink } from "./share.js";
import { startWarRoom } from "./warroom-ui.js";

/** The bundled models, by path under models/. */
const bundled = import.meta.glob("../../models/**/*.yaml", {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;
const MODELS = Object.fromEntries(
  Object.entries(bundled).map(([path, text]) => [path.replace(/^.*\/models\//, "models/"), text]),
);
const FLAGSHIP = "models/flagship/flagship.yaml";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

interface AppState {
  file: string;
  report?: RunReport;
  previous?: RunReport;
  compare?: Record<string, RunReport>;
  sensitivity?: SensitivityReport;
  sensitivitySamples?: number;
  controller?: AbortController;
  loaded?: LoadedModel;
}
const state: AppState = { file: FLAGSHIP };

// --- the model text: the one source of truth (sliders edit it; share links carry it) -------------------------

/** The model as Brink YAML (XMILE files are imported first). */
function brinkText(file: string, text: string): string {
  return /\.(xmile|stmx)$/i.test(file) ? importXmile(file, text).yaml : text;
}

function diagnosticsOf(file: string, text: string): Diagnostic[] {
  try {
    return checkModelText(file, brinkText(file, text)).diagnostics;
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics;
    throw e;
  }
}

function showDiagnostics(list: Diagnostic[]): void {
  $("diagnostics").innerHTML = list.map((d) => `<li>${escapeHtml(formatDiagnostic(d))}</li>`).join("");
}

const lint = linter(
  (view) => {
    const text = view.state.doc.toString();
    const list = diagnosticsOf(state.file, text);
    showDiagnostics(list);
    return list.map((d): CmDiagnostic => {
      const line = view.state.doc.line(Math.min(Math.max(1, d.line), view.state.doc.lines));
      const from = Math.min(line.to, line.from + Math.max(0, d.col - 1));
      return {
        from,
        to: Math.max(from + 1, Math.min(line.to, from + 1)),
        severity: "error",
        message: d.message,
      };
    });
  },
  { delay: 300 },
);

/** The model's own names, for completion in expressions. */
const modelNames = () =>
  state.loaded
    ? ["params", "stocks", "flows", "vars", "tables", "outcomes", "decisions"].flatMap((s) =>
        Object.keys((state.loaded!.spec as unknown as Record<string, object | undefined>)[s] ?? {}),
      )
    : [];

let rerunTimer: ReturnType<typeof setTimeout> | undefined;
const editor = new EditorView({
  parent: $("editor"),
  extensions: [
    basicSetup,
    yamlLanguage(),
    lint,
    autocompletion({ override: [(context) => completeModel(context, modelNames)] }),
    EditorView.contentAttributes.of({ "aria-label": "Model text" }),
    EditorView.updateListener.of((update) => {
      if (!update.docChanged) return;
      // A change re-runs after a pause in typing (or a slider's last move).
      clearTimeout(rerunTimer);
      rerunTimer = setTimeout(() => {
        if (refreshModel()) void run();
      }, 700);
    }),
  ],
});

// The scroller can take focus, so the model text scrolls from the keyboard too (WCAG: scrollable regions).
editor.scrollDOM.tabIndex = 0;
editor.scrollDOM.setAttribute("aria-label", "Model text (scrollable)");

const text = () => editor.state.doc.toString();
function setText(next: string): void {
  editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: next } });
}

/** Re-read the model (scenario list, parameter panel); false when it does not load. */
function refreshModel(): boolean {
  try {
    state.loaded = loadModel(state.file, brinkText(state.file, text()));
  } catch (e) {
    if (e instanceof DiagnosticError) return false;
    throw e;
  }
  const select = $<HTMLSelectElement>("scenario");
  const current = select.value;
  select.innerHTML = ["base", ...state.loaded.scenarios]
    .map((s) => `<option value="${s}">${s}</option>`)
    .join("");
  if ([...select.options].some((o) => o.value === current)) select.value = current;
  renderParams(state.loaded);
  return true;
}

// --- parameter panel -----------------------------------------------------------------------------------------

/** Distributions the user pinned to one value with a slider (by param), so they can be restored. */
const pinned = new Map<string, string>();

function renderParams(model: LoadedModel): void {
  const spec = model.spec;
  const groupOf = (entry: { group?: string }) => entry.group ?? "";
  const switches = new Map(
    Object.entries(spec.groups ?? {}).flatMap(([g, def]) => (def.switch ? [[def.switch, g] as const] : [])),
  );
  const rows = new Map<string, string[]>();
  const push = (group: string, html: string) => rows.set(group, [...(rows.get(group) ?? []), html]);
  const slider = (
    group: string,
    section: "params" | "decisions",
    name: string,
    value: number,
    min: number,
    max: number,
    unit: string,
    doc: string,
    extra = "",
  ) => {
    const id = `p-${section}-${name}`;
    const step = Number(((max - min) / 100).toPrecision(2)) || 0.01;
    push(
      group,
      `<div class="param"><label for="${id}" title="${escapeHtml(doc)}">${escapeHtml(name)} <small>${escapeHtml(unit)}</small></label><input id="${id}" type="range" min="${min}" max="${max}" step="${step}" value="${value}" data-section="${section}" data-name="${name}"/><output for="${id}">${extra || value}</output></div>`,
    );
  };
  for (const [name, d] of Object.entries(spec.decisions ?? {}))
    slider(groupOf(d), "decisions", name, d.value, d.min, d.max, d.unit ?? "", d.doc ?? "");
  for (const [name, p] of Object.entries(spec.params ?? {})) {
    const group = switches.get(name) ?? groupOf(p);
    const doc = p.doc ?? "";
    if (switches.has(name) && (p.value === 0 || p.value === 1) && !p.dist) {
      const id = `p-params-${name}`;
      push(
        group,
        `<div class="param switch"><label for="${id}">mechanism on <small>(${escapeHtml(name)})</small></label><input id="${id}" type="checkbox" data-section="params" data-name="${name}" ${p.value ? "checked" : ""} title="${escapeHtml(doc)}"/><span>${p.value ? "on" : "off"}</span></div>`,
      );
    } else if (p.dist) {
      // An uncertain param: the slider spans its 1–99% range and pins it to one value when moved.
      const d = parseDistribution(p.dist);
      const lo = Number(quantile(d, 0.01).toPrecision(3));
      const hi = Number(quantile(d, 0.99).toPrecision(3));
      const median = Number(quantile(d, 0.5).toPrecision(3));
      slider(
        group,
        "params",
        name,
        median,
        lo,
        hi,
        p.unit ?? "",
        doc,
        `uncertain: ${escapeHtml(String(p.dist))}`,
      );
    } else if (typeof p.value === "number") {
      const v = p.value;
      const restore = pinned.has(name)
        ? `<button type="button" class="restore" data-restore="${name}" aria-label="restore the distribution of ${name}" title="restore ${escapeHtml(pinned.get(name)!)}">↺</button>`
        : "";
      const original = pinned.get(name);
      const range = original ? parseDistribution(original) : undefined;
      const span = v === 0 ? 1 : Math.abs(v);
      const min = range ? Number(quantile(range, 0.01).toPrecision(3)) : Math.min(0, v - span);
      const max = range ? Number(quantile(range, 0.99).toPrecision(3)) : v + span;
      slider(
        group,
        "params",
        name,
        v,
        Math.min(min, v),
        Math.max(max, v),
        p.unit ?? "",
        doc,
        restore ? `${v} ${restore}` : "",
      );
    }
  }
  const order = [...Object.keys(spec.groups ?? {}), ""];
  const html = order
    .filter((g) => rows.has(g))
    .map((g) => {
      const doc = spec.groups?.[g]?.doc ?? "";
      const legend = g ? `${escapeHtml(g)}${doc ? ` <small>— ${escapeHtml(doc)}</small>` : ""}` : "other";
      return `<fieldset><legend>${legend}</legend>${rows.get(g)!.join("")}</fieldset>`;
    })
    .join("");
  $("params").innerHTML = html || "<p>No parameters or decisions.</p>";
}

$("params").addEventListener("click", (e) => {
  const name = (e.target as HTMLElement).dataset.restore;
  const dist = name ? pinned.get(name) : undefined;
  if (!name || dist === undefined) return;
  const doc = parseDocument(text());
  if (isMap(doc.getIn(["params", name], true))) {
    doc.deleteIn(["params", name, "value"]);
    doc.setIn(["params", name, "dist"], dist);
  } else doc.setIn(["params", name], dist);
  pinned.delete(name);
  setText(doc.toString({ lineWidth: 0 }));
});

$("params").addEventListener("input", (e) => {
  const input = e.target as HTMLInputElement;
  const { section, name } = input.dataset;
  if (!section || !name) return;
  const value =
    input.type === "checkbox" ? (input.checked ? 1 : 0) : Number(Number(input.value).toPrecision(4));
  const out = input.nextElementSibling as HTMLElement | null;
  if (out) out.textContent = input.type === "checkbox" ? (value ? "on" : "off") : String(value);
  // The slider edits the model text, so what runs, what is shared and what the editor shows stay one thing.
  const doc = parseDocument(text());
  // Moving an uncertain param's slider pins it to that value; its distribution is kept for ↺.
  const dist = section === "params" ? state.loaded?.spec.params?.[name]?.dist : undefined;
  const node = doc.getIn([section, name], true);
  if (dist !== undefined) pinned.set(name, String(dist));
  if (isMap(node)) {
    if (dist !== undefined) node.delete("dist");
    node.set("value", value);
  } else doc.setIn([section, name], value);
  setText(doc.toString({ lineWidth: 0 }));
});

// --- running ------------------------------------------------------------------------------------------------

const scenarioOf = () => {
  const s = $<HTMLSelectElement>("scenario").value;
  return s && s !== "base" ? s : undefined;
};

function setStatus(message: string, busy: boolean): void {
  $("status").textContent = message;
  $<HTMLButtonElement>("run").disabled = busy;
  $<HTMLButtonElement>("cancel").disabled = !busy;
}

const onProgress = (p: Progress) => {
  const bar = $<HTMLProgressElement>("progress");
  bar.max = p.total;
  bar.value = p.done;
  $("status").textContent =
    `${p.done.toLocaleString("en")} / ${p.total.toLocaleString("en")} runs · ${Math.round(p.runsPerSecond).toLocaleString("en")} runs/s`;
};

async function run(): Promise<void> {
  state.controller?.abort();
  const controller = new AbortController();
  state.controller = controller;
  const runs = Math.max(100, Number($<HTMLInputElement>("runs").value) || 1000);
  const seed = Number($<HTMLInputElement>("seed").value) || 0;
  const scenario = scenarioOf();
  setStatus("Running…", true);
  const started = performance.now();
  try {
    const result = await simulateInBrowser(
      { file: state.file, text: brinkText(state.file, text()) },
      {
        runs,
        seed,
        ...(scenario ? { scenario } : {}),
        signal: controller.signal,
        // A cancelled job's last ticks must not overwrite "Cancelled.".
        onProgress: (p) => {
          if (!controller.signal.aborted) onProgress(p);
        },
      },
    );
    if (controller.signal.aborted) return;
    const same =
      state.report &&
      state.report.model === result.report.model &&
      state.report.scenario === result.report.scenario;
    state.previous = same ? state.report : undefined;
    state.report = result.report;
    await renderResults();
    const seconds = (performance.now() - started) / 1000;
    setStatus(
      `${result.report.runs.toLocaleString("en")} runs in ${seconds.toFixed(1)} s on ${pool.size} workers${result.report.partial ? " (stopped early: partial)" : ""}.`,
      false,
    );
    // Runs completed in this page: what tests and scripts wait on.
    document.body.dataset.completed = String(Number(document.body.dataset.completed ?? 0) + 1);
  } catch (e) {
    if (controller.signal.aborted) return;
    setStatus(
      e instanceof DiagnosticError ? e.diagnostics.map(formatDiagnostic).join("\n") : String(e),
      false,
    );
  }
}

$("run").addEventListener("click", () => void run());
$("cancel").addEventListener("click", () => {
  state.controller?.abort();
  setStatus("Cancelled.", false);
});
$("scenario").addEventListener("change", () => void run());

// --- results ------------------------------------------------------------------------------------------------

function moved(now: number, before: number | undefined, lo: number, hi: number): string {
  if (before === undefined) return "";
  const d = now - before;
  if (Math.abs(d) < 1e-12) return "±0";
  // Moves inside this run's own interval are noise-sized; flag the ones beyond it.
  const beyond = before < lo || before > hi;
  return `<span class="${d > 0 ? "up" : "down"}">${d > 0 ? "+" : "−"}${(100 * Math.abs(d)).toFixed(1)} pt${beyond ? " ●" : ""}</span>`;
}

async function renderResults(): Promise<void> {
  const r = state.report;
  if (!r) return;
  const before = state.previous;
  const rows = Object.entries(r.outcomes).map(
    ([name, o]) =>
      `<tr><th scope="row">${escapeHtml(name)}</th><td class="num">${pct(o.p)}</td><td class="num">${pct(o.lo)} – ${pct(o.hi)}</td><td class="num">${o.median_date ?? o.median_time ?? "–"}</td><td class="num">${moved(o.p, before?.outcomes[name]?.p, o.lo, o.hi)}</td></tr>`,
  );
  rows.push(
    `<tr><th scope="row">none by the horizon</th><td class="num">${pct(r.censored.p)}</td><td class="num">${pct(r.censored.lo)} – ${pct(r.censored.hi)}</td><td class="num">–</td><td class="num">${moved(r.censored.p, before?.censored.p, r.censored.lo, r.censored.hi)}</td></tr>`,
  );
  $("outcomes").innerHTML =
    `<table id="outcome-table"><caption>${r.runs.toLocaleString("en")} runs, seed ${r.seed}${r.scenario ? `, scenario ${escapeHtml(r.scenario)}` : ""}</caption><thead><tr><th scope="col">end state</th><th scope="col">p</th><th scope="col">95% interval</th><th scope="col">median time</th><th scope="col">moved since last run</th></tr></thead><tbody>${rows.join("")}</tbody></table>${before ? `<p class="note">● the previous estimate lies outside this run's 95% interval.</p>` : ""}`;
  $("claims").innerHTML = r.claims.length
    ? `<table id="claims-table"><thead><tr><th scope="col">claim</th><th scope="col">check</th><th scope="col">estimate [95%]</th><th scope="col">verdict</th></tr></thead><tbody>${r.claims
        .map(
          (c) =>
            `<tr><td>${escapeHtml(c.text ?? c.id)}</td><td><code>${escapeHtml(c.check)}</code></td><td class="num">${c.p === null ? "–" : `${c.p.toPrecision(3)} [${c.lo?.toPrecision(3)}, ${c.hi?.toPrecision(3)}]`}</td><td class="verdict-${c.verdict}">${c.verdict}</td></tr>`,
        )
        .join("")}</tbody></table>`
    : "<p>This model states no claims.</p>";
  const fan = $<HTMLSelectElement>("fan-variable");
  const variables = Object.keys(r.tracked);
  const chosen = variables.includes(fan.value) ? fan.value : variables[0];
  fan.innerHTML = variables.map((v) => `<option value="${v}">${v}</option>`).join("");
  if (chosen) fan.value = chosen;
  $("chart-incidence").innerHTML = Object.keys(r.outcomes).length ? await renderSvg(incidenceChart(r)) : "";
  $("chart-fan").innerHTML = chosen ? await renderSvg(fanChart(r, chosen)) : "";
}

$("fan-variable").addEventListener("change", async () => {
  const r = state.report;
  const v = $<HTMLSelectElement>("fan-variable").value;
  if (r && v) $("chart-fan").innerHTML = await renderSvg(fanChart(r, v));
});

// --- comparison and sensitivity ------------------------------------------------------------------------------

$("compare-run").addEventListener("click", async () => {
  const model = state.loaded;
  if (!model) return;
  const runs = Math.max(100, Number($<HTMLInputElement>("runs").value) || 1000);
  const seed = Number($<HTMLInputElement>("seed").value) || 0;
  const reports: Record<string, RunReport> = {};
  setStatus("Comparing scenarios…", true);
  for (const s of ["base", ...model.scenarios]) {
    $("status").textContent = `Running scenario ${s}…`;
    const result = await simulateInBrowser(
      { file: state.file, text: brinkText(state.file, text()) },
      { runs, seed, ownClaims: false, ...(s === "base" ? {} : { scenario: s }) },
    );
    reports[s] = result.report;
  }
  state.compare = reports;
  const names = Object.keys(reports);
  const outcomes = Object.keys(reports.base?.outcomes ?? {});
  $("compare-table").innerHTML =
    `<table id="compare"><thead><tr><th scope="col">end state</th>${names.map((n) => `<th scope="col">${escapeHtml(n)}</th>`).join("")}</tr></thead><tbody>${outcomes
      .map(
        (o) =>
          `<tr><th scope="row">${escapeHtml(o)}</th>${names
            .map((n) => {
              const x = reports[n]!.outcomes[o];
              return `<td class="num">${x ? `${pct(x.p)} <small>[${pct(x.lo)}, ${pct(x.hi)}]</small>` : "–"}</td>`;
            })
            .join("")}</tr>`,
      )
      .join("")}</tbody></table>`;
  $("chart-compare").innerHTML = await renderSvg(scenarioChart(reports));
  setStatus(
    `Compared ${names.length} scenarios over the same ${runs.toLocaleString("en")} run indices.`,
    false,
  );
});

async function renderTornado(): Promise<void> {
  const s = state.sensitivity;
  if (!s) return;
  const target = $<HTMLSelectElement>("sens-target").value;
  const t = s.targets.find((x) => x.target === target) ?? s.targets[0];
  if (t?.sobol) $("chart-tornado").innerHTML = await renderSvg(tornadoChart(t.target, t.sobol));
}

$("sens-run").addEventListener("click", async () => {
  const samples = Math.max(16, Number($<HTMLInputElement>("sens-samples").value) || 64);
  setStatus("Sensitivity analysis…", true);
  try {
    state.sensitivitySamples = samples;
    state.sensitivity = await sensitivityInBrowser(
      { file: state.file, text: brinkText(state.file, text()) },
      { scenario: scenarioOf() ?? null, samples, seed: Number($<HTMLInputElement>("seed").value) || 0 },
      (done, total) => {
        const bar = $<HTMLProgressElement>("progress");
        bar.max = total;
        bar.value = done;
      },
    );
    const select = $<HTMLSelectElement>("sens-target");
    select.innerHTML = state.sensitivity.targets
      .map((t) => `<option>${escapeHtml(t.target)}</option>`)
      .join("");
    await renderTornado();
    setStatus(`Sensitivity: ${state.sensitivity.evaluations.toLocaleString("en")} evaluations.`, false);
  } catch (e) {
    setStatus(String(e), false);
  }
});
$("sens-target").addEventListener("change", () => void renderTornado());

// --- tabs (keyboard: arrows move between tabs) ----------------------------------------------------------------

const tabs = [...document.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
function select(tab: HTMLButtonElement): void {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute("aria-controls")!).hidden = !on;
  }
  tab.focus();
  if (tab.id === "tab-warroom")
    startWarRoom($("warroom"), () => ({
      file: state.file,
      text: brinkText(state.file, text()),
      ...(state.loaded ? { spec: state.loaded.spec } : {}),
    }));
}
for (const [i, t] of tabs.entries()) {
  t.addEventListener("click", () => select(t));
  t.addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight") select(tabs[(i + 1) % tabs.length]!);
    if (e.key === "ArrowLeft") select(tabs[(i + tabs.length - 1) % tabs.length]!);
  });
}

// --- models, files, share links, downloads --------------------------------------------------------------------

const modelSelect = $<HTMLSelectElement>("model-select");
modelSelect.innerHTML = Object.keys(MODELS)
  .sort((a, b) => (a === FLAGSHIP ? -1 : b === FLAGSHIP ? 1 : a.localeCompare(b)))
  .map((p) => `<option value="${p}">${p.replace(/^models\//, "")}</option>`)
  .join("");

function open(file: string, content: string): void {
  state.file = file;
  pinned.clear();
  state.report = undefined;
  state.previous = undefined;
  setText(content);
}

modelSelect.addEventListener("change", () => open(modelSelect.value, MODELS[modelSelect.value]!));

async function openFile(f: File): Promise<void> {
  open(f.name, await f.text());
}
$<HTMLInputElement>("file-input").addEventListener("change", (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) void openFile(f);
});
$("editor").addEventListener("dragover", (e) => e.preventDefault());
$("editor").addEventListener("drop", (e) => {
  e.preventDefault();
  const f = e.dataTransfer?.files[0];
  if (f) void openFile(f);
});

$("share").addEventListener("click", async () => {
  const url = shareLink(location.href, {
    file: state.file,
    text: text(),
    runs: Number($<HTMLInputElement>("runs").value),
    seed: Number($<HTMLInputElement>("seed").value),
    scenario: $<HTMLSelectElement>("scenario").value,
  });
  const field = $<HTMLInputElement>("share-url");
  field.value = url;
  field.hidden = false;
  history.replaceState(null, "", url);
  try {
    await navigator.clipboard.writeText(url);
    $("status").textContent = "Share link copied.";
  } catch {
    $("status").textContent = "Share link ready (copy it from the field).";
  }
});

function download(name: string, type: string, content: string): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([content], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

$("download-json").addEventListener("click", () => {
  if (state.report)
    download("brink-run.json", "application/json", `${JSON.stringify(state.report, null, 2)}\n`);
});
$("download-csv").addEventListener("click", () => {
  if (!state.report) return;
  // The same CSV as the report's export link (quoted where a cell needs it).
  download("brink-outcomes.csv", "text/csv", `${tableCsv(outcomesTable(state.report))}\n`);
});
$("download-html").addEventListener("click", async () => {
  const r = state.report;
  if (!r) return;
  // The same sections as `brink report`, from what this page has computed.
  const sections = [await endStatesSection(r), claimsSection(r), await trackedSection(r)];
  if (state.compare)
    sections.push(await scenariosSection(state.compare, state.loaded?.spec ?? ({} as ModelSpec)));
  if (state.sensitivity)
    sections.push(await sensitivitySection(state.sensitivity, state.sensitivitySamples ?? 0));
  if (state.loaded) sections.push(assumptionsSection(state.loaded.spec));
  const html = renderHtml({
    title: r.model,
    subtitle: `Brink report from the browser app${r.scenario ? `, scenario ${r.scenario}` : ""}`,
    sections,
    metadata: { runs: String(r.runs), seed: String(r.seed), sampling: r.sampling, file: state.file },
  });
  download("brink-report.html", "text/html", html);
});

// --- start: a shared link, or the flagship --------------------------------------------------------------------

const shared = readShareLink(location.href);
if (shared) {
  state.file = shared.file;
  $<HTMLInputElement>("runs").value = String(shared.runs);
  $<HTMLInputElement>("seed").value = String(shared.seed);
  if (MODELS[shared.file]) modelSelect.value = shared.file;
  setText(shared.text);
  refreshModel();
  $<HTMLSelectElement>("scenario").value = shared.scenario || "base";
} else {
  setText(MODELS[FLAGSHIP] ?? "");
  refreshModel();
}
clearTimeout(rerunTimer);
const benchRuns = Number(new URL(location.href).searchParams.get("bench") ?? 0);
if (benchRuns > 0) {
  setStatus("Benchmark: one Web Worker…", true);
  void benchmarkOneWorker(FLAGSHIP, MODELS[FLAGSHIP]!, benchRuns).then((rate) => {
    document.body.dataset.bench = String(rate);
    setStatus(`Benchmark: ${Math.round(rate).toLocaleString("en")} runs/s on one Web Worker.`, false);
  });
} else void run();
