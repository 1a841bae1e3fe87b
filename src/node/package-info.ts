/**
 * Where Brink is installed and its version: read by `brink --version` without loading the model readers
 * (files.ts re-exports these).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root (two levels above this file, in src/ and in dist/ alike). */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Brink's version, from its package.json. */
export const VERSION = (
  JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }
).version;

/** The model `brink run` uses when given no file. */
export const DEFAULT_MODEL = join(PACKAGE_ROOT, "models", "flagship", "flagship.yaml");
