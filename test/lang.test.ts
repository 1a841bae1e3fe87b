import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Expr, printExpr, walk } from "../src/lang/ast.js";
import { closest, formatDiagnostic, printable } from "../src/lang/diagnostic.js";
import { ExprSyntaxError, nameProblem } from "../src/lang/lexer.js";
import { MAX_EXPRESSION_LENGTH, MAX_EXPRESSION_LEVELS, parseExpr } from "../src/lang/parser.js";

const p = (s: string) => printExpr(parseExpr(s));

describe("expression parser", () => {
  it("follows the documented precedence", () => {
    expect(p("1 + 2 * 3")).toBe("(1 + (2 * 3))");
    expect(p("-2 ^ 2")).toBe("(-(2 ^ 2))");
    expect(p("2 ^ 3 ^ 2")).toBe("(2 ^ (3 ^ 2))");
    expect(p("2 ^ -1")).toBe("(2 ^ (-1))");
    expect(p("a < b and not c or d")).toBe("(((a < b) and (not c)) or d)");
    expect(p("if a > 1 then b else c + 1")).toBe("(if (a > 1) then b else (c + 1))");
    expect(p("a = b")).toBe("(a == b)");
    expect(p("a <> b")).toBe("(a != b)");
    expect(p("f(x, g(y), 2026-01-01)")).toBe("f(x, g(y), 2026-01-01)");
    expect(p("P(o by 2027-08-21)")).toBe("P((o by 2027-08-21))");
    expect(p("1e-3 * .5")).toBe("(0.001 * 0.5)");
  });

  it("keeps the position of every node", () => {
    const e = parseExpr("alpha +  beta * gamma(x)");
    expect(e).toMatchObject({ kind: "binary", pos: 0, end: 24 });
    const right = (e as Extract<Expr, { kind: "binary" }>).right as Extract<Expr, { kind: "binary" }>;
    expect(right.left).toMatchObject({ kind: "name", name: "beta", pos: 9, end: 13 });
    expect(right.right).toMatchObject({ kind: "call", callee: "gamma", pos: 16, end: 24 });
  });

  it("reports syntax errors with their offset", () => {
    const cases: [string, number, RegExp][] = [
      ["1 +", 3, /ends too early/],
      ["(1 + 2", 6, /expected '\)'/],
      ["a b", 2, /unexpected 'b'/],
      ["2x", 0, /cannot run into a name/],
      ["a && b", 2, /write 'and'/],
      ["if a then b", 11, /every 'if' needs an 'else'/],
      ["1 < 2 < 3", 6, /do not chain/],
      ["2025-13-01", 0, /not a valid date/],
      ["a $ b", 2, /unexpected character/],
      ["", 0, /empty/],
    ];
    for (const [text, pos, message] of cases) {
      try {
        parseExpr(text);
        throw new Error(`parsed: ${text}`);
      } catch (e) {
        expect(e, text).toBeInstanceOf(ExprSyntaxError);
        expect((e as ExprSyntaxError).pos, text).toBe(pos);
        expect((e as ExprSyntaxError).message, text).toMatch(message);
      }
    }
  });

  it("printing and re-parsing is a fixed point (property)", () => {
    const leaf = fc.oneof(fc.constantFrom("x", "y_2", "time"), fc.integer({ min: 0, max: 99 }).map(String));
    const tree = fc.letrec((tie) => ({
      e: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        leaf,
        fc
          .tuple(
            tie("e"),
            fc.constantFrom("+", "-", "*", "/", "^", "%", "<", ">=", "==", "and", "or"),
            tie("e"),
          )
          .map(([a, op, b]) => `(${a} ${op} ${b})`),
        tie("e").map((a) => `-${a}`),
        tie("e").map((a) => `(not ${a})`),
        fc.tuple(tie("e"), tie("e"), tie("e")).map(([a, b, c]) => `(if ${a} then ${b} else ${c})`),
        fc.tuple(tie("e"), tie("e")).map(([a, b]) => `max(${a}, ${b})`),
      ),
    }));
    fc.assert(
      fc.property(tree.e, (text) => {
        const once = p(text);
        expect(p(once)).toBe(once);
      }),
      { numRuns: 500, seed: 5 },
    );
  });
});

