import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkModelText } from "../src/analysis/check.js";
import { prepareModel } from "../src/engine/prepare.js";
import { Runner } from "../src/engine/run.js";
import { DiagnosticError, formatDiagnostic } from "../src/lang/diagnostic.js";
import { applyEdits, example, ROOT } from "./helpers.js";

const HOSTILE = JSON.parse(readFileSync(`${ROOT}/test/fixtures/hostile-names.json`, "utf8")) as {
  refused: string[];
  prototype_names: string[];
  confusable_pairs: [string, string][];
};
/** Characters that act on a terminal or reorder text: no formatted diagnostic may contain one. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** Check a text and, when it is valid, run it a little: only diagnostics may come out. */
function onlyDiagnostics(text: string): "valid" | "diagnostics" {
  const report = checkModelText("fuzz.yaml", text);
  for (const d of report.diagnostics) {
    expect(formatDiagnostic(d)).not.toMatch(UNPRINTABLE);
    expect(d.file).toBe("fuzz.yaml");
    expect(d.line).toBeGreaterThanOrEqual(1);
    expect(d.col).toBeGreaterThanOrEqual(1);
    expect(d.message.length).toBeGreaterThan(0);
  }
  if (report.diagnostics.length) return "diagnostics";
  try {
    const model = prepareModel("fuzz.yaml", text);
    if (model.loaded.time.steps > 5000) return "valid";
    const runner = new Runner(model, 1);
    for (let i = 0; i < 2; i++) runner.run(i);
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    return "diagnostics";
  }
  return "valid";
}

const VALID = ["teacup.yaml", "sir.yaml", "lanchester-duel.yaml", "war-of-attrition.yaml"].map((f) =>
  readFileSync(example(f), "utf8"),
);

