import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { terminalSafe } from "../src/node/terminal.js";
import { tableCsv } from "../src/report/html.js";
import { brink, scratchDir } from "./cli-helpers.js";

const dir = scratchDir("safety");
const TEACUP = "models/examples/teacup.yaml";
const isRoot = process.getuid?.() === 0;

describe("an unknown verb is a usage error", () => {
  it("with --help it exits 2 and suggests the verb meant, instead of printing the general help", async () => {
    for (const args of [["chek", "--help"], ["help", "chek"], ["chek"]]) {
      const r = await brink(...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stdout, args.join(" ")).toBe("");
      expect(r.stderr, args.join(" ")).toMatch(/unknown command 'chek' — did you mean 'check'\?/);
    }
    const far = await brink("calibrat", "--help");
    expect(far.status).toBe(2);
    expect(far.stderr).toMatch(/unknown command 'calibrat'/);
  });
});

describe("writes fail loudly and never replace what is not a regular file", () => {
  it("--save-summary /dev/full is refused and the device stays a device", async () => {
    const r = await brink("run", TEACUP, "--runs", "5", "--save-summary", "/dev/full");
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("brink: cannot write /dev/full: it is not a regular file\n");
    expect(statSync("/dev/full").isCharacterDevice()).toBe(true);
  });

  it("a FIFO or a folder as the target is refused; report -o into a missing folder says so", async () => {
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    const r = await brink("run", TEACUP, "--runs", "5", "--save-summary", fifo);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`brink: cannot write ${fifo}: it is not a regular file\n`);
    expect(statSync(fifo).isFIFO()).toBe(true);
    const folder = await brink("export", TEACUP, "-o", dir);
    expect(folder.status).toBe(1);
    expect(folder.stderr).toBe(`brink: cannot write ${dir}: it is a directory\n`);
    const missing = join(dir, "no", "such", "report.html");
    const report = await brink("report", TEACUP, "-o", missing, "--runs", "5", "--samples", "0");
    expect(report.status).toBe(1);
    expect(report.stderr).toMatch(new RegExp(`brink: cannot write ${missing}: no such folder\\n$`));
  });

  it.skipIf(!isRoot)("a full disk is an error, not a truncated file (a 64 kB tmpfs)", async () => {
    const small = join(dir, "small");
    execFileSync("mkdir", ["-p", small]);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", small], { stdio: "ignore" });
    } catch {
      return; // no mount permission in this sandbox: nothing to probe
    }
    try {
      const report = join(small, "report.html");
      const r = await brink("report", TEACUP, "-o", report, "--runs", "20", "--samples", "0");
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`brink: cannot write ${report}: no space left on the device\\n$`));
      // Neither the target nor a temporary file is left behind.
      expect(readdirSync(small)).toEqual([]);
      const summary = join(small, "summary.json");
      const s = await brink("run", "--runs", "2000", "--save-summary", summary);
      expect(s.status).toBe(1);
      expect(s.stderr).toMatch(/no space left on the device/);
      expect(existsSync(summary)).toBe(false);
    } finally {
      execFileSync("umount", [small]);
    }
  });
});

describe("reads are capped in bytes, whatever stat says", () => {
  it("/dev/zero as a model or a summary ends in a diagnostic within seconds", async () => {
    const model = await brink("check", "/dev/zero");
    expect(model.status).toBe(1);
    expect(model.stderr).toBe("/dev/zero:1:1: error: file is over 8.0 MB; model files are limited to 8 MB\n");
    const summary = await brink("merge", "/dev/zero");
    expect(summary.status).toBe(1);
    expect(summary.stderr).toBe(
      "/dev/zero:1:1: error: file is over 256.0 MB; summary files are limited to 256 MB\n",
    );
  }, 60_000);
});

describe("model text cannot drive the terminal or a spreadsheet", () => {
  it("escape sequences in a model's name and strings reach the terminal as visible escapes", async () => {
    const hostile = join(dir, "hostile.yaml");
    const text = readFileSync(TEACUP, "utf8").replace(
      "name: Teacup",
      'name: "Tea\\e]0;pwned\\acup\\e[2J\\u202e"',
    );
    writeFileSync(hostile, text);
    const r = await brink("run", hostile, "--runs", "5");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Tea\\x1b]0;pwned\\x07cup\\x1b[2J\\u202e: 5 runs");
    expect(r.stdout).not.toMatch(/[\x1b\x07\u202e]/);
    // --json is data, not terminal text: the name is kept exactly (JSON escapes it).
    const json = await brink("run", hostile, "--runs", "5", "--json");
    expect(JSON.parse(json.stdout).model).toBe("Tea\x1b]0;pwned\x07cup\x1b[2J\u202e");
  });

  it("terminalSafe keeps layout characters and text, escapes the rest", () => {
    expect(terminalSafe("a\tb\nc — ü 中")).toBe("a\tb\nc — ü 中");
    expect(terminalSafe("x\ry\x9bz\u2066")).toBe("x\\x0dy\\x9bz\\u2066");
  });

  it("CSV cells that a spreadsheet would run as formulas are neutralised; numbers are not", () => {
    const csv = tableCsv({
      id: "t",
      title: "t",
      columns: ["name", "value"],
      rows: [
        ['=HYPERLINK("http://x")', -0.5],
        ["+1+1", "-3.5%"],
        ["-2+3", "@SUM(A1)"],
        ["\tx", "plain"],
      ],
    });
    expect(csv.split("\n")).toEqual([
      "name,value",
      `"'=HYPERLINK(""http://x"")",-0.5`,
      "'+1+1,-3.5%",
      "'-2+3,'@SUM(A1)",
      "'\tx,plain",
    ]);
  });
});
