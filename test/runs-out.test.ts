import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Runner } from "../src/engine/run.js";
import { brink, scratchDir } from "./cli-helpers.js";
import { query } from "./duckdb-helpers.js";
import { example, prepareFile } from "./helpers.js";

// `brink run --runs-out DIR` writes every run as Parquet; DuckDB reads the folder back as an analyst would.
const MODEL = example("war-of-attrition.yaml");
const RUNS = 1000;
const CHUNK = 300;

interface TrackedPoint {
  t: number;
  n: number;
  mean: number | null;
}
interface Report {
  runs: number;
  outcomes: Record<string, { count: number }>;
  censored: { count: number };
  tracked: Record<string, TrackedPoint[]>;
}

describe("per-run results as Parquet", () => {
  const dir = scratchDir("runs-out");
  const out = join(dir, "runs");
  const args = [MODEL, "--runs", String(RUNS), "--seed", "7", "--chunk-size", String(CHUNK), "--json"];

  it("writes one file per chunk whose rows agree with the summary, and leaves --json unchanged", async () => {
    const summaryFile = join(dir, "summary.json");
    const ran = await brink(
      "run",
      ...args,
      "--workers",
      "2",
      "--runs-out",
      out,
      "--save-summary",
      summaryFile,
    );
    expect(ran.stderr).toBe("");
    expect(ran.status).toBe(0);
    const plain = await brink("run", ...args, "--workers", "2");
    expect(ran.stdout).toBe(plain.stdout);

    const files = readdirSync(out).sort();
    const expected = [];
    for (let a = 0; a < RUNS; a += CHUNK) {
      const last = Math.min(RUNS, a + CHUNK) - 1;
      expected.push(`part-${String(a).padStart(12, "0")}-${String(last).padStart(12, "0")}.parquet`);
    }
    expect(files).toEqual(expected);

    const all = `read_parquet('${out}/*.parquet')`;
    const report = JSON.parse(ran.stdout) as Report;
    const [counts] = await query(
      `select count(*) n, count(distinct run) d, min(run) lo, max(run) hi from ${all}`,
    );
    expect(counts).toEqual({ n: RUNS, d: RUNS, lo: 0, hi: RUNS - 1 });

    const byOutcome = Object.fromEntries(
      (await query(`select outcome, count(*) n from ${all} group by outcome`)).map((r) => [r.outcome, r.n]),
    );
    const fromSummary: Record<string, number> = { censored: report.censored.count };
    for (const [name, o] of Object.entries(report.outcomes)) if (o.count > 0) fromSummary[name] = o.count;
    expect(byOutcome).toEqual(fromSummary);

    // Tracked values: the runs still going at each save (non-null) and their mean, as the summary says.
    const columns = (await query(`select column_name from (describe select * from ${all})`)).map(
      (r) => r.column_name as string,
    );
    for (const [variable, points] of Object.entries(report.tracked)) {
      const own = columns.filter((c) => c.startsWith(`${variable}@`));
      expect(own).toHaveLength(points.length);
      for (const s of [0, Math.floor(points.length / 2), points.length - 1]) {
        const point = points[s]!;
        expect(Number(own[s]!.slice(variable.length + 1))).toBeCloseTo(point.t, 6);
        const [row] = await query(`select count("${own[s]}") n, avg("${own[s]}") mean from ${all}`);
        expect(row!.n).toBe(point.n);
        if (point.mean !== null) expect(row!.mean as number).toBeCloseTo(point.mean, 6);
      }
    }

    // Params are those the engine draws for each run index.
    const model = prepareFile(MODEL);
    const runner = new Runner(model, 7);
    const names = model.program.params.map((q) => q.name);
    const sample = await query(`select * from ${all} where run in (0, 299, 300, 999) order by run`);
    expect(sample).toHaveLength(4);
    for (const row of sample) {
      runner.run(Number(row.run));
      names.forEach((name, i) => expect(row[`param.${name}`]).toBe(runner.paramValue(i)));
    }

    // The job's identity travels in each file's key/value metadata.
    const meta = Object.fromEntries(
      (
        await query(
          `select decode(key) k, decode(value) v from parquet_kv_metadata('${join(out, files[1]!)}')`,
        )
      ).map((r) => [r.k, r.v]),
    );
    const saved = JSON.parse(readFileSync(summaryFile, "utf8")) as {
      summary: { meta: { modelHash: string } };
    };
    expect(meta["brink.model_hash"]).toBe(saved.summary.meta.modelHash);
    expect(meta["brink.seed"]).toBe("7");
    expect(meta["brink.sampling"]).toBe("random");
    expect(meta["brink.first_run"]).toBe("300");
    expect(meta["brink.last_run"]).toBe("599");
    expect(meta["brink.engine_version"]).toMatch(/^\d+\.\d+\.\d+/);
  }, 120_000);

  it("rewrites the same bytes when run again, whatever the workers, and leaves no temporary files", async () => {
    const before = Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(join(out, f))]));
    writeFileSync(join(out, "part-000000000000-000000000299.parquet"), "damaged");
    const again = await brink("run", ...args, "--workers", "1", "--runs-out", out);
    expect(again.status).toBe(0);
    const after = Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(join(out, f))]));
    expect(after).toEqual(before);
  }, 120_000);

  it("brink compare writes each scenario into its own partition, agreeing with its report", async () => {
    const folder = join(dir, "compare");
    const ran = await brink(
      "compare",
      MODEL,
      "--scenarios",
      "base,strong_defence",
      "--runs",
      "600",
      "--seed",
      "3",
      "--runs-out",
      folder,
      "--json",
    );
    expect(ran.status).toBe(0);
    const result = JSON.parse(ran.stdout) as { reports: Record<string, Report> };
    const rows = await query(
      `select scenario, outcome, count(*) n, count(distinct run) d from read_parquet('${folder}/*/*.parquet', hive_partitioning = true) group by all`,
    );
    for (const [scenario, report] of Object.entries(result.reports)) {
      const mine = rows.filter((r) => r.scenario === scenario);
      const counts = Object.fromEntries(mine.map((r) => [r.outcome, r.n]));
      const expected: Record<string, number> = { censored: report.censored.count };
      for (const [name, o] of Object.entries(report.outcomes)) if (o.count > 0) expected[name] = o.count;
      expect(counts).toEqual(expected);
    }
    expect(new Set(rows.map((r) => r.scenario))).toEqual(new Set(["base", "strong_defence"]));
  }, 120_000);

  it("says which folder it cannot write to, without a stack trace", async () => {
    const blocker = join(dir, "a-file");
    writeFileSync(blocker, "");
    const ran = await brink("run", MODEL, "--runs", "10", "--runs-out", join(blocker, "runs"));
    expect(ran.status).toBe(1);
    expect(ran.stderr).toContain(`cannot write ${join(blocker, "runs")}`);
    expect(ran.stderr).not.toMatch(/\n\s+at /);
  });
});
