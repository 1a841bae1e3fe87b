import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers.js";

/** `brink calibrate`/`backtest --workers`, Ctrl-C on worker threads, and `brink run --posterior --from`. */

const BIN = join(ROOT, "bin", "brink.js");
const brink = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8" });
const FLU = "models/examples/boarding-school-flu.yaml";

// A stochastic model (a noisy walk with an uncertain drift), so the particle filter has particles to spread.
const WALK = `brink: 1
name: walk
time: { start: 0, stop: 20, dt: 1 }
params:
  drift: { dist: "normal(0, 1)" }
stocks:
  x: { init: 0, inflows: [move] }
flows:
  move: { eq: "drift + 0.7 * normal(0, 1)" }
observations:
  y: { variable: x, file: y.csv, time: t, noise: normal, sd: 0.5 }
`;
const WALK_DATA = "t,value\n1,0.9\n2,1.2\n3,2.8\n4,3.1\n5,3.3\n6,4.9\n7,5.2\n8,6.6\n9,7.0\n10,8.1\n";

function walkDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "brink-calibrate-engine-"));
  writeFileSync(join(dir, "walk.yaml"), WALK);
  writeFileSync(join(dir, "y.csv"), WALK_DATA);
  return dir;
}

const SMALL = ["--chains", "3", "--iterations", "100", "--burn-in", "60", "--particles", "30"];

describe("brink calibrate on worker threads", () => {
  it("writes the byte-identical posterior file with 1 and 2 workers", () => {
    const dir = walkDir();
    const files = ["1", "2"].map((w) => {
      const out = join(dir, `w${w}.json`);
      const r = brink(
        "calibrate",
        join(dir, "walk.yaml"),
        ...SMALL,
        "--evidence-draws",
        "40",
        "--workers",
        w,
        "-o",
        out,
      );
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      return readFileSync(out, "utf8");
    });
    expect(files[1]).toBe(files[0]);
    const post = JSON.parse(files[0]!);
    expect(post.partial).toBe(false);
    expect(post.particles).toBe(30);
    expect(post.chain_draws).toEqual([100, 100, 100]);
    expect(post.evidence.draws).toBe(40);
  }, 60_000);

  it.each(["1", "2"])(
    "Ctrl-C with %s worker(s) keeps the draws so far: written, marked partial, exit 130",
    async (workers) => {
      const dir = walkDir();
      const out = join(dir, "p.json");
      const child = spawn(
        process.execPath,
        [
          BIN,
          "calibrate",
          join(dir, "walk.yaml"),
          ...SMALL,
          "--iterations",
          "1000000",
          "--thin",
          "10",
        ].concat(["--workers", workers, "--progress", "--json", "-o", out]),
        { cwd: ROOT },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        stdout += String(d);
      });
      let sent = false;
      child.stderr.on("data", (d) => {
        stderr += String(d);
        // Once past burn-in (progress then shows an ESS); once only: a second Ctrl-C stops at once.
        if (!sent && /ESS \d+/.test(stderr)) sent = child.kill("SIGINT");
      });
      const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect(status).toBe(130);
      const post = JSON.parse(stdout);
      expect(post.partial).toBe(true);
      expect(post.thin).toBe(10);
      expect(post.samples.length).toBe(post.chain_draws.reduce((a: number, b: number) => a + b, 0));
      expect(post.samples.length).toBeGreaterThan(0);
      expect(JSON.parse(readFileSync(out, "utf8"))).toEqual(post);
      // Progress names every chain, with acceptance (and ESS once past burn-in).
      // (a chain that has not yet reported shows as waiting).
      expect(stderr).toMatch(/^chain 1: .*; chain 2: .*; chain 3: /m);
      expect(stderr).toMatch(/chain \d: \d+\/1000060, acceptance [0-9.]+, ESS \d+/);
    },
    60_000,
  );

  it("backtest gives the same result with 1 and 2 workers", () => {
    const args = [FLU, "--origins", "1978-01-28", "--horizon", "3 days", "--runs", "60"].concat([
      "--chains",
      "2",
      "--iterations",
      "60",
      "--burn-in",
      "40",
      "--json",
    ]);
    const one = brink("backtest", ...args, "--workers", "1");
    const two = brink("backtest", ...args, "--workers", "2");
    expect(one.status).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    // And on a stochastic model, whose forecasts start from filtered particles.
    const dir = walkDir();
    const walk = [join(dir, "walk.yaml"), "--origins", "5,7", "--horizon", "3", "--runs", "60"].concat([
      "--chains",
      "2",
      "--iterations",
      "40",
      "--burn-in",
      "40",
      "--particles",
      "30",
      "--json",
    ]);
    const walkOne = brink("backtest", ...walk, "--workers", "1");
    expect(walkOne.stderr).toBe("");
    expect(walkOne.status).toBe(0);
    expect(JSON.parse(walkOne.stdout).periods.length).toBeGreaterThan(0);
    expect(brink("backtest", ...walk, "--workers", "2").stdout).toBe(walkOne.stdout);
  }, 60_000);
});

