import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkModelText, compileClaims } from "../src/analysis/check.js";
import { buildReport } from "../src/analysis/results.js";
import { prepareModel } from "../src/engine/prepare.js";
import { RunRecords } from "../src/engine/records.js";
import { Runner } from "../src/engine/run.js";
import { Summary } from "../src/engine/summary.js";
import { DiagnosticError, formatDiagnostic } from "../src/lang/diagnostic.js";
import { closeWorkers, simulate, UsageError, worstHalfWidth } from "../src/node/simulate.js";
import { brink, scratchDir } from "./cli-helpers.js";
import { diagnosticsOf, example, ROOT } from "./helpers.js";

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

  it("brink run --json prints byte-identical output and saves byte-identical summaries for --workers 1, 2 and 4", async () => {
    const dir = scratchDir("split");
    const run = async (w: string, chunk: string) => {
      const file = join(dir, `${w}-${chunk}.json`);
      const { stdout: out } = await brink(
        "run",
        WAR,
        "--runs",
        "500",
        "--seed",
        "3",
        "--json",
        "--workers",
        w,
        "--chunk-size",
        chunk,
        "--save-summary",
        file,
      );
      return { out, saved: readFileSync(file, "utf8") };
    };
    const one = await run("1", "500");
    expect(one.out.length).toBeGreaterThan(100);
    for (const [w, chunk] of [
      ["2", "37"],
      ["4", "100"],
    ] as const) {
      const other = await run(w, chunk);
      expect(other.out).toBe(one.out);
      expect(other.saved, `${w} workers, chunks of ${chunk}`).toBe(one.saved);
    }
  });

  it("saved summaries are the same to the byte for any workers and chunk size, not only their reports", async () => {
    const saved = async (workers: number, chunkSize?: number) =>
      JSON.stringify(
        (
          await simulate(input, {
            runs: 1300,
            seed: 4,
            workers,
            threads: workers > 1,
            ...(chunkSize ? { chunkSize } : {}),
          })
        ).summary.toJSON(),
      );
    const reference = await saved(1);
    for (const [workers, chunkSize] of [
      [1, 7],
      [2, 64],
      [2, 333],
      [4, 13],
      [4, 129],
    ] as const)
      expect(await saved(workers, chunkSize), `${workers} workers, chunks of ${chunkSize}`).toBe(reference);
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

describe("tracked quantiles", () => {
  it("are the exact order statistics of the runs' values, for levels, near-zero values and integer stocks", async () => {
    const text = [
      "brink: 1",
      "name: levels",
      "time: { start: 0, stop: 10, dt: 1, save: 5 }",
      "params:",
      '  area_0: { dist: "normal(115000, 300)" }',
      '  tiny: { dist: "normal(0, 1e-9)" }',
      "stocks:",
      "  area: area_0",
      "  hits: 0",
      "vars:",
      "  small: tiny * (1 + time)",
      "events:",
      "  hit: { rate: 0.7, then: { hits: hits + 1 } }",
      "track: [area, small, hits]",
    ].join("\n");
    const runs = 3000;
    const { report, model } = await simulate({ file: "levels.yaml", text }, { runs, seed: 2, workers: 1 });
    const runner = new Runner(model, 2);
    const names = model.program.tracked.map((t) => t.name);
    const values = names.map(() => [] as number[]);
    for (let run = 0; run < runs; run++) {
      const end = runner.run(run);
      names.forEach((_, j) => values[j]!.push(runner.saved[(end.saves - 1) * names.length + j]!));
    }
    names.forEach((name, j) => {
      const sorted = Float64Array.from(values[j]!).sort();
      const last = report.tracked[name]!.at(-1)!;
      const at = (q: number) => sorted[Math.floor(q * (runs - 1))]!;
      // The report rounds to 12 significant figures.
      const rounded = (x: number) => Number(x.toPrecision(12));
      expect([last.q05, last.q50, last.q95], name).toEqual([at(0.05), at(0.5), at(0.95)].map(rounded));
    });
    const area = report.tracked.area!.at(-1)!;
    expect(area.q05!).toBeLessThan(area.q50!);
    expect(area.q50!).toBeLessThan(area.q95!);
    for (const point of report.tracked.hits!)
      for (const q of [point.q05, point.q25, point.q50, point.q75, point.q95])
        expect(Number.isInteger(q)).toBe(true);
  });
});

describe("library options and resource bounds", () => {
  it("refuses runs, seeds and other options the CLI would refuse, with a clear message", async () => {
    for (const [options, message] of [
      [{ runs: Infinity }, /runs must be a whole number from 1 to 1,000,000,000, not Infinity/],
      [{ runs: Number.NaN }, /runs must be .*not NaN/],
      [{ runs: -5 }, /runs must be/],
      [{ runs: 2.5 }, /runs must be/],
      [{ seed: Number.NaN }, /seed must be .*not NaN/],
      [{ seed: 1.5 }, /seed must be/],
      [{ seed: -1 }, /seed must be/],
      [{ workers: 0 }, /workers must be/],
      [{ chunkSize: 0.5 }, /chunkSize must be/],
      [{ precision: 2 }, /precision must be/],
    ] as const) {
      await expect(simulate(input, options), JSON.stringify(options)).rejects.toThrow(message);
      await expect(simulate(input, options)).rejects.toBeInstanceOf(UsageError);
    }
  });

  it("an already-aborted signal runs nothing, on the calling thread or on workers", async () => {
    for (const workers of [1, 2]) {
      const r = await simulate(input, {
        runs: 1_000_000,
        workers,
        threads: workers > 1,
        signal: AbortSignal.abort(),
      });
      expect(r.summary.runs).toBe(0);
      expect(r.summary.partial).toBe(true);
    }
  });

  it("a time section that would make summaries too large is refused at the time section, before running", () => {
    const text = (dt: string, save: string) =>
      [
        "brink: 1",
        "name: long",
        `time: { start: 0, stop: 20000000, dt: ${dt}, save: ${save} }`,
        "stocks: { x: 0 }",
        "flows: { inflow: 1 }",
        "outcomes: { done: { when: x > 1e12 } }",
        "track: [x]",
      ].join("\n");
    const errors = diagnosticsOf(() => prepareModel("long.yaml", text("1", "1")));
    expect(errors.join("\n")).toMatch(/^long\.yaml:3:\d+: error: 20,000,001 save times × 1 tracked values/m);
    expect(errors.join("\n")).toMatch(/long\.yaml:3:\d+: error: 20,000,001 steps × 1 outcomes/);
    // Saving seldom is enough for the tracked values; the outcome times still need a longer step.
    expect(diagnosticsOf(() => prepareModel("long.yaml", text("1", "1000000"))).join("\n")).toMatch(
      /steps × 1 outcomes/,
    );
    expect(() => prepareModel("long.yaml", text("100", "100000"))).not.toThrow();
    // `brink check` (and the browser's checker) says the same.
    expect(checkModelText("long.yaml", text("1", "1")).diagnostics.map((d) => d.message)).toEqual(
      errors.map((e) => e.replace(/^long\.yaml:\d+:\d+: error: /, "")),
    );
  });

  it("per-run records grow with the runs done; only claims bootstrapped over runs keep them, within a budget", async () => {
    const records = new RunRecords(0, 1e9, [{ tracked: 0, save: 0 }], 1);
    expect(records.outcome.buffer.byteLength).toBeLessThan(1e6);
    records.record(4999, { outcome: 0, time: 1, timeIndex: 1, saves: 1 }, Float64Array.of(3));
    expect(records.count).toBe(5000);
    expect(records.recorded()).toBe(1);
    expect(records.values[0]![4999]).toBe(3);
    expect(records.outcome.buffer.byteLength).toBeLessThan(1e6);
    // Claims with E, Q and other scenarios' terms are running statistics: a billion runs is not refused.
    const extraClaims = [
      { id: "mean-attacker", check: "E(attacker at 2026-01-01) > 10" },
      { id: "median-attacker", check: "Q50(attacker at 2026-01-01) > 10" },
      { id: "paired", check: "P(defender_breaks | scenario = strong_defence) < P(defender_breaks)" },
    ];
    const stopped = await simulate(input, {
      runs: 1e9,
      workers: 1,
      extraClaims,
      signal: AbortSignal.abort(),
    });
    expect(stopped.report.partial).toBe(true);
    // A Q term combined with another is bootstrapped over every run's values: refused at the claim.
    const text = input.text.replace(
      "claims:\n",
      'claims:\n  - { id: median-gap, check: "Q50(attacker at 2026-01-01) > Q50(defender at 2026-01-01)" }\n',
    );
    const refused = simulate({ file: WAR, text }, { runs: 1e9, workers: 1 });
    await expect(refused).rejects.toThrow(DiagnosticError);
    const message = await refused.catch((e: DiagnosticError) =>
      e.diagnostics.map(formatDiagnostic).join("\n"),
    );
    expect(message).toMatch(
      /war-of-attrition\.yaml:59:\d+: error: this claim combines a Q\(…\) term with other terms.*use at most [\d,]+ runs/,
    );
    await expect(simulate({ file: WAR, text }, { runs: 200, workers: 1 })).resolves.toBeDefined();
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
      // Once some runs are done (on a loaded machine the workers may take a while to start).
      if (/ [1-9][\d,]*\/50000000 .*runs\/s/.test(stderr) && !child.killed) child.kill("SIGINT");
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).toMatch(/runs \S* \d+\/50000000 \| [\d,]+ runs\/s \| ETA/);
    expect(code).toBe(130);
    const report = JSON.parse(stdout);
    expect(report.partial).toBe(true);
    expect(report.runs).toBeGreaterThan(0);
    expect(report.runs).toBeLessThan(50_000_000);
  });

  it("stop on Ctrl-C at --runs 1e9 without first allocating or queueing for a billion runs", async () => {
    for (const workers of ["1", "2"]) {
      const child = spawn(
        process.execPath,
        [
          join(ROOT, "bin", "brink.js"),
          "run",
          WAR,
          "--runs",
          "1000000000",
          "--workers",
          workers,
          "--json",
          "--progress",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      let stderr = "";
      let interrupted = 0;
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => {
        stderr += d;
        if (/runs\/s/.test(stderr) && !child.killed) {
          interrupted = Date.now();
          child.kill("SIGINT");
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      const took = Date.now() - interrupted;
      expect(code, stderr).toBe(130);
      expect(JSON.parse(stdout).partial).toBe(true);
      // Well within a second on an idle machine; the bound leaves room for a loaded one.
      expect(took, `${workers} workers`).toBeLessThan(10_000);
    }
  });

  it("brink merge refuses tampered counts, model text that does not match its hash, and malformed files", async () => {
    const good = join(dir, "good.json");
    expect((await brink("run", WAR, "--runs", "100", "--seed", "6", "--save-summary", good)).status).toBe(0);
    const saved = JSON.parse(readFileSync(good, "utf8"));
    const variant = (name: string, change: (s: typeof saved) => void) => {
      const copy = JSON.parse(JSON.stringify(saved));
      change(copy);
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify(copy));
      return file;
    };
    const cases: [string, string, RegExp][] = [
      [
        variant("counts", (s) => {
          s.summary.outcomeCounts[0] = 1e9;
        }),
        "counts",
        /outcome counts and censored runs add up to/,
      ],
      [
        variant("text", (s) => {
          s.model.text = s.model.text.replace("raid_rate: { value: 6", "raid_rate: { value: 60");
        }),
        "text",
        /model text does not match the job's model hash/,
      ],
      [
        variant("shape", (s) => {
          s.summary.tracked = "oops";
        }),
        "shape",
        /summary\.tracked: /,
      ],
      [
        variant("ranges", (s) => {
          s.summary.ranges = [[0, 100000]];
        }),
        "ranges",
        /run ranges cover 100000/,
      ],
    ];
    for (const [file, name, message] of cases) {
      const r = await brink("merge", file);
      expect(r.status, name).toBe(1);
      expect(r.stderr, name).toMatch(
        new RegExp(
          `^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:1:1: error: not a valid Brink summary file: `,
        ),
      );
      expect(r.stderr, name).toMatch(message);
      expect(r.stderr, name).not.toMatch(/\n\s+at /);
    }
    expect((await brink("merge", good)).status).toBe(0);
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
