import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { checkModelText } from "../src/analysis/check.js";
import { formatDiagnostic } from "../src/lang/diagnostic.js";
import { main } from "../src/node/cli.js";
import { prepareText, ROOT, series } from "./helpers.js";

const DIR = join(ROOT, "test", "fixtures", "invalid");

/** Run the CLI in-process and capture what it prints. */
async function cli(args: string[]) {
  let out = "";
  let err = "";
  const code = await main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

/** The command a fixture is meant for: `# brink run …` on its first line, else `check`. */
function commandOf(text: string): string[] {
  const m = /^# brink (.*)$/m.exec(text.split("\n")[0] ?? "");
  return m ? m[1]!.split(" ") : ["check"];
}

describe("invalid model files get exact diagnostics and exit code 1", () => {
  const fixtures = readdirSync(DIR).filter((f) => f.endsWith(".yaml"));

  it("has at least 30 fixtures", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(30);
  });

  for (const name of fixtures) {
    it(name, async () => {
      const path = join(DIR, name);
      const file = relative(ROOT, path);
      const [verb, ...rest] = commandOf(readFileSync(path, "latin1"));
      const expected = readFileSync(path.replace(/\.yaml$/, ".expected"), "utf8");
      // The path as given on the command line is the path in the diagnostics; relative to the test's working
      // folder (whatever it is) and shown relative to the repository, as the fixtures expect.
      const given = relative(process.cwd(), path);
      const r = await cli([verb!, given, ...rest]);
      const err = r.err.replaceAll(`${given}:`, `${file}:`);
      expect(err).toBe(expected);
      expect(r.code).toBe(1);
      expect(r.out).toBe("");
      // Every line is file:line:col: error: …
      for (const line of err.trimEnd().split("\n"))
        expect(line).toMatch(/^test\/fixtures\/invalid\/[\w.-]+:\d+:\d+: error: \S/);
    });
  }

  it("a 50 MB file is refused before it is parsed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-"));
    const path = join(dir, "huge.yaml");
    const line = "  x: 1\n";
    try {
      writeFileSync(path, `brink: 1\nname: huge\nparams:\n${line.repeat((50 * 1024 * 1024) / line.length)}`);
      const r = await cli(["check", path]);
      expect(r.code).toBe(1);
      expect(r.err).toBe(`${path}:1:1: error: file is 50.0 MB; model files are limited to 8 MB\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a missing file is a diagnostic, not a crash", async () => {
    const r = await cli(["check", "no/such/model.yaml"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("no/such/model.yaml:1:1: error: no such file\n");
  });
});

const HOSTILE = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "hostile-names.json"), "utf8")) as {
  refused: string[];
  prototype_names: string[];
  confusable_pairs: [string, string][];
};
const HEAD = "brink: 1\nname: h\ntime: { start: 0, stop: 10, dt: 1, unit: week }\n";
const formatted = (text: string) => checkModelText("h.yaml", text).diagnostics.map(formatDiagnostic);
/** Characters that act on a terminal or reorder text. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

describe("hostile names", () => {
  // Every table a name can be declared in, with the hostile name as its key (JSON is a YAML double-quoted key).
  const places: [string, (q: string) => string][] = [
    ["param", (q) => `params:\n  ${q}: 1\n`],
    ["var", (q) => `vars:\n  ${q}: 1\n`],
    ["stock", (q) => `stocks:\n  ${q}: 1\n`],
    ["flow", (q) => `flows:\n  ${q}: 1\n`],
    ["table", (q) => `tables:\n  ${q}: [[0, 0], [1, 1]]\n`],
    ["event", (q) => `events:\n  ${q}: { when: time > 2 }\n`],
    ["outcome", (q) => `outcomes:\n  ${q}: { when: time > 2 }\n`],
    ["decision", (q) => `decisions:\n  ${q}: { value: 1, min: 0, max: 2 }\n`],
    ["group", (q) => `groups:\n  ${q}: { doc: g }\n`],
    ["scenario", (q) => `params: { x: 1 }\nscenarios:\n  ${q}: { params: { x: 2 } }\n`],
    ["param", (q) => `params: { x: 1 }\nscenarios:\n  s: { params: { ${q}: 2 } }\n`],
    [
      "the target of event 'e',",
      (q) => `params: { x: 1 }\nevents:\n  e: { when: time > 2, then: { ${q}: 2 } }\n`,
    ],
  ];

  it("are refused in every name table with a diagnostic at the key, naming the rule", () => {
    for (const name of HOSTILE.refused.filter((n) => n.length <= 1000)) {
      const q = JSON.stringify(name);
      for (const [kind, section] of places) {
        const text = HEAD + section(q);
        const shown = formatted(text);
        expect(shown.length, `${kind} ${q}`).toBeGreaterThan(0);
        const line = text.split("\n").findIndex((l) => l.includes(q)) + 1;
        const first = shown[0]!;
        expect(first, `${kind} ${q}`).toMatch(
          new RegExp(
            `^h\\.yaml:${line}:\\d+: error: ${kind.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} '.*' is not a valid name: `,
            "u",
          ),
        );
        expect(first, `${kind} ${q}`).not.toMatch(UNPRINTABLE);
      }
    }
  });

  it("too long to be a YAML key, or as claim ids, are refused without printing them raw", () => {
    for (const name of HOSTILE.refused) {
      const q = JSON.stringify(name);
      for (const text of [
        `${HEAD}params:\n  ${q}: 1\n`,
        `${HEAD}params: { x: 1 }\nclaims:\n  - { id: ${q}, check: "E(x at 5) > 0" }\n`,
      ]) {
        const shown = formatted(text);
        expect(shown.length, q).toBeGreaterThan(0);
        for (const d of shown) {
          expect(d, q).not.toMatch(UNPRINTABLE);
          expect(d.length, q).toBeLessThan(400);
        }
      }
    }
  });

  it("of Object.prototype work as ordinary names, and are not found where they are not declared", () => {
    for (const name of HOSTILE.prototype_names) {
      const declared = `${HEAD}params:\n  ${name}: 3\nvars:\n  y: ${name} * 2\ntrack: [y]\n`;
      expect(formatted(declared), name).toEqual([]);
      expect(series(prepareText(declared)).series.y![0], name).toBe(6);
      expect(formatted(`${HEAD}vars:\n  y: 2 / ${name}\n`), name).toEqual([
        `h.yaml:5:10: error: unknown name '${name}'`,
      ]);
      expect(
        formatted(`${HEAD}params: { x: 1 }\ngroups: { g: { doc: d, switch: ${name} } }\n`)[0],
        name,
      ).toMatch(/the switch of group 'g' must be a param/);
      expect(
        formatted(HEAD.replace("unit: week", `unit: ${name}`) + "vars:\n  y: 1 / week\n")[0],
        name,
      ).toMatch(/time.start|time unit/);
      expect(formatted(`${HEAD}params:\n  a: "${name}(1, 2)"\n`)[0], name).toMatch(
        new RegExp(`unknown distribution '${name}'`),
      );
      const units = formatted(
        `${HEAD}params:\n  a: { value: 1, unit: ${name}s/week }\n  b: { value: 1, unit: people }\nvars:\n  c: a + b\n`,
      );
      expect(units, name).toEqual([
        `h.yaml:8:10: error: unit clash: ${name.toLowerCase()}s/week against people across '+' — both must be in the same unit`,
      ]);
    }
  });

  it("look-alikes of declared names are refused, naming the character", () => {
    for (const [ascii, lookalike] of HOSTILE.confusable_pairs) {
      const shown = formatted(`${HEAD}params:\n  ${ascii}: 1\n  ${JSON.stringify(lookalike)}: 2\n`);
      expect(shown).toHaveLength(1);
      expect(shown[0]).toMatch(
        /^h\.yaml:6:3: error: param '.*' is not a valid name: it contains '.' \(U\+0[34][0-9A-F]{2}\)/u,
      );
    }
  });
});

describe("resource bombs end in a diagnostic or a correct result", () => {
  it("10,000 shorthand vars load, each keeping its position", () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => `  v${i}: ${i} + x\n`).join("");
    const text = `${HEAD}params: { x: 1 }\nvars:\n${lines}  w: v9999 + nope\n`;
    expect(formatted(text)).toEqual(["h.yaml:10006:14: error: unknown name 'nope'"]);
  }, 60_000);

  it("a 700,000-point table is refused where it passes the value budget, before the YAML tree is built", () => {
    const points = Array.from({ length: 700_000 }, (_, i) => `[${i},${i % 7}]`).join(",");
    const text = `${HEAD}tables:\n  t: [${points}]\nvars:\n  x: t(time)\n`;
    const shown = formatted(text);
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatch(/^h\.yaml:5:\d+: error: more than 100,000 values in one model file/);
    // The budget is passed inside the table, not at its start or the file's end.
    const col = Number(/^h\.yaml:5:(\d+):/.exec(shown[0]!)![1]);
    expect(col).toBeGreaterThan(1000);
    expect(col).toBeLessThan(points.length);
  }, 60_000);

  it("a file is parsed once for all its scenarios, each load getting its own positions; 201 scenarios are refused", () => {
    const text = `${HEAD}vars:\n  y: bad1 + 1\nscenarios:\n  s: { vars: { y: bad2 + 1 } }\n  t: { vars: { y: 2 } }\n`;
    const expected = ["h.yaml:5:6: error: unknown name 'bad1'", "h.yaml:7:19: error: unknown name 'bad2'"];
    expect(formatted(text)).toEqual(expected);
    // Again, after the scenario loads: the base's positions were not overwritten by the overlays.
    expect(formatted(text)).toEqual(expected);
    const many = (n: number) =>
      `${HEAD}params:\n  x: 1\nscenarios:\n${Array.from({ length: n }, (_, i) => `  s${i}: { params: { x: ${i} } }\n`).join("")}`;
    expect(checkModelText("h.yaml", many(200)).variants).toHaveLength(201);
    expect(formatted(many(201))).toEqual([
      "h.yaml:207:3: error: more than 200 scenarios; that is the limit — split the file, or make the difference a decision",
    ]);
  }, 60_000);

  it("duplicate keys are found however many keys a map has, 1 and '1' included", () => {
    expect(formatted(`${HEAD}params: { a: 1, "a": 2, 1: 3, "1": 4 }\n`)).toEqual([
      "h.yaml:4:17: error: YAML syntax: Map keys must be unique",
      "h.yaml:4:31: error: YAML syntax: Map keys must be unique",
    ]);
  });

  it("expressions and stock rates at their limits run alike on both backends; one past them is refused", () => {
    const chain = (n: number, op: string, term: string) => Array(n).fill(term).join(` ${op} `);
    const flows = Array.from({ length: 500 }, (_, i) => `f${i}`);
    const text = `${HEAD}params: { a: 0.5 }\nstocks:\n  s: { init: 0, inflows: [${flows}], outflows: [${flows.map((f) => `g${f}`)}] }\nflows:\n${flows.map((f) => `  ${f}: a\n  g${f}: a / 2\n`).join("")}vars:\n  x: ${chain(1000, "-", "a")}\n  y: ${chain(199, "^", "1")}\n  z: ${chain(500, "+", "s * 0.001")}\ntrack: [s, x, y, z]\n`;
    expect(formatted(text)).toEqual([]);
    const model = prepareText(text);
    const kernel = series(model, 0, 1, "kernel").series;
    expect(series(model, 0, 1, "interpreter").series).toEqual(kernel);
    expect(kernel.s![1]).toBeCloseTo(500 * 0.25, 9);
    expect(kernel.x![0]).toBeCloseTo(0.5 - 999 * 0.5, 9);
    expect(formatted(text.replace(`x: ${chain(1000, "-", "a")}`, `x: ${chain(1001, "-", "a")}`))[0]).toMatch(
      /levels deep/,
    );
    expect(formatted(text.replace("inflows: [", "inflows: [f0, "))[0]).toMatch(
      /^h\.yaml:6:\d+: error: 'inflows' of stock 's' has more than 500 entries; that is the limit$/,
    );
  }, 60_000);

  it("a 5,000-deep power tower and a 10,000-term sum exit 1 with a positioned error, not 70", async () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-"));
    for (const [name, expr, message] of [
      ["tower", Array(5000).fill("1").join("^"), "expression nested deeper than 200 levels"],
      ["sum", Array(10_000).fill("0.1").join("+"), "this expression is more than 1000 levels deep"],
    ] as const) {
      const path = join(dir, `${name}.yaml`);
      writeFileSync(path, `${HEAD}vars:\n  x: ${expr}\n`);
      const r = await cli(["run", path, "--runs", "2"]);
      expect(r.code, name).toBe(1);
      expect(r.err, name).toMatch(
        new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:5:\\d+: error: ${message}`),
      );
    }
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("XMILE names and functions become safe Brink names", () => {
  const xmile = (eqns: [string, string][]) =>
    `<?xml version="1.0" encoding="utf-8"?>\n<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">\n<header><name>x</name></header>\n<sim_specs><start>0</start><stop>10</stop><dt>1</dt></sim_specs>\n<model><variables>\n${eqns
      .map(([name, eqn]) => `<aux name="${name}"><eqn>${eqn}</eqn></aux>`)
      .join("\n")}\n</variables></model></xmile>\n`;

  it("folds accents, spells other letters as code points, and refuses prototype names as functions", async () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-"));
    const good = join(dir, "good.xmile");
    writeFileSync(
      good,
      xmile([
        ["Bevölkerung", "2"],
        ["人口", "Bevölkerung * 2"],
        ["__proto__", "1"],
        ["toString", "3"],
      ]),
    );
    const out = join(dir, "good.yaml");
    expect((await cli(["import", good, "-o", out])).code).toBe(0);
    const yaml = readFileSync(out, "utf8");
    expect(yaml).toMatch(/^ {2}bevolkerung: "?2"?$/m);
    expect(yaml).toMatch(/^ {2}u4eba_u53e3: "?bevolkerung \* 2"?$/m);
    expect(formatted(yaml)).toEqual([]);
    const bad = join(dir, "bad.xmile");
    writeFileSync(
      bad,
      xmile([
        ["a", "constructor(1)"],
        ["b", "toString(1)"],
      ]),
    );
    const r = await cli(["check", bad]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^.*bad\.xmile:6:\d+: error: <aux name="a">: the function CONSTRUCTOR is not supported yet/,
    );
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("diagnostics carry the range of what they name", () => {
  it("an unknown name and a misused call are underlined from their first to past their last character", () => {
    const text = [
      "brink: 1",
      "name: ranges",
      "time: { start: 0, stop: 2, dt: 1 }",
      "stocks:",
      "  s: { init: 1, inflows: [grow] }",
      "flows:",
      "  grow: s * grwth + lookup(2 * s, 1)",
    ].join("\n");
    const found = checkModelText("r.yaml", text).diagnostics;
    const unknown = found.find((d) => /unknown name 'grwth'/.test(d.message));
    // `grwth` sits at columns 13–17 of line 7: the range ends just past it.
    expect(unknown).toMatchObject({ line: 7, col: 13, end: { line: 7, col: 18 } });
    const lookup = found.find((d) => /first argument of lookup/.test(d.message));
    expect(lookup).toMatchObject({ line: 7, col: 28, end: { line: 7, col: 33 } });
  });
});
