import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
      // The path as given on the command line is the path in the diagnostics; relative to the test's working
      // folder (whatever it is) and shown relative to the repository, as the fixtures expect.
      const given = relative(process.cwd(), path);
      const r = await cli([verb!, given, ...rest]);
      const err = r.err.replaceAll(`${given}:`, `${file}:`);
      expect(err).toBe(expected);
      expect(r.code).toBe(1);
      expect(r.out).toBe("");
      // Every line is file:line:col: error: …
      for (const line of err.trimEnd().split("\n"))
        expect(line).toMatch(/^test\/fixtures\/invalid\/[\w.-]+:\d+:\d+: error: \S/);
    });
  }

  it("a 50 MB file is refused before it is parsed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-"));
    const path = join(dir, "huge.yaml");
    const line = "  x: 1\n";
    try {
      writeFileSync(path, `brink: 1\nname: huge\nparams:\n${line.repeat((50 * 1024 * 1024) / line.length)}`);
      const r = await cli(["check", path]);
      expect(r.code).toBe(1);
      expect(r.err).toBe(`${path}:1:1: error: file is 50.0 MB; model files are limited to 8 MB\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a missing file is a diagnostic, not a crash", async () => {
    const r = await cli(["check", "no/such/model.yaml"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("no/such/model.yaml:1:1: error: no such file\n");
  });
});
