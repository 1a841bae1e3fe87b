import type { RunReport } from "../analysis/results.js";
import { hashName } from "../engine/rng.js";
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

/** The model text's hash, as `brink report` and saved summaries write it (engine/montecarlo.ts jobMeta). */
export function modelHash(text: string): string {
  const hex = (h: number) => h.toString(16).padStart(8, "0");
  return `${hex(hashName(text))}${hex(hashName(`${text.length}:${text}`))}`;
}

/** A file name without any folders, so a report never carries a local path. */
const fileName = (file: string) => file.replace(/^.*[\\/]/, "");

/**
 * The same sections as `brink report`, for the current run and whatever comparison or sensitivity ran. `text` is
 * the model text the results came from: when it differs from the file as opened, the report says it was edited,
 * and it carries the text's hash either way.
 */
export async function reportHtml(state: AppState, r: RunReport, text: string): Promise<string> {
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
    metadata: {
      runs: String(r.runs),
      seed: String(r.seed),
      sampling: r.sampling,
      file: /^models\//.test(state.file) ? state.file : fileName(state.file),
      model:
        state.openedText === undefined || state.openedText === text
          ? "as opened"
          : "edited in the app: differs from the file as opened (the hash identifies the edited text)",
      "model hash": modelHash(text),
    },
  });
}
