import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { VERBS } from "../src/node/verbs/index.js";
import { BIN, brink, scratchDir } from "./cli-helpers.js";

const EXAMPLES = ["teacup", "sir", "lanchester-duel", "war-of-attrition"].map(
  (n) => `models/examples/${n}.yaml`,
);

describe("brink CLI (as a user runs it)", () => {
  it("check accepts every bundled example with exit code 0", async () => {
    for (const file of EXAMPLES) {
      const r = await brink("check", file);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^${file}: ok \\(base`));
    }
  });

  it("run --json prints one object in the contract's shape for every example", async () => {
    for (const file of EXAMPLES) {
      const r = await brink("run", file, "--runs", "50", "--seed", "3", "--json");
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(Object.keys(out)).toEqual(
        expect.arrayContaining([
          "model",
          "scenario",
          "runs",
          "seed",
          "outcomes",
          "censored",
          "tracked",
          "claims",
        ]),
      );
      expect(out.runs).toBe(50);
      expect(out.seed).toBe(3);
      let total = out.censored.count;
      for (const o of Object.values(out.outcomes) as {
        count: number;
        p: number;
        lo: number;
        hi: number;
        median_time: number | null;
      }[]) {
        expect(o.lo).toBeLessThanOrEqual(o.p);
        expect(o.hi).toBeGreaterThanOrEqual(o.p);
        expect(o.median_time === null || typeof o.median_time === "number").toBe(true);
        total += o.count;
      }
      expect(total).toBe(50);
      for (const points of Object.values(out.tracked) as {
        t: number;
        q05: number;
        q50: number;
        q95: number;
      }[][]) {
        expect(points.length).toBeGreaterThan(1);
        for (const p of points) if (p.q50 !== null) expect(p.q05).toBeLessThanOrEqual(p.q95);
      }
      for (const c of out.claims) expect(["holds", "fails", "undecided"]).toContain(c.verdict);
    }
  });

  it("the same seed prints byte-identical JSON; a scenario changes the numbers", async () => {
    const a = (await brink("run", EXAMPLES[3]!, "--runs", "100", "--seed", "9", "--json")).stdout;
    expect((await brink("run", EXAMPLES[3]!, "--runs", "100", "--seed", "9", "--json")).stdout).toBe(a);
    const s = JSON.parse(
      (
        await brink(
          "run",
          EXAMPLES[3]!,
          "--runs",
          "100",
          "--seed",
          "9",
          "--json",
          "--scenario",
          "strong_defence",
        )
      ).stdout,
    );
    expect(s.scenario).toBe("strong_defence");
    expect(JSON.stringify(s.outcomes)).not.toBe(JSON.stringify(JSON.parse(a).outcomes));
  });

  it("run with no file runs the main model and prints a table", async () => {
    const r = await brink("run", "--runs", "20");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/20 runs, seed 1/);
    expect(r.stdout).toMatch(/end state\s+runs\s+p\s+95% interval/);
  });

  it("bad usage exits with 2 and says what is wrong", async () => {
    for (const args of [
      ["run", "--runs", "0"],
      ["run", "--runs", "ten"],
      ["run", "--seed", "-4"],
      ["frobnicate"],
      ["run", "--bogus"],
      [],
    ]) {
      const r = await brink(...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr.length, args.join(" ")).toBeGreaterThan(0);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });

  it("--help works on every verb with exit code 0", async () => {
    for (const verb of VERBS.map((v) => v.name)) {
      const r = await brink(verb, "--help");
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Usage: brink ${verb}`));
    }
    expect((await brink("--help")).stdout).toMatch(/Commands:/);
  });

  it("schema prints a JSON Schema describing every top-level key", async () => {
    const schema = JSON.parse((await brink("schema")).stdout);
    const keys = Object.keys(schema.properties);
    for (const key of [
      "time",
      "method",
      "params",
      "stocks",
      "flows",
      "vars",
      "tables",
      "events",
      "outcomes",
      "track",
      "claims",
      "scenarios",
    ]) {
      expect(keys).toContain(key);
    }
    expect(schema.additionalProperties).toBe(false);
    // Shorthands are allowed: a param may be a bare number.
    expect(JSON.stringify(schema.properties.params)).toMatch(/"type":"number"/);
  });
});

