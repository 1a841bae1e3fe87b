import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type ColumnSource, parquetWriteBuffer } from "hyparquet-writer";
import type { RunsOut, RunTableData } from "../engine/run-table.js";
import { FileWriteError, VERSION, writeFileAtomic } from "./files.js";

/** The file one chunk's runs go to: `part-<first>-<last>.parquet`, zero-padded so names sort in run order. */
export function runsPartName(first: number, last: number): string {
  const pad = (n: number) => String(n).padStart(12, "0");
  return `part-${pad(first)}-${pad(last)}.parquet`;
}

/** Short numeric text for a save time in a column name (`deaths@12.5`). */
const timeLabel = (t: number) => String(Number(t.toPrecision(12)));

/** Column names of a per-run file, in file order (documented in docs/per-run.md). */
export function runsColumnNames(out: RunsOut): string[] {
  return [
    "run",
    "outcome",
    "end_time",
    ...out.params.map((p) => `param.${p}`),
    ...Object.keys(out.decisions).map((d) => `decision.${d}`),
    ...out.saveTimes.flatMap((t) => out.tracked.map((v) => `${v}@${timeLabel(t)}`)),
  ];
}

/**
 * Encode one chunk's runs as Parquet: one row per run; the params drawn, the decisions, the outcome (its name,
 * or "censored") and end time, and each tracked value at each save time (null once the run has ended).
 */
export function runsParquet(out: RunsOut, table: RunTableData): ArrayBuffer {
  const n = table.count;
  const names = runsColumnNames(out);
  const columns: ColumnSource[] = [];
  let c = 0;
  const run = new BigInt64Array(n);
  for (let r = 0; r < n; r++) run[r] = BigInt(table.start + r);
  columns.push({ name: names[c++]!, data: run, type: "INT64", nullable: false });
  const outcome = Array.from(table.outcome, (o) => (o < 0 ? "censored" : out.outcomes[o]!));
  columns.push({ name: names[c++]!, data: outcome, type: "STRING", nullable: false });
  columns.push({ name: names[c++]!, data: table.time, type: "DOUBLE", nullable: false });
  out.params.forEach((_, i) => {
    columns.push({
      name: names[c++]!,
      data: table.params.subarray(i * n, (i + 1) * n),
      type: "DOUBLE",
      nullable: false,
    });
  });
  for (const value of Object.values(out.decisions))
    columns.push({
      name: names[c++]!,
      data: new Float64Array(n).fill(value),
      type: "DOUBLE",
      nullable: false,
    });
  const width = out.saveTimes.length * out.tracked.length;
  for (let j = 0; j < width; j++) {
    const values = table.saved.subarray(j * n, (j + 1) * n);
    // A run that has ended has no value at later saves: null, so that aggregates skip it as the summary does.
    const data = Array.from(values, (x) => (Number.isNaN(x) ? null : x));
    columns.push({ name: names[c++]!, data, type: "DOUBLE" });
  }
  const kvMetadata = Object.entries({
    ...out.metadata,
    "brink.first_run": String(table.start),
    "brink.last_run": String(table.start + n - 1),
  }).map(([key, value]) => ({ key, value }));
  return parquetWriteBuffer({ columnData: columns, kvMetadata, createdBy: `brink ${VERSION}` });
}

/**
 * Write one chunk's runs into the folder, atomically (readers see the old file or the new one) and
 * idempotently (the same chunk of the same job gives the same bytes under the same name).
 */
export function writeRunsPart(out: RunsOut, table: RunTableData): string {
  // A scenario's partition folder is made by the first of its chunks to finish.
  prepareRunsFolder(out.dir);
  const path = join(out.dir, runsPartName(table.start, table.start + table.count - 1));
  writeFileAtomic(path, new Uint8Array(runsParquet(out, table)));
  return path;
}

/** Make the folder for per-run files (and its parents); a failure is a FileWriteError. */
export function prepareRunsFolder(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileWriteError(
      dir,
      code === "EEXIST" || code === "ENOTDIR" ? "it is not a folder" : String(code),
    );
  }
}
