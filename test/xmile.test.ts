import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { canonicalName, columnId, importXmile, MAX_ELEMENTS, translateEquation } from "../src/io/xmile.js";
import { exportXmile } from "../src/io/xmile-export.js";
import { DiagnosticError, formatDiagnostic } from "../src/lang/diagnostic.js";
import { loadModel } from "../src/model/load.js";
import { runConformance } from "../src/node/conformance.js";
import { brink } from "./cli-helpers.js";
import { applyEdits, ROOT } from "./helpers.js";

const SUITE = resolve(ROOT, "..", "shared", "test-models");
const hasSuite = existsSync(SUITE);
if (!hasSuite) console.log(`skipping the XMILE conformance suite: ${SUITE} is absent`);

const diagnostics = (text: string) => {
  try {
    importXmile("m.xmile", text);
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics.map(formatDiagnostic);
    throw e;
  }
  return [];
};

const wrap = (vars: string, extra = "") =>
  `<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0" version="1.0">\n<header><name>t</name>${extra}</header>\n<sim_specs method="Euler"><start>0</start><stop>4</stop><dt>1</dt></sim_specs>\n<model><variables>\n${vars}\n</variables></model>\n</xmile>\n`;

describe("XMILE import", () => {
  it("turns names into identifiers, case-insensitively", () => {
    expect(canonicalName("Test Abs")).toBe("test_abs");
    expect(canonicalName("TIME STEP")).toBe("time_step");
    expect(canonicalName("time")).toBe("time_var");
    expect(canonicalName("2nd stage (km/h)")).toBe("v_2nd_stage_km_h");
    // The elements of an imported array keep their names through export and import.
    expect(canonicalName("pop__v_2")).toBe("pop__v_2");
    expect(canonicalName("Cohort__South__very_old")).toBe("cohort__south__very_old");
  });

  it("rewrites equations into Brink syntax", () => {
    const ids = new Map([
      ["stock_a", "stock_a"],
      ["rate", "rate"],
    ]);
    expect(
      translateEquation(
        'IF "Stock A" = 0 AND NOT Rate <> 1 THEN MIN(Stock_A, 2) ELSE 3 MOD 2',
        ids,
        new Set(),
      ),
    ).toBe("if stock_a == 0 and not rate != 1 then min(stock_a, 2) else 3 % 2");
    expect(translateEquation("SMTH1(rate, 3) + PI() + INT(TIME) { a comment }", ids, new Set())).toBe(
      `smth1(rate, 3) + ${Math.PI} + int(time)`,
    );
    // Vensim writes its INTEGER, which rounds toward zero, as INT.
    expect(translateEquation("INT(rate)", ids, new Set(), undefined, { vensim: true })).toBe("trunc(rate)");
    expect(translateEquation("effect(rate)", ids, new Set(["effect"]))).toBe("effect(rate)");
  });

  it("imports stocks, flows, auxiliaries and graphical functions into a checkable model", () => {
    const { yaml } = importXmile(
      "m.xmile",
      wrap(`<stock name="Level"><eqn>10</eqn><inflow>In Flow</inflow><non_negative/></stock>
<flow name="In Flow"><eqn>effect(Level)</eqn><non_negative/></flow>
<gf name="effect"><xscale min="0" max="20"/><ypts>1,0,-1</ypts></gf>
<aux name="Twice"><eqn>2 * Level</eqn></aux>`),
    );
    const model = parseYaml(yaml);
    expect(model.stocks.level).toEqual({ init: "10", inflows: ["in_flow"], outflows: [], min: 0 });
    expect(model.flows.in_flow).toBe("max(0, effect(level))");
    expect(model.tables.effect).toEqual({
      points: [
        [0, 1],
        [10, 0],
        [20, -1],
      ],
      type: "continuous",
    });
    expect(model.vars.twice).toBe("2 * level");
    // Each entry is one line of the file.
    expect(yaml).toContain('  level: { init: "10", inflows: [ in_flow ], outflows: [], min: 0 }\n');
  });

  it("refuses two variables that import as one id", () => {
    expect(
      diagnostics(wrap('<aux name="Stock A"><eqn>1</eqn></aux>\n<aux name="stock_a"><eqn>2</eqn></aux>')),
    ).toEqual([
      'm.xmile:6:20: error: <aux name="stock_a"> imports as \'stock_a\', as <aux name="Stock A"> does: rename one of them',
    ]);
  });

  it("refuses what it cannot import with the element and its line", () => {
    expect(diagnostics("<xmile><model>")[0]).toMatch(/^m\.xmile:\d+:\d+: error: malformed XML: /);
    expect(diagnostics("<notxmile/>")).toEqual([
      "m.xmile:1:1: error: not an XMILE file: no <xmile> root element",
    ]);
    expect(
      diagnostics(wrap('<aux name="a"><eqn>1</eqn></aux>', "<options><uses_conveyor/></options>")),
    ).toEqual([
      "m.xmile:2:47: error: <uses_conveyor> is not supported yet (Brink imports models without conveyor)",
    ]);
    expect(diagnostics(wrap('<aux name="a"><eqn>NPV(1, 2)</eqn></aux>'))).toEqual([
      'm.xmile:5:19: error: <aux name="a">: the XMILE function NPV is not supported yet',
    ]);
    expect(diagnostics(wrap('<aux name="a"><eqn>FROB(1)</eqn></aux>'))[0]).toMatch(
      /the function FROB is not supported yet/,
    );
  });
});