describe("fuzzing the loader, checker and runner", () => {
  it("random bytes give diagnostics, never exceptions", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expect(onlyDiagnostics(new TextDecoder().decode(bytes))).toBe("diagnostics");
      }),
      { numRuns: 400, seed: 1 },
    );
  });

  it("random edits of valid models give diagnostics or valid models, never exceptions", () => {
    const outcomes = { valid: 0, diagnostics: 0 };
    const chars = [..."{}[]:,-#'\"()*+/^<>= \n\tabcxyz0123456789._|&!"];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: VALID.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.constantFrom(...chars)), {
          minLength: 1,
          maxLength: 4,
        }),
        (which, edits) => {
          const text = applyEdits(VALID[which]!, edits);
          outcomes[onlyDiagnostics(text)]++;
        },
      ),
      { numRuns: 600, seed: 2 },
    );
    expect(outcomes.valid).toBeGreaterThan(0);
    expect(outcomes.diagnostics).toBeGreaterThan(0);
  });

  it("random near-valid expressions give diagnostics or runs, never exceptions", () => {
    const tokens = [
      "x",
      "y",
      "time",
      "dt",
      "1",
      "2.5",
      "1e3",
      "2026-01-01",
      "+",
      "-",
      "*",
      "/",
      "^",
      "%",
      "(",
      ")",
      ",",
      "<",
      ">=",
      "==",
      "and",
      "or",
      "not",
      "if",
      "then",
      "else",
      "min",
      "max",
      "smth1",
      "previous",
      "init",
      "step",
      "pulse",
      "lookup",
      "t",
      "normal",
      "P",
      "by",
      "&&",
      "'",
      "\\",
      "x(",
      "y)",
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...tokens), { minLength: 1, maxLength: 12 }), (parts) => {
        const e = parts.join(" ");
        const text = `brink: 1\nname: e\ntime: { start: 0, stop: 5, dt: 1 }\nparams: { x: 2 }\ntables: { t: [[0, 0], [1, 1]] }\nstocks: { y: { init: 1, inflows: [f] } }\nflows: { f: ${JSON.stringify(e)} }\n`;
        onlyDiagnostics(text);
      }),
      { numRuns: 1500, seed: 3 },
    );
  });

  it("pathological nesting is refused with a diagnostic", () => {
    const deepExpr = `brink: 1\nname: e\ntime: { start: 0, stop: 5, dt: 1 }\nvars: { v: "${"(".repeat(50_000)}1${")".repeat(50_000)}" }\n`;
    expect(onlyDiagnostics(deepExpr)).toBe("diagnostics");
    const deepYaml = `brink: 1\nname: e\nx: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`;
    expect(onlyDiagnostics(deepYaml)).toBe("diagnostics");
    const aliases = `brink: 1\nname: e\na: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n`;
    expect(onlyDiagnostics(aliases)).toBe("diagnostics");
  });

  it("hostile names in place of declared or referenced names give diagnostics, printed safely", () => {
    const names = [...HOSTILE.refused, ...HOSTILE.prototype_names, ...HOSTILE.confusable_pairs.flat()];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: VALID.length - 1 }),
        fc.nat(),
        fc.constantFrom(...names),
        fc.boolean(),
        (which, at, name, asKey) => {
          const lines = VALID[which]!.split("\n");
          // Lines that declare an entry (`  name: …`) — or, for references, any line with a word to replace.
          const candidates = lines
            .map((l, i) => [l, i] as const)
            .filter(([l]) => (asKey ? /^ {2}\w+:/.test(l) : /\b[a-z_]\w*\b/.test(l)));
          const [line, i] = candidates[at % candidates.length]!;
          lines[i] = asKey
            ? line.replace(/^( {2})\w+/, `$1${JSON.stringify(name)}`)
            : line.replace(/\b[a-z_]\w*\b(?=[^:]*$)/, name.replace(/\n/g, " "));
          onlyDiagnostics(lines.join("\n"));
        },
      ),
      { numRuns: 400, seed: 4 },
    );
  });

  it("random model-shaped documents give diagnostics or valid models, never exceptions", () => {
    const key = fc.constantFrom(
      "params",
      "stocks",
      "flows",
      "vars",
      "tables",
      "events",
      "outcomes",
      "decisions",
      "groups",
      "scenarios",
      "claims",
      "track",
      "warroom",
      "time",
      "eq",
      "init",
      "value",
      "dist",
      "inflows",
      "when",
      "then",
      "points",
      "x",
      "y",
      ...HOSTILE.prototype_names,
      ...HOSTILE.refused.filter((n) => n.length < 300),
    );
    const scalar = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.constantFrom(
        "x + 1",
        "y * 2",
        "8 to 20",
        "normal(0, 1)",
        "1 week",
        "2026-01-01",
        "t(time)",
        "",
        "x ^ x",
      ),
      fc.string({ maxLength: 20 }),
    );
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        scalar,
        fc.array(tie("v"), { maxLength: 4 }),
        fc.dictionary(key, tie("v"), { maxKeys: 4 }),
      ),
    }));
    let valid = 0;
    fc.assert(
      fc.property(fc.dictionary(key, value.v, { maxKeys: 6 }), (sections) => {
        const text = `brink: 1\nname: f\ntime: { start: 0, stop: 5, dt: 1 }\n${Object.entries(sections)
          .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
          .join("\n")}\n`;
        if (onlyDiagnostics(text) === "valid") valid++;
      }),
      { numRuns: 500, seed: 6 },
    );
    expect(valid).toBeGreaterThan(0);
  });

  it("long chains and deep nesting of any operator end in a result or a positioned diagnostic", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12_000 }),
        fc.constantFrom("+", "-", "*", "/", "^", "%", "<", "and", "or", "=="),
        fc.integer({ min: 0, max: 400 }),
        fc.constantFrom("(", "-", "not ", "abs(", "if x > 0 then x else "),
        (terms, op, depth, wrap) => {
          const close = wrap.endsWith("(") ? ")" : "";
          const chain = Array(terms).fill("x").join(` ${op} `);
          const e = `${wrap.repeat(depth)}${chain}${close.repeat(depth)}`;
          const text = `brink: 1\nname: e\ntime: { start: 0, stop: 3, dt: 1 }\nparams: { x: 1 }\nvars:\n  v: ${JSON.stringify(e)}\ntrack: [v]\n`;
          onlyDiagnostics(text);
        },
      ),
      { numRuns: 60, seed: 7 },
    );
  });
});
