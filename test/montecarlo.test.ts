import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileClaims } from "../src/analysis/check.js";
import { buildReport } from "../src/analysis/results.js";
import { prepareModel } from "../src/engine/prepare.js";
import { Runner } from "../src/engine/run.js";
import { Summary } from "../src/engine/summary.js";
import { closeWorkers, simulate, worstHalfWidth } from "../src/node/simulate.js";
import { brink, scratchDir } from "./cli-helpers.js";
import { example, ROOT } from "./helpers.js";

const WAR = example("war-of-attrition.yaml");
const input = { file: WAR, text: readFileSync(WAR, "utf8") };

afterAll(() => closeWorkers());

describe("the same numbers whatever the workers and chunks", () => {
  it("the report is identical for 1, 2 and 4 workers and any chunk size", async () => {
    const reference = JSON.stringify((await simulate(input, { runs: 700, seed: 5, workers: 1 })).report);
    for (const [workers, chunkSize] of [
      [1, 37],
      [2, undefined],
      [2, 64],
      [2, 1],
      [4, 100],
      [4, 333],
    ] as const) {
      const r = await simulate(input, {
        runs: 700,
        seed: 5,
        workers,
        ...(chunkSize ? { chunkSize } : {}),
        threads: true,
      });
      expect(JSON.stringify(r.report), `${workers} workers, chunks of ${chunkSize}`).toBe(reference);
    }
    expect(JSON.parse(reference).tracked.attacker[10].mean).not.toBeNull();
  });

  it("brink run --json prints byte-identical output for --workers 1 and 2", async () => {
    const run = async (w: string) =>
      (await brink("run", WAR, "--runs", "500", "--seed", "3", "--json", "--workers", w)).stdout;
    const one = await run("1");
    expect(one.length).toBeGreaterThan(100);
    expect(await run("2")).toBe(one);
  });

  it("a job split at any run index and merged equals the whole job", async () => {
    const whole = await simulate(input, { runs: 600, seed: 8, workers: 1 });
    const a = await simulate(input, { runs: 250, seed: 8, workers: 1 });
    const b = await simulate(input, { runs: 350, seed: 8, firstRun: 250, workers: 2 });
    // Through JSON, as `brink merge` does with files.
    const merged = Summary.fromJSON(JSON.parse(JSON.stringify(a.summary.toJSON())));
    merged.merge(Summary.fromJSON(JSON.parse(JSON.stringify(b.summary.toJSON()))));
    const claims = compileClaims(whole.model.loaded);
    expect(JSON.stringify(buildReport({ time: whole.model.loaded.time, summary: merged, claims }))).toBe(
      JSON.stringify(whole.report),
    );
    expect(merged.ranges).toEqual([[0, 600]]);
    // Merging the same runs twice is refused.
    expect(() => merged.merge(Summary.fromJSON(a.summary.toJSON()))).toThrow(/counted twice/);
  });

  it("summaries of different jobs do not merge", async () => {
    const a = await simulate(input, { runs: 64, seed: 1, workers: 1 });
    const b = await simulate(input, { runs: 64, seed: 2, firstRun: 64, workers: 1 });
    expect(() => a.summary.merge(b.summary)).toThrow(/different jobs/);
  });

  it("a numeric failure is reported for the same run whatever the workers", async () => {
    const text = readFileSync(join(ROOT, "test/fixtures/invalid/16-nan-at-run-time.yaml"), "utf8");
    const messages: string[] = [];
    for (const workers of [1, 2, 4]) {
      try {
        await simulate(
          { file: "nan.yaml", text },
          { runs: 400, seed: 7, workers, chunkSize: 50, threads: true },
        );
      } catch (e) {
        messages.push((e as Error).message);
      }
    }
    expect(messages).toHaveLength(3);
    expect(new Set(messages).size).toBe(1);
    expect(messages[0]).toMatch(/run 1, seed 7/);
  });
});