describe("XMILE export and import", () => {
  it("keeps save, units, docs, sources and groups", () => {
    const text = `brink: 1
name: kept
doc: what the model is about
source: where its structure comes from
time: { start: 0, stop: 10, dt: 0.5, unit: week, save: 2 }
groups: { growth: { doc: the growth mechanism } }
params:
  rate: { dist: "0.1 to 0.3", unit: 1/week, doc: growth per week, source: "judgement: a guess", group: growth }
stocks:
  pop: { init: 10, inflows: [births], unit: people, doc: everyone, source: census 2020 }
flows:
  births: { eq: pop * rate, unit: people/week, doc: "born: each week", source: registry, group: growth }
vars:
  double: { eq: 2 * pop, unit: people, doc: twice as many }
tables:
  curve: { points: [[0, 1], [1, 2]], doc: a curve, source: a paper }
`;
    const original = loadModel("m.yaml", text);
    const back = loadModel("m.yaml", importXmile("m.xmile", exportXmile(original)).yaml);
    expect(back.spec.time.save).toBe(2);
    expect(back.time.saveEvery).toBe(original.time.saveEvery);
    expect(back.spec.doc).toBe(original.spec.doc);
    expect(back.spec.source).toBe(original.spec.source);
    for (const section of ["params", "stocks", "flows", "vars", "tables"] as const)
      for (const [name, entry] of Object.entries(original.spec[section] ?? {})) {
        const again = (back.spec[section] as Record<string, typeof entry>)[name]!;
        for (const key of ["unit", "doc", "source", "group"] as const)
          expect(again[key as keyof typeof again], `${section}.${name}.${key}`).toEqual(
            entry[key as keyof typeof entry],
          );
      }
  });

  it("reads XMILE docs from any tool, but units only from Brink's own files", () => {
    const v = '<aux name="a"><eqn>1</eqn><units>widgets/Month</units><doc>about a</doc></aux>';
    const { yaml } = importXmile("m.xmile", wrap(v));
    expect(parseYaml(yaml).vars.a).toEqual({ eq: "1", doc: "about a" });
    const brink = importXmile("m.xmile", wrap(v, '<product version="1">brink</product>')).yaml;
    expect(parseYaml(brink).vars.a).toEqual({ eq: "1", unit: "widgets/Month", doc: "about a" });
  });
});