describe("brink compare and brink sensitivity", () => {
  const scratch = scratchDir("report");

  it("compare prints each scenario's table and paired differences", async () => {
    const r = await brink(
      "compare",
      "models/examples/sir.yaml",
      "--scenarios",
      "base,uncertain",
      "--runs",
      "300",
      "--json",
    );
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.scenarios).toEqual(["base", "uncertain"]);
    expect(out.reports.base.outcomes.epidemic_over.p).toBe(1);
    const d = out.differences.find((x: { outcome: string }) => x.outcome === "epidemic_over");
    expect(d.difference).toBeCloseTo(out.reports.uncertain.outcomes.epidemic_over.p - 1, 10);
    expect(d.lo).toBeLessThanOrEqual(d.difference);
  });

  it("compare refuses an unknown scenario with a suggestion; report works on a model without scenarios", async () => {
    const bad = await brink(
      "compare",
      "models/examples/sir.yaml",
      "--scenarios",
      "base,uncertian",
      "--runs",
      "10",
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown scenario 'uncertian' — did you mean 'uncertain'\?/);
    const out = join(scratch, "teacup.html");
    const r = await brink("report", "models/examples/teacup.yaml", "-o", out, "--runs", "20");
    expect(r.status).toBe(0);
    expect(readFileSync(out, "utf8")).toMatch(/^<!doctype html>/);
  });

  it("sensitivity ranks the params of SIR and reports a requested target", async () => {
    const r = await brink(
      "sensitivity",
      "models/examples/sir.yaml",
      "--scenario",
      "uncertain",
      "--samples",
      "128",
      "--replicates",
      "1",
      "--target",
      "E(recovered at 60)",
      "--json",
    );
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.inputs).toEqual(["contact_rate", "recovery_time"]);
    const target = out.targets.find((t: { target: string }) => t.target === "E(recovered at 60)");
    expect(target.sobol[0].input).toBe("contact_rate");
    expect(target.sobol[0].total).toBeGreaterThan(target.sobol[1].total);
    const bad = await brink(
      "sensitivity",
      "models/examples/sir.yaml",
      "--scenario",
      "uncertain",
      "--target",
      "P(epidemic_over)",
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--target takes one E\(var at TIME\) term/);
  });
});

describe("brink serve", () => {
  it("serves the built app on localhost with isolation headers, and stops on Ctrl-C", async () => {
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [BIN, "serve", "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /running at (http:\/\/\S+) /.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on("exit", (code) => reject(new Error(`exited with ${code}`)));
    });
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get("cross-origin-opener-policy")).toBe("same-origin");
    expect(page.headers.get("cross-origin-embedder-policy")).toBe("require-corp");
    const html = await page.text();
    expect(html).toContain("<title>Brink");
    // Every asset the page names is served from here (no CDN).
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)]
      .map((m) => m[1]!)
      .filter((a) => !a.startsWith("data:"));
    expect(assets.length).toBeGreaterThan(1);
    for (const a of assets) {
      expect(a, a).not.toMatch(/^(https?:)?\/\//);
      expect((await fetch(new URL(a, url))).status, a).toBe(200);
    }
    // A path that climbs out of the app's folder (sent raw: fetch would normalise it) is refused.
    const { get } = await import("node:http");
    const climbed = await new Promise<number | undefined>((resolve) =>
      get({ host: "127.0.0.1", port: new URL(url).port, path: "/..%2f..%2fpackage.json" }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }),
    );
    expect(climbed).toBe(403);
    expect((await fetch(new URL("missing.js", url))).status).toBe(404);
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  });

  it("refuses a bad port with exit code 2", async () => {
    const r = await brink("serve", "--port", "http");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--port must be a port number");
  });
});