/** The error a text must raise when parsed. */
function syntaxError(text: string): ExprSyntaxError {
  try {
    parseExpr(text);
  } catch (e) {
    if (e instanceof ExprSyntaxError) return e;
    throw e;
  }
  throw new Error(`parsed: ${text.slice(0, 40)}`);
}

describe("expressions too deep or too long for the walks that follow", () => {
  it("refuses a 5,000-deep power tower and a 10,000-term sum with a positioned error, not a stack overflow", () => {
    const tower = syntaxError(Array(5000).fill("1").join("^"));
    expect(tower.message).toMatch(/nested deeper than 200 levels/);
    expect(tower.pos).toBeGreaterThan(0);
    const sum = syntaxError(Array(10_000).fill("0.1").join("+"));
    expect(sum.message).toMatch(/more than 1000 levels deep .* split it into vars/);
    expect(sum.pos).toBeGreaterThan(0);
    expect(syntaxError(`${"-".repeat(5000)}1`).message).toMatch(/nested deeper than 200/);
    expect(syntaxError(`${"not ".repeat(5000)}1`).message).toMatch(/nested deeper than 200/);
  });

  it("parses a chain right at the level limit, and walks it without recursion", () => {
    const names = Array.from({ length: MAX_EXPRESSION_LEVELS }, (_, i) => `x${i}`);
    const e = parseExpr(names.join(" - "));
    const seen: string[] = [];
    walk(e, (n) => {
      if (n.kind === "name") seen.push(n.name);
    });
    expect(seen).toEqual(names);
    expect(syntaxError([...names, "y"].join(" - ")).message).toMatch(/levels deep/);
  });

  it("refuses text longer than the limit before tokenising it", () => {
    const e = syntaxError("1".repeat(MAX_EXPRESSION_LENGTH + 1));
    expect(e.pos).toBe(0);
    expect(e.message).toMatch(/characters long; the limit is 100,000/);
  });
});

describe("names", () => {
  it("are ASCII identifiers; the refusal names the offending character", () => {
    expect(nameProblem("growth_rate_2")).toBeUndefined();
    expect(nameProblem("_x")).toBeUndefined();
    expect(nameProblem("toString")).toBeUndefined();
    expect(nameProblem("p\u0430ram")).toMatch(/contains '\u0430' \(U\+0430\); names use ASCII letters/);
    expect(nameProblem("a\u001b[31m")).toMatch(/contains U\+001B;/);
    expect(nameProblem("a\u202eb")).toMatch(/contains U\+202E;/);
    expect(nameProblem("a b")).toMatch(/contains a space/);
    expect(nameProblem("2x")).toMatch(/starts with a digit/);
    expect(nameProblem("__proto__")).toMatch(/'__' are reserved/);
    expect(nameProblem("")).toMatch(/empty/);
    expect(nameProblem("n".repeat(257))).toMatch(/257 characters long; names have at most 256/);
  });

  it("in expressions, a look-alike letter is refused where it stands", () => {
    const e = syntaxError("p\u0430ram + 1");
    expect(e.pos).toBe(1);
    expect(e.message).toBe(
      "'\u0430' (U+0430) cannot be part of a name: names use ASCII letters, digits and '_', and start with a letter or '_'",
    );
    expect(syntaxError("\u0430 + 1").pos).toBe(0);
    expect(syntaxError("caf\u00e9").message).toMatch(/U\+00E9/);
  });
});

