import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { signposts } from "../src/analysis/signposts.js";
import { weigh } from "../src/analysis/weigh.js";
import { DiagnosticError, formatDiagnostic } from "../src/lang/diagnostic.js";
import { loadModel } from "../src/model/load.js";
import { loadObservations } from "../src/node/observations.js";
import {
  defaultChoice,
  observationsOf,
  resolveDataPath,
  signpostOptions,
  signpostsTables,
  weighChoices,
  weighScenarios,
  weighTables,
} from "../src/web/weigh.js";
import { ROOT } from "./helpers.js";
import { hostile, markupTags } from "./hostile-names.js";

/** The weigh tab's DOM-free parts: data files beside the model, the choices' and results' markup. */

const FILE = "models/examples/flu-rival-theses.yaml";
const TEXT = readFileSync(join(ROOT, FILE), "utf8");
const CSV = "models/examples/data/boarding-school-flu.csv";
const DATA = { [CSV]: readFileSync(join(ROOT, CSV), "utf8") };

describe("the weigh tab's data files", () => {
  it("resolves a data file's path relative to its model file, as the CLI does", () => {
    expect(resolveDataPath(FILE, "data/boarding-school-flu.csv")).toBe(CSV);
    expect(resolveDataPath("models/flagship/front.yaml", "../examples/./data/x.csv")).toBe(
      "models/examples/data/x.csv",
    );
    expect(resolveDataPath("dropped.yaml", "data/x.csv")).toBe("data/x.csv");
  });

  it("reads the bundled data into the same series as the CLI reads from disk", () => {
    const loaded = loadModel(FILE, TEXT);
    const page = observationsOf(FILE, loaded, DATA);
    const cli = loadObservations(join(ROOT, FILE), loaded);
    expect(page.map((s) => s.points)).toEqual(cli.map((s) => s.points));
    expect(page[0]!.points.length).toBe(14);
  });

  it("reports a data file the page does not have at the entry's file key", () => {
    const loaded = loadModel(FILE, TEXT);
    let error: unknown;
    try {
      observationsOf(FILE, loaded, {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DiagnosticError);
    const message = formatDiagnostic((error as DiagnosticError).diagnostics[0]!);
    const line = TEXT.split("\n").findIndex((l) => l.includes("file: data/boarding-school-flu.csv")) + 1;
    expect(message).toMatch(
      new RegExp(
        `^models/examples/flu-rival-theses\\.yaml:${line}:\\d+: error: observation 'in_bed': cannot read`,
      ),
    );
  });

  it("refuses to weigh fewer than two scenarios", () => {
    expect(() => weighScenarios(FILE, TEXT, ["sir"], DATA)).toThrow(/at least two/);
  });
});

describe("the weigh tab's markup", () => {
  it("offers the model's rival scenarios, ticked, and says why when there is nothing to weigh", () => {
    const loaded = loadModel(FILE, TEXT);
    expect(defaultChoice(loaded)).toEqual(["sir", "seir"]);
    const markup = weighChoices(loaded).value;
    expect(markup).toContain('value="sir" checked');
    expect(markup).toContain('value="seir" checked');
    expect(markup).not.toContain('value="base" checked');
    const flagship = readFileSync(join(ROOT, "models/flagship/flagship.yaml"), "utf8");
    const flagshipModel = loadModel("f.yaml", flagship);
    const choices = weighChoices(flagshipModel).value;
    expect(choices).toContain("no observations");
    // Signposts need no observations: the flagship's scenarios are offered, bar the one that changes its time.
    expect(choices).toContain('value="attrition_favours_russia" checked');
    expect(defaultChoice(flagshipModel)).not.toContain("history");
    expect(defaultChoice(flagshipModel)).toContain("genuine_talks");
    expect(weighChoices(undefined).value).toContain("does not load");
  });

  it("escapes scenario docs and observation names as text", () => {
    const [a, b, c, d] = hostile("weigh");
    const text = TEXT.replace(/doc: "Thesis A:[^\n]*/, `doc: ${JSON.stringify(`A ${a} ${b}`)}`).replace(
      /doc: "Thesis B:[^\n]*/,
      `doc: ${JSON.stringify(`B ${c} ${d}`)}`,
    );
    const markup = weighChoices(loadModel(FILE, text)).value;
    expect(
      markupTags(markup).filter(
        (t) => !["fieldset", "legend", "label", "input", "strong", "span"].includes(t),
      ),
    ).toEqual([]);
    expect(markup).toContain("&lt;img src=x onerror=");
  });

  it("puts the weights of a real weighing in tables: one row per scenario, one per point of the series", async () => {
    const scenarios = weighScenarios(FILE, TEXT, ["sir", "seir"], DATA);
    const result = await weigh(FILE, scenarios, {
      seed: 1,
      chains: 2,
      iterations: 100,
      burnIn: 50,
      particles: 1,
      evidenceDraws: 100,
      every: "observation",
    });
    const markup = weighTables(result).value;
    markupTags(markup);
    const rows = (id: string) =>
      (new RegExp(`<table id="${id}">.*?<tbody>(.*?)</tbody>`, "s").exec(markup)?.[1] ?? "").split("<tr>")
        .length - 1;
    expect(rows("weigh-table")).toBe(2);
    expect(rows("weigh-series")).toBe(result.series.length);
    expect(result.series.length).toBe(14);
    // The weights shown are the result's, as percentages.
    for (const w of result.weights) expect(markup).toContain(`${(100 * w.weight).toFixed(1)}%`);
  });

  it("sets the signposts' window as the CLI does, and lists a real search's signposts and thresholds", async () => {
    const scenarios = weighScenarios(FILE, TEXT, ["sir", "seir"], DATA);
    const options = signpostOptions(scenarios, { runs: 200, seed: 1 });
    // From the last observation (4 February, day 14 at 0.1-day steps) to the model's end, changes per save.
    const last = Math.max(...scenarios[0]!.series[0]!.points.map((p) => p.step));
    expect(options).toMatchObject({
      fromStep: last,
      toStep: scenarios[0]!.model.program.time.steps,
      top: 10,
    });
    expect(options.periodLabel).toBe("0.1 days");
    const result = await signposts(FILE, scenarios, options);
    const markup = signpostsTables(result).value;
    markupTags(markup);
    const rows = /<table id="signposts-table">.*?<tbody>(.*?)<\/tbody>/s.exec(markup)?.[1] ?? "";
    expect(rows.split("<tr>").length - 1).toBe(result.signposts.length);
    expect(markup).toContain(result.signposts[0]!.observable);
    expect(markup).toContain(result.signposts[0]!.thresholds[0]!.text.replace(/'/g, "&#39;"));
  });
});
