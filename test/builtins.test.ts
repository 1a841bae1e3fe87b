import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  BUILTINS,
  builtinTable,
  domainError,
  withBuiltinTable,
  XMILE_FUNCTIONS,
} from "../src/compile/builtins.js";
import { importXmile } from "../src/io/xmile.js";
import { exportXmile } from "../src/io/xmile-export.js";
import { parseExpr } from "../src/lang/parser.js";
import { loadModel } from "../src/model/load.js";
import { conformanceCase } from "../src/node/conformance.js";
import { diagnosticsOf, prepareText, ROOT, series as run } from "./helpers.js";

const series = (m: Parameters<typeof run>[0]) => run(m).series;

import { SiteStreams } from "../src/engine/rng.js";
import { RunFailure, Runner } from "../src/engine/run.js";

describe("the builtin registry", () => {
  it("has a complete entry for every function", () => {
    const xmileNames = new Set<string>();
    for (const [name, b] of BUILTINS) {
      expect(b.name).toBe(name);
      expect(name).toMatch(/^[a-z][a-z0-9]*$/);
      expect(b.signature.startsWith(`${name}(`), name).toBe(true);
      expect(b.doc.length, name).toBeGreaterThan(3);
      expect(b.minArgs, name).toBeGreaterThanOrEqual(1);
      expect(b.maxArgs, name).toBeGreaterThanOrEqual(b.minArgs);
      // The signature shows every argument: the required ones plain, the optional ones in brackets.
      const shown = parseExpr(b.signature.replace(/\[, /g, ", ").replace(/\]/g, "").replace(", …", ""));
      if (shown.kind !== "call") throw new Error(`${name}: the signature is not a call`);
      expect(shown.args.length, name).toBe(b.maxArgs > 10 ? b.minArgs : b.maxArgs);
      expect(b.xmile.write, name).toBeTruthy();
      for (const x of b.xmile.read) {
        expect(xmileNames.has(x), `${x} is imported as two builtins`).toBe(false);
        xmileNames.add(x);
        expect(XMILE_FUNCTIONS.get(x)).toBe(b);
      }
      switch (b.kind) {
        case "pure":
          expect(b.js, name).toMatch(/^(Math|F)\.\w+$/);
          expect(typeof b.fn(...Array(b.minArgs).fill(0.5)), name).toBe("number");
          break;
        case "time":
          expect(typeof b.fn(1, 0.5, ...Array(b.minArgs).fill(1)), name).toBe("number");
          break;
        case "random": {
          expect(b.domain.length, `${name} states the domain of its arguments`).toBeGreaterThan(0);
          const streams = new SiteStreams(["s"]);
          streams.reset(1, 0);
          for (const rule of b.domain) {
            expect(rule.holds(rule.counterexample), name).toBe(false);
            // The draw itself refuses what the rule refuses, so a compiled run fails too.
            expect(b.fn(streams, 0, ...rule.counterexample), name).toBeNaN();
            expect(domainError(b, rule.counterexample)).toContain(rule.message);
          }
          break;
        }
        case "stateful":
          expect(typeof b.lower, name).toBe("function");
          break;
        case "lookup":
          break;
      }
    }
  });

  it("is the function table of docs/model-format.md (npm run docs:builtins)", () => {
    const doc = readFileSync(resolve(ROOT, "docs", "model-format.md"), "utf8");
    expect(withBuiltinTable(doc)).toBe(doc);
    for (const name of BUILTINS.keys()) expect(builtinTable()).toContain(`\`${name}(`);
  });
});

const model = (vars: string, extra = "") =>
  `brink: 1\nname: t\ntime: { start: 0, stop: 6, dt: 0.5 }\n${extra}vars:\n${vars}\ntrack: [out]\n`;

