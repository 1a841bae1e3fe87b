import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/node/cli.js";
import { ROOT } from "./helpers.js";

const DIR = join(ROOT, "test", "fixtures", "invalid");

/** Run the CLI in-process and capture what it prints. */
async function cli(args: string[]) {
  let out = "";
  let err = "";
  const code = await main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

/** The command a fixture is meant for: `# brink run …` on its first line, else `check`. */
function commandOf(text: string): string[] {
  const m = /^# brink (.*)$/m.exec(text.split("\n")[0] ?? "");
  return m ? m[1]!.split(" ") : ["check"];
}

describe("invalid model files get exact diagnostics and exit code 1", () => {
  const fixtures = readdirSync(DIR).filter((f) => f.endsWith(".yaml"));

  it("has at least 30 fixtures", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(30);
  });

  for (const name of fixtures) {
    it(name, async () => {
      const path = join(DIR, name);
      const file = relative(ROOT, path);
      const [verb, ...rest] = commandOf(readFileSync(path, "latin1"));
      const expected = readFileSync(path.replace(/\.yaml$/, ".expected"), "utf8");
      const prev = process.cwd();
      process.chdir(ROOT);
      try {
        const r = await cli([verb!, file, ...rest]);
        expect(r.err).toBe(expected);
        expect(r.code).toBe(1);
        expect(r.out).toBe("");
        // Every line is file:line:col: error: …
        for (const line of r.err.trimEnd().split("\n"))
          expect(line).toMatch(/^test\/fixtures\/invalid\/[\w.-]+:\d+:\d+: error: \S/);
      } finally {
        process.chdir(prev);
      }
    });
  }

  it("a 50 MB file is refused before it is parsed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-"));
    const path = join(dir, "huge.yaml");
    const line = "  x: 1\n";
    writeFileSync(path, `brink: 1\nname: huge\nparams:\n${line.repeat((50 * 1024 * 1024) / line.length)}`);
    const r = await cli(["check", path]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`${path}:1:1: error: file is 50.0 MB; model files are limited to 8 MB\n`);
  });

  it("a missing file is a diagnostic, not a crash", async () => {
    const r = await cli(["check", "no/such/model.yaml"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("no/such/model.yaml:1:1: error: no such file\n");
  });
});
