/**
 * Vitest global setup: make dist/ current before any test runs. The CLI tests spawn bin/brink.js, which loads
 * dist/; worker threads load dist/node/worker.js; `brink serve` and the browser tests serve dist/web. A test run
 * after editing src/ without a build would otherwise test the old code and pass. Builds only what is stale:
 * the fast tsc build when any file it compiles is newer than its output, the Vite build of the app when a
 * browser test is in the run and the app's inputs are newer than dist/web.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");

/** The newest modification time among files under `dir` (recursively) that pass `keep`. */
function newest(dir: string, keep: (path: string) => boolean = () => true): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path, keep));
    else if (keep(path)) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

const mtime = (path: string) => (existsSync(path) ? statSync(path).mtimeMs : 0);
const config = (...names: string[]) => Math.max(...names.map((n) => mtime(join(ROOT, n))));

function build(what: string, script: string, args: string[]): void {
  const started = performance.now();
  process.stderr.write(`dist is older than src: ${what}…\n`);
  execFileSync(process.execPath, [join(ROOT, "node_modules", script), ...args], {
    cwd: ROOT,
    stdio: "inherit",
  });
  process.stderr.write(`${what} took ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

/** Whether this run includes a browser test: no file filter given, or a filter naming one. */
function runsBrowserTests(): boolean {
  const filters = process.argv.slice(2).filter((a) => !a.startsWith("-") && a !== "run" && a !== "vitest");
  return filters.length === 0 || filters.some((f) => /browser/.test(f));
}

export default function setup(): void {
  const src = join(ROOT, "src");
  const nodeInputs = Math.max(
    newest(src, (p) => p.endsWith(".ts") && !p.includes(`${join("src", "web")}`)),
    config("tsconfig.json", "tsconfig.build.json", "package.json"),
  );
  // tsc rewrites every output on each build, so one output's time is the build's time.
  if (nodeInputs > mtime(join(ROOT, "dist", "index.js")))
    build("tsc -p tsconfig.build.json", "typescript/bin/tsc", ["-p", "tsconfig.build.json"]);
  if (runsBrowserTests()) {
    const webInputs = Math.max(
      newest(src, (p) => !p.includes(`${join("src", "node")}`)),
      config("vite.config.ts", "tsconfig.web.json", "package.json"),
      newest(join(ROOT, "models")),
    );
    if (webInputs > mtime(join(ROOT, "dist", "web", "index.html")))
      build("vite build", "vite/bin/vite.js", ["build", "--logLevel", "error"]);
  }
}
