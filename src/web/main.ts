import "./jitless.js";
import { autocompletion } from "@codemirror/autocomplete";
import { yaml as yamlLanguage } from "@codemirror/lang-yaml";
import { type Diagnostic as CmDiagnostic, linter } from "@codemirror/lint";
import { EditorView } from "@codemirror/view";
import { basicSetup } from "codemirror";
import type { Progress } from "../analysis/simulate.js";
import { type Diagnostic, DiagnosticError, formatDiagnostic, severityOf } from "../lang/diagnostic.js";
import { fanChart, incidenceChart, scenarioChart, tornadoChart } from "../report/charts.js";
import { renderSvg } from "../report/render.js";
import { informative } from "../report/sections.js";
import { informationChart, weightsChart } from "../report/weigh.js";
import { compareTable, runComparison } from "./compare.js";
import { completeModel } from "./completion.js";
import { $, download, setHtml, setOptions } from "./dom.js";
import { outcomesCsv, reportHtml, runJson } from "./downloads.js";
import {
  benchmarkOneWorker,
  pool,
  sensitivityInBrowser,
  signpostsInBrowser,
  simulateInBrowser,
  weighInBrowser,
} from "./engine.js";
import { count } from "./format.js";
import { html, trustedSvg } from "./html.js";
import { brinkText, diagnosticsOf, modelNames, tryLoad } from "./model.js";
import { controlValue, paramsPanel, pinValue, restoreDist } from "./panels/params.js";
import { claimsPanel, outcomesPanel } from "./panels/results.js";
import { Runs } from "./run.js";
import { readShareLink, shareLink } from "./share.js";
import { newState, openFile, recordRun, runSettings } from "./state.js";
import { startWarRoom } from "./warroom-ui.js";
import {
  defaultEvery,
  signpostOptions,
  signpostsTables,
  WEIGH_DEFAULTS,
  weighChoices,
  weighScenarios,
  weighTables,
} from "./weigh.js";

/**
 * The page: wires the editor, the controls and the panels to the state (state.ts), the panels' markup
 * (panels/*, compare.ts), run orchestration (run.ts), share links (share.ts) and downloads (downloads.ts).
 * Every markup write goes through setHtml with SafeHtml (html.ts), so no name reaches the DOM as markup.
 */

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
/**
 * The bundled models' observation data files, by path under models/ (what `brink weigh` reads beside a model).
 * The flagship's front data are derived from ../shared/data into an ignored folder, so they are left out: a build
 * is then the same whether or not that folder exists.
 */
