import { join } from "node:path";
import { type ColumnSource, parquetWriteBuffer } from "hyparquet-writer";
import type { ForecastRuns } from "../analysis/calibrate/backtest.js";
import { VERSION, writeFileAtomic } from "./files.js";
import { prepareRunsFolder, runsPartName } from "./runs-parquet.js";

/**
 * `brink backtest --runs-out DIR`: each origin's forecast runs as one Parquet file, in a Hive-style partition
 * `DIR/origin=LABEL/part-<first>-<last>.parquet` (as `brink compare` partitions by scenario), one row per run.
 * Documented in docs/per-run.md.
 */

/** Short numeric text for a model time in a column name (`in_bed@5`), as the run files write save times. */
const timeLabel = (t: number) => String(Number(t.toPrecision(12)));

/** The folder of one origin's file: its label (a date, or a model time) as a Hive partition. */
export function originFolder(dir: string, label: string): string {
  return join(dir, `origin=${label}`);
}

/** Column names, in file order. */
export function forecastColumnNames(runs: ForecastRuns, params: readonly string[]): string[] {
  const target = (x: ForecastRuns["targets"][number]) => `${x.series}@${timeLabel(x.t)}`;
  return [
    "run",
    "origin_t",
    "ended",
    ...params.map((p) => `param.${p}`),
    ...runs.targets.map((x) => `forecast.${target(x)}`),
    ...runs.targets.map((x) => `value.${target(x)}`),
  ];
}

export function forecastRunsParquet(
  runs: ForecastRuns,
  params: readonly string[],
  metadata: Record<string, string>,
): ArrayBuffer {
  const n = runs.runs;
  const P = params.length;
  const T = runs.targets.length;
  const names = forecastColumnNames(runs, params);
  let c = 0;
  const columns: ColumnSource[] = [];
  const run = new BigInt64Array(n);
  for (let r = 0; r < n; r++) run[r] = BigInt(r);
  columns.push({ name: names[c++]!, data: run, type: "INT64", nullable: false });
  columns.push({
    name: names[c++]!,
    data: new Float64Array(n).fill(runs.t),
    type: "DOUBLE",
    nullable: false,
  });
  columns.push({
    name: names[c++]!,
    data: Array.from(runs.ended, (e) => e === 1),
    type: "BOOLEAN",
    nullable: false,
  });
  for (let i = 0; i < P; i++)
    columns.push({
      name: names[c++]!,
      data: Float64Array.from({ length: n }, (_, r) => runs.params[r * P + i]!),
      type: "DOUBLE",
      nullable: false,
    });
  // A run with no forecast there (ended, or a draw that is not a finite number) is null, so aggregates skip it
  // as the scores do.
  for (const matrix of [runs.forecasts, runs.values])
    for (let j = 0; j < T; j++) {
      const data = Array.from({ length: n }, (_, r) => {
        const x = matrix[r * T + j]!;
        return Number.isFinite(x) ? x : null;
      });
      columns.push({ name: names[c++]!, data, type: "DOUBLE" });
    }
  const kvMetadata = Object.entries({
    ...metadata,
    "brink.origin": runs.label,
    "brink.origin_step": String(runs.step),
    "brink.origin_t": String(runs.t),
    "brink.targets": JSON.stringify(
      runs.targets.map((x) => ({
        column: `forecast.${x.series}@${timeLabel(x.t)}`,
        series: x.series,
        variable: x.variable,
        at: x.at,
        t: x.t,
        observed: x.observed,
      })),
    ),
    "brink.first_run": "0",
    "brink.last_run": String(n - 1),
  }).map(([key, value]) => ({ key, value }));
  return parquetWriteBuffer({ columnData: columns, kvMetadata, createdBy: `brink ${VERSION}` });
}

/** Write one origin's runs, atomically and idempotently (the same job gives the same bytes under the same name). */
export function writeForecastRuns(
  dir: string,
  runs: ForecastRuns,
  params: readonly string[],
  metadata: Record<string, string>,
): string {
  const folder = originFolder(dir, runs.label);
  prepareRunsFolder(folder);
  const path = join(folder, runsPartName(0, runs.runs - 1));
  writeFileAtomic(path, new Uint8Array(forecastRunsParquet(runs, params, metadata)));
  return path;
}
