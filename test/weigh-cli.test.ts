import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers.js";

const BIN = join(ROOT, "bin", "brink.js");
const brink = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8" });
const RIVALS = "models/examples/flu-rival-theses.yaml";
const FLAGSHIP = "models/flagship/flagship.yaml";
const SMALL = ["--iterations", "150", "--burn-in", "100", "--chains", "2", "--evidence-draws", "100"];

describe("brink weigh", () => {
  it("prints the weights, their path over the data, and writes the report", () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-weigh-"));
    const report = join(dir, "weights.html");
    const r = brink(
      "weigh",
      RIVALS,
      "--scenarios",
      "sir,seir",
      "--every",
      "observation",
      ...SMALL,
      "-o",
      report,
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^weights of sir, seir .* given 14 observations/);
    expect(r.stdout).toMatch(/\nsir +50\.0% +-\d/);
    expect(r.stdout).toMatch(/weights as the data came in \(at each observation\)/);
    expect(r.stdout).toMatch(/1978-02-04 +14 /);
    expect(r.stdout).toContain(`wrote ${report}`);
    const html = readFileSync(report, "utf8");
    expect(html).toContain("Scenario weights");
    expect(html).toContain("<svg");
    const one = brink(
      "weigh",
      RIVALS,
      "--scenarios",
      "sir,seir",
      ...SMALL,
      "--json",
      "--workers",
      "1",
    ).stdout;
    const json = JSON.parse(one);
    // Worker threads (one scenario each) give the same bytes.
    expect(
      brink("weigh", RIVALS, "--scenarios", "sir,seir", ...SMALL, "--json", "--workers", "2").stdout,
    ).toBe(one);
    expect(json.scenarios).toEqual(["sir", "seir"]);
    expect(json.every).toBe("month"); // a dated model's default
    expect(json.series.map((p: { date: string }) => p.date)).toEqual(["1978-01-31", "1978-02-04"]);
    expect(json.weights[0].weight + json.weights[1].weight).toBeCloseTo(1, 12);
    // Prior weights and --until.
    const early = JSON.parse(
      brink(
        "weigh",
        RIVALS,
        "--scenarios",
        "sir,seir",
        ...SMALL,
        "--until",
        "1978-01-25",
        "--prior-weights",
        "3,1",
        "--json",
      ).stdout,
    );
    expect(early.observations).toBe(4);
    expect(early.prior_weights).toEqual([0.75, 0.25]);
  }, 60_000);

  it("says where the problem is", () => {
    const none = brink("weigh", FLAGSHIP, "--scenarios", "base,frozen_conflict");
    expect(none.status).toBe(1);
    expect(none.stderr).toBe(
      `${FLAGSHIP}:1:1: error: nothing to weigh the scenarios against: the model has no 'observations'\n`,
    );
    const one = brink("weigh", RIVALS, "--scenarios", "sir");
    expect(one.status).toBe(2);
    expect(one.stderr).toBe("brink: --scenarios needs at least two scenarios, comma-separated\n");
    const unknown = brink("weigh", RIVALS, "--scenarios", "sir,seirr");
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(
      /^models\/examples\/flu-rival-theses\.yaml:\d+:\d+: error: unknown scenario 'seirr'/,
    );
    const priors = brink("weigh", RIVALS, "--scenarios", "sir,seir", "--prior-weights", "1");
    expect(priors.status).toBe(2);
    expect(priors.stderr).toBe("brink: --prior-weights gives 1 weights for 2 scenarios\n");
    const every = brink("weigh", RIVALS, "--scenarios", "sir,seir", "--every", "week");
    expect(every.status).toBe(2);
    const until = brink("weigh", RIVALS, "--scenarios", "sir,seir", "--until", "1999-01-01");
    expect(until.status).toBe(2);
    expect(until.stderr).toBe("brink: --until 1999-01-01 is outside the model's time\n");
  }, 60_000);
});

describe("brink signposts", () => {
  it("ranks the flagship's observables for its rival theses, and writes the report", () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-signposts-"));
    const report = join(dir, "signposts.html");
    const args = [
      "signposts",
      FLAGSHIP,
      "--scenarios",
      "base,attrition_favours_russia",
      "--horizon",
      "6 months",
      "--runs",
      "100",
      "--top",
      "5",
    ];
    const r = brink(...args, "-o", report);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /^signposts between base, attrition_favours_russia .*, 2025-08-21 to 2026-02-1\d/,
    );
    expect(r.stdout).toMatch(/\n1\. if .* the odds move [0-9.]+:1 toward (base|attrition_favours_russia)\./);
    expect(readFileSync(report, "utf8")).toContain("Signposts");
    const json = JSON.parse(brink(...args, "--json").stdout);
    expect(json.signposts).toHaveLength(5);
    for (let i = 1; i < 5; i++)
      expect(json.signposts[i].information).toBeLessThanOrEqual(json.signposts[i - 1].information);
  }, 60_000);

  it("starts after the last observation by default, and checks its options", () => {
    const args = [
      "signposts",
      RIVALS,
      "--scenarios",
      "sir,seir",
      "--runs",
      "600",
      "--period",
      "1 day",
      "--json",
    ];
    const one = brink(...args, "--workers", "1").stdout;
    const r = JSON.parse(one);
    // Worker threads (chunks of 500 runs) give the same bytes.
    expect(brink(...args, "--workers", "3").stdout).toBe(one);
    expect(r.from.date).toBe("1978-02-04");
    expect(r.period).toBe("1 day");
    const period = brink("signposts", FLAGSHIP, "--scenarios", "base,frozen_conflict", "--period", "1 week");
    expect(period.status).toBe(2);
    expect(period.stderr).toMatch(
      /^brink: --period 1 week is not a whole number of the model's save intervals/,
    );
    const horizon = brink("signposts", RIVALS, "--scenarios", "sir,seir", "--horizon", "soon");
    expect(horizon.status).toBe(2);
  }, 60_000);

  it("--calibrate runs each scenario from its posterior given the data up to --from", () => {
    const calibrated = brink(
      "signposts",
      RIVALS,
      "--scenarios",
      "sir,seir",
      "--calibrate",
      "--iterations",
      "100",
      "--burn-in",
      "100",
      "--chains",
      "2",
      "--runs",
      "100",
      "--json",
    );
    expect(calibrated.status).toBe(0);
    expect(JSON.parse(calibrated.stdout).predictive).toMatch(
      /params from its posterior given the observations/,
    );
    const none = brink(
      "signposts",
      FLAGSHIP,
      "--scenarios",
      "base,frozen_conflict",
      "--calibrate",
      "--runs",
      "10",
    );
    expect(none.status).toBe(1);
    expect(none.stderr).toBe(
      `${FLAGSHIP}:1:1: error: --calibrate: nothing to calibrate against: the model has no 'observations'\n`,
    );
  }, 60_000);
});
