import { describe, expect, it } from "vitest";
import { keysAt, yamlContext } from "../src/web/completion.js";

/** The cursor at `|` in a YAML text. */
function at(text: string) {
  const before = text.slice(0, text.indexOf("|"));
  const lines = before.split("\n");
  return yamlContext(
    [...lines.slice(0, -1), text.split("\n")[lines.length - 1]!.replace("|", "")],
    lines.length - 1,
    lines[lines.length - 1]!.length,
  );
}
const keys = (path: string[]) => keysAt(path).map((k) => k.key);

describe("editor completion from the JSON Schema", () => {
  it("knows where the cursor is: block keys, flow mappings, values", () => {
    expect(at("brink: 1\n|")).toEqual({ path: [], atKey: true });
    expect(at("params:\n  k: { value: 1, |")).toEqual({ path: ["params", "k"], atKey: true });
    expect(at("stocks:\n  x:\n    init: 1\n    |")).toEqual({ path: ["stocks", "x"], atKey: true });
    expect(at("flows:\n  grow: k * |")).toMatchObject({ atKey: false });
    expect(at("warroom:\n  roles:\n    west:\n      levers:\n        deploy: { label: x, |")).toEqual({
      path: ["warroom", "roles", "west", "levers", "deploy"],
      atKey: true,
    });
  });

  it("offers the keys the format allows there", () => {
    expect(keys([])).toEqual(expect.arrayContaining(["params", "stocks", "time", "warroom", "scenarios"]));
    expect(keys(["params", "k"])).toEqual(expect.arrayContaining(["value", "dist", "unit", "doc", "source"]));
    expect(keys(["params", "k"])).not.toContain("inflows");
    expect(keys(["stocks", "x"])).toEqual(
      expect.arrayContaining(["init", "inflows", "outflows", "min", "max"]),
    );
    expect(keys(["warroom", "roles", "west", "levers", "deploy"])).toEqual(
      expect.arrayContaining(["adds_to", "scales", "min", "max", "step", "value"]),
    );
    expect(keys(["time"])).toEqual(expect.arrayContaining(["start", "stop", "dt", "save"]));
  });
});
