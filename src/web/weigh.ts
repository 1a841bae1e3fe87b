import { type DataText, parseObservations } from "../analysis/calibrate/observations.js";
import type { SignpostOptions, SignpostResult } from "../analysis/signposts.js";
import type { WeighResult, WeighScenario } from "../analysis/weigh.js";
import { prepareModel } from "../engine/prepare.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import type { LoadedModel } from "../model/load.js";
import { count, pct } from "./format.js";
import { html, type SafeHtml, scrollBox } from "./html.js";

/**
 * The weigh tab: `brink weigh`'s job in the page — the posterior weights of rival scenarios (theses) given the
 * model's `observations`, and how they moved as the data came in — and `brink signposts`' (what to watch). The page has no file system, so an
 * observation's data file is looked up among the data files bundled with the models (`data`, keyed by path
 * under models/), relative to the model file as in the CLI. Pure: no DOM, so Node tests drive it.
 */

/** The sampler's settings in the page (the CLI's defaults but the iterations, which the tab sets). */
export const WEIGH_DEFAULTS = { chains: 4, burnIn: 500, particles: 200, evidenceDraws: 1000 } as const;

/** `dir/../x/./y` → `x/y`: a data file's path relative to its model file, as a key of the bundled files. */
export function resolveDataPath(modelFile: string, path: string): string {
  const parts = [...modelFile.split("/").slice(0, -1), ...path.split("/")];
  const out: string[] = [];
  for (const p of parts) {
    if (p === "" || p === ".") continue;
    if (p === "..") out.pop();
    else out.push(p);
  }
  return out.join("/");
}

/** Every observation series of a loaded model, its files read from `data` (a missing one at its `file` key). */
export function observationsOf(
  file: string,
  loaded: LoadedModel,
  data: Readonly<Record<string, string>>,
): ReturnType<typeof parseObservations> {
  return parseObservations(loaded, (name, path): DataText => {
    const key = resolveDataPath(file, path);
    const text = Object.hasOwn(data, key) ? data[key] : undefined;
    if (text === undefined)
      throw new DiagnosticError([
        loaded.source.at(
          ["observations", name, "file"],
          `observation '${name}': cannot read '${path}' (the app has the data files of its bundled models only; use \`brink weigh\` for others)`,
        ),
      ]);
    return { file: key, text };
  });
}

/** The scenarios to weigh, each prepared with its observations, as the CLI prepares them. */
export function weighScenarios(
  file: string,
  text: string,
  names: readonly string[],
  data: Readonly<Record<string, string>>,
): WeighScenario[] {
  if (names.length < 2) throw new Error("choose at least two scenarios to weigh");
  return names.map((name) => {
    const model = prepareModel(file, text, name === "base" ? {} : { scenario: name });
    return { name, model, series: observationsOf(file, model.loaded, data) };
  });
}

/** The scenarios ticked at first: the model's own when it has two or more (its rival theses), else base and its one. */
export function defaultChoice(loaded: LoadedModel): string[] {
  // A scenario that changes the model's time (a history check) cannot be set against the others date by date.
  const scenarios = (loaded.spec as { scenarios?: Record<string, { time?: unknown } | undefined> }).scenarios;
  const same = loaded.scenarios.filter((s) => scenarios?.[s]?.time === undefined);
  return same.length >= 2 ? same : ["base", ...same];
}

/** The weights' time series at each observation when there are few, else the last of each month (dated models). */
export function defaultEvery(loaded: LoadedModel, observations: number): "month" | "observation" {
  return loaded.time.origin !== undefined && observations > 36 ? "month" : "observation";
}

const docOf = (loaded: LoadedModel, name: string): string | undefined => {
  const scenarios = (loaded.spec as { scenarios?: Record<string, { doc?: unknown } | undefined> }).scenarios;
  const doc = name === "base" ? "the model as written" : scenarios?.[name]?.doc;
  return typeof doc === "string" ? doc : undefined;
};

/**
 * The tab's choices for a model: a checkbox per scenario (with its doc) when it has a scenario to set against the
 * base, and a note when it has no observations (signposts need none; weights do) — or says why there is nothing.
 */
export function weighChoices(loaded: LoadedModel | undefined): SafeHtml {
  if (!loaded) return html`<p class="note">The model does not load: see the problems under the editor.</p>`;
  const observations = Object.keys(loaded.spec.observations ?? {});
  const none = observations.length
    ? html``
    : html`<p class="note" id="weigh-none">This model has no observations, so there is nothing to weigh its scenarios against (signposts need none). Open a model with observations and rival scenarios, such as <code>examples/flu-rival-theses.yaml</code>, to weigh.</p>`;
  if (loaded.scenarios.length === 0)
    return html`${none}<p class="note">This model has no scenarios: weighing and signposts need at least two rival scenarios (the base counts as one).</p>`;
  const chosen = new Set(defaultChoice(loaded));
  const boxes = ["base", ...loaded.scenarios].map((name) => {
    const doc = docOf(loaded, name);
    return html`<label class="weigh-choice"><input type="checkbox" value="${name}"${chosen.has(name) ? html` checked` : html``} /> <strong>${name}</strong>${doc ? html` — <span class="doc">${doc}</span>` : html``}</label>`;
  });
  const against = observations.length ? ` against the observations (${observations.join(", ")})` : "";
  return html`${none}<fieldset id="weigh-scenarios"><legend>Scenarios to weigh${against}</legend>${boxes}</fieldset>`;
}

