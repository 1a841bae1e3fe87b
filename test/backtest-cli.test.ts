import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers.js";

const BIN = join(ROOT, "bin", "brink.js");
const brink = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8" });
const FLU = "models/examples/boarding-school-flu.yaml";
const SMALL = ["--iterations", "150", "--burn-in", "100", "--chains", "2", "--runs", "300"];
const ORIGINS = ["--origins", "1978-01-25,1978-01-29", "--horizon", "4 days"];

describe("brink backtest", () => {
  it("scores the bundled flu model against the baselines, as a table, JSON and an HTML report", () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-backtest-"));
    const out = join(dir, "report.html");
    const j = brink("backtest", FLU, ...ORIGINS, ...SMALL, "--json", "-o", out);
    expect(j.stderr).toBe("");
    expect(j.status).toBe(0);
    const r = JSON.parse(j.stdout);
    expect(r.forecasters).toEqual(["model", "persistence", "mean of last 3", "drift"]);
    expect(r.origins.map((o: { label: string }) => o.label)).toEqual(["1978-01-25", "1978-01-29"]);
    expect(r.origins[0].posterior.summary.map((s: { name: string }) => s.name)).toEqual([
      "contact_rate",
      "recovery_rate",
      "count_dispersion",
    ]);
    // Four daily counts after each origin, each scored for every forecaster.
    expect(r.periods).toHaveLength(8);
    expect(r.periods[0]).toMatchObject({ series: "in_bed", origin: "1978-01-25", at: "1978-01-26", lead: 1 });
    for (const p of r.periods) {
      expect(p.scores).toHaveLength(4);
      expect(p.forecast.runs).toBe(300);
      expect(p.forecast.q05).toBeLessThanOrEqual(p.forecast.q95);
    }
    expect(r.summary.map((s: { forecaster: string }) => s.forecaster)).toEqual(r.forecasters);
    // The model against each baseline on the same 8 periods, two origins as the sample.
    expect(r.comparisons.map((c: { baseline: string }) => c.baseline)).toEqual(r.forecasters.slice(1));
    const crps = (f: string) => r.summary.find((s: { forecaster: string }) => s.forecaster === f).scores.crps;
    for (const c of r.comparisons) {
      expect(c).toMatchObject({ series: "in_bed", periods: 8, origins: 2 });
      expect(c.difference).toBeCloseTo(crps("model") - crps(c.baseline), 9);
      expect(c.lo).toBeLessThanOrEqual(c.difference);
      expect(c.hi).toBeGreaterThanOrEqual(c.difference);
    }
    // Each forecaster's coverage, as in the summary, with its interval (two origins: wide).
    expect(r.coverage.map((c: { forecaster: string }) => c.forecaster)).toEqual(r.forecasters);
    for (const c of r.coverage) {
      const s = r.summary.find((x: { forecaster: string }) => x.forecaster === c.forecaster).scores;
      expect(c).toMatchObject({ series: "in_bed", periods: 8, origins: 2, coverage90: s.coverage90 });
      expect(c.coverage50).toBe(s.coverage50);
      expect(c.interval90[0]).toBeLessThanOrEqual(c.coverage90);
      expect(c.interval90[1]).toBeGreaterThanOrEqual(c.coverage90);
    }
    const html = readFileSync(out, "utf8");
    expect(html).toContain("90% coverage, 95% interval");
    expect(html).toContain("<h2>Backtest</h2>");
    expect(html).toContain('id="table-backtest"');
    expect(html).toContain('id="table-backtest-comparison"');
    expect((html.match(/<svg/g) ?? []).length).toBe(3);
    expect(readdirSync(dir)).toEqual(["report.html"]); // written atomically: no temporary left
    // The text table shows the same numbers; the same seed gives the same scores.
    const t = brink("backtest", FLU, ...ORIGINS, ...SMALL);
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/in_bed\s+model\s+8\s/);
    expect(t.stdout).toContain("cov90 95% interval");
    expect(t.stdout).toMatch(/in_bed\s+model\s+8\s.*\s\d\.\d\d–\d\.\d\d\s/);
    expect(t.stdout).toContain("persistence");
    expect(t.stdout).toMatch(/model − baseline, mean CRPS/);
    expect(t.stdout).toMatch(/in_bed\s+drift\s+8\s+2\s/);
    expect(brink("backtest", FLU, ...ORIGINS, ...SMALL, "--json").stdout).toBe(j.stdout);
    // Each origin's calibration, and a warning exactly when some origin's chains disagree (R-hat above 1.01).
    expect(t.stdout).toContain("the calibration at each origin:");
    for (const o of r.origins) {
      const worst = Math.max(...o.posterior.summary.map((s: { rhat: number }) => s.rhat));
      expect(t.stdout).toMatch(
        new RegExp(`${o.label}\\s+\\d\\.\\d\\d\\s+${worst.toFixed(3).replace(".", "\\.")}\\s`),
      );
    }
    const unsettled = r.origins.some((o: { posterior: { summary: { rhat: number }[] } }) =>
      o.posterior.summary.some((s) => s.rhat > 1.01),
    );
    expect(t.stdout.includes("warning: the calibration's chains disagree")).toBe(unsettled);
    expect(html.includes("Warning: the calibration&#39;s chains disagree")).toBe(unsettled);
    expect(html).toContain('id="table-backtest-convergence"');
  }, 120_000);

  it("takes the sampler's adaptive particle numbers and full-covariance proposals, as calibrate does", () => {
    // A stochastic model (a noisy walk with an uncertain drift): its filter has particles to raise.
    const dir = mkdtempSync(join(tmpdir(), "brink-backtest-walk-"));
    writeFileSync(
      join(dir, "walk.yaml"),
      `brink: 1
name: walk
time: { start: 0, stop: 20, dt: 1 }
params:
  drift: { dist: "normal(0, 1)" }
  wobble: { dist: "0.3 to 1.5" }
stocks:
  x: { init: 0, inflows: [move] }
flows:
  move: { eq: "drift + wobble * normal(0, 1)" }
observations:
  y: { variable: x, file: y.csv, time: t, noise: normal, sd: 0.3 }
`,
    );
    writeFileSync(
      join(dir, "y.csv"),
      "t,value\n1,0.9\n2,1.2\n3,2.8\n4,3.1\n5,3.3\n6,4.9\n7,5.2\n8,6.6\n9,7.0\n10,8.1\n",
    );
    const walk = join(dir, "walk.yaml");
    const args = ["--origins", "5,7", "--horizon", "3", ...SMALL, "--particles", "5", "--json"];
    const adapted = brink(
      "backtest",
      walk,
      ...args,
      "--target-sd",
      "0.3",
      "--max-particles",
      "60",
      "--covariance",
    );
    expect(adapted.stderr).toBe("");
    expect(adapted.status).toBe(0);
    const r = JSON.parse(adapted.stdout);
    for (const o of r.origins) {
      // Each origin's calibration ran with them: each chain's particles, raised within the cap, are reported.
      expect(o.posterior.chain_particles).toHaveLength(2);
      for (const n of o.posterior.chain_particles) expect(n >= 5 && n <= 60).toBe(true);
    }
    expect(
      r.origins.some((o: { posterior: { chain_particles: number[] } }) =>
        o.posterior.chain_particles.some((n) => n > 5),
      ),
    ).toBe(true);
    // Without them: fixed particles (none reported), and other scores — the covariance moved the chains.
    const plain = JSON.parse(brink("backtest", walk, ...args).stdout);
    expect(plain.origins[0].posterior.chain_particles).toBeUndefined();
    const covarianceOnly = JSON.parse(brink("backtest", walk, ...args, "--covariance").stdout);
    expect(covarianceOnly.origins[0].posterior.chain_particles).toBeUndefined();
    expect(covarianceOnly.origins).not.toEqual(plain.origins);
    const bad = brink("backtest", walk, "--origins", "5", "--horizon", "3", "--target-sd", "-1");
    expect(bad.status).toBe(2); // a usage error
    expect(bad.stderr).toContain("--target-sd must be a number > 0, not '-1'");
  }, 120_000);

  it("--priors-only forecasts without calibrating", () => {
    const r = brink("backtest", FLU, ...ORIGINS, "--priors-only", "--runs", "200", "--json");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.method).toBe("priors");
    expect(out.origins[0].posterior).toBeUndefined();
  }, 60_000);

  it("bad origins and horizons are usage errors that name the problem", () => {
    const cases: [string[], RegExp][] = [
      [["--origins", "1978-01-32", "--horizon", "4 days"], /not '1978-01-32'/],
      [["--origins", "1978-01-10", "--horizon", "4 days"], /1978-01-10 is outside the model's time/],
      [["--origins", "1978-01-21", "--horizon", "4 days"], /1978-01-21 is outside the data/],
      [["--origins", "1978-01-29,1978-01-25", "--horizon", "4 days"], /1978-01-25 is not after/],
      [["--origins", "1978-01-25", "--horizon", "soon"], /--horizon takes a duration/],
      [["--origins", "1978-01-25", "--horizon", "1 hour"], /shorter than one time step/],
    ];
    for (const [args, message] of cases) {
      const r = brink("backtest", FLU, ...args, "--priors-only");
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/at .*\.js/);
    }
    const missing = brink("backtest", FLU, "--horizon", "4 days");
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/--origins/);
  }, 60_000);

  it("--against sets another backtest's model beside this one, and refuses files that are not one", () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-against-"));
    // The base: the flu model from its priors; the variant: the same model calibrated at each origin.
    const base = brink("backtest", FLU, ...ORIGINS, "--priors-only", "--runs", "200", "--json");
    expect(base.status).toBe(0);
    // A hostile model name must stay text, in the terminal and in the report.
    const named = JSON.parse(base.stdout);
    named.model.name = "<img src=x onerror=alert(1)>\u001b[31m";
    writeFileSync(join(dir, "base.json"), JSON.stringify(named));
    const out = join(dir, "r.html");
    const j = brink(
      "backtest",
      FLU,
      ...ORIGINS,
      ...SMALL,
      "--against",
      join(dir, "base.json"),
      "--json",
      "-o",
      out,
    );
    expect(j.stderr).toBe("");
    expect(j.status).toBe(0);
    const r = JSON.parse(j.stdout);
    const mine = (p: { scores: { forecaster: string; crps: number }[] }) =>
      p.scores.find((s) => s.forecaster === "model")!.crps;
    const theirs = new Map(
      named.periods.map((p: { at: string; origin: string }) => [`${p.origin} ${p.at}`, p]),
    );
    const diffs = r.periods.map(
      (p: { origin: string; at: string }) =>
        mine(p as never) - mine(theirs.get(`${p.origin} ${p.at}`) as never),
    );
    expect(r.against).toMatchObject({ file: join(dir, "base.json"), model: named.model.name });
    expect(r.against.comparisons).toHaveLength(1);
    expect(r.against.comparisons[0]).toMatchObject({
      series: "in_bed",
      baseline: "model of base.json",
      periods: 8,
    });
    expect(r.against.comparisons[0].difference).toBeCloseTo(
      diffs.reduce((a: number, b: number) => a + b, 0) / diffs.length,
      9,
    );
    const html = readFileSync(out, "utf8");
    expect(html).toContain('id="table-backtest-against"');
    expect(html).toContain(`<dt>against</dt><dd>${join(dir, "base.json")}</dd>`);
    expect(html).toContain("Better: this model or the other when");
    expect(html).not.toContain("<img src=x");
    const t = brink("backtest", FLU, ...ORIGINS, ...SMALL, "--against", join(dir, "base.json"));
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/this model − the model of .*base\.json/);
    expect(t.stdout).toMatch(/in_bed\s+model of base\.json\s+8\s+2\s/);
    expect(t.stdout).toContain("better: this model or the other when");
    expect(t.stdout).not.toContain("\u001b[31m");
    // A backtest of other series shares no period: said, not an empty table.
    const renamed = { ...named, periods: named.periods.map((p: object) => ({ ...p, series: "other" })) };
    writeFileSync(join(dir, "other.json"), JSON.stringify(renamed));
    const none = brink(
      "backtest",
      FLU,
      ...ORIGINS,
      "--priors-only",
      "--runs",
      "50",
      "--against",
      join(dir, "other.json"),
    );
    expect(none.status).toBe(0);
    expect(none.stdout).toMatch(/other\.json scored none of these periods/);
    // Not a backtest, a value of the wrong kind (pointed at), other origins, a missing file: errors at the file.
    writeFileSync(join(dir, "junk.json"), "{ nope");
    const wrongKind = JSON.stringify({ ...named, horizon: { steps: "forty" } }, null, 1);
    writeFileSync(join(dir, "kind.json"), wrongKind);
    const line = wrongKind.split("\n").findIndex((l) => l.includes('"forty"')) + 1;
    // A period given twice (the second would replace the first) and a negative CRPS: refused at the value.
    const twice = JSON.stringify({ ...named, periods: [...named.periods, named.periods[3]] }, null, 1);
    writeFileSync(join(dir, "twice.json"), twice);
    const negative = { ...named, periods: named.periods.map((p: { scores: object[] }) => ({ ...p })) };
    negative.periods[0].scores = [{ forecaster: "model", crps: -5 }];
    writeFileSync(join(dir, "negative.json"), JSON.stringify(negative));
    const cases: [string, RegExp][] = [
      [
        "twice.json",
        /twice\.json:\d+:\d+: error: period 8 repeats the forecast of 'in_bed' from 1978-01-25 for 1978-01-29/,
      ],
      ["negative.json", /negative\.json:1:\d+: error: not a backtest file .*periods\.0\.scores\.0\.crps/],
      ["junk.json", /junk\.json:1:1: error: not a backtest file/],
      [
        "kind.json",
        new RegExp(`kind\\.json:${line}:\\d+: error: not a backtest file written by .*horizon\\.steps`),
      ],
      ["nothing.json", /nothing\.json/],
    ];
    for (const [name, message] of cases) {
      const bad = brink("backtest", FLU, ...ORIGINS, "--priors-only", "--against", join(dir, name));
      expect(bad.status, name).toBe(1);
      expect(bad.stderr, name).toMatch(message);
      expect(bad.stderr, name).not.toMatch(/at .*\.js/);
    }
    const other = brink(
      "backtest",
      FLU,
      "--origins",
      "1978-01-26",
      "--horizon",
      "4 days",
      "--priors-only",
      "--against",
      join(dir, "base.json"),
    );
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/compares only backtests from the same origins to the same horizon/);
    // A rival with another time step (0.2 day, not 0.1): the same origins and horizon as dates and durations,
    // so its periods pair with these by date.
    mkdirSync(join(dir, "data"));
    copyFileSync(
      join(ROOT, "models/examples/data/boarding-school-flu.csv"),
      join(dir, "data/boarding-school-flu.csv"),
    );
    const coarse = join(dir, "coarse.yaml");
    writeFileSync(coarse, readFileSync(join(ROOT, FLU), "utf8").replace("dt: 0.1 day", "dt: 0.2 day"));
    const rival = brink(
      "backtest",
      coarse,
      ...ORIGINS,
      "--priors-only",
      "--runs",
      "50",
      "--against",
      join(dir, "base.json"),
    );
    expect(rival.stderr).toBe("");
    expect(rival.status).toBe(0);
    expect(rival.stdout).toMatch(/in_bed\s+model of base\.json\s+8\s+2\s/);
  }, 120_000);

  it("a model without observations gets a diagnostic", () => {
    const r = brink("backtest", "models/examples/sir.yaml", ...ORIGINS);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^models\/examples\/sir\.yaml:1:1: error: nothing to backtest against/);
  });
});

describe("brink backtest interrupted", () => {
  it("Ctrl-C prints what was scored, marked partial, exit code 130", async () => {
    const child = spawn(
      process.execPath,
      [BIN, "backtest", FLU, ...ORIGINS, "--iterations", "1000000", "--chains", "1", "--progress"],
      { cwd: ROOT },
    );
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    // Interrupt once the first origin's calibration reports progress.
    child.stderr.once("data", () => child.kill("SIGINT"));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(130);
    expect(stdout).toMatch(/PARTIAL/);
  }, 60_000);
});
