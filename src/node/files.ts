import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  openSync,
  readSync,
  realpathSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import type { VensimData } from "../io/vensim-data.js";
import { outsideModelFolder } from "../io/vensim-sheets.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import { MAX_MODEL_BYTES } from "../model/source.js";

export { DEFAULT_MODEL, PACKAGE_ROOT, VERSION } from "./package-info.js";

/**
 * Read a model as Brink YAML text: a .yaml file as it is, an XMILE (.xmile, .stmx, .xml) or Vensim (.mdl) file
 * imported. Unreadable, oversized or unsupported files become diagnostics.
 */
export function readModel(path: string, options: ModelReadOptions = {}): Promise<string> {
  return importModelText(path, readModelFile(path), options);
}

/** How a model file is read: `data`, the data files a Vensim model's data variables read (`--data`). */
export interface ModelReadOptions {
  data?: readonly string[];
}

/** A model file's text as Brink YAML: XMILE and Vensim files imported (by extension), YAML as it is. */
export async function importModelText(
  path: string,
  text: string,
  options: ModelReadOptions = {},
): Promise<string> {
  const dataFiles = options.data ?? [];
  // The importers (and their XML parser) are loaded only for the files that need them.
  if (/\.mdl$/i.test(path)) {
    const [{ importVensim }, { sheetReader }] = await Promise.all([
      import("../io/vensim.js"),
      import("./sheets.js"),
    ]);
    const data = dataFiles.length ? await readDataFiles(dataFiles) : undefined;
    return importVensim(path, text, { sheets: sheetReader(path), ...(data ? { data } : {}) }).yaml;
  }
  if (dataFiles.length)
    throw new DiagnosticError([
      { file: dataFiles[0]!, line: 1, col: 1, message: "data files are read by Vensim (.mdl) models only" },
    ]);
  if (/\.(xmile|stmx|xml)$/i.test(path)) return (await import("../io/xmile.js")).importXmile(path, text).yaml;
  return text;
}

/**
 * Read the data files of a Vensim model (tab- or comma-separated text, as Vensim exports a run); a later file's
 * series replaces an earlier one's of the same name. Vensim's binary .vdf runs are refused with a diagnostic.
 */
export async function readDataFiles(paths: readonly string[]): Promise<VensimData> {
  const { readVensimData } = await import("../io/vensim-data.js");
  const series: VensimData = new Map();
  for (const path of paths) {
    if (/\.vdfx?$/i.test(path))
      throw new DiagnosticError([
        {
          file: path,
          line: 1,
          col: 1,
          message:
            "Vensim's binary .vdf runs cannot be read: export the dataset from Vensim as tab-separated text (.tab) or CSV and give that",
        },
      ]);
    readVensimData(readTextFile(path, MAX_MODEL_BYTES, "data files"), series, path);
  }
  return series;
}

/** Read a model file as UTF-8 text; unreadable or oversized files become diagnostics. */
export function readModelFile(path: string): string {
  return readTextFile(path, MAX_MODEL_BYTES, "model files");
}

/**
 * Read a file as UTF-8 text, at most `maxBytes` of it: the size a stat reports is not trusted (a device such as
 * /dev/zero reports 0 and never ends), so reading stops one byte past the cap. Unreadable, oversized or
 * unsupported files become diagnostics at 1:1, `what` naming the kind of file in the message.
 */
export function readTextFile(path: string, maxBytes: number, what: string): string {
  return new TextDecoder("utf-8").decode(readFileBytes(path, maxBytes, what));
}

/** How readFileBytes treats what it opens. */
export interface ReadFileOptions {
  /**
   * Refuse anything but a regular file, without blocking on it: for the files a model names (observations, GET
   * DIRECT/XLS sheets), where a FIFO would hang the verb until a writer came and a device is never data. The file
   * is opened non-blocking and not through a final symbolic link, and the opened descriptor is checked (fstat), so
   * the file swapped for another between a check and the open is not read either.
   */
  regularOnly?: boolean;
}