describe("XMILE resource bounds (hostile files end in a positioned diagnostic)", () => {
  const withDims = (dims: string, vars: string) =>
    wrap(vars).replace("<model>", `<dimensions>${dims}</dimensions>\n<model>`);

  it("refuses a dimension of a billion elements before making any", () => {
    const out = diagnostics(withDims('<dim name="Big" size="1e9"/>', '<aux name="a"><eqn>1</eqn></aux>'));
    expect(out).toEqual([
      `m.xmile:4:40: error: <dim name="Big">: 1000000000 elements, more than the ${MAX_ELEMENTS} Brink expands`,
    ]);
    expect(diagnostics(withDims('<dim name="Odd" size="-2"/>', ""))[0]).toMatch(
      /size must be a whole number/,
    );
  });

  it("refuses two dimensions of 3000 before expanding them", () => {
    const out = diagnostics(
      withDims(
        '<dim name="A" size="3000"/><dim name="B" size="3000"/>',
        '<aux name="grid"><dimensions><dim name="A"/><dim name="B"/></dimensions><eqn>1</eqn></aux>',
      ),
    );
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^m\.xmile:6:\d+: error: <aux name="grid">: 9000000 elements \(a × b\)/);
  });

  it("caps macro expansion that grows exponentially", () => {
    // Each macro calls the one below twice: 2^20 copies of the innermost body.
    const macros = Array.from(
      { length: 20 },
      (_, i) =>
        `<macro name="M${i}"><parm>x</parm><eqn>${i === 19 ? "x + 1" : `M${i + 1}(x) + M${i + 1}(x)`}</eqn></macro>`,
    ).join("");
    const out = diagnostics(
      wrap('<aux name="a"><eqn>M0(1)</eqn></aux>').replace("<model>", `${macros}\n<model>`),
    );
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(
      /^m\.xmile:6:\d+: error: <aux name="a">: expanding the macros makes this equation longer than/,
    );
  });

  it("reports malformed JSON in brink:extensions at the element", () => {
    const bad = wrap('<aux name="a"><eqn>1</eqn></aux>').replace(
      "</xmile>",
      '<brink:extensions><![CDATA[{"events": ]]></brink:extensions>\n</xmile>',
    );
    expect(diagnostics(bad)[0]).toMatch(/^m\.xmile:7:\d+: error: <brink:extensions> is not valid JSON: /);
    const notObject = wrap('<aux name="a"><eqn>1</eqn></aux>').replace(
      "</xmile>",
      "<brink:extensions>[1, 2]</brink:extensions>\n</xmile>",
    );
    expect(diagnostics(notObject)[0]).toMatch(/<brink:extensions> must hold one JSON object/);
  });
});

describe.skipIf(!hasSuite)("the XMILE conformance suite", () => {
  const rows = hasSuite ? runConformance(SUITE) : [];
  const status = Object.fromEntries(rows.map((r) => [r.folder, r]));

  it("passes every model it supports, but for the known numerical mismatches listed in docs/conformance.md", () => {
    const knownFailures = ["arithmetics_exp", "exp", "zeroled_decimals"];
    const passed = rows.filter((r) => r.status === "passed").map((r) => r.folder);
    expect(passed.length).toBeGreaterThanOrEqual(33);
    for (const r of rows.filter((x) => x.status === "failed"))
      expect(knownFailures, `${r.folder}: ${r.detail}`).toContain(r.folder);
    for (const name of [
      "teacup",
      "abs",
      "lookups",
      "game",
      "special_characters_xmile",
      "chained_initialization",
      "ln",
      "limits",
      "subscripted_trig",
      "min_max_1arg",
      "subscript_individually_defined_1d_arrays",
      "active_initial",
      "non_negative_all",
      "trig",
    ]) {
      expect(status[name]?.status, name).toBe("passed");
    }
  });

  it("declares unsupported only for macros, modules or missing files, and invalid only for broken model files", () => {
    for (const r of rows.filter((x) => x.status === "unsupported")) {
      expect(r.detail, r.folder).toMatch(/MACRO|modules|no expected output|no \.xmile/);
    }
    for (const r of rows.filter((x) => x.status === "invalid")) {
      expect(r.detail, r.folder).toMatch(/malformed XML|placeholder '\?\?\?'/);
    }
  });

  it("brink conformance prints the table, and brink run / import take XMILE files", async () => {
    const table = await brink("conformance", SUITE);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/teacup\s+passed/);
    expect(table.stdout).toMatch(/\d+ passed, \d+ failed, \d+ unsupported/);
    const teacup = join(SUITE, "samples", "teacup", "teacup.xmile");
    const run = await brink("run", teacup, "--runs", "3", "--json");
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout).runs).toBe(3);
    const scratch = mkdtempSync(join(tmpdir(), "brink-xmile-"));
    const out = join(scratch, "teacup.yaml");
    expect((await brink("import", teacup, "-o", out)).status).toBe(0);
    expect((await brink("check", out)).status).toBe(0);
    expect(readFileSync(out, "utf8")).toMatch(/^brink: 1/);
    rmSync(scratch, { recursive: true, force: true });
  });
});