describe("--precision", () => {
  it("stops at the first checkpoint where every outcome's half-width is small enough, deterministically", async () => {
    const a = await simulate(input, { precision: 0.01, seed: 4, workers: 1 });
    const b = await simulate(input, { precision: 0.01, seed: 4, workers: 2 });
    expect(worstHalfWidth(a.report)).toBeLessThanOrEqual(0.01);
    expect([1000, 2000, 4000, 8000, 16000, 32000]).toContain(a.report.runs);
    expect(JSON.stringify(b.report)).toBe(JSON.stringify(a.report));
    // The checkpoint before did not meet the bound.
    const before = await simulate(input, { runs: a.report.runs / 2, seed: 4, workers: 1 });
    expect(worstHalfWidth(before.report)).toBeGreaterThan(0.01);
  });
});

describe("Latin hypercube sampling", () => {
  it("puts exactly one run in each stratum of every param, with a different shuffle per param", () => {
    const model = prepareModel(WAR, input.text);
    const n = 500;
    const runner = new Runner(model, 9, "kernel", { kind: "lhs", runs: n });
    const params = model.program.params;
    expect(params.length).toBeGreaterThanOrEqual(3);
    const strata = params.map((_, i) =>
      Array.from({ length: n }, (_, run) => Math.floor(runner.paramUniform(run, i) * n)),
    );
    for (const s of strata) expect(new Set(s).size).toBe(n);
    expect(strata[0]).not.toEqual(strata[1]);
    // Random sampling, by contrast, leaves strata empty.
    const random = new Runner(model, 9);
    expect(
      new Set(Array.from({ length: n }, (_, run) => Math.floor(random.paramUniform(run, 0) * n))).size,
    ).toBeLessThan(n);
    expect(() => runner.paramUniform(n, 0)).toThrow(/outside the Latin hypercube/);
  });

  it("LHS runs give the same report on any number of workers, and differ from random sampling", async () => {
    const one = await simulate(input, { runs: 300, seed: 2, sampling: "lhs", workers: 1 });
    const two = await simulate(input, { runs: 300, seed: 2, sampling: "lhs", workers: 2 });
    expect(JSON.stringify(two.report)).toBe(JSON.stringify(one.report));
    expect(one.report.sampling).toBe("lhs");
    const random = await simulate(input, { runs: 300, seed: 2, workers: 1 });
    expect(JSON.stringify(random.report.tracked)).not.toBe(JSON.stringify(one.report.tracked));
  });
});

describe("long runs from the command line", () => {
  const dir = scratchDir("merge");

  it("show a progress bar and stop cleanly on Ctrl-C with a partial summary", async () => {
    const child = spawn(
      process.execPath,
      [
        join(ROOT, "bin", "brink.js"),
        "run",
        example("sir.yaml"),
        "--scenario",
        "uncertain",
        "--runs",
        "50000000",
        "--workers",
        "2",
        "--json",
        "--progress",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      stderr += d;
      // Stop once some runs are done (on a loaded machine the bar can appear before the first chunk ends).
      if (/runs \S* [1-9]\d*\/50000000 \| [\d,]+ runs\/s/.test(stderr) && !child.killed) child.kill("SIGINT");
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).toMatch(/runs \S* \d+\/50000000 \| [\d,]+ runs\/s \| ETA/);
    expect(code).toBe(130);
    const report = JSON.parse(stdout);
    expect(report.partial).toBe(true);
    expect(report.runs).toBeGreaterThan(0);
    expect(report.runs).toBeLessThan(50_000_000);
  });

  it("brink merge joins saved summaries into the whole job's report", async () => {
    await brink("run", WAR, "--runs", "200", "--seed", "6", "--save-summary", join(dir, "a.json"));
    await brink(
      "run",
      WAR,
      "--runs",
      "100",
      "--first-run",
      "200",
      "--seed",
      "6",
      "--save-summary",
      join(dir, "b.json"),
    );
    const merged = await brink("merge", join(dir, "a.json"), join(dir, "b.json"), "--json");
    expect(merged.status).toBe(0);
    const whole = await brink("run", WAR, "--runs", "300", "--seed", "6", "--json");
    expect(merged.stdout).toBe(whole.stdout);
    const twice = await brink("merge", join(dir, "a.json"), join(dir, "a.json"));
    expect(twice.status).toBe(1);
    expect(twice.stderr).toMatch(/counted twice/);
  });
});
