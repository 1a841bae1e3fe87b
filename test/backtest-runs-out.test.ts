import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { brink, scratchDir } from "./cli-helpers.js";
import { query } from "./duckdb-helpers.js";
import { example } from "./helpers.js";

// `brink backtest --runs-out DIR` writes each origin's forecast runs as Parquet; DuckDB reads the folder back as an
// analyst would and the numbers are checked against the backtest's own output.
const FLU = example("boarding-school-flu.yaml");
const RUNS = 250;

interface Backtest {
  runs: number;
  origins: { label: string; t: number; ended: number }[];
  periods: {
    series: string;
    origin: string;
    at: string;
    t: number;
    observed: number;
    forecast: { mean: number; q05: number; q95: number; runs: number };
  }[];
}

describe("brink backtest --runs-out", () => {
  const dir = scratchDir("backtest-runs-out");
  const out = join(dir, "runs");
  const job = [FLU, "--origins", "1978-01-25,1978-01-29", "--horizon", "4 days", "--runs", String(RUNS)];
  const sampler = ["--chains", "2", "--iterations", "150", "--burn-in", "100", "--particles", "50", "--json"];

  it("writes one file per origin whose rows agree with the backtest, and leaves --json unchanged", async () => {
    const ran = await brink("backtest", ...job, ...sampler, "--runs-out", out);
    expect(ran.stderr).toBe("");
    expect(ran.status).toBe(0);
    const plain = await brink("backtest", ...job, ...sampler);
    expect(ran.stdout).toBe(plain.stdout);
    const result = JSON.parse(ran.stdout) as Backtest;

    const part = `part-${"0".repeat(12)}-${String(RUNS - 1).padStart(12, "0")}.parquet`;
    expect(readdirSync(out).sort()).toEqual(["origin=1978-01-25", "origin=1978-01-29"]);
    for (const o of result.origins) expect(readdirSync(join(out, `origin=${o.label}`))).toEqual([part]);

    const all = `read_parquet('${out}/*/*.parquet', hive_partitioning = true, union_by_name = true)`;
    const perOrigin = await query(
      `select origin::varchar origin, count(*) n, count(distinct run) d, min(run) lo, max(run) hi,
         sum(ended::int) ended, min(origin_t) t from ${all} group by all order by origin`,
    );
    expect(perOrigin).toEqual(
      result.origins.map((o) => ({
        origin: o.label,
        n: RUNS,
        d: RUNS,
        lo: 0,
        hi: RUNS - 1,
        ended: o.ended,
        t: o.t,
      })),
    );

    // Every scored period: its forecast column over the origin's runs is the backtest's forecast sample.
    expect(result.periods.length).toBe(8);
    for (const p of result.periods) {
      const column = `"forecast.${p.series}@${p.t}"`;
      const [row] = await query(
        `select count(${column}) n, avg(${column}) mean, min(${column}) lo, max(${column}) hi,
           count("value.${p.series}@${p.t}") v from ${all} where origin::varchar = '${p.origin}'`,
      );
      expect(row!.n).toBe(p.forecast.runs);
      expect(row!.v).toBeGreaterThanOrEqual(p.forecast.runs);
      expect(row!.mean as number).toBeCloseTo(p.forecast.mean, 8);
      expect(row!.lo as number).toBeLessThanOrEqual(p.forecast.q05);
      expect(row!.hi as number).toBeGreaterThanOrEqual(p.forecast.q95);
    }

    // The params of each run (the uncertain ones vary), and the job's metadata with the observations to join.
    const params = await query(
      `select count(distinct "param.contact_rate") k from ${all} where origin::varchar = '1978-01-25'`,
    );
    expect(params[0]!.k as number).toBeGreaterThan(1);
    const file = join(out, "origin=1978-01-29", part);
    const meta = Object.fromEntries(
      (
        await query(
          `select decode(key) k, decode(value) v from parquet_kv_metadata('${file}') where decode(key) like 'brink.%'`,
        )
      ).map((r) => [r.k, r.v]),
    );
    expect(meta).toMatchObject({
      "brink.origin": "1978-01-29",
      "brink.seed": "1",
      "brink.method": "posterior",
      "brink.runs": String(RUNS),
      "brink.first_run": "0",
      "brink.last_run": String(RUNS - 1),
    });
    const targets = JSON.parse(meta["brink.targets"] as string) as { at: string; observed: number }[];
    expect(targets).toEqual(
      result.periods
        .filter((p) => p.origin === "1978-01-29")
        .map((p) => expect.objectContaining({ at: p.at, observed: p.observed })),
    );
  }, 60_000);

  it("a folder that cannot be made and a URL that is not Redis's are errors that name them", async () => {
    const notAFolder = join(dir, "file");
    writeFileSync(notAFolder, "");
    const priors = [FLU, "--origins", "1978-01-25", "--horizon", "4 days", "--priors-only", "--runs", "10"];
    const unwritable = await brink("backtest", ...priors, "--runs-out", notAFolder);
    expect(unwritable.status).toBe(1);
    expect(unwritable.stderr).toBe(`brink: cannot write ${notAFolder}: it is not a folder\n`);
    const badUrl = await brink("backtest", ...priors, "--redis", "http://example.org");
    expect(badUrl.status).toBe(2);
    expect(badUrl.stderr).toContain("--redis must be a URL such as redis://");
  }, 30_000);
});