/** Read a file's bytes, at most `maxBytes` of them, as readTextFile does. */
export function readFileBytes(
  path: string,
  maxBytes: number,
  what: string,
  options: ReadFileOptions = {},
): Uint8Array {
  const fail = (message: string) => new DiagnosticError([{ file: path, line: 1, col: 1, message }]);
  const reason = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String(e);
  const tooBig = (bytes: string) =>
    fail(`file is ${bytes} MB; ${what} are limited to ${maxBytes / 1024 / 1024} MB`);
  const notFile = (st: Stats) =>
    st.isDirectory()
      ? `this is a directory, not ${what === "model files" ? "a model file" : "a file"}`
      : `this is ${nodeKind(st)}, not a regular file; ${what} must be regular files`;
  let fd = -1;
  try {
    if (options.regularOnly) {
      fd = openSync(
        path,
        constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY,
      );
      const st = fstatSync(fd);
      if (!st.isFile()) throw fail(notFile(st));
      if (st.size > maxBytes) throw tooBig((st.size / 1024 / 1024).toFixed(1));
    } else {
      const st = statSync(path);
      if (st.isDirectory()) throw fail(notFile(st));
      if (st.size > maxBytes) throw tooBig((st.size / 1024 / 1024).toFixed(1));
      fd = openSync(path, "r");
    }
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    if (e instanceof DiagnosticError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw fail(
      code === "ENOENT"
        ? "no such file"
        : code === "ELOOP"
          ? "this is a symbolic link, not a regular file"
          : `cannot read the file (${code ?? String(e)})`,
    );
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) throw tooBig(`over ${(maxBytes / 1024 / 1024).toFixed(1)}`);
    }
    return Buffer.concat(chunks, total);
  } catch (e) {
    if (e instanceof DiagnosticError) throw e;
    throw fail(`cannot read the file (${reason(e)})`);
  } finally {
    closeSync(fd);
  }
}

/** What a file that is not a regular file is, in words. */
function nodeKind(st: Stats): string {
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSymbolicLink()) return "a symbolic link";
  return "another kind of file";
}

/** A file Brink was asked to write and could not: printed as `brink: cannot write FILE: reason`, exit 1. */
export class FileWriteError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot write ${path}: ${reason}`);
    this.name = "FileWriteError";
  }
}

const writeReason = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  if (err.code === "ENOSPC") return "no space left on the device";
  if (err.code === "EDQUOT") return "disk quota exceeded";
  if (err.code === "EACCES" || err.code === "EPERM") return "permission denied";
  if (err.code === "ENOENT") return "no such folder";
  if (err.code === "EISDIR") return "it is a directory";
  return err.code ?? (e instanceof Error ? e.message : String(e));
};

/**
 * Write a file so that readers see either the old content or the new, never half of it: the data goes to a
 * temporary file beside it, written to the last byte (a short write is continued, a full disk is an error),
 * flushed to disk, then renamed over the target. Only a regular file (or a new name) is replaced: a device,
 * pipe, socket or folder is refused, since the rename would replace the node itself (`/dev/full` as root).
 * Every failure is a FileWriteError and leaves no temporary file behind.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  try {
    const st = statSync(path);
    if (!st.isFile())
      throw new FileWriteError(path, st.isDirectory() ? "it is a directory" : "it is not a regular file");
  } catch (e) {
    if (e instanceof FileWriteError) throw e;
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new FileWriteError(path, writeReason(e));
  }
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, "wx");
  } catch (e) {
    throw new FileWriteError(path, writeReason(e));
  }
  try {
    let written = 0;
    while (written < bytes.length) {
      const n = writeSync(fd, bytes, written, bytes.length - written);
      if (n <= 0) throw Object.assign(new Error("the device took no more bytes"), { code: "ENOSPC" });
      written += n;
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // Already renamed or never created: nothing to clean.
    }
    throw new FileWriteError(path, writeReason(e));
  }
}

/**
 * The real path of a file a model names, which must lie in the model's folder or below it once symbolic links are
 * resolved (a link in the folder to /etc/passwd is refused like '../../etc/passwd'). The resolved path is the one
 * read. A file that does not exist is left for the reader to report.
 */
export function insideModelFolder(modelPath: string, file: string): string {
  const outside = outsideModelFolder(file);
  if (outside)
    throw new Error(`'${file}' is ${outside}: a model may read only files in its own folder or below it`);
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return undefined;
    }
  };
  const folder = real(dirname(modelPath)) ?? resolve(dirname(modelPath));
  const lexical = resolve(folder, file);
  const path = real(lexical);
  if (path === undefined) return lexical;
  if (path !== folder && !path.startsWith(folder.endsWith(sep) ? folder : folder + sep))
    throw new Error(
      `'${file}' leads out of the model's folder through a symbolic link: a model may read only files in its own folder or below it`,
    );
  return path;
}
