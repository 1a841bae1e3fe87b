#!/usr/bin/env node
import { statSync } from "node:fs";

// The bundled CLI (dist/cli, built by `npm run build`) starts faster; a tsc-only build newer than it (while
// developing) is used instead, so a stale bundle never runs.
const mtime = (path) => statSync(new URL(path, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? 0;
const bundled = mtime("../dist/cli/cli.js") >= mtime("../dist/node/cli.js");
const { main } = await import(bundled ? "../dist/cli/cli.js" : "../dist/node/cli.js");

// A reader that stops early (`brink run --json | head`) is not an error.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  // Bad input never lands here (it becomes diagnostics); this is a bug in Brink itself.
  process.stderr.write(`brink: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.stderr.write("Please report it with the model file and command that caused it.\n");
  process.exitCode = 70;
}