describe("brink run --posterior --from", () => {
  const dir = mkdtempSync(join(tmpdir(), "brink-from-"));
  const post = join(dir, "post.json");
  const calibrated = brink(
    "calibrate",
    FLU,
    ...["--chains", "2", "--iterations", "100", "--burn-in", "100", "--until", "1978-01-28", "-o", post],
  );

  it("starts every run at the posterior's date from its filtered state", () => {
    expect(calibrated.status).toBe(0);
    const p = JSON.parse(readFileSync(post, "utf8"));
    const r = brink("run", FLU, "--posterior", post, "--from", "1978-01-28", "--runs", "200", "--json");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    // The report starts at the restart; its first point is the filtered state itself.
    const infected = report.tracked.infected;
    expect(infected[0].date).toBe("1978-01-28");
    const infectedSlot = p.state.stocks.indexOf("infected");
    const starts = (p.state.values as number[][]).map((v) => v[infectedSlot]!);
    const mean = starts.reduce((a, b) => a + b, 0) / starts.length;
    // 200 runs take the states 0 … 199 (the model is deterministic, so each is its own value).
    const first200 = starts.slice(0, 200);
    expect(infected[0].mean).toBeCloseTo(first200.reduce((a, b) => a + b, 0) / first200.length, 6);
    expect(Math.abs(infected[0].mean - mean)).toBeLessThan(0.2 * mean);
    // Its saved summaries (which carry the start states in the job's identity) merge like any others.
    const parts = ["0", "100"].map((first) => {
      const out = join(dir, `part${first}.json`);
      const saved = brink(
        ...["run", FLU, "--posterior", post, "--from", "1978-01-28", "--runs", "100", "--first-run", first],
        ...["--save-summary", out],
      );
      expect(saved.status).toBe(0);
      return out;
    });
    const merged = brink("merge", ...parts, "--json");
    expect(merged.stderr).toBe("");
    expect(JSON.parse(merged.stdout).runs).toBe(200);
    // Without --from, runs start at the model's start: its report begins on 1978-01-21.
    const plain = JSON.parse(brink("run", FLU, "--posterior", post, "--runs", "200", "--json").stdout);
    expect(plain.tracked.infected[0].date).toBe("1978-01-21");
  }, 60_000);

  it("refuses --from without --posterior, another date, and a model changed since calibration", () => {
    expect(calibrated.status).toBe(0);
    const alone = brink("run", FLU, "--from", "1978-01-28");
    expect(alone.status).toBe(2);
    expect(alone.stderr).toContain("--from needs --posterior");
    const other = brink("run", FLU, "--posterior", post, "--from", "1978-01-30");
    expect(other.status).toBe(1);
    expect(other.stderr).toContain(
      `${post}:1:1: error: --from 1978-01-30 is not this posterior's date: its filtered state is at 1978-01-28`,
    );
    // The same model with one more comment line is another model: its hash differs.
    const copy = join(dir, "flu");
    mkdirSync(join(copy, "data"), { recursive: true });
    copyFileSync(
      join(ROOT, "models/examples/data/boarding-school-flu.csv"),
      join(copy, "data/boarding-school-flu.csv"),
    );
    writeFileSync(join(copy, "flu.yaml"), `${readFileSync(join(ROOT, FLU), "utf8")}# edited\n`);
    const changed = brink("run", join(copy, "flu.yaml"), "--posterior", post, "--from", "1978-01-28");
    expect(changed.status).toBe(1);
    expect(changed.stderr).toMatch(
      new RegExp(
        `${post.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:1:1: error: .*flu\\.yaml has changed since this posterior was calibrated`,
      ),
    );
    // The unchanged copy of the file restarts fine: the hash is of the text, not the path.
    writeFileSync(join(copy, "flu.yaml"), readFileSync(join(ROOT, FLU), "utf8"));
    expect(
      brink("run", join(copy, "flu.yaml"), "--posterior", post, "--from", "1978-01-28", "--runs", "10")
        .status,
    ).toBe(0);
  }, 60_000);
});