describe("diagnostics", () => {
  it("render as file:line:col: severity: message, errors by default", () => {
    expect(formatDiagnostic({ file: "m.yaml", line: 3, col: 7, message: "bad" })).toBe(
      "m.yaml:3:7: error: bad",
    );
    expect(
      formatDiagnostic({
        file: "m.yaml",
        line: 3,
        col: 7,
        end: { line: 3, col: 9 },
        severity: "warning",
        message: "odd",
      }),
    ).toBe("m.yaml:3:7: warning: odd");
  });

  it("never print control or direction-changing characters", () => {
    const hostile = "a\u001b[2J\u0007\nm.yaml:1:1: error: forged\u202egnp\u200b";
    const shown = formatDiagnostic({ file: "m.yaml", line: 1, col: 1, message: `'${hostile}' is bad` });
    expect(shown).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/u);
    expect(shown).toBe(
      "m.yaml:1:1: error: 'a\\u{1b}[2J\\u{7}\\u{a}m.yaml:1:1: error: forged\\u{202e}gnp\\u{200b}' is bad",
    );
    expect(printable("plain – text ✓")).toBe("plain – text ✓");
  });
});

describe("did you mean", () => {
  it("suggests close names only", () => {
    expect(closest("temprature", ["temperature", "pressure"])).toBe("temperature");
    expect(closest("Stocks", ["stocks"])).toBe("stocks");
    expect(closest("zzz", ["temperature"])).toBeUndefined();
  });
});

describe("units of measure", () => {
  it("parses plain unit products and leaves prose alone", async () => {
    const { formatUnit, parseUnit, sameDimensions, divide } = await import("../src/compile/units.js");
    const u = (s: string) => parseUnit(s);
    expect(formatUnit(u("people/day")!)).toBe("people/day");
    expect(formatUnit(u("kg*m/s^2")!)).toBe("kg*m/s^2");
    expect(formatUnit(u("1/weeks")!)).toBe("1/week");
    expect(formatUnit(u("index/week")!)).toBe("1/week");
    expect(u("fraction")!.size).toBe(0);
    expect(u("index 0-1")).toBeUndefined();
    expect(u("0 none, 1 incremental, 2 single")).toBeUndefined();
    expect(u("fraction of capacity")).toBeUndefined();
    expect(sameDimensions(divide(u("people")!, u("day")!), u("people/day")!)).toBe(true);
    expect(sameDimensions(u("people/week")!, u("people/day")!)).toBe(false);
  });
});

describe("unit inference over expressions", () => {
  it("combines stated units, lets numbers adapt, and reports only clashes between stated units", async () => {
    const { formatUnit, inferUnits, parseUnit } = await import("../src/compile/units.js");
    const units: Record<string, string> = { n: "people", d: "day", r: "1/day", k: "km2", f: "fraction" };
    const infer = (text: string) => {
      const problems: string[] = [];
      const u = inferUnits(parseExpr(text), {
        unitOf: (name) => (units[name] ? parseUnit(units[name]!) : undefined),
        time: parseUnit("day"),
        report: (pos, message) => problems.push(`${pos}: ${message}`),
      });
      return { unit: u ? formatUnit(u) : "unknown", problems };
    };
    expect(infer("n * r")).toEqual({ unit: "people/day", problems: [] });
    expect(infer("2 * n / d")).toEqual({ unit: "people/day", problems: [] });
    expect(infer("n + 5")).toEqual({ unit: "people", problems: [] });
    expect(infer("smth1(n, 3) + n")).toEqual({ unit: "people", problems: [] });
    expect(infer("(n / d) ^ 2")).toEqual({ unit: "people^2/day^2", problems: [] });
    expect(infer("f * n + n")).toEqual({ unit: "people", problems: [] });
    expect(infer("time + d")).toEqual({ unit: "day", problems: [] });
    expect(infer("unknown_name + n")).toEqual({ unit: "people", problems: [] });
    expect(infer("exp(n) + k")).toEqual({ unit: "km2", problems: [] });
    expect(infer("n + k").problems).toEqual([
      "4: unit clash: people against km2 across '+' — both must be in the same unit",
    ]);
    expect(infer("max(n, k, 1)").problems).toEqual([
      "7: unit clash: people against km2 among the arguments of max — both must be in the same unit",
    ]);
    expect(infer("if n > d then n else k").problems).toHaveLength(2);
  });
});
