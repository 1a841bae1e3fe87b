#!/usr/bin/env node
// Write the function table of docs/model-format.md from the builtin registry (run after a build).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { builtinTable, withBuiltinTable } from "../dist/compile/builtins.js";

const file = join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "model-format.md");
const before = readFileSync(file, "utf8");
const after = withBuiltinTable(before);
if (after !== before) writeFileSync(file, after);
console.log(
  `${file}: ${after === before ? "already current" : "updated"} (${builtinTable().split("\n").length - 2} functions)`,
);