/**
 * The signposts' window as `brink signposts` sets it by default: from the last observation (the model's start when
 * it has none) to the model's end, changes over one save interval, "stays so" over three periods, top 10.
 */
export function signpostOptions(
  scenarios: readonly WeighScenario[],
  settings: { runs: number; seed: number },
): SignpostOptions {
  const first = scenarios[0]!.model;
  const { time } = first.loaded;
  const observed = scenarios[0]!.series.flatMap((s) => s.points.map((p) => p.step));
  const every = first.program.time.saveEvery;
  const length = Number((every * time.dt).toPrecision(6));
  return {
    runs: settings.runs,
    seed: settings.seed,
    fromStep: observed.length ? Math.max(...observed) : 0,
    toStep: first.program.time.steps,
    periodSteps: every,
    periodLabel: `${length} ${time.unit ? `${time.unit}${length === 1 ? "" : "s"}` : "time units"}`,
    persistence: 3,
    top: 10,
  };
}

/** The signposts, best first, and the thresholds of the first few. */
export function signpostsTables(r: SignpostResult, thresholdsOf = 5): SafeHtml {
  const rows = r.signposts.map(
    (s, i) =>
      html`<tr><td class="num">${i + 1}</td><th scope="row">${s.observable}</th><td>${s.date ?? String(s.t)}</td><td class="num">${s.information_bits.toPrecision(3)}</td><td>${s.predictive.map((p) => Number(p.mean.toPrecision(3))).join(" / ")}</td></tr>`,
  );
  const thresholds = r.signposts
    .slice(0, thresholdsOf)
    .flatMap((s) => s.thresholds.filter((t) => t.periods === 1).map((t) => html`<li>${t.text}</li>`));
  return html`${scrollBox(
    "Signposts (scrolls sideways)",
    html`<table id="signposts-table"><caption>What would tell ${r.scenarios.join(", ")} apart, ${r.from.date ?? r.from.t} to ${r.to.date ?? r.to.t}: ${count(r.runs)} runs per scenario on common random numbers, seed ${r.seed}</caption><thead><tr><th scope="col">rank</th><th scope="col">observable</th><th scope="col">at</th><th scope="col">info (bits)</th><th scope="col">mean (${r.scenarios.join(" / ")})</th></tr></thead><tbody>${rows}</tbody></table>`,
  )}<p class="note">Information: how much observing it then would tell which scenario holds (at most ${Math.log2(r.scenarios.length).toPrecision(2)} bits here), from the scenarios' runs from their priors. Odds: P(event | scenario) / P(event | the others).</p><ul id="signposts-thresholds">${thresholds}</ul>`;
}

/** Today's weights (all the data used) and the weights as the data came in, as tables. */
export function weighTables(r: WeighResult): SafeHtml {
  const rows = r.weights.map((w, i) => {
    const e = r.evidence[i]!;
    return html`<tr><th scope="row">${w.scenario}</th><td class="num">${pct(r.prior_weights[i]!)}</td><td class="num">${e.log_marginal_likelihood.toFixed(2)}</td><td class="num">${e.se.toPrecision(2)}</td><td class="num">${count(Math.round(e.ess))}</td><td class="num"><strong>${pct(w.weight)}</strong></td><td class="num">${pct(w.lo)} – ${pct(w.hi)}</td></tr>`;
  });
  const warnings = r.warnings.map((w) => html`<li>${w}</li>`);
  const last = r.series[r.series.length - 1];
  const through = last ? ` (data up to ${last.date ?? last.t})` : "";
  const head = html`<tr><th scope="col">data up to</th><th scope="col">observations</th>${r.scenarios.map((s) => html`<th scope="col">${s}</th>`)}</tr>`;
  const series = r.series.map(
    (p) =>
      html`<tr><th scope="row">${p.date ?? String(p.t)}</th><td class="num">${p.observations}</td>${p.weights.map((w) => html`<td class="num">${pct(w.weight)} <small>[${pct(w.lo)}, ${pct(w.hi)}]</small></td>`)}</tr>`,
  );
  return html`${scrollBox(
    "Posterior weights (scrolls sideways)",
    html`<table id="weigh-table"><caption>Posterior weights given ${r.observations} observations${through}: PMMH ${r.sampler.chains} chains × ${count(r.sampler.iterations)} after ${count(r.sampler.burn_in)} burn-in, ${count(r.sampler.evidence_draws)} evidence draws, seed ${r.seed}</caption><thead><tr><th scope="col">scenario</th><th scope="col">prior</th><th scope="col">log ML</th><th scope="col">± se</th><th scope="col">ESS</th><th scope="col">weight</th><th scope="col">95% interval</th></tr></thead><tbody>${rows}</tbody></table>`,
  )}<p class="note">Weight = prior weight × marginal likelihood, normalised over the scenarios. The interval carries the estimates' Monte Carlo error only (${r.interval.method}), not the choice of the scenarios or their priors.</p>${warnings.length ? html`<ul class="warnings" id="weigh-warnings">${warnings}</ul>` : html``}${scrollBox(
    "Weights as the data came in (scrolls sideways)",
    html`<table id="weigh-series"><caption>Weights as the data came in (${r.every === "month" ? "the last observation of each month" : "at each observation"}; 95% interval)</caption><thead>${head}</thead><tbody>${series}</tbody></table>`,
  )}`;
}