describe("random draws check their arguments", () => {
  it("refuses constant arguments outside the domain at compile time, at the call", () => {
    expect(diagnosticsOf(() => prepareText(model('  out: "1 + normal(0, -1)"')))).toEqual([
      "model.yaml:5:13: error: normal(mean, sd): sd must be ≥ 0 (here mean = 0, sd = -1)",
    ]);
    for (const [call, message] of [
      ["exponential(-1)", "exponential(mean): mean must be ≥ 0"],
      ["uniform(5, 1)", "uniform(a, b): a must not exceed b"],
      ["bernoulli(2)", "bernoulli(p): p must be in [0, 1]"],
      ["poisson(0 - 3)", "poisson(mean): mean must be ≥ 0"],
    ])
      expect(diagnosticsOf(() => prepareText(model(`  out: "${call}"`)))[0]).toContain(message);
  });

  it("fails a run whose computed arguments leave the domain, naming the value and the call", () => {
    const m = prepareText(model('  sd: "time - 2"\n  out: "normal(0, sd)"'));
    const runner = new Runner(m, 1);
    let failure: unknown;
    try {
      runner.run(0);
    } catch (e) {
      failure = e;
    }
    expect(failure).toBeInstanceOf(RunFailure);
    const message = (failure as RunFailure).diagnostics[0]!.message;
    expect(message).toContain("'out' is NaN at time 0");
    expect(message).toContain("normal(mean, sd): sd must be ≥ 0 (here mean = 0, sd = -2)");
  });
});

describe("XMILE INT and its round trip", () => {
  it("INT rounds down, as XMILE defines it", () => {
    const { yaml } = importXmile(
      "m.xmile",
      `<xmile version="1.0"><header><name>t</name></header><sim_specs><start>0</start><stop>1</stop><dt>1</dt></sim_specs><model><variables><aux name="out"><eqn>INT(-1.5)</eqn></aux></variables></model></xmile>`,
    );
    expect(series(prepareText(yaml)).out![0]).toBe(-2);
  });

  it("exports trunc, floor, ceil, clamp and bernoulli as XMILE that imports back to the same values", () => {
    const text = model(
      '  x: "time - 3.5"\n  out: "trunc(x) + 10 * floor(x) + 100 * ceil(x) + 1000 * clamp(x, -1, 1) + 10000 * int(x)"',
    );
    const original = series(prepareText(text));
    const xmile = exportXmile(loadModel("model.yaml", text));
    expect(xmile).not.toMatch(/TRUNC|FLOOR|CEIL|CLAMP|BERNOULLI/);
    const back = series(prepareText(importXmile("m.xmile", xmile).yaml));
    expect(back.out).toEqual(original.out);
    // bernoulli(p) goes out as a uniform draw below p (another stream, so other draws, but 0 or 1 with p).
    const coin = exportXmile(loadModel("model.yaml", model('  out: "bernoulli(0.5)"')));
    const draws = series(prepareText(importXmile("m.xmile", coin).yaml)).out!;
    expect(new Set(draws)).toEqual(new Set([0, 1]));
  });

  it("exports student(df) as a normal over a gamma draw, and refuses a df that is itself a draw", () => {
    const t = exportXmile(loadModel("model.yaml", model('  out: "student(4)"')));
    expect(t).toContain("(NORMAL(0, 1) / SQRT(GAMMA(4 / 2, 2) / 4))");
    const draws = series(prepareText(importXmile("m.xmile", t).yaml)).out!;
    expect(draws.every(Number.isFinite)).toBe(true);
    expect(new Set(draws).size).toBe(draws.length);
    // df written twice: two uniform draws would not be one t draw.
    expect(() => exportXmile(loadModel("model.yaml", model('  out: "student(uniform(3, 5))"')))).toThrow(
      /model\.yaml:\d+:\d+: error: cannot export this equation to XMILE: student\(df\) .* give df as a number or a name/,
    );
  });
});

const SUITE = resolve(ROOT, "..", "shared", "test-models", "tests");
const FIXTURES = resolve(ROOT, "test", "fixtures", "xmile-builtins");

