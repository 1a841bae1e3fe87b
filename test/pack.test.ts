import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run, scratchDir } from "./cli-helpers.js";
import { ROOT } from "./helpers.js";

/** npm's own variables from an enclosing `npm test` would steer the nested npm; the cache and registry stay. */
function cleanEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(cache|registry|userconfig)$/;
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.toLowerCase().startsWith("npm_") || keep.test(k.toLowerCase()),
    ),
  );
}

describe("the published package", () => {
  const dir = scratchDir("pack");

  it("packs, installs into an empty folder and runs as `npx brink run`", async () => {
    const env = cleanEnv();
    // dist/ is current (the global setup built it), so no lifecycle scripts: a pack that rebuilt would be slow.
    const packed = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
      env,
    });
    expect(packed.status, packed.stderr).toBe(0);
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const paths = info!.files.map((f) => f.path);
    for (const needed of [
      "LICENSE",
      "bin/brink.js",
      "dist/node/cli.js",
      "dist/node/worker.js",
      "models/flagship/flagship.yaml",
    ])
      expect(paths, needed).toContain(needed);
    expect(paths.some((p) => p.startsWith("src/") || p.startsWith("test/") || p.endsWith(".map"))).toBe(
      false,
    );

    const app = join(dir, "app");
    await run("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), '{ "private": true }\n');
    const installed = await run(
      "npm",
      [
        "install",
        join(dir, info!.filename),
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        "--ignore-scripts",
      ],
      { cwd: app, env },
    );
    expect(installed.status, installed.stderr).toBe(0);

    const version = await run("npx", ["--no", "--", "brink", "--version"], { cwd: app, env });
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);
    const r = await run("npx", ["--no", "--", "brink", "run", "--runs", "50", "--workers", "2"], {
      cwd: app,
      env,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/: 50 runs, seed 1/);
    expect(r.stdout).toMatch(/end state\s+runs\s+p\s+95% interval/);
  });
});
