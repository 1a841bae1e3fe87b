import type { RunReport } from "../analysis/results.js";
import type { ModelSpec } from "../model/schema.js";
import { renderHtml, tableCsv } from "../report/html.js";
import {
  assumptionsSection,
  claimsSection,
  endStatesSection,
  outcomesTable,
  scenariosSection,
  sensitivitySection,
  trackedSection,
} from "../report/sections.js";
import type { AppState } from "./state.js";

/** What the download buttons save, from what the page has computed. Pure: the page saves the strings. */

export const runJson = (r: RunReport) => `${JSON.stringify(r, null, 2)}\n`;

/** The same CSV as the report's export link (quoted where a cell needs it). */
export const outcomesCsv = (r: RunReport) => `${tableCsv(outcomesTable(r))}\n`;

/** The same sections as `brink report`, for the current run and whatever comparison or sensitivity ran. */
export async function reportHtml(state: AppState, r: RunReport): Promise<string> {
  const sections = [await endStatesSection(r), claimsSection(r), await trackedSection(r)];
  if (state.compare)
    sections.push(
      await scenariosSection(
        state.compare.reports,
        state.loaded?.spec ?? ({} as ModelSpec),
        state.compare.differences,
      ),
    );
  if (state.sensitivity)
    sections.push(await sensitivitySection(state.sensitivity, state.sensitivitySamples ?? 0));
  if (state.loaded) sections.push(assumptionsSection(state.loaded.spec));
  return renderHtml({
    title: r.model,
    subtitle: `Brink report from the browser app${r.scenario ? `, scenario ${r.scenario}` : ""}`,
    sections,
    metadata: { runs: String(r.runs), seed: String(r.seed), sampling: r.sampling, file: state.file },
  });
}