describe("XMILE macros", () => {
  const withMacros = (macros: string, vars: string) => wrap(vars).replace("<model>", `${macros}\n<model>`);

  it("expands expression macros where they are called, nested and with spaced names", async () => {
    const { prepareModel } = await import("../src/engine/prepare.js");
    const { Runner } = await import("../src/engine/run.js");
    const text = withMacros(
      `<macro name="LOG BASE"><parm>x</parm><parm>base</parm><eqn>LN(x) / LN(base)</eqn></macro>
<macro name="TWICE"><parm>x</parm><eqn>2 * x</eqn></macro>`,
      `<aux name="a"><eqn>LOG BASE(8, 2)</eqn></aux>
<aux name="b"><eqn>TWICE(LOG_BASE(a + 1 - 1, 2)) + TWICE(1)</eqn></aux>`,
    );
    const prepared = prepareModel("m.yaml", importXmile("m.xmile", text).yaml);
    const runner = new Runner(prepared, 1);
    runner.run(0);
    const names = prepared.program.tracked.map((t) => t.name);
    expect(runner.saved[names.indexOf("a")]).toBeCloseTo(3, 12);
    expect(runner.saved[names.indexOf("b")]).toBeCloseTo((2 * Math.log(3)) / Math.log(2) + 2, 12);
  });

  it("refuses macros it cannot expand, with the element and line", () => {
    expect(
      diagnostics(
        withMacros(
          '<macro name="m"><parm>x</parm><eqn>x</eqn></macro>',
          '<aux name="a"><eqn>m(1, 2)</eqn></aux>',
        ),
      ),
    ).toEqual(['m.xmile:6:19: error: <aux name="a">: the macro m takes 1 argument, not 2']);
    expect(
      diagnostics(
        withMacros(
          '<macro name="loop"><parm>x</parm><eqn>loop(x)</eqn></macro>',
          '<aux name="a"><eqn>loop(1)</eqn></aux>',
        ),
      ),
    ).toEqual([
      'm.xmile:6:19: error: <aux name="a">: macros call each other too deeply (a macro calls itself?)',
    ]);
    expect(
      diagnostics(
        withMacros(
          '<macro name="s"><parm>x</parm><eqn>x</eqn><variables><stock name="k"><eqn>0</eqn></stock></variables></macro>',
          '<aux name="a"><eqn>1</eqn></aux>',
        ),
      ),
    ).toEqual([
      'm.xmile:4:16: error: <macro name="s">: macros with their own variables are not supported yet',
    ]);
  });
});

