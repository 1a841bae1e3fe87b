import type { RunReport } from "../../analysis/results.js";
import {
  CLAIMS_EXPLAINED,
  estimateKind,
  estimateText,
  modelTime,
  STILL_GOING,
  withInterval,
} from "../../report/format.js";
import { count, moved, pct } from "../format.js";
import { html, type SafeHtml, scrollBox } from "../html.js";

/** The results panel's tables, as markup from a run report (and the previous run's, to show what moved). */

export function outcomesPanel(r: RunReport, before: RunReport | undefined): SafeHtml {
  const rows = Object.entries(r.outcomes).map(
    ([name, o]) =>
      html`<tr><th scope="row">${name}</th><td class="num">${pct(o.p)}</td><td class="num">${pct(o.lo)} – ${pct(o.hi)}</td><td class="num">${modelTime(o.median_time, r.time.unit, o.median_date)}</td><td class="num">${moved(o.p, before?.outcomes[name]?.p, o.lo, o.hi)}</td></tr>`,
  );
  const c = r.censored;
  rows.push(
    html`<tr><th scope="row">${STILL_GOING}</th><td class="num">${pct(c.p)}</td><td class="num">${pct(c.lo)} – ${pct(c.hi)}</td><td class="num">–</td><td class="num">${moved(c.p, before?.censored.p, c.lo, c.hi)}</td></tr>`,
  );
  const scenario = r.scenario ? `, scenario ${r.scenario}` : "";
  const note = before
    ? html`<p class="note">● the previous estimate lies outside this run's 95% interval.</p>`
    : "";
  return html`${scrollBox("End states (scrolls sideways)", html`<table id="outcome-table"><caption>${count(r.runs)} runs, seed ${r.seed}${scenario}</caption><thead><tr><th scope="col">end state</th><th scope="col">p</th><th scope="col">95% interval</th><th scope="col">median time</th><th scope="col">moved since last run</th></tr></thead><tbody>${rows}</tbody></table>`)}<p class="note">95% interval (Wilson): a range built so that it covers the true probability in 95 of 100 such jobs. Median time: among the runs that ended that way.</p>${note}`;
}

export function claimsPanel(r: RunReport): SafeHtml {
  if (!r.claims.length) return html`<p>This model states no claims.</p>`;
  const rows = r.claims.map(
    (c) =>
      html`<tr><td>${c.text ?? c.id}</td><td><code>${c.check}</code></td><td>${estimateKind(c.check)}</td><td class="num">${withInterval((x) => estimateText(estimateKind(c.check), x), c.p, c.lo, c.hi)}</td><td class="verdict-${c.verdict}">${c.verdict}</td></tr>`,
  );
  return html`${scrollBox(
    "Claims (scrolls sideways)",
    html`<table id="claims-table"><thead><tr><th scope="col">claim</th><th scope="col">check</th><th scope="col">estimate of</th><th scope="col">estimate [95% interval]</th><th scope="col">verdict</th></tr></thead><tbody>${rows}</tbody></table>`,
  )}<p class="note">${CLAIMS_EXPLAINED}</p>`;
}
