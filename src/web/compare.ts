import type { RunReport } from "../analysis/results.js";
import type { SimulateOptions, SimulationResult } from "../analysis/simulate.js";
import { pct } from "./format.js";
import { html, type SafeHtml } from "./html.js";

/**
 * The comparison tab: every scenario of the model over the same run indices (common random numbers), and the
 * table of end states by scenario. The simulation is passed in (the page's Web Workers), so this file has no
 * DOM or worker of its own and Node tests can drive it.
 */
export async function runComparison(
  input: { file: string; text: string },
  scenarios: readonly string[],
  settings: { runs: number; seed: number },
  simulate: (input: { file: string; text: string }, options: SimulateOptions) => Promise<SimulationResult>,
  onScenario: (scenario: string) => void = () => {},
): Promise<Record<string, RunReport>> {
  const reports: Record<string, RunReport> = {};
  for (const s of ["base", ...scenarios]) {
    onScenario(s);
    const result = await simulate(input, {
      runs: settings.runs,
      seed: settings.seed,
      ownClaims: false,
      ...(s === "base" ? {} : { scenario: s }),
    });
    reports[s] = result.report;
  }
  return reports;
}

/** End states (rows) by scenario (columns): p and its 95% interval. */
export function compareTable(reports: Record<string, RunReport>): SafeHtml {
  const names = Object.keys(reports);
  const outcomes = Object.keys(reports.base?.outcomes ?? {});
  const rows = outcomes.map(
    (o) =>
      html`<tr><th scope="row">${o}</th>${names.map((n) => {
        const x = reports[n]!.outcomes[o];
        return html`<td class="num">${x ? html`${pct(x.p)} <small>[${pct(x.lo)}, ${pct(x.hi)}]</small>` : "–"}</td>`;
      })}</tr>`,
  );
  return html`<table id="compare"><thead><tr><th scope="col">end state</th>${names.map((n) => html`<th scope="col">${n}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`;
}
