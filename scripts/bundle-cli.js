// The `brink` command as a few files instead of ~200 modules: esbuild bundles dist/node/cli.js (after the tsc build)
// with commander, yaml and zod into dist/cli/, so a command's start is not spent resolving and compiling module
// after module (zod alone is 95 ES modules). Libraries that only some verbs need stay external and are loaded
// when those verbs run. bin/brink.js uses the bundle when it is newer than dist/node/cli.js, else the tsc output.
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "dist", "cli");
rmSync(OUT, { recursive: true, force: true });
await build({
  entryPoints: [join(ROOT, "dist", "node", "cli.js")],
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  logLevel: "warning",
  // Only the CommonJS packages bundled here (commander, yaml) call require, for Node's own modules.
  banner: {
    js: 'import { createRequire as __brinkCreateRequire } from "node:module"; const require = __brinkCreateRequire(import.meta.url);',
  },
  external: [
    "bullmq",
    "cli-progress",
    "csv-parse",
    "hyparquet-writer",
    "ioredis",
    "piscina",
    "saxes",
    "vega",
    "vega-interpreter",
    "vega-lite",
  ],
});
