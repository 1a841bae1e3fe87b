import { type Comparison, compareScenarios, type Simulator } from "../analysis/compare.js";
import { endStateName, STILL_GOING } from "../report/format.js";
import { pct } from "./format.js";
import { html, type SafeHtml, scrollBox } from "./html.js";

/**
 * The comparison tab: `brink compare`'s own job (src/analysis/compare.ts) — every scenario of the model over the
 * same run indices (common random numbers), with paired differences from the base — and its tables. The
 * simulation is passed in (the page's Web Workers), so this file has no DOM or worker of its own and Node tests
 * can drive it.
 */
export function runComparison(
  input: { file: string; text: string },
  scenarios: readonly string[],
  settings: { runs: number; seed: number },
  simulate: Simulator,
): Promise<Comparison> {
  return compareScenarios(input, ["base", ...scenarios], settings, simulate);
}

/** End states (rows) by scenario (columns): p and its 95% interval; then the paired differences from the base. */
export function compareTable(comparison: Comparison): SafeHtml {
  const reports = comparison.reports;
  const names = Object.keys(reports);
  const outcomes = [...Object.keys(reports.base?.outcomes ?? {}), "censored"];
  const rows = outcomes.map(
    (o) =>
      html`<tr><th scope="row">${o === "censored" ? STILL_GOING : o}</th>${names.map((n) => {
        const x = o === "censored" ? reports[n]!.censored : reports[n]!.outcomes[o];
        return html`<td class="num">${x ? html`${pct(x.p)} <small>[${pct(x.lo)}, ${pct(x.hi)}]</small>` : "–"}</td>`;
      })}</tr>`,
  );
  // Percentage points, as `brink compare` prints them (one decimal here).
  const points = (x: number | null) =>
    x === null ? "–" : `${x >= 0 ? "+" : "−"}${(100 * Math.abs(x)).toFixed(1)}`;
  const differences = comparison.differences.map(
    (d) =>
      html`<tr><th scope="row">${endStateName(d.outcome)}</th><td>${d.scenario}</td><td class="num">${points(d.difference)} pt</td><td class="num">${points(d.lo)} – ${points(d.hi)}</td></tr>`,
  );
  return html`${scrollBox("End states by scenario (scrolls sideways)", html`<table id="compare"><thead><tr><th scope="col">end state</th>${names.map((n) => html`<th scope="col">${n}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`)}<p class="note">Paired differences: each run index is compared with itself under the other scenario, so the chance both share cancels and the interval is narrower than the two probabilities' own.</p>${scrollBox("Paired differences (scrolls sideways)", html`<table id="compare-differences"><caption>Paired differences from the base (percentage points, 95% interval)</caption><thead><tr><th scope="col">end state</th><th scope="col">scenario</th><th scope="col">difference</th><th scope="col">95% interval</th></tr></thead><tbody>${differences}</tbody></table>`)}`;
}
