import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkModelText } from "../src/analysis/check.js";
import { prepareModel } from "../src/engine/prepare.js";
import { Runner } from "../src/engine/run.js";
import { importVensim } from "../src/io/vensim.js";
import { DiagnosticError } from "../src/lang/diagnostic.js";
import { applyEdits, ROOT } from "./helpers.js";

const SUITE = resolve(ROOT, "..", "shared", "test-models", "tests");
/** Suite models that import as they are: macros, subscripts, lookups, delays, time functions. */
const SUITE_MODELS = [
  "macro_stock/test_macro_stock.mdl",
  "subscript_mapping_vensim/test_subscript_mapping_vensim.mdl",
  "lookups/test_lookups.mdl",
  "delays/test_delays.mdl",
  "except/test_except.mdl",
  "active_initial_circular/test_active_initial_circular.mdl",
  "input_functions/test_inputs.mdl",
].map((f) => join(SUITE, f));
const MODELS = [
  join(ROOT, "test", "fixtures", "vensim", "subscripts.mdl"),
  ...SUITE_MODELS.filter((f) => existsSync(f)),
]
  .map((f) => readFileSync(f, "utf8"))
  // The sketch is ignored: edits are spent on the equations.
  .map((text) => {
    const sketch = text.search(/\\{2,3}---\/\/\//);
    return sketch < 0 ? text : text.slice(0, sketch);
  });

/** Import a text; then check it and, when valid, run it a little. Only diagnostics may come out. */
function onlyDiagnostics(text: string): "import diagnostics" | "check diagnostics" | "valid" {
  let yaml: string;
  try {
    yaml = importVensim("fuzz.mdl", text).yaml;
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    for (const d of e.diagnostics) {
      expect(d.file).toBe("fuzz.mdl");
      expect(d.line).toBeGreaterThanOrEqual(1);
      expect(d.col).toBeGreaterThanOrEqual(1);
      expect(d.message.length).toBeGreaterThan(0);
    }
    return "import diagnostics";
  }
  if (checkModelText("fuzz.yaml", yaml).diagnostics.length) return "check diagnostics";
  try {
    const model = prepareModel("fuzz.yaml", yaml);
    if (model.loaded.time.steps > 5000) return "valid";
    new Runner(model, 1).run(0);
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    return "check diagnostics";
  }
  return "valid";
}

describe("fuzzing the Vensim importer", () => {
  it("every seed model imports and runs as it is", () => {
    for (const text of MODELS) expect(onlyDiagnostics(text)).toBe("valid");
  });

  it("random edits of .mdl models give diagnostics or valid models, never exceptions or hangs", () => {
    const outcomes = { "import diagnostics": 0, "check diagnostics": 0, valid: 0 };
    const chars = [..."{}[]:,-!\"()*+/^<>=~|\\ \n\tabcXYZ0123456789._&$'"];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MODELS.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.constantFrom(...chars)), {
          minLength: 1,
          maxLength: 4,
        }),
        (which, edits) => {
          outcomes[onlyDiagnostics(applyEdits(MODELS[which]!, edits))]++;
        },
      ),
      { numRuns: 400, seed: 4 },
    );
    expect(outcomes.valid).toBeGreaterThan(0);
    expect(outcomes["import diagnostics"]).toBeGreaterThan(0);
  }, 120_000);

  it("hostile models — huge, deeply nested, exponential, markup in names — end in positioned diagnostics", () => {
    const controls = "\nFINAL TIME = 4 ~~|\nINITIAL TIME = 0 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n";
    const macroBomb = Array.from(
      { length: 19 },
      (_, i) =>
        `:MACRO: M${i}(a)\nM${i} = ${i < 18 ? `M${i + 1}(a) + M${i + 1}(a)` : "a"} ~~|\n:END OF MACRO:`,
    ).join("\n");
    const cases: [string, RegExp][] = [
      [`x = ${"(".repeat(100_000)}1${")".repeat(100_000)} ~~|`, /nested too deeply/],
      [`x = ${"IF THEN ELSE(Time > 1, ".repeat(20_000)}1${", 0)".repeat(20_000)} ~~|`, /nested too deeply/],
      ["d: (a1-a10000000) ~~|\nx[d] = 1 ~~|", /more than the 100000 elements/],
      ["d: (a1-a1000) ~~|\nx[d, d, d] = 1 ~~|", /1000 × 1000 × 1000 elements/],
      [`${macroBomb}\nx = M0(1) ~~|`, /macro calls expand the model to more than/],
      [
        `l(${Array.from({ length: 120_000 }, (_, i) => `(${i},${i})`).join(",")}) ~~|\nx = l(Time) ~~|`,
        /100,000 values/,
      ],
    ];
    for (const [text, message] of cases) {
      let caught: unknown;
      try {
        importVensim("hostile.mdl", text + controls);
      } catch (e) {
        caught = e;
      }
      expect(caught, String(message)).toBeInstanceOf(DiagnosticError);
      const d = (caught as DiagnosticError).diagnostics[0]!;
      expect(d.message).toMatch(message);
      expect(d.line).toBeGreaterThanOrEqual(1);
    }
    // Markup and control characters in a name are only characters: the model imports, its names are identifiers.
    const { yaml } = importVensim(
      "hostile.mdl",
      `"<script>alert(1)</script>\u001b[31m" = 1 ~~|\ny = "<script>alert(1)</script>\u001b[31m" * 2 ~~|${controls}`,
    );
    expect(onlyDiagnostics(`"<b>x</b>" = 1 ~~|\ny = "<b>x</b>" * 2 ~~|${controls}`)).toBe("valid");
    for (const key of yaml.matchAll(/^ {2}([^:]+):/gm)) expect(key[1]).toMatch(/^[a-z_][a-z0-9_]*$/);
  }, 60_000);

  it("random bytes give diagnostics, never exceptions", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        expect(onlyDiagnostics(text)).not.toBe("valid");
      }),
      { numRuns: 300, seed: 5 },
    );
  });
});
