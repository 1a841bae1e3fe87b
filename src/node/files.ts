import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { importXmile } from "../io/xmile.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import { MAX_MODEL_BYTES } from "../model/source.js";

/** The package root (two levels above this file, in src/ and in dist/ alike). */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Brink's version, from its package.json. */
export const VERSION = (
  JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }
).version;

/** The model `brink run` uses when given no file. */
export const DEFAULT_MODEL = join(PACKAGE_ROOT, "models", "flagship", "flagship.yaml");

/**
 * Read a model as Brink YAML text: a .yaml file as it is, an XMILE (.xmile, .stmx, .xml) file imported.
 * Unreadable, oversized or unsupported files become diagnostics.
 */
export function readModel(path: string): string {
  const text = readModelFile(path);
  return /\.(xmile|stmx|xml)$/i.test(path) ? importXmile(path, text).yaml : text;
}

/** Read a model file as UTF-8 text; unreadable or oversized files become diagnostics. */
export function readModelFile(path: string): string {
  const fail = (message: string) => new DiagnosticError([{ file: path, line: 1, col: 1, message }]);
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw fail("this is a directory, not a model file");
    size = st.size;
  } catch (e) {
    if (e instanceof DiagnosticError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw fail(code === "ENOENT" ? "no such file" : `cannot read the file (${code ?? String(e)})`);
  }
  if (size > MAX_MODEL_BYTES) {
    throw fail(
      `file is ${(size / 1024 / 1024).toFixed(1)} MB; model files are limited to ${MAX_MODEL_BYTES / 1024 / 1024} MB`,
    );
  }
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw fail(`cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** Write a file so that readers see either the old content or the new, never half of it. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}
