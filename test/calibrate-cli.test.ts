import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers.js";

const BIN = join(ROOT, "bin", "brink.js");
const brink = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8" });
const FLU = "models/examples/boarding-school-flu.yaml";
const SMALL = ["--iterations", "150", "--burn-in", "100", "--chains", "2"];

describe("brink calibrate", () => {
  it("writes the posterior file it prints, and the same seed gives the same posterior", () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-calibrate-"));
    const a = brink("calibrate", FLU, ...SMALL, "--seed", "4", "--json", "-o", join(dir, "a.json"));
    expect(a.stderr).toBe("");
    expect(a.status).toBe(0);
    const post = JSON.parse(a.stdout);
    expect(JSON.parse(readFileSync(join(dir, "a.json"), "utf8"))).toEqual(post);
    expect(post.params).toEqual(["contact_rate", "recovery_rate", "count_dispersion"]);
    expect(post.samples).toHaveLength(2 * 150);
    expect(post.observations).toEqual([{ name: "in_bed", variable: "infected", used: 14 }]);
    expect(post.particles).toBe(1); // the model draws nothing: one particle is exact
    // The filtered state at the last observation, for evenly spaced posterior draws.
    expect(post.state).toMatchObject({ step: 140, date: "1978-02-04", ended: 0 });
    expect(post.state.stocks).toEqual(["susceptible", "infected", "recovered"]);
    expect(post.state.values).toHaveLength(300);
    for (const v of post.state.values) expect(v[0] + v[1] + v[2]).toBeCloseTo(763, 6);
    const b = brink("calibrate", FLU, ...SMALL, "--seed", "4", "--json", "-o", join(dir, "b.json"));
    expect(b.stdout).toBe(a.stdout);
    // Only the finished files are left: the writes were atomic.
    expect(readdirSync(dir).sort()).toEqual(["a.json", "b.json"]);
    // As text, a warning names exactly the params whose chains disagree (split R-hat above 1.01), and only then.
    const text = brink("calibrate", FLU, ...SMALL, "--seed", "4", "-o", join(dir, "c.json")).stdout;
    const unsettled = post.summary
      .filter((s: { rhat: number }) => s.rhat > 1.01)
      .map((s: { name: string }) => s.name);
    expect(unsettled.length).toBeGreaterThan(0); // 2 chains × 150 do not settle this posterior
    expect(text).toContain(
      `warning: the chains disagree on ${unsettled.join(", ")} (split R-hat above 1.01)`,
    );
    const settledText = brink(
      "calibrate",
      FLU,
      "--covariance",
      "--iterations",
      "8000",
      "--burn-in",
      "2000",
      "--seed",
      "4",
      "-o",
      join(dir, "d.json"),
    ).stdout;
    const rhats = JSON.parse(readFileSync(join(dir, "d.json"), "utf8")).summary.map(
      (s: { rhat: number }) => s.rhat,
    );
    // Full-covariance proposals and longer chains settle it (R-hat 1.001 here, the same on any machine): no warning.
    expect(Math.max(...rhats)).toBeLessThanOrEqual(1.01);
    expect(settledText).not.toContain("warning");
  }, 60_000);

  it("--until keeps only the observations up to that date", () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-calibrate-"));
    const r = brink("calibrate", FLU, ...SMALL, "--until", "1978-01-28", "--json", "-o", join(dir, "p.json"));
    expect(r.status).toBe(0);
    const post = JSON.parse(r.stdout);
    expect(post.until).toEqual({ step: 70, time: 7, date: "1978-01-28" });
    expect(post.observations[0].used).toBe(7);
    expect(post.state.date).toBe("1978-01-28");
  }, 60_000);

  it("Ctrl-C keeps what was sampled: the posterior is written, marked partial, exit code 130", async () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-calibrate-"));
    const out = join(dir, "p.json");
    const child = spawn(
      process.execPath,
      [
        BIN,
        "calibrate",
        FLU,
        "--burn-in",
        "50",
        "--iterations",
        "1000000",
        "--chains",
        "2",
        "--progress",
        "--json",
        "-o",
        out,
      ],
      { cwd: ROOT },
    );
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += String(d);
    });
    // Interrupt once the sampler is past burn-in: progress shows an ESS from then on (worker threads take a
    // moment to start on a busy machine, so a fixed delay is not enough).
    let stderr = "";
    let sent = false;
    child.stderr.on("data", (d) => {
      stderr += String(d);
      // Once: a second Ctrl-C stops at once, writing nothing.
      if (!sent && /ESS \d+/.test(stderr)) sent = child.kill("SIGINT");
    });
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(status).toBe(130);
    const post = JSON.parse(stdout);
    expect(post.partial).toBe(true);
    expect(post.samples.length).toBeGreaterThan(0);
    expect(post.samples.length).toBeLessThan(1_000_000);
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual(post);
  }, 60_000);

  it("run --posterior takes each run's params from the posterior's draws, by run index", () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-calibrate-"));
    const post = join(dir, "post.json");
    const line = "test/fixtures/calibration/line.yaml";
    const c = brink(
      "calibrate",
      line,
      "--iterations",
      "100",
      "--burn-in",
      "100",
      "--chains",
      "2",
      "-o",
      post,
    );
    expect(c.status).toBe(0);
    const draws = (JSON.parse(readFileSync(post, "utf8")).samples as number[][]).map((d) => d[0]!);
    expect(draws).toHaveLength(200);
    // x at t = 10 is 10 · slope; 400 runs use every draw twice.
    const r = brink("run", line, "--posterior", post, "--runs", "400", "--json");
    expect(r.stderr).toBe("");
    const x10 = JSON.parse(r.stdout).tracked.x.find((p: { t: number }) => p.t === 10);
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(x10.n).toBe(400);
    expect(x10.mean).toBeCloseTo(10 * mean, 9);
    // Without it, the prior: a different mean.
    const prior = JSON.parse(brink("run", line, "--runs", "400", "--json").stdout).tracked.x.at(-1);
    expect(Math.abs(prior.mean - x10.mean)).toBeGreaterThan(0.1);
    // A posterior of another model is refused.
    const bad = brink("run", "models/examples/sir.yaml", "--posterior", post);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(
      "error: the posterior's params 'slope' are not params of models/examples/sir.yaml",
    );
  }, 60_000);

  it("reports a missing data file at the model's line and a bad --until as a usage error", () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-calibrate-"));
    const out = join(dir, "p.json");
    const missing = brink("calibrate", "test/fixtures/calibration/missing-data.yaml", "-o", out);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(
      "test/fixtures/calibration/missing-data.yaml:11:27: error: observation 'y': cannot read 'no-such-file.csv' (no such file)\n",
    );
    const until = brink("calibrate", FLU, "--until", "1980-01-01", "-o", out);
    expect(until.status).toBe(2);
    expect(until.stderr).toBe("brink: --until 1980-01-01 is outside the model's time\n");
    expect(existsSync(out)).toBe(false);
  });

  it("reads observation files only in the model's folder or below: absolute paths, '..' and links out are refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-calibrate-"));
    const text = readFileSync(join(ROOT, FLU), "utf8");
    const sub = join(dir, "models");
    mkdirSync(sub);
    writeFileSync(join(dir, "secret.csv"), "time,in_bed\n1978-01-22,3\n");
    symlinkSync(join(dir, "secret.csv"), join(sub, "link.csv"));
    for (const [file, why] of [
      ["/etc/passwd", "an absolute path"],
      ["../secret.csv", "a path that leads out of the model's folder"],
      ["link.csv", "through a symbolic link"],
    ] as const) {
      const model = join(sub, "m.yaml");
      writeFileSync(model, text.replace(/file: \S+\.csv/, `file: ${file}`));
      const refused = brink("calibrate", model, "-o", join(dir, "p.json"));
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(
        new RegExp(`^${model}:\\d+:\\d+: error: observation 'in_bed': cannot read`),
      );
      expect(refused.stderr).toContain(why);
      expect(refused.stderr).not.toContain("root:");
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads data files and posteriors with a byte cap: a huge data file or /dev/zero is an error, not exhausted memory", () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-calibrate-"));
    const model = join(dir, "endless.yaml");
    writeFileSync(model, readFileSync(join(ROOT, FLU), "utf8").replace(/file: \S+\.csv/, "file: huge.csv"));
    writeFileSync(join(dir, "huge.csv"), Buffer.alloc(9 * 1024 * 1024, 48));
    const data = brink("calibrate", model, "-o", join(dir, "p.json"));
    expect(data.status).toBe(1);
    expect(data.stderr).toMatch(
      /error: observation 'in_bed': cannot read 'huge\.csv' \(file is 9\.0 MB; data files are limited to 8 MB\)/,
    );
    // Hand-made posteriors that name no params, or one param twice, are refused at the file.
    for (const [params, samples, message] of [
      [[], [[]], "holds no params"],
      [["contact_rate", "contact_rate"], [[1, 2]], "names 'contact_rate' more than once"],
    ] as const) {
      const hand = join(dir, "hand.json");
      writeFileSync(hand, JSON.stringify({ brink_posterior: 1, params, samples }));
      const refused = brink("run", FLU, "--posterior", hand, "--runs", "5");
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(`${hand}:1:1: error:`);
      expect(refused.stderr).toContain(message);
    }
    const posterior = brink("run", FLU, "--posterior", "/dev/zero", "--runs", "5");
    expect(posterior.status).toBe(1);
    expect(posterior.stderr).toBe(
      "/dev/zero:1:1: error: file is over 256.0 MB; posterior files are limited to 256 MB\n",
    );
    rmSync(dir, { recursive: true, force: true });
  });
});