const DATA = Object.fromEntries(
  Object.entries(
    import.meta.glob(["../../models/**/*.csv", "!../../models/flagship/data/**"], {
      query: "?raw",
      import: "default",
      eager: true,
    }) as Record<string, string>,
  ).map(([path, text]) => [path.replace(/^.*\/models\//, "models/"), text]),
);

const state = newState(FLAGSHIP);
const runs = new Runs(simulateInBrowser);

// --- the model text: the one source of truth (sliders edit it; share links carry it) -------------------------

function showDiagnostics(list: Diagnostic[]): void {
  setHtml($("diagnostics"), html`${list.map((d) => html`<li>${formatDiagnostic(d)}</li>`)}`);
}

const lint = linter(
  (view) => {
    const list = diagnosticsOf(state.file, view.state.doc.toString());
    showDiagnostics(list);
    const doc = view.state.doc;
    const offset = (p: { line: number; col: number }) => {
      const line = doc.line(Math.min(Math.max(1, p.line), doc.lines));
      return Math.min(line.to, line.from + Math.max(0, p.col - 1));
    };
    return list.map((d): CmDiagnostic => {
      const from = offset(d);
      // The diagnostic's range when it has one (a name, a call); else one character.
      const to = d.end ? offset(d.end) : from + 1;
      return {
        from,
        to: Math.min(doc.length, Math.max(from + 1, to)),
        severity: severityOf(d),
        message: d.message,
      };
    });
  },
  { delay: 300 },
);

let rerunTimer: ReturnType<typeof setTimeout> | undefined;
const editor = new EditorView({
  parent: $("editor"),
  extensions: [
    basicSetup,
    yamlLanguage(),
    lint,
    autocompletion({ override: [(context) => completeModel(context, () => modelNames(state.loaded))] }),
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
const input = () => ({ file: state.file, text: brinkText(state.file, text()) });
/** Replace the editor's text with `next`, as one change over only the characters that differ (the view keeps its place). */
function setText(next: string, whole = false): void {
  const now = text();
  if (whole) {
    editor.dispatch({ changes: { from: 0, to: now.length, insert: next } });
    return;
  }
  let from = 0;
  while (from < now.length && from < next.length && now[from] === next[from]) from++;
  let tail = 0;
  while (
    tail < now.length - from &&
    tail < next.length - from &&
    now[now.length - 1 - tail] === next[next.length - 1 - tail]
  )
    tail++;
  if (from === now.length && from === next.length) return;
  editor.dispatch({ changes: { from, to: now.length - tail, insert: next.slice(from, next.length - tail) } });
}

/** Re-read the model (scenario list, parameter panel); false when it does not load. */
function refreshModel(): boolean {
  const loaded = tryLoad(state.file, text());
  if (!loaded) {
    // The weigh tab reads the text as it is now, so it says the model does not load (the panels keep the last).
    setHtml($("weigh-choices"), weighChoices(undefined));
    return false;
  }
  state.loaded = loaded;
  const select = $<HTMLSelectElement>("scenario");
  const current = select.value;
  setOptions(
    select,
    ["base", ...loaded.scenarios].map((value) => ({ value })),
  );
  if ([...select.options].some((o) => o.value === current)) select.value = current;
  setHtml($("params"), paramsPanel(loaded.spec, state.pinned));
  setHtml($("weigh-choices"), weighChoices(loaded));
  return true;
}

// --- parameter panel -----------------------------------------------------------------------------------------

$("params").addEventListener("click", (e) => {
  const name = (e.target as HTMLElement).dataset.restore;
  const pin = name ? state.pinned.get(name) : undefined;
  if (!name || pin === undefined) return;
  state.pinned.delete(name);
  setText(restoreDist(text(), name, pin.original));
});

$("params").addEventListener("input", (e) => {
  const control = e.target as HTMLInputElement;
  const { section, name } = control.dataset;
  if ((section !== "params" && section !== "decisions") || !name) return;
  const checkbox = control.type === "checkbox";
  const value = controlValue(checkbox, control.checked, control.value);
  const out = control.nextElementSibling as HTMLElement | null;
  if (out) out.textContent = checkbox ? (value ? "on" : "off") : String(value);
  // The slider edits the model text, so what runs, what is shared and what the editor shows stay one thing.
  // Moving an uncertain param's slider pins it to that value; its distribution is kept for ↺.
  const dist = section === "params" ? state.loaded?.spec.params?.[name]?.dist : undefined;
  const edit = pinValue(text(), section, name, value, dist !== undefined);
  if (dist !== undefined && edit.original !== undefined)
    state.pinned.set(name, { dist: String(dist), original: edit.original });
  setText(edit.text);
});

// --- running ------------------------------------------------------------------------------------------------

const settings = () => runSettings($<HTMLInputElement>("runs").value, $<HTMLInputElement>("seed").value);
const scenarioOf = () => {
  const s = $<HTMLSelectElement>("scenario").value;
  return s && s !== "base" ? s : undefined;
};

function setStatus(message: string, busy: boolean): void {
  $("status").textContent = message;
  $<HTMLButtonElement>("run").disabled = busy;
  $<HTMLButtonElement>("cancel").disabled = !busy;
}

function showProgress(done: number, total: number): void {
  const bar = $<HTMLProgressElement>("progress");
  bar.max = total;
  bar.value = done;
}

const onProgress = (p: Progress) => {
  showProgress(p.done, p.total);
  $("status").textContent =
    `${count(p.done)} / ${count(p.total)} runs · ${count(Math.round(p.runsPerSecond))} runs/s`;
};

const errorText = (e: unknown) =>
  e instanceof DiagnosticError ? e.diagnostics.map(formatDiagnostic).join("\n") : String(e);

async function run(): Promise<void> {
  setStatus("Running…", true);
  const started = performance.now();
  try {
    const result = await runs.start(input(), { ...settings(), scenario: scenarioOf() }, onProgress);
    if (!result) return;
    recordRun(state, result.report);
    await renderResults();
    const seconds = (performance.now() - started) / 1000;
    setStatus(
      `${count(result.report.runs)} runs in ${seconds.toFixed(1)} s on ${pool.size} workers${result.report.partial ? " (stopped early: partial)" : ""}.`,
      false,
    );
    // Runs completed in this page: what tests and scripts wait on.
    document.body.dataset.completed = String(Number(document.body.dataset.completed ?? 0) + 1);
  } catch (e) {
    setStatus(errorText(e), false);
  }
}

$("run").addEventListener("click", () => void run());
$("cancel").addEventListener("click", () => {
  runs.cancel();
  cancelWeigh();
  setStatus("Cancelled.", false);
});
$("scenario").addEventListener("change", () => void run());

// --- results ------------------------------------------------------------------------------------------------

async function renderResults(): Promise<void> {
  const r = state.report;
  if (!r) return;
  setHtml($("outcomes"), outcomesPanel(r, state.previous));
  setHtml($("claims"), claimsPanel(r));
  const fan = $<HTMLSelectElement>("fan-variable");
  const variables = Object.keys(r.tracked);
  const chosen = variables.includes(fan.value) ? fan.value : variables[0];
  setOptions(
    fan,
    variables.map((value) => ({ value })),
  );
  if (chosen) fan.value = chosen;
  setHtml(
    $("chart-incidence"),
    Object.keys(r.outcomes).length ? trustedSvg(await renderSvg(incidenceChart(r))) : html``,
  );
  setHtml($("chart-fan"), chosen ? trustedSvg(await renderSvg(fanChart(r, chosen))) : html``);
}

$("fan-variable").addEventListener("change", async () => {
  const r = state.report;
  const v = $<HTMLSelectElement>("fan-variable").value;
  if (r && v) setHtml($("chart-fan"), trustedSvg(await renderSvg(fanChart(r, v))));
});

// --- comparison and sensitivity ------------------------------------------------------------------------------

$("compare-run").addEventListener("click", async () => {
  const model = state.loaded;
  if (!model) return;
  const { runs: n, seed } = settings();
  setStatus("Comparing scenarios…", true);
  try {
    const comparison = await runComparison(input(), model.scenarios, { runs: n, seed }, simulateInBrowser);
    state.compare = comparison;
    setHtml($("compare-table"), compareTable(comparison));
    setHtml($("chart-compare"), trustedSvg(await renderSvg(scenarioChart(comparison.reports))));
    setStatus(
      `Compared ${comparison.scenarios.length} scenarios over the same ${count(n)} run indices, differences paired.`,
      false,
    );
  } catch (e) {
    setStatus(errorText(e), false);
  }
});

async function renderTornado(): Promise<void> {
  const s = state.sensitivity;
  if (!s) return;
  const target = $<HTMLSelectElement>("sens-target").value;
  const t = s.targets.find((x) => x.target === target) ?? s.targets[0];
  if (!t?.sobol) return;
  const chart = trustedSvg(await renderSvg(tornadoChart(t.target, t.sobol)));
  // A result too rare (or too flat) to apportion: say so rather than let empty bars look like an answer.
  const note = informative(t.sobol)
    ? ""
    : html`<p class="note">No param's total effect is distinguishable from zero for ${t.target} at ${count(state.sensitivitySamples ?? 0)} design rows: the result is too rare in these runs or does not vary, so these bars are noise. More design rows may tell.</p>`;
  setHtml($("chart-tornado"), html`${note}${chart}`);
}

$("sens-run").addEventListener("click", async () => {
  const samples = Math.min(4096, Math.max(16, Number($<HTMLInputElement>("sens-samples").value) || 64));
  setStatus("Sensitivity analysis…", true);
  try {
    state.sensitivitySamples = samples;
    state.sensitivity = await sensitivityInBrowser(
      input(),
      { scenario: scenarioOf() ?? null, samples, seed: settings().seed },
      showProgress,
    );
    setOptions(
      $<HTMLSelectElement>("sens-target"),
      state.sensitivity.targets.map((t) => ({ value: t.target })),
    );
    await renderTornado();
    setStatus(`Sensitivity: ${count(state.sensitivity.evaluations)} evaluations.`, false);
  } catch (e) {
    setStatus(errorText(e), false);
  }
});
$("sens-target").addEventListener("change", () => void renderTornado());

// --- weighing the theses ---------------------------------------------------------------------------------------

/** The tab's job in flight (a weighing or a signposts search): one at a time, cancelled by either Cancel. */
let weighJob: { cancel(): void } | undefined;
function weighBusy(busy: boolean): void {
  $<HTMLButtonElement>("weigh-run").disabled = busy;
  $<HTMLButtonElement>("signposts-run").disabled = busy;
  $<HTMLButtonElement>("weigh-cancel").disabled = !busy;
}
function cancelWeigh(): void {
  if (!weighJob) return;
  weighJob.cancel();
  weighJob = undefined;
  weighBusy(false);
}
const checkedScenarios = () =>
  [...document.querySelectorAll<HTMLInputElement>('#weigh-scenarios input[type="checkbox"]:checked')].map(
    (box) => box.value,
  );

$("weigh-run").addEventListener("click", async () => {
  const names = checkedScenarios();
  const { file, text: modelText } = input();
  const iterations = Math.min(
    100_000,
    Math.max(100, Number($<HTMLInputElement>("weigh-iterations").value) || 1000),
  );
  cancelWeigh();
  setHtml($("chart-weigh"), html``);
  setHtml($("weigh-result"), html``);
  let job: ReturnType<typeof weighInBrowser>;
  try {
    const scenarios = weighScenarios(file, modelText, names, DATA);
    const chosen = $<HTMLSelectElement>("weigh-every").value;
    const steps = new Set(scenarios[0]!.series.flatMap((s) => s.points.map((p) => p.step))).size;
    const every =
      chosen === "month" || chosen === "observation"
        ? chosen
        : defaultEvery(scenarios[0]!.model.loaded, steps);
    if (every === "month" && scenarios[0]!.model.loaded.time.origin === undefined)
      throw new Error("weights each month need a dated model (time.start a date)");
    job = weighInBrowser(
      file,
      modelText,
      scenarios,
      { ...WEIGH_DEFAULTS, iterations, seed: settings().seed, every },
      (done, total) => {
        if (weighJob !== job) return;
        showProgress(done, total);
        $("status").textContent =
          `Weighing ${names.length} scenarios: ${count(done)} / ${count(total)} sampler iterations`;
      },
    );
  } catch (e) {
    setStatus(errorText(e), false);
    return;
  }
  weighJob = job;
  setStatus(`Weighing ${names.length} scenarios…`, true);
  showProgress(0, 1);
  weighBusy(true);
  const started = performance.now();
  try {
    const result = await job.result;
    if (weighJob !== job) return;
    weighJob = undefined;
    setHtml($("weigh-result"), weighTables(result));
    if (result.series.length) setHtml($("chart-weigh"), trustedSvg(await renderSvg(weightsChart(result))));
    setStatus(
      `Weighed ${result.scenarios.length} scenarios against ${count(result.observations)} observations in ${((performance.now() - started) / 1000).toFixed(1)} s.`,
      false,
    );
    document.body.dataset.weighed = String(Number(document.body.dataset.weighed ?? 0) + 1);
  } catch (e) {
    if (weighJob !== job) return; // cancelled: the status already says so
    weighJob = undefined;
    setStatus(errorText(e), false);
  } finally {
    if (!weighJob) weighBusy(false);
  }
});

$("signposts-run").addEventListener("click", async () => {
  const names = checkedScenarios();
  const { file, text: modelText } = input();
  cancelWeigh();
  setHtml($("chart-signposts"), html``);
  setHtml($("signposts-result"), html``);
  let job: ReturnType<typeof signpostsInBrowser>;
  try {
    const scenarios = weighScenarios(file, modelText, names, DATA);
    job = signpostsInBrowser(
      file,
      modelText,
      scenarios,
      signpostOptions(scenarios, settings()),
      (done, total) => {
        if (weighJob !== job) return;
        showProgress(done, total);
        $("status").textContent = `Signposts: ${count(done)} / ${count(total)} chunks of runs`;
      },
    );
  } catch (e) {
    setStatus(errorText(e), false);
    return;
  }
  weighJob = job;
  setStatus(`Signposts between ${names.length} scenarios…`, true);
  showProgress(0, 1);
  weighBusy(true);
  try {
    const result = await job.result;
    if (weighJob !== job) return;
    weighJob = undefined;
    setHtml($("signposts-result"), signpostsTables(result));
    if (result.curves.length)
      setHtml($("chart-signposts"), trustedSvg(await renderSvg(informationChart(result))));
    setStatus(`Signposts: ${count(result.observables)} observables weighed.`, false);
    document.body.dataset.signposts = String(Number(document.body.dataset.signposts ?? 0) + 1);
  } catch (e) {
    if (weighJob !== job) return;
    weighJob = undefined;
    setStatus(errorText(e), false);
  } finally {
    if (!weighJob) weighBusy(false);
  }
});
$("weigh-cancel").addEventListener("click", () => {
  cancelWeigh();
  setStatus("Cancelled.", false);
});

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
      ...input(),
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
setOptions(
  modelSelect,
  Object.keys(MODELS)
    .sort((a, b) => (a === FLAGSHIP ? -1 : b === FLAGSHIP ? 1 : a.localeCompare(b)))
    .map((value) => ({ value, label: value.replace(/^models\//, "") })),
);

function open(file: string, content: string): void {
  openFile(state, file, content);
  setText(content, true);
}

modelSelect.addEventListener("change", () => open(modelSelect.value, MODELS[modelSelect.value]!));

async function openDropped(f: File): Promise<void> {
  open(f.name, await f.text());
}
$<HTMLInputElement>("file-input").addEventListener("change", (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) void openDropped(f);
});
$("editor").addEventListener("dragover", (e) => e.preventDefault());
$("editor").addEventListener("drop", (e) => {
  e.preventDefault();
  const f = e.dataTransfer?.files[0];
  if (f) void openDropped(f);
});

$("share").addEventListener("click", async () => {
  const url = shareLink(location.href, {
    file: state.file,
    text: text(),
    ...settings(),
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

$("download-json").addEventListener("click", () => {
  if (state.report) download("brink-run.json", "application/json", runJson(state.report));
});
$("download-csv").addEventListener("click", () => {
  if (state.report) download("brink-outcomes.csv", "text/csv", outcomesCsv(state.report));
});
$("download-html").addEventListener("click", async () => {
  if (state.report) download("brink-report.html", "text/html", await reportHtml(state, state.report, text()));
});

// --- start: a shared link, or the flagship --------------------------------------------------------------------

const shared = readShareLink(location.href);
if (shared) {
  state.file = shared.file;
  state.openedText = shared.text;
  $<HTMLInputElement>("runs").value = String(shared.runs);
  $<HTMLInputElement>("seed").value = String(shared.seed);
  if (MODELS[shared.file]) modelSelect.value = shared.file;
  setText(shared.text);
  refreshModel();
  $<HTMLSelectElement>("scenario").value = shared.scenario || "base";
} else {
  state.openedText = MODELS[FLAGSHIP] ?? "";
  setText(state.openedText);
  refreshModel();
}
clearTimeout(rerunTimer);
const benchRuns = Number(new URL(location.href).searchParams.get("bench") ?? 0);
if (benchRuns > 0) {
  setStatus("Benchmark: one Web Worker…", true);
  void benchmarkOneWorker(FLAGSHIP, MODELS[FLAGSHIP]!, benchRuns).then((rate) => {
    document.body.dataset.bench = String(rate);
    setStatus(`Benchmark: ${count(Math.round(rate))} runs/s on one Web Worker.`, false);
  });
} else void run();
