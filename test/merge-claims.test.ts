import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { brink, scratchDir } from "./cli-helpers.js";
import { example } from "./helpers.js";

// Claims the summary's counts cannot decide (E, a lone Q, another scenario's terms) are saved with the summary
// as running statistics, so `brink merge` decides them over all the runs, as the whole job would.
const dir = scratchDir("merge-claims");
const model = join(dir, "war.yaml");
writeFileSync(
  model,
  readFileSync(example("war-of-attrition.yaml"), "utf8").replace(
    "claims:\n",
    `claims:
  - id: mean-level
    check: E(defender at 2026-01-01) > E(attacker at 2026-01-01)
  - id: median-level
    check: Q50(defender at 2026-01-01) > 10
  - id: paired-scenarios
    check: P(defender_breaks) > P(defender_breaks | scenario = strong_defence)
  - id: bootstrapped
    check: Q50(defender at 2026-01-01) > Q50(attacker at 2026-01-01)
`,
  ),
);

type Claim = {
  id: string;
  verdict: string;
  p: number | null;
  lo: number | null;
  hi: number | null;
  note?: string;
};
const claimsOf = (stdout: string) => (JSON.parse(stdout) as { claims: Claim[] }).claims;

describe("brink merge decides the claims that need more than counts", () => {
  it("gives the whole job's verdicts and numbers for E, Q and paired claims; a bootstrapped one stays undecided", async () => {
    const whole = await brink("run", model, "--runs", "1200", "--seed", "4", "--json");
    expect(whole.status).toBe(0);
    const a = join(dir, "a.json");
    const b = join(dir, "b.json");
    const first = await brink("run", model, "--runs", "500", "--seed", "4", "--save-summary", a);
    const second = await brink(
      "run",
      model,
      "--runs",
      "700",
      "--first-run",
      "500",
      "--seed",
      "4",
      "--save-summary",
      b,
    );
    expect(first.status).toBe(0);
    expect(second.status).toBe(0);
    const merged = await brink("merge", b, a, "--json");
    expect(merged.status).toBe(0);
    const byId = new Map(claimsOf(merged.stdout).map((c) => [c.id, c]));
    for (const claim of claimsOf(whole.stdout)) {
      if (claim.id === "bootstrapped") {
        expect(claim.verdict).not.toBe("undecided");
        expect(byId.get(claim.id)!.verdict).toBe("undecided");
      } else expect(byId.get(claim.id), claim.id).toEqual(claim);
    }
  }, 120_000);

  it("refuses a file whose claim statistics were tampered with, at that file", async () => {
    const a = join(dir, "c.json");
    const b = join(dir, "d.json");
    expect((await brink("run", model, "--runs", "100", "--save-summary", a)).status).toBe(0);
    expect(
      (await brink("run", model, "--runs", "100", "--first-run", "100", "--save-summary", b)).status,
    ).toBe(0);
    const saved = JSON.parse(readFileSync(b, "utf8"));
    saved.claims.claims[0].runs = 99;
    writeFileSync(b, JSON.stringify(saved));
    const merged = await brink("merge", a, b);
    expect(merged.status).toBe(1);
    expect(merged.stderr).toContain(`${b}:1:1: error: not a valid Brink summary file: its claim statistics`);
    saved.claims.claims[0].runs = 100;
    saved.claims.claims[0].id = "someone-else";
    writeFileSync(b, JSON.stringify(saved));
    expect((await brink("merge", a, b)).stderr).toMatch(/are of other claims/);
  }, 120_000);
});
