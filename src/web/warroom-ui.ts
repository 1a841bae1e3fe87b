import { crossEntropyMaximize, type DecisionVariable } from "../analysis/optimize.js";
import type { RunReport } from "../analysis/results.js";
import type { LogEntry, TurnForecast, TurnState, WarRoomConfig } from "../analysis/warroom.js";
import { loadModel } from "../model/load.js";
import type { ModelSpec } from "../model/schema.js";
import { meanPathsChart } from "../report/charts.js";
import { renderSvg } from "../report/render.js";
import { setHtml } from "./dom.js";
import { pool, simulateInBrowser } from "./engine.js";
import { count, pct, spaced } from "./format.js";
import { html, type SafeHtml, scrollBox, trustedSvg } from "./html.js";

/**
 * The war room page: the player sets the levers each month along one sampled history, sees the model's estimate
 * from the current state (Monte Carlo continuations run in a Web Worker), advances, and gets a debrief that
 * sets the choices against the model's own rules and, where the role names decisions to optimise, the best
 * decisions the optimiser finds at the player's level of risk.
 */
const FORECAST_RUNS = 400;

interface Game {
  config: WarRoomConfig;
  state: TurnState;
  turns: number;
  log: LogEntry[];
  forecast?: TurnForecast;
  over: boolean;
  playedText?: string;
  seed: number;
  history: number;
}

let started = false;
/** Shows the war room of the model `model()` returns; a game in progress stays until a new one starts. */
let showIntro: (() => void) | undefined;