describe("XMILE arrays", () => {
  const arrayed = (vars: string) =>
    wrap(vars, "").replace(
      "<model>",
      `<dimensions><dim name="Region"><elem name="North"/><elem name="South"/></dim><dim name="Age"><elem name="young"/><elem name="old"/><elem name="very old"/></dim></dimensions>\n<model>`,
    );
  const run = async (text: string) => {
    const { prepareModel } = await import("../src/engine/prepare.js");
    const { Runner } = await import("../src/engine/run.js");
    const prepared = prepareModel("m.yaml", importXmile("m.xmile", text).yaml);
    const runner = new Runner(prepared, 1);
    const end = runner.run(0);
    const names = prepared.program.tracked.map((t) => t.name);
    // The value of an XMILE column at each saved time.
    return (column: string) =>
      Array.from(
        { length: end.saves },
        (_, k) => runner.saved[k * names.length + names.indexOf(columnId(column))]!,
      );
  };

  it("expands apply-to-all, per-element and number-list definitions into one variable per element", async () => {
    const at = await run(
      arrayed(`<stock name="Pop"><dimensions><dim name="Region"/></dimensions><element subscript="North"><eqn>100</eqn></element><element subscript="South"><eqn>50</eqn></element><inflow>Births</inflow></stock>
<flow name="Births"><dimensions><dim name="Region"/></dimensions><eqn>Pop[Region] * Rate</eqn></flow>
<aux name="Rate"><dimensions><dim name="Region"/></dimensions><eqn>0.1, 0.2</eqn></aux>
<aux name="Total"><eqn>SUM(Pop[*])</eqn></aux>
<aux name="Average"><eqn>MEAN(Pop)</eqn></aux>
<aux name="Largest"><eqn>MAX(Pop[*])</eqn></aux>
<aux name="Spread"><eqn>STDDEV(Pop[*])</eqn></aux>
<aux name="Count"><eqn>SIZE(Pop[*])</eqn></aux>
<aux name="South share"><eqn>Pop[South] / Total</eqn></aux>
<aux name="Weight"><dimensions><dim name="Age"/></dimensions><eqn>1, 2, 3</eqn></aux>
<aux name="Cohort"><dimensions><dim name="Region"/><dim name="Age"/></dimensions><eqn>Pop * Weight[Age]</eqn></aux>`),
    );
    // Euler, dt 1: North grows 10% a step, South 20%.
    expect(at("Pop[North]")).toEqual([100, 110, 121, 133.1, 146.41].map((x) => expect.closeTo(x, 9)));
    expect(at("Pop[South]")).toEqual([50, 60, 72, 86.4, 103.68].map((x) => expect.closeTo(x, 9)));
    expect(at("Total")[2]).toBeCloseTo(193, 9);
    expect(at("Average")[2]).toBeCloseTo(96.5, 9);
    expect(at("Largest")[2]).toBeCloseTo(121, 9);
    expect(at("Spread")[2]).toBeCloseTo(24.5, 9);
    expect(at("Count")[0]).toBe(2);
    expect(at("South share")[1]).toBeCloseTo(60 / 170, 12);
    expect(at("Cohort[South,very old]")[1]).toBeCloseTo(180, 9);
    expect(at("Cohort[North,young]")[1]).toBeCloseTo(110, 9);
  });

  it("numbers the elements of a sized dimension", async () => {
    const text = wrap(
      '<aux name="x"><dimensions><dim name="N"/></dimensions><eqn>10, 20, 30</eqn></aux>\n<aux name="total"><eqn>SUM(x[*])</eqn></aux>',
    ).replace("<model>", '<dimensions><dim name="N" size="3"/></dimensions>\n<model>');
    const at = await run(text);
    expect(at("x[2]")[0]).toBe(20);
    expect(at("total")[0]).toBe(60);
  });

  it("points at the element and line of a bad subscript", () => {
    expect(
      diagnostics(
        arrayed(
          '<aux name="x"><dimensions><dim name="Region"/></dimensions><eqn>1</eqn></aux>\n<aux name="y"><eqn>x[East]</eqn></aux>',
        ),
      ),
    ).toEqual([
      'm.xmile:7:19: error: <aux name="y">: east is neither a dimension nor an element of region (subranges are not supported yet)',
    ]);
    expect(
      diagnostics(
        arrayed(
          '<aux name="x"><dimensions><dim name="Region"/></dimensions><eqn>1</eqn></aux>\n<aux name="y"><eqn>x + 1</eqn></aux>',
        ),
      ),
    ).toEqual([
      'm.xmile:7:19: error: <aux name="y">: a whole array is used where one number is expected (only SUM, MEAN, PROD, SIZE, STDDEV, MIN and MAX take arrays)',
    ]);
    expect(
      diagnostics(
        arrayed(
          '<aux name="x"><dimensions><dim name="Region"/></dimensions><element subscript="North"><eqn>1</eqn></element></aux>',
        ),
      ),
    ).toEqual(['m.xmile:6:14: error: <aux name="x">: no definition for element x[South]']);
    expect(
      diagnostics(
        arrayed('<aux name="x"><dimensions><dim name="Region"/></dimensions><eqn> ??? </eqn></aux>'),
      ),
    ).toEqual([
      "m.xmile:6:64: error: <aux name=\"x\">: the equation is a placeholder '???' (the definition was lost when the model was converted to XMILE)",
    ]);
    expect(
      diagnostics(arrayed('<aux name="x"><dimensions><dim name="Planet"/></dimensions><eqn>1</eqn></aux>')),
    ).toEqual(['m.xmile:6:14: error: <aux name="x">: unknown dimension planet']);
  });
});

