import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { pausedStateLength } from "../src/compile/codegen.js";
import { modelHash } from "../src/engine/montecarlo.js";
import { prepareModel } from "../src/engine/prepare.js";
import { DiagnosticError } from "../src/lang/diagnostic.js";
import {
  distributionSupport,
  formatSupport,
  inSupport,
  parseDistribution,
} from "../src/model/distribution.js";
import { htmlReport } from "../src/node/report.js";
import { posteriorParamRows } from "../src/node/verbs/calibrate.js";

/** One param of each kind of prior. */
const MODEL = `brink: 1
name: supports
time: { start: 0, stop: 4, dt: 1 }
params:
  rate: { dist: "0.5 to 4" }
  share: { dist: "beta(2, 5)" }
  level: { dist: "uniform(10, 20)" }
  peak: { dist: "pert(1, 2, 6)" }
  shift: { dist: "normal(0, 1)" }
  size: { value: 7 }
stocks:
  s: { init: level, inflows: [grow] }
flows:
  grow: rate * share + peak + shift + size
track: [s]
`;
const PARAMS = ["rate", "share", "level", "peak", "shift"];
const GOOD = [
  [1.2, 0.3, 15, 2.5, -40],
  [3.9, 0.01, 10, 6, 12],
];

const dir = mkdtempSync(join(tmpdir(), "brink-posterior-support-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const model = join(dir, "supports.yaml");
writeFileSync(model, MODEL);

/** The diagnostic a posterior file gets, or undefined when it is accepted. */
async function check(text: string, from?: string) {
  const file = join(dir, "post.json");
  writeFileSync(file, text);
  try {
    await posteriorParamRows(file, model, MODEL, from);
    return undefined;
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    expect(e.diagnostics).toHaveLength(1);
    return { ...e.diagnostics[0]!, file: e.diagnostics[0]!.file === file ? "post.json" : "elsewhere" };
  }
}
const post = (params: string[], samples: number[][]) =>
  JSON.stringify({ brink_posterior: 1, params, samples });
const withDraw = (row: number, column: number, value: number) =>
  GOOD.map((draw, r) => draw.map((x, c) => (r === row && c === column ? value : x)));

describe("a posterior's draws must lie in their priors' support", () => {
  it("gives each kind of prior its support", () => {
    const support = (text: string | number) => formatSupport(distributionSupport(parseDistribution(text)));
    expect(support("0.5 to 4")).toBe("(0, ∞)");
    expect(support("-1 to 4")).toBe("(-∞, ∞)");
    expect(support("beta(2, 5)")).toBe("[0, 1]");
    expect(support("uniform(10, 20)")).toBe("[10, 20]");
    expect(support("triangular(1, 2, 6)")).toBe("[1, 6]");
    expect(support(7)).toBe("{7}");
    const lognormal = distributionSupport(parseDistribution("0.5 to 4"));
    expect([1e-300, 0, -1e-300].map((x) => inSupport(lognormal, x))).toEqual([true, false, false]);
    const uniform = distributionSupport(parseDistribution("uniform(10, 20)"));
    expect([10, 20, 9.999, 20.001].map((x) => inSupport(uniform, x))).toEqual([true, true, false, false]);
  });

  it("accepts draws inside every support, an open normal one included", async () => {
    expect(await check(post(PARAMS, GOOD))).toBeUndefined();
  });

  it("refuses the first draw outside its prior, naming the param, the draw and the support", async () => {
    for (const [column, value, support] of [
      [0, -0.5, "(0, ∞)"],
      [0, 0, "(0, ∞)"],
      [1, 1.5, "[0, 1]"],
      [2, 20.5, "[10, 20]"],
      [3, 0.9, "[1, 6]"],
    ] as const) {
      const name = PARAMS[column]!;
      const d = await check(post(PARAMS, withDraw(1, column, value)));
      expect(d?.message).toBe(
        `draw 1 (samples[1]) gives param '${name}' the value ${value}, outside the support ${support} of its prior '${
          MODEL.match(new RegExp(`${name}: \\{ dist: "([^"]+)"`))![1]
        }' in ${model}: a posterior can only hold draws its prior allows (calibrate again if the prior changed)`,
      );
      expect(d?.file).toBe("post.json");
    }
  });

  it("refuses a draw that moves a fixed param", async () => {
    const d = await check(post(["size"], [[7], [7], [8]]));
    expect(d?.message).toBe(
      `draw 2 (samples[2]) gives param 'size' the value 8, but 'size' is fixed at 7 in ${model}: a posterior can only hold draws of its prior`,
    );
    expect(await check(post(["size"], [[7]]))).toBeUndefined();
  });

  it("points at the offending number in the file", async () => {
    const text = `{"brink_posterior": 1,
 "params": ["rate", "share"],
 "samples": [[1.5, 0.5],
             [-0.3, 0.5]]}`;
    expect(await check(text)).toMatchObject({ file: "post.json", line: 4, col: 15 });
    // Strings with brackets, commas and escapes, other keys holding arrays, and a "samples" key given twice
    // (JSON.parse keeps the last) do not mislead it.
    const tricky = `{"note": "a [ fake, \\"samples\\": [[1, 2]] ]", "brink_posterior": 1,
 "samples": [[9, 9]], "params": ["rate", "share"], "other": [[0, [1, 2]], {"samples": [[3]]}],
 "sampl\\u0065s": [[1.5, 0.5], [2, 0.5],
   [ 3,   7 ]]}`;
    expect(JSON.parse(tricky).samples[2]).toEqual([3, 7]);
    expect(await check(tricky)).toMatchObject({ line: 4, col: 11 });
    // On one line too, as \`brink calibrate\` writes it.
    const flat = post(
      ["rate", "share"],
      [
        [1.5, 0.5],
        [1, 2],
      ],
    );
    expect(await check(flat)).toMatchObject({ line: 1, col: flat.indexOf("2]]") + 1 });
  });

  it("refuses a posterior of 200,000 names at once, naming ten of them", async () => {
    const names = Array.from({ length: 200_000 }, (_, i) => `p${i}`);
    const d = await check(post(names, [names.map(() => 1)]));
    expect(d?.message).toBe(
      `the posterior's params ${names
        .slice(0, 10)
        .map((p) => `'${p}'`)
        .join(", ")} (and 199990 more) are not params of ${model}`,
    );
    // A name given twice among them is found by a set, not by a scan per name (minutes at this size).
    const twice = await check(post([...names, "p7"], [[...names, "p7"].map(() => 1)]));
    expect(twice?.message).toBe("the posterior names 'p7' more than once");
  });

  it("checks before a restart (--from) looks at the posterior's state", async () => {
    const d = await check(post(PARAMS, withDraw(0, 0, -1)), "3");
    expect(d?.message).toMatch(/^draw 0 \(samples\[0\]\) gives param 'rate' the value -1, outside/);
  });

  it("refuses a hand-edited restart state (--from) at the file, not as an internal error", async () => {
    const width = pausedStateLength(prepareModel(model, MODEL).program) - 1;
    const restart = (state: Record<string, unknown>) =>
      JSON.stringify({
        brink_posterior: 1,
        params: PARAMS,
        samples: GOOD,
        model: { file: model, name: "supports", hash: modelHash(MODEL) },
        state: { step: 3, time: 3, width, restart: [Array(width).fill(1)], draws: [1], ...state },
      });
    expect(await check(restart({}), "3")).toBeUndefined();
    expect((await check(restart({ time: "3" }), "3"))?.message).toMatch(/holds no restart state/);
    expect((await check(restart({ date: { x: 1 } }), "3"))?.message).toMatch(/holds no restart state/);
    for (const other of [1, width + 1])
      expect(await check(restart({ width: other, restart: [Array(other).fill(1)] }), "3")).toMatchObject({
        file: "post.json",
        message: `the posterior's restart state holds ${other} numbers per draw, but a state of ${model} is ${width}: calibrate again`,
      });
  });

  it("brink report --posterior refuses it too", async () => {
    const file = join(dir, "report-post.json");
    writeFileSync(file, post(PARAMS, withDraw(1, 2, 5)));
    await expect(
      htmlReport({ file: model, text: MODEL }, { runs: 20, samples: 0, posterior: file }),
    ).rejects.toThrow(
      /draw 1 \(samples\[1\]\) gives param 'level' the value 5, outside the support \[10, 20\]/,
    );
  });
});
