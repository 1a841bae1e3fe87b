import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type DataText, parseObservations } from "../src/analysis/calibrate/observations.js";
import { DiagnosticError, formatDiagnostic } from "../src/lang/diagnostic.js";
import { loadModel } from "../src/model/load.js";
import { loadObservations } from "../src/node/observations.js";

const FIXTURES = join(__dirname, "fixtures", "calibration");

const MODEL = `brink: 1
name: m
time: { start: 2024-01-01, stop: 2024-03-31, dt: 1 week }
params:
  k: { dist: "uniform(0.01, 0.2)", unit: 1/week }
  s: { dist: "uniform(1, 10)" }
stocks:
  level: { init: 100, outflows: [out], unit: people }
flows:
  out: { eq: k * level, unit: people/week }
observations:
  obs:
    variable: level
    file: data.csv
    noise: normal
    sd: s
`;

/** Parse the observations of MODEL (with the entry's extra lines) over an in-memory data file. */
function parse(dataText: string, extra = "", model = MODEL) {
  const loaded = loadModel("m.yaml", model + extra);
  return parseObservations(loaded, (_name, path): DataText => ({ file: path, text: dataText }));
}

/** The formatted diagnostics a parse throws. */
function errors(dataText: string, extra = "", model = MODEL): string[] {
  try {
    parse(dataText, extra, model);
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics.map(formatDiagnostic);
    throw e;
  }
  throw new Error("expected diagnostics");
}

describe("observations: parsing data", () => {
  it("maps dates to steps and reads values, skipping empty cells", () => {
    const [series] = parse("date,value\n2024-01-15,90\n2024-01-01,100\n2024-01-22,\n");
    expect(series!.points.map((p) => [p.step, p.value, p.line])).toEqual([
      [0, 100, 3],
      [2, 90, 2],
    ]);
    expect(series!.noise).toEqual({ kind: "normal", sd: { param: "s" } });
  });

  it("reads the fixture model's CSV and JSON files relative to the model file", () => {
    const path = join(FIXTURES, "decay.yaml");
    const loaded = loadModel(path, readFileSync(path, "utf8"));
    const [counts, deaths] = loadObservations(path, loaded);
    expect(counts!.points.map((p) => [p.step, p.value])).toEqual([
      [4, 70.1],
      [9, 45.3],
      [13, 33],
    ]);
    // One month is 30.4375 days: 4.35 weeks, rounded to 4 steps.
    expect(deaths!.changeSteps).toBe(4);
    expect(deaths!.points.map((p) => [p.step, p.value, p.line])).toEqual([
      [5, -20, 2],
      [9, -12.5, 3],
    ]);
    expect(deaths!.noise).toEqual({ kind: "student_t", scale: { value: 2 }, df: { value: 4 } });
  });

  it("reports unparseable, duplicate and out-of-horizon dates at their cell", () => {
    const data = "date,value\n2024-01-08,1\n2024-02-30,2\n2024-01-08,3\n2025-06-01,4\n2023-12-01,5\n";
    expect(errors(data)).toEqual([
      "data.csv:3:1: error: '2024-02-30' is not an ISO date (YYYY-MM-DD)",
      "data.csv:4:1: error: '2024-01-08' falls on the same step as line 2: a duplicate",
      "data.csv:5:1: error: '2025-06-01' is outside the model's dates",
      "data.csv:6:1: error: '2023-12-01' is outside the model's dates",
    ]);
  });

  it("reports a bad value at its column, and a change whose period starts before the model", () => {
    expect(errors("date,value\n2024-01-08,abc\n")).toEqual(["data.csv:2:12: error: 'abc' is not a number"]);
    expect(errors("date,value\n2024-01-08,1\n", "    change: month\n")).toEqual([
      "data.csv:2:1: error: '2024-01-08' is outside the model's dates (a change over 4 steps needs the period before it)",
    ]);
  });

  it("reports a missing column at the entry, or at the data file when the default name is missing", () => {
    expect(errors("when,value\n2024-01-08,1\n", "    date: day\n")).toEqual([
      "m.yaml:17:11: error: observation 'obs': no column 'day' (the file has: when, value) in data.csv",
    ]);
    expect(errors("when,value\n2024-01-08,1\n")[0]).toMatch(
      /^data\.csv:1:1: error: observation 'obs' reads column 'date' by default, but there is no column 'date'/,
    );
  });

  it("reads JSON records with each cell's position", () => {
    const json = '[\n  {"date": "2024-01-08", "value": 5},\n  {"date": "2024-01-15",\n   "value": "x"}\n]\n';
    expect(errors(json, "", MODEL.replace("data.csv", "data.json"))).toEqual([
      "data.json:4:13: error: 'x' is not a number",
    ]);
    expect(errors('{"a": 1}', "", MODEL.replace("data.csv", "data.json"))[0]).toMatch(
      /data\.json:1:1: error: a JSON data file must be a list of records/,
    );
  });

  it("checks the variable, the noise params and the unit against the model", () => {
    const bad = MODEL.replace("variable: level", "variable: levl").replace(
      "sd: s",
      "sd: ss\n    df: 3\n    unit: dollars",
    );
    expect(errors("date,value\n", "", bad)).toEqual([
      "m.yaml:13:15: error: observation 'obs': no stock, flow or var 'levl' — did you mean 'level'?",
      "m.yaml:17:9: error: observation 'obs': noise 'normal' takes 'sd', not 'df'",
      "m.yaml:16:9: error: observation 'obs': no param 'ss' — did you mean 's'?",
    ]);
    const unit = MODEL.replace("sd: s", "sd: s\n    unit: dollars");
    expect(errors("date,value\n", "", unit)).toEqual([
      "m.yaml:17:11: error: observation 'obs' is in 'dollars' but 'level' is in 'people'",
    ]);
    // A change may be given per its period.
    const perMonth = MODEL.replace("sd: s", "sd: s\n    unit: people/month\n    change: month");
    expect(parse("date,value\n2024-02-05,-3\n", "", perMonth)[0]!.changeSteps).toBe(4);
  });

  it("reports a missing data file at the entry's file key", () => {
    const path = join(FIXTURES, "decay.yaml");
    const loaded = loadModel(path, readFileSync(path, "utf8").replace("counts.csv", "nope.csv"));
    expect(() => loadObservations(path, loaded)).toThrow(
      /decay\.yaml:14:11: error: observation 'counts': cannot read 'nope\.csv' \(no such file\)/,
    );
  });

  it("rejects unknown keys in an entry with a hint", () => {
    expect(() => parse("", "    nois: 1\n")).toThrow(
      /unknown key 'nois' in observation 'obs' — did you mean 'noise'\?/,
    );
  });
});