describe.skipIf(!hasSuite)("XMILE export", () => {
  it("import → export → import gives the same results on every model of the suite that passes", async () => {
    const { exportXmile } = await import("../src/io/xmile-export.js");
    const { loadModel } = await import("../src/model/load.js");
    const { prepareModel } = await import("../src/engine/prepare.js");
    const { Runner } = await import("../src/engine/run.js");
    const runOnce = (yaml: string) => {
      const runner = new Runner(prepareModel("m.yaml", yaml), 1);
      runner.run(0);
      return Array.from(runner.saved);
    };
    let checked = 0;
    for (const r of runConformance(SUITE).filter((x) => x.status === "passed")) {
      const folder = ["tests", "samples"].map((d) => join(SUITE, d, r.folder)).find(existsSync)!;
      const first = importXmile(r.model, readFileSync(join(folder, r.model), "utf8")).yaml;
      const again = importXmile("again.xmile", exportXmile(loadModel("m.yaml", first))).yaml;
      expect(runOnce(again), r.folder).toEqual(runOnce(first));
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(27);
  });

  it("keeps what XMILE cannot say (priors, events, outcomes, claims) in brink: elements", async () => {
    const { exportXmile } = await import("../src/io/xmile-export.js");
    const { loadModel } = await import("../src/model/load.js");
    const war = join(ROOT, "models", "examples", "war-of-attrition.yaml");
    const original = loadModel(war, readFileSync(war, "utf8"));
    const xml = exportXmile(original);
    expect(xml).toContain("<brink:dist>0.04 to 0.12</brink:dist>");
    // Units and docs go into XMILE's own elements.
    expect(xml).toMatch(
      /<stock name="attacker_reserves">.*<doc>trained reserves not yet committed<\/doc><units>index<\/units><\/stock>/,
    );
    expect(xml).toMatch(/<brink:extensions><!\[CDATA\[\{("doc"|"source"|"events")/);
    const back = loadModel("back.yaml", importXmile("war.xmile", xml).yaml);
    expect(Object.keys(back.spec.outcomes ?? {})).toEqual(Object.keys(original.spec.outcomes ?? {}));
    expect(back.spec.claims?.map((c) => c.id)).toEqual(original.spec.claims?.map((c) => c.id));
    expect(back.spec.params?.attrition_rate?.dist).toBe("0.04 to 0.12");
    // And it runs to the same report: dated time, priors, events, outcomes and claims all came back.
    const { simulate, closeWorkers } = await import("../src/node/simulate.js");
    const a = await simulate({ file: war, text: readFileSync(war, "utf8") }, { runs: 300, workers: 1 });
    const b = await simulate(
      { file: "war.xmile", text: importXmile("war.xmile", xml).yaml },
      { runs: 300, workers: 1 },
    );
    await closeWorkers();
    expect(JSON.stringify({ ...b.report, model: "", tracked: {} })).toBe(
      JSON.stringify({ ...a.report, model: "", tracked: {} }),
    );
  });
});

describe.skipIf(!hasSuite)("XMILE import under fuzzing", () => {
  it("random edits of suite models give diagnostics or valid models, never exceptions", async () => {
    const fc = (await import("fast-check")).default;
    const { checkModelText } = await import("../src/analysis/check.js");
    const sources = [
      "tests/abs/test_abs.xmile",
      "tests/lookups/test_lookups.xmile",
      "samples/teacup/teacup.xmile",
    ].map((p) => readFileSync(join(SUITE, p), "utf8"));
    const chars = [..."<>/=\"' \nabcXYZ0123456789().,+-*^&;[]{}"];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: sources.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.constantFrom(...chars)), {
          minLength: 1,
          maxLength: 5,
        }),
        (which, edits) => {
          const text = applyEdits(sources[which]!, edits);
          try {
            const { yaml } = importXmile("fuzz.xmile", text);
            for (const d of checkModelText("fuzz.yaml", yaml).diagnostics)
              expect(d.line).toBeGreaterThanOrEqual(1);
          } catch (e) {
            if (!(e instanceof DiagnosticError)) throw e;
            for (const d of e.diagnostics) expect(d.file).toBe("fuzz.xmile");
          }
        },
      ),
      { numRuns: 400, seed: 9 },
    );
  });
});
