import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobIdentity, modelHash } from "../src/engine/montecarlo.js";
import type { SummaryFile } from "../src/engine/summary-file.js";
import { jsonValuePosition } from "../src/node/json-position.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "brink.js");
const brink = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
const FLU = "models/examples/boarding-school-flu.yaml";
const TEACUP = "models/examples/teacup.yaml";

describe("brink merge refuses hand-edited summaries that no run of their model could have written", () => {
  const dir = mkdtempSync(join(tmpdir(), "brink-leftovers-merge-"));
  const posterior = join(dir, "posterior.json");
  const saved = join(dir, "saved.json");
  let original = "";
  beforeAll(() => {
    // Three hand-made draws of the flu model's priors, run through `brink run --posterior`.
    writeFileSync(
      posterior,
      JSON.stringify({
        brink_posterior: 1,
        params: ["contact_rate", "recovery_rate"],
        samples: [
          [1.5, 0.5],
          [2, 0.6],
          [2.5, 0.7],
        ],
      }),
    );
    const r = brink("run", FLU, "--posterior", posterior, "--runs", "12", "--save-summary", saved);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    original = readFileSync(saved, "utf8");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The saved summary edited by `edit`, its model hash recomputed as a forger would, written to a new file. */
  const forged = (name: string, edit: (s: SummaryFile) => void, rehash = true) => {
    const s = JSON.parse(original) as SummaryFile;
    edit(s);
    if (rehash)
      s.summary.meta.modelHash = modelHash(jobIdentity(s.model.text, s.model.decisions, s.model.paramRows));
    const path = join(dir, name);
    const text = JSON.stringify(s);
    writeFileSync(path, text);
    return { path, text };
  };
  /** Merge `path` and expect a refusal at `at` (a JSON path) of that file, with `message` in it. */
  const refused = (file: { path: string; text: string }, at: (string | number)[], message: string) => {
    const r = brink("merge", file.path);
    expect(r.status).toBe(1);
    const { line, col } = jsonValuePosition(file.text, at);
    expect(r.stderr).toMatch(
      new RegExp(
        `^${file.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:${line}:${col}: error: not a valid Brink summary file: `,
      ),
    );
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain("internal error");
    return { line, col };
  };

  it("merges the untouched file", () => {
    const r = brink("merge", saved, "--json");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).runs).toBe(12);
  });

  it("refuses a param value outside its prior's support at that value, though the hash was recomputed", () => {
    const file = forged("outside.json", (s) => {
      s.model.paramRows!.values[2] = -1; // row 1's contact_rate
    });
    const { col } = refused(
      file,
      ["model", "paramRows", "values", 2],
      "row 1 gives param 'contact_rate' the value -1, outside the support",
    );
    // The column is the number's own: the third value of the rows.
    expect(file.text.slice(col - 1)).toMatch(/^-1,0\.6,2\.5/);
  });

  it("refuses a value for a fixed param other than its value", () => {
    const file = forged("fixed.json", (s) => {
      s.model.paramRows = { params: ["boys", "contact_rate"], values: [763, 1, 900, 2] };
    });
    refused(
      file,
      ["model", "paramRows", "values", 2],
      "row 1 gives param 'boys' the value 900, but 'boys' is fixed at 763",
    );
  });

  it("refuses rows whose count disagrees with their params, unknown and repeated params", () => {
    refused(
      forged("ragged.json", (s) => {
        s.model.paramRows!.values.pop();
      }),
      ["model", "paramRows", "values"],
      "hold 5 values, not a whole number of rows of 2 params",
    );
    refused(
      forged("unknown.json", (s) => {
        s.model.paramRows!.params[1] = "no_such_param";
      }),
      ["model", "paramRows", "params", 1],
      "'no_such_param', which is not a param of its model",
    );
    refused(
      forged("twice.json", (s) => {
        s.model.paramRows!.params[1] = "contact_rate";
      }),
      ["model", "paramRows", "params", 1],
      "name 'contact_rate' more than once",
    );
  });

  it("refuses start states that do not fit the model", () => {
    refused(
      forged("states.json", (s) => {
        s.model.paramRows!.states = { width: 3, values: new Array(9).fill(0) };
      }),
      ["model", "paramRows", "states", "width"],
      "its start states are 3 numbers each, but its model's paused state is",
    );
  });

  it("refuses a shape other than the model's, and still refuses an edit without a new hash", () => {
    refused(
      forged("tracked.json", (s) => {
        s.summary.trackedNames = ["susceptible", "recovered", "infected"];
      }),
      ["summary", "trackedNames"],
      "its tracked variables ('susceptible', 'recovered', 'infected') are not its model's ('susceptible', 'infected', 'recovered')",
    );
    const stale = forged(
      "stale.json",
      (s) => {
        s.model.paramRows!.values[0] = 3;
      },
      false,
    );
    const r = brink("merge", stale.path);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("does not match the job's model hash");
  });

  it("refuses an edited second file too, at that file", () => {
    const a = join(dir, "a.json");
    const b = join(dir, "b.json");
    expect(brink("run", TEACUP, "--runs", "8", "--save-summary", a).status).toBe(0);
    expect(brink("run", TEACUP, "--runs", "8", "--first-run", "8", "--save-summary", b).status).toBe(0);
    expect(brink("merge", a, b).status).toBe(0);
    const s = JSON.parse(readFileSync(b, "utf8")) as SummaryFile;
    s.summary.outcomeNames = ["boiled"];
    s.summary.outcomeCounts = [0];
    s.summary.outcomeTimes = [[]];
    s.summary.censored = s.summary.runs;
    const text = JSON.stringify(s);
    writeFileSync(b, text);
    refused({ path: b, text }, ["summary", "outcomeNames"], "its outcomes ('boiled') are not its model's");
  });
});

describe("jsonValuePosition", () => {
  it("finds values by path through nesting, strings with brackets and escapes, and the last duplicate key", () => {
    const text = '{"a": {"s": "x]},\\"[", "b": [1, [2, 3], {"c": true}]},\n "a": {"b": [4, -5e3]}}';
    const at = (path: (string | number)[]) => {
      const { line, col } = jsonValuePosition(text, path);
      return text.split("\n")[line - 1]!.slice(col - 1, col + 3);
    };
    expect(at(["a", "b", 1])).toBe("-5e3");
    expect(jsonValuePosition(text, ["a", "b", 1]).line).toBe(2);
    expect(at(["a", "b", 0])).toBe("4, -");
    expect(jsonValuePosition(text, ["a", "s"])).toEqual({ line: 1, col: 1 }); // the later "a" has no "s"
    expect(jsonValuePosition('{"x": [1, {"y": null}]}', ["x", 1, "y"])).toEqual({ line: 1, col: 17 });
  });
});
