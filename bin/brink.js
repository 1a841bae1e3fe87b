#!/usr/bin/env node
import { main } from "../dist/node/cli.js";

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