describe.skipIf(!existsSync(SUITE))(
  "XMILE DELAY, DELAYN and TREND against the suite's expected outputs",
  () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-builtins-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    // The suite has these only as Vensim .mdl files; the fixtures are the same models written in XMILE
    // (DELAY FIXED is XMILE's DELAY, DELAY N(input, time, init, n) is DELAYN(input, time, n, init)).
    const caseOf = (name: string, fixture: string, expected: string) => {
      const folder = join(dir, name);
      mkdirSync(folder, { recursive: true });
      copyFileSync(join(FIXTURES, fixture), join(folder, fixture));
      copyFileSync(join(SUITE, name, expected), join(folder, expected));
      return conformanceCase(folder);
    };

    it("pipeline and nth-order delays match delay_pipeline", () => {
      const row = caseOf("delay_pipeline", "delay_pipeline.xmile", "output.tab");
      expect(row.status, row.detail).toBe("passed");
      expect(row.cells).toBeGreaterThan(2000);
    });

    it("first- and third-order material delays of a delay time that changes match delays", () => {
      // Its DELAY N column is left out: under a changing delay time Vensim's DELAY N differs from a chain of
      // material stages (DELAYN matches delay_pipeline, where the delay time is fixed).
      const row = caseOf("delays", "delays.xmile", "output.tab");
      expect(row.status, row.detail).toBe("passed");
      expect(row.cells).toBeGreaterThan(500);
    });

    it("TREND matches trend to the precision its output is printed with", () => {
      const text = readFileSync(join(FIXTURES, "trend.xmile"), "utf8");
      const out = series(
        prepareText(importXmile("trend.xmile", text).yaml.replace(/track: .*/, "track: [trend_of_input]")),
      );
      const lines = readFileSync(join(SUITE, "trend", "output.csv"), "utf8")
        .trim()
        .split(/\r?\n/);
      expect(lines[0]).toContain("TREND of input");
      const column = lines[0]!.split(",").indexOf("TREND of input");
      let compared = 0;
      for (const line of lines.slice(1)) {
        const cells = line.split(",");
        const t = Number(cells[0]);
        const want = Number(cells[column]);
        // Five decimals are printed: within half a unit of the last.
        expect(Math.abs(out.trend_of_input![t]! - want), `at time ${t}`).toBeLessThanOrEqual(0.5e-5 + 1e-12);
        compared++;
      }
      expect(compared).toBeGreaterThan(90);
    });
  },
);

describe("the nth-order and trend builtins", () => {
  it("smthn and delayn of order 3 are smth3 and delay3", () => {
    const vars = (a: string, b: string) =>
      `  x: "step(5, 1) + time"\n  a: "${a}"\n  b: "${b}"\n  out: "a - b"`;
    const s = series(prepareText(model(vars("smthn(x, 2, 3)", "smth3(x, 2)")).replace("[out]", "[a, b]")));
    expect(s.a).toEqual(s.b);
    const d = series(
      prepareText(model(vars("delayn(x, 2, 3, 1)", "delay3(x, 2, 1)")).replace("[out]", "[a, b]")),
    );
    expect(d.a).toEqual(d.b);
  });

  it("forcst extrapolates by the trend: input · (1 + trend · horizon)", () => {
    const text = model(
      '  x: "1 + time"\n  tr: "trend(x, 2)"\n  f: "forcst(x, 2, 3)"\n  out: "x * (1 + tr * 3) - f"',
    );
    const s = series(prepareText(text));
    for (const v of s.out!) expect(Math.abs(v)).toBeLessThan(1e-12);
  });

  it("refuses a pipeline delay whose time is not fixed, or an order that is not a whole constant", () => {
    expect(diagnosticsOf(() => prepareText(model('  out: "delay(time, time)"')))[0]).toMatch(
      /model\.yaml:5:\d+: error: the delay time of delay\(…\) must be a constant/,
    );
    expect(diagnosticsOf(() => prepareText(model('  out: "delayn(time, 2, 2.5)"')))[0]).toContain(
      "the order of delayn must be a whole number from 1 to 1000",
    );
  });

  it("a pipeline delay gives the input of delay_time ago, the initial value before", () => {
    const s = series(
      prepareText(model('  t1: 1\n  x: "time * 10"\n  out: "delay(x, t1 + dt, -1)"', "params:\n  p: 1\n")),
    );
    // dt 0.5, delay 1.5 = 3 steps.
    expect(s.out!.slice(0, 6)).toEqual([-1, -1, -1, 0, 5, 10]);
    const noInit = series(prepareText(model('  x: "time * 10 + 7"\n  out: "delay(x, 1)"')));
    expect(noInit.out!.slice(0, 4)).toEqual([7, 7, 7, 12]);
  });
});