export function startWarRoom(
  root: HTMLElement,
  model: () => { file: string; text: string; spec?: ModelSpec },
): void {
  if (started) {
    showIntro?.();
    return;
  }
  started = true;
  let inGame = false;
  showIntro = () => {
    if (inGame) return;
    const room = model().spec?.warroom;
    if (!room) {
      setHtml(
        root,
        html`<p role="note">This model declares no war room. A <code>warroom</code> section names the roles a player can take and the levers each sets (see docs/model-format.md); the flagship has one.</p>`,
      );
      return;
    }
    const roles = Object.entries(room.roles).map(
      ([id, r]) => html`<option value="${id}">${r.label}</option>`,
    );
    const docs = Object.values(room.roles).map(
      (r) => html`<li><strong>${r.label}</strong>${r.doc ? `: ${r.doc}` : ""}</li>`,
    );
    setHtml(
      root,
      html`<p>${room.doc ?? "Play one actor month by month."}</p>
<p>You play month by month along <em>one</em> sampled history. Each month you set your levers; the model estimates the risk over the coming month and the end states from where you stand
(Monte Carlo continuations that share this history's past and this world's parameters, assuming you keep this month's choices). Then you advance one month.</p>
<ul>${docs}</ul>
<div class="runbar"><label>Play as <select id="wr-role">${roles}</select></label>
<label>History <input id="wr-history" type="number" min="0" value="7"/></label>
<label>Seed <input id="wr-seed" type="number" min="0" value="1"/></label>
<label>Months <input id="wr-months" type="number" min="1" max="60" value="${room.turns ?? 24}"/></label>
<button id="wr-start" type="button" class="primary">Start the game</button></div>
<div id="wr-game"></div>`,
    );
  };
  showIntro();
  const worker = pool.worker("warroom");
  const $ = (id: string) => root.querySelector<HTMLElement>(`#${CSS.escape(id)}`)!;
  let game: Game | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const choice = (): Record<string, number> =>
    Object.fromEntries(
      [...root.querySelectorAll<HTMLInputElement>("input[data-lever]")].map((i) => [
        i.dataset.lever!,
        Number(i.value),
      ]),
    );

  const renderLog = (log: LogEntry[]): SafeHtml | string =>
    log.length
      ? scrollBox(
          "Your decisions (scrolls sideways)",
          html`<table id="wr-log"><caption>Your decisions</caption><thead><tr><th scope="col">month</th>${game!.config.levers.map((l) => html`<th scope="col">${l.label}</th>`)}<th scope="col">risk of ${spaced(game!.config.riskOutcome)} that month (model)</th></tr></thead><tbody>${log.map(
            (e) =>
              html`<tr><td>${e.date}</td>${game!.config.levers.map((l) => html`<td class="num">${e.choice[l.id] ?? l.value}</td>`)}<td class="num">${e.risk ? `${pct(e.risk.p)} [${pct(e.risk.lo)}, ${pct(e.risk.hi)}]` : "–"}</td></tr>`,
          )}</tbody></table>`,
        )
      : "";

  const render = () => {
    if (!game) return;
    const g = game;
    const values = Object.entries(g.state.values).map(
      ([k, v]) =>
        html`<tr><th scope="row">${k}</th><td class="num">${count(Number(v.toPrecision(4)))}</td></tr>`,
    );
    const levers = g.config.levers.map((l) => {
      const last = g.log[g.log.length - 1]?.choice[l.id];
      const value = l.kind === "add-to-stock" ? l.value : (last ?? l.value);
      return html`<label for="wr-${l.id}">${l.label} <small>(${l.unit})</small></label><input id="wr-${l.id}" data-lever="${l.id}" type="range" min="${l.min}" max="${l.max}" step="${l.step}" value="${value}"/><output id="wr-${l.id}-out">${value}</output>`;
    });
    const ended = g.state.ended
      ? html`<p class="risk" id="wr-ended">The war ended: ${spaced(g.state.ended.outcome)} on ${g.state.ended.date}.</p>`
      : "";
    setHtml(
      $("wr-game"),
      html`<h2 id="wr-turn">${g.over ? "Game over" : `Month ${g.state.turn + 1} of ${g.turns}`} — ${g.state.date}</h2>${ended}
<table id="wr-state"><caption>Where this history stands</caption><tbody>${values}</tbody></table>
${
  g.over
    ? ""
    : html`<div class="levers">${levers}</div><div id="wr-forecast" aria-live="polite"><p>Estimating…</p></div>
<button id="wr-advance" type="button" class="primary">Advance one month</button>`
}
${renderLog(g.log)}<div id="wr-debrief"></div>`,
    );
    if (g.over) void debrief();
    else void forecast();
  };

  const forecast = async () => {
    if (!game || game.over) return;
    const f = await worker.request<TurnForecast>({
      kind: "warroom-forecast",
      choice: choice(),
      runs: FORECAST_RUNS,
    });
    game.forecast = f;
    const rows = f.outcomes.map(
      (o) =>
        html`<tr><th scope="row">${spaced(o.name)}</th><td class="num">${pct(o.p)}</td><td class="num">${pct(o.lo)} – ${pct(o.hi)}</td></tr>`,
    );
    const box = root.querySelector("#wr-forecast");
    if (box)
      setHtml(
        box,
        html`<p class="risk" id="wr-risk">Risk of ${spaced(game.config.riskOutcome)} this month: ${pct(f.risk.p)} <small>[${pct(f.risk.lo)}, ${pct(f.risk.hi)}]</small></p>
<table id="wr-outcomes"><caption>End states from here (${f.runs} continuations)</caption><tbody>${rows}</tbody></table>`,
      );
  };

  root.addEventListener("input", (e) => {
    const input = e.target as HTMLInputElement;
    if (!input.dataset.lever) return;
    const out = root.querySelector(`#${CSS.escape(`wr-${input.dataset.lever}-out`)}`);
    if (out) out.textContent = input.value;
    clearTimeout(timer);
    timer = setTimeout(() => void forecast(), 250);
  });

  root.addEventListener("click", async (e) => {
    const target = e.target as HTMLElement;
    if (target.id === "wr-start") {
      const { file, text } = model();
      const seed = Number(($("wr-seed") as HTMLInputElement).value) || 0;
      const history = Number(($("wr-history") as HTMLInputElement).value) || 0;
      const turns = Math.min(60, Math.max(1, Number(($("wr-months") as HTMLInputElement).value) || 24));
      const role = ($("wr-role") as HTMLSelectElement).value;
      try {
        const start = await worker.request<{ state: TurnState; times: number; config: WarRoomConfig }>({
          kind: "warroom-start",
          file,
          text,
          role,
          seed,
          history,
          turns,
        });
        inGame = true;
        game = {
          config: start.config,
          state: start.state,
          turns: start.times,
          log: [],
          over: false,
          seed,
          history,
        };
        render();
      } catch (error) {
        setHtml(
          $("wr-game"),
          html`<p role="alert">The war room cannot play this model: ${String(error)}</p>`,
        );
      }
    }
    if (target.id === "wr-advance" && game) {
      (target as HTMLButtonElement).disabled = true;
      const next = await worker.request<{ state: TurnState; over: boolean; log: LogEntry[]; text: string }>({
        kind: "warroom-advance",
        choice: choice(),
        risk: game.forecast?.risk ?? null,
      });
      game.state = next.state;
      game.over = next.over;
      game.log = next.log;
      game.playedText = next.text;
      game.forecast = undefined;
      render();
    }
  });

  /** How the choices compare, from the start date over the same runs, with the model's rules and the optimum. */
  const debrief = async () => {
    const g = game!;
    const box = root.querySelector<HTMLElement>("#wr-debrief")!;
    const { file, text } = model();
    const end = g.state.date;
    const objective = g.config.optimise?.objective ?? g.config.watch[0]!;
    const checks = [
      { id: "troops", check: `E(${objective} at ${end}) > -1e300` },
      { id: "risk", check: `P(${g.config.riskOutcome} by ${end}) < 2` },
    ];
    const runs = 1000;
    setHtml(box, html`<p>Debrief: running your schedule and the policies to compare…</p>`);
    const measure = async (modelText: string, decisions?: Record<string, number>, n = runs) => {
      const r = await simulateInBrowser(
        { file, text: modelText },
        { runs: n, seed: g.seed, ownClaims: false, extraClaims: checks, ...(decisions ? { decisions } : {}) },
      );
      const [troops, risk] = r.report.claims;
      return { troops: troops!, risk: risk!, report: r.report };
    };
    const yours = await measure(g.playedText ?? text);
    const automatic = await measure(text);
    const spec = loadModel(file, text).spec;
    const decisions: DecisionVariable[] = Object.entries(spec.decisions ?? {})
      .filter(([name]) => g.config.optimise?.decisions.includes(name))
      .map(([name, d]) => ({ name, min: d.min, max: d.max, integer: d.integer ?? false, start: d.value }));
    let optimised: { values: Record<string, number>; troops: number | null; risk: number | null } | undefined;
    const paths: Record<string, RunReport> = {
      "your schedule": yours.report,
      "the model's own rules": automatic.report,
    };
    if (decisions.length && yours.risk.p !== null) {
      setHtml(box, html`<p>Debrief: optimising the model's decisions at your level of risk…</p>`);
      const search = await crossEntropyMaximize({
        decisions,
        constraints: [{ op: "<=", bound: Math.max(yours.risk.p, 0.001) }],
        iterations: 3,
        candidates: 6,
        seed: g.seed,
        evaluate: async (values) => {
          const m = await measure(text, values, 500);
          const num = (x: number | null) => (x === null ? Number.NaN : x);
          return {
            objective: num(m.troops.p),
            objectiveLo: num(m.troops.lo),
            objectiveHi: num(m.troops.hi),
            constraints: [{ estimate: num(m.risk.p), lo: num(m.risk.lo), hi: num(m.risk.hi) }],
          };
        },
      });
      const pick = search.best ?? search.closest;
      // The chosen decisions, measured on the same runs as the other two policies.
      const best = await measure(text, pick.values);
      optimised = { values: pick.values, troops: best.troops.p, risk: best.risk.p };
      paths["optimised decisions"] = best.report;
    }
    const row = (name: string, troops: number | null, risk: number | null, note: string) =>
      html`<tr><th scope="row">${name}</th><td class="num">${troops === null ? "–" : count(Math.round(troops))}</td><td class="num">${risk === null ? "–" : pct(risk)}</td><td>${note}</td></tr>`;
    setHtml(
      box,
      html`<h2>Debrief</h2><p>Over ${count(runs)} runs from ${g.log[0]?.date ?? "the start"} to ${end} (same seed, same runs for each policy):</p>
${scrollBox(
  "Debrief (scrolls sideways)",
  html`<table id="wr-debrief-table"><thead><tr><th scope="col">policy</th><th scope="col">mean ${objective} on ${end}</th><th scope="col">P(${g.config.riskOutcome} by ${end})</th><th scope="col"></th></tr></thead><tbody>
${row("your schedule", yours.troops.p, yours.risk.p, "your monthly choices, the last one held")}
${row("the model's own rules", automatic.troops.p, automatic.risk.p, "no player: the file's rules and decisions")}
${
  optimised
    ? row(
        "optimised decisions",
        optimised.troops,
        optimised.risk,
        `the best the optimiser found at your risk level: ${Object.entries(optimised.values)
          .map(([k, v]) => `${k} = ${v}`)
          .join(", ")} (500 runs per candidate)`,
      )
    : ""
}
</tbody></table>`,
)}<div class="chart" id="wr-paths"></div>`,
    );
    const chart = root.querySelector("#wr-paths");
    if (chart) setHtml(chart, trustedSvg(await renderSvg(meanPathsChart(paths, objective, g.state.time))));
  };
}
