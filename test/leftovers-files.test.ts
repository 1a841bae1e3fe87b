import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "brink.js");
// A regression blocks on the FIFO: the timeout kills it, and the status (null) fails the test instead of hanging.
const brink = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 20_000 });
const FLU = join(ROOT, "models/examples/boarding-school-flu.yaml");
const CONTROLS = "INITIAL TIME = 0 ~ ~ |\nFINAL TIME = 2 ~ ~ |\nTIME STEP = 1 ~ ~ |\nSAVEPER = 1 ~ ~ |\n";

describe("files a model names must be regular files (observations, GET DIRECT/XLS)", () => {
  const dir = mkdtempSync(join(tmpdir(), "brink-leftovers-files-"));
  const fifo = join(dir, "pipe.csv");
  execFileSync("mkfifo", [fifo]);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The flu model copied into the folder with its observation file named `file`; the line and column of the name. */
  const fluNaming = (file: string) => {
    const text = readFileSync(FLU, "utf8").replace(/file: \S+\.csv/, `file: ${file}`);
    const model = join(dir, `flu-${file.replace(/\W/g, "_")}.yaml`);
    writeFileSync(model, text);
    const lines = text.split("\n");
    const line = lines.findIndex((l) => l.includes(`file: ${file}`));
    return { model, line: line + 1, col: lines[line]!.indexOf(file) + 1 };
  };

  it("refuses a FIFO as an observation file at its name, without blocking, in calibrate and backtest", () => {
    const { model, line, col } = fluNaming("pipe.csv");
    for (const args of [
      ["calibrate", model, "--iterations", "10", "--burn-in", "5", "-o", join(dir, "p.json")],
      ["backtest", model, "--origins", "1978-01-29", "--horizon", "2 days", "--priors-only", "--runs", "5"],
    ]) {
      const r = brink(...args);
      expect(r.signal, args[0]).toBeNull();
      expect(r.status, args[0]).toBe(1);
      expect(r.stderr, args[0]).toBe(
        `${model}:${line}:${col}: error: observation 'in_bed': cannot read 'pipe.csv' (this is a FIFO (named pipe), not a regular file; data files must be regular files)\n`,
      );
    }
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it("refuses a symbolic link in the folder that leads to a FIFO, and a folder, as observation files", () => {
    symlinkSync(fifo, join(dir, "link.csv"));
    const link = fluNaming("link.csv");
    const calibrate = (model: string) =>
      brink("calibrate", model, "--iterations", "10", "--burn-in", "5", "-o", join(dir, "p.json"));
    const r = calibrate(link.model);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${link.model}:${link.line}:${link.col}: error: observation 'in_bed'`);
    expect(r.stderr).toContain("this is a FIFO (named pipe), not a regular file");
    const folder = fluNaming(".");
    const f = calibrate(folder.model);
    expect(f.status).toBe(1);
    expect(f.stderr).toContain(`${folder.model}:${folder.line}:${folder.col}: error:`);
    expect(f.stderr).toContain("this is a directory");
  });

  it("refuses a FIFO named by GET DIRECT DATA at the call, without blocking (brink check imports the .mdl)", () => {
    const model = join(dir, "m.mdl");
    const first = "x := GET DIRECT DATA('pipe.csv', ',', 'A', 'B2') ~ ~ |\n";
    writeFileSync(model, `${first}y = x ~ ~ |\n${CONTROLS}`);
    const r = brink("check", model);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${model.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:1:\\d+: error: `));
    expect(r.stderr).toContain("this is a FIFO (named pipe), not a regular file");
    // A regular file in its place is read.
    const regular = join(dir, "r.mdl");
    writeFileSync(join(dir, "data.csv"), "time,x\n0,1\n1,2\n2,3\n");
    writeFileSync(regular, `${first.replace("pipe.csv", "data.csv")}y = x ~ ~ |\n${CONTROLS}`);
    expect(brink("check", regular).stderr).not.toContain("regular file");
  });
});
