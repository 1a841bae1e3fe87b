import { parse as parseCsv } from "csv-parse/sync";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { divide, parseUnit, sameDimensions } from "../../compile/units.js";
import { type Diagnostic, DiagnosticError, didYouMean } from "../../lang/diagnostic.js";
import type { LoadedModel } from "../../model/load.js";
import type { ObservationSpec } from "../../model/schema.js";
import { canonicalUnit, dateToDays, isIsoDate, parseDuration, UNIT_DAYS } from "../../model/time.js";

/**
 * The `observations:` section: each entry's data text parsed and checked against the model (its variable, its
 * time axis, its units), giving series the particle filter and the scoring read. Reading the files is the
 * caller's business (src/node); everything here is pure, so it runs in workers and browsers alike.
 */

/** A noise parameter: a fixed number or a param of the model (possibly uncertain, then calibrated). */
export type NoiseParam = { value: number } | { param: string };

export type Noise =
  | { kind: "normal"; sd: NoiseParam }
  | { kind: "lognormal"; sd: NoiseParam }
  | { kind: "student_t"; scale: NoiseParam; df: NoiseParam }
  | { kind: "negative_binomial"; dispersion: NoiseParam }
  /** No measurement model: fitted by ABC-SMC, the entry's differences divided by `scale` in the distance. */
  | { kind: "none"; scale: number };

export interface ObservationPoint {
  /** Model time of the observation, snapped to the nearest step. */
  t: number;
  /** Step index (0 … steps) the observation is compared at. */
  step: number;
  value: number;
  /** The row's line in the data file, for messages. */
  line: number;
  date?: string;
}

export interface ObservationSeries {
  name: string;
  variable: string;
  /** Observe the change over this many steps (`change:`), instead of the level. */
  changeSteps?: number;
  noise: Noise;
  /** Sorted by step; at most one per step. */
  points: ObservationPoint[];
  /** The data file as named to the user. */
  file: string;
}

/** A data file read by the caller: the name to show in messages and its text. */
export interface DataText {
  file: string;
  text: string;
}

const NOISE_FIELDS: Record<Noise["kind"], readonly ("sd" | "scale" | "df" | "dispersion")[]> = {
  normal: ["sd"],
  lognormal: ["sd"],
  student_t: ["scale", "df"],
  negative_binomial: ["dispersion"],
  none: ["scale"],
};

/** A table of string cells with the place of each, from CSV or JSON. */
interface Table {
  columns: string[];
  rows: {
    cells: Map<string, string>;
    line: number;
    place: (column: string) => { line: number; col: number };
  }[];
}

/**
 * Parse and check every observation entry of a loaded model. `read(name, path)` returns the data file of entry
 * `name` (path as written, relative to the model file), or throws a DiagnosticError when it cannot be read.
 * All problems of all entries are collected and thrown together as one DiagnosticError.
 */
export function parseObservations(
  loaded: LoadedModel,
  read: (name: string, path: string) => DataText,
): ObservationSeries[] {
  const entries = loaded.spec.observations ?? {};
  const out: ObservationSeries[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const [name, entry] of Object.entries(entries)) {
    try {
      out.push(parseEntry(loaded, name, entry, read));
    } catch (e) {
      if (!(e instanceof DiagnosticError)) throw e;
      diagnostics.push(...e.diagnostics);
    }
  }
  if (diagnostics.length) throw new DiagnosticError(diagnostics);
  return out;
}

function parseEntry(
  loaded: LoadedModel,
  name: string,
  entry: ObservationSpec,
  read: (name: string, path: string) => DataText,
): ObservationSeries {
  const { source, spec, time } = loaded;
  const at = (field: string, message: string) => source.at(["observations", name, field], message);
  const diagnostics: Diagnostic[] = [];
  const fail = () => new DiagnosticError(diagnostics);

  // The variable: a stock, flow or var of the model.
  const variables = new Map<string, string | undefined>();
  for (const section of ["stocks", "flows", "vars"] as const)
    for (const [v, e] of Object.entries(spec[section] ?? {})) variables.set(v, e.unit);
  if (!variables.has(entry.variable)) {
    diagnostics.push(
      at(
        "variable",
        `observation '${name}': no stock, flow or var '${entry.variable}'${didYouMean(entry.variable, [...variables.keys()])}`,
      ),
    );
  }

  // The measurement model and its noise parameters.
  const noiseParam = (field: "sd" | "scale" | "df" | "dispersion"): NoiseParam => {
    const v = entry[field];
    if (v === undefined) {
      diagnostics.push(
        source.atKey(
          ["observations", name],
          `observation '${name}': noise '${entry.noise}' needs '${field}' (a positive number or a param)`,
        ),
      );
      return { value: Number.NaN };
    }
    if (typeof v === "number") {
      if (!(v > 0 && Number.isFinite(v)))
        diagnostics.push(at(field, `observation '${name}': ${field} must be a positive number, not ${v}`));
      return { value: v };
    }
    const params = Object.keys(spec.params ?? {});
    if (!params.includes(v))
      diagnostics.push(at(field, `observation '${name}': no param '${v}'${didYouMean(v, params)}`));
    return { param: v };
  };
  const kind = entry.noise ?? "none";
  const wanted = NOISE_FIELDS[kind];
  for (const field of ["sd", "scale", "df", "dispersion"] as const) {
    if (entry[field] !== undefined && !wanted.includes(field))
      diagnostics.push(
        at(
          field,
          `observation '${name}': noise '${kind}' takes ${wanted.map((f) => `'${f}'`).join(" and ")}, not '${field}'`,
        ),
      );
  }
  let noise: Noise;
  switch (kind) {
    case "none": {
      // The distance's scale: a fixed positive number (a param would make the distance itself uncertain).
      const scale = entry.scale ?? 1;
      if (typeof scale !== "number" || !(scale > 0 && Number.isFinite(scale)))
        diagnostics.push(
          at("scale", `observation '${name}': without a measurement model, scale must be a positive number`),
        );
      noise = { kind: "none", scale: typeof scale === "number" ? scale : Number.NaN };
      break;
    }
    case "normal":
    case "lognormal":
      noise = { kind, sd: noiseParam("sd") };
      break;
    case "student_t":
      noise = { kind: "student_t", scale: noiseParam("scale"), df: noiseParam("df") };
      break;
    case "negative_binomial":
      noise = { kind: "negative_binomial", dispersion: noiseParam("dispersion") };
      break;
  }

  // The period of a change, in steps.
  let changeSteps: number | undefined;
  let changeUnit: string | undefined;
  if (entry.change !== undefined) {
    let period: number | undefined;
    if (typeof entry.change === "number") period = entry.change;
    else {
      const d = parseDuration(entry.change) ?? bareUnit(entry.change);
      const modelDays = time.unit !== undefined ? UNIT_DAYS[time.unit] : undefined;
      if (d && modelDays !== undefined) {
        period = (d.amount * UNIT_DAYS[d.unit]!) / modelDays;
        changeUnit = d.unit;
      } else if (d)
        diagnostics.push(
          at("change", `observation '${name}': a change over '${entry.change}' needs a calendar time unit`),
        );
      else
        diagnostics.push(
          at("change", `observation '${name}': change '${entry.change}' is not a duration such as 'month'`),
        );
    }
    if (period !== undefined) {
      changeSteps = Math.round(period / time.dt);
      if (!(changeSteps >= 1))
        diagnostics.push(at("change", `observation '${name}': the change period is shorter than one step`));
    }
  }

  // The unit, against the variable's (a change may also be given per its period).
  const varUnit = variables.get(entry.variable);
  if (entry.unit !== undefined && varUnit !== undefined) {
    const o = parseUnit(entry.unit);
    const v = parseUnit(varUnit);
    const perPeriod = v && changeUnit ? divide(v, parseUnit(changeUnit) ?? new Map()) : undefined;
    if (o && v && !sameDimensions(o, v) && !(perPeriod && sameDimensions(o, perPeriod)))
      diagnostics.push(
        at("unit", `observation '${name}' is in '${entry.unit}' but '${entry.variable}' is in '${varUnit}'`),
      );
  }

  // Which column is the time axis.
  const dated = time.origin !== undefined && time.unit !== undefined;
  if (entry.date !== undefined && entry.time !== undefined)
    diagnostics.push(at("time", `observation '${name}' needs one of 'date' or 'time', not both`));
  if (entry.date !== undefined && !dated)
    diagnostics.push(
      at("date", `observation '${name}': dates need a dated model (time.start an ISO date); use 'time'`),
    );
  if (diagnostics.length) throw fail();
  const byDate = entry.time === undefined && dated;
  const timeColumn = entry.time ?? entry.date ?? (dated ? "date" : "time");
  const valueColumn = entry.value ?? "value";

  const data = read(name, entry.file);
  const table = /\.json$/i.test(entry.file) ? jsonTable(data) : csvTable(data);
  for (const [field, column] of [
    [entry.time !== undefined ? "time" : "date", timeColumn],
    ["value", valueColumn],
  ] as const) {
    if (!table.columns.includes(column)) {
      const d: Diagnostic = { file: data.file, line: 1, col: 1, message: "" };
      const written = entry[field] !== undefined;
      const msg = `no column '${column}'${didYouMean(column, table.columns)} (the file has: ${table.columns.join(", ") || "none"})`;
      diagnostics.push(
        written
          ? at(field, `observation '${name}': ${msg} in ${data.file}`)
          : {
              ...d,
              message: `observation '${name}' reads column '${column}' by default, but there is ${msg}`,
            },
      );
    }
  }
  if (diagnostics.length) throw fail();

  const points: ObservationPoint[] = [];
  const seen = new Map<number, number>();
  const origin = byDate ? dateToDays(time.origin!) : 0;
  const unitDays = time.unit !== undefined ? UNIT_DAYS[time.unit]! : 1;
  const firstStep = changeSteps ?? 0;
  for (const row of table.rows) {
    const here = (column: string, message: string): Diagnostic => ({
      file: data.file,
      ...row.place(column),
      message,
    });
    const rawTime = row.cells.get(timeColumn) ?? "";
    const rawValue = row.cells.get(valueColumn) ?? "";
    let t: number;
    if (byDate) {
      if (!isIsoDate(rawTime)) {
        diagnostics.push(here(timeColumn, `'${rawTime}' is not an ISO date (YYYY-MM-DD)`));
        continue;
      }
      t = (dateToDays(rawTime) - origin) / unitDays;
    } else {
      t = Number(rawTime);
      if (rawTime === "" || !Number.isFinite(t)) {
        diagnostics.push(here(timeColumn, `'${rawTime}' is not a model time (a number)`));
        continue;
      }
    }
    const step = Math.round((t - time.start) / time.dt);
    if (step < firstStep || step > time.steps) {
      const span = byDate ? "the model's dates" : "the model's time";
      const why =
        step >= 0 && step < firstStep
          ? ` (a change over ${changeSteps} steps needs the period before it)`
          : "";
      diagnostics.push(here(timeColumn, `'${rawTime}' is outside ${span}${why}`));
      continue;
    }
    const previous = seen.get(step);
    if (previous !== undefined) {
      diagnostics.push(
        here(timeColumn, `'${rawTime}' falls on the same step as line ${previous}: a duplicate`),
      );
      continue;
    }
    seen.set(step, row.line);
    // An empty cell is a missing observation.
    if (rawValue === "") continue;
    const value = Number(rawValue);
    if (!Number.isFinite(value)) {
      diagnostics.push(here(valueColumn, `'${rawValue}' is not a number`));
      continue;
    }
    if (entry.noise === "lognormal" && !(value > 0))
      diagnostics.push(here(valueColumn, `${value}: lognormal noise needs values above 0`));
    else if (entry.noise === "negative_binomial" && !(value >= 0 && Number.isInteger(value)))
      diagnostics.push(
        here(valueColumn, `${value}: negative binomial noise needs counts (whole numbers ≥ 0)`),
      );
    points.push({
      t: time.start + step * time.dt,
      step,
      value,
      line: row.line,
      ...(byDate ? { date: rawTime } : {}),
    });
  }
  if (diagnostics.length) throw fail();
  points.sort((a, b) => a.step - b.step);
  return {
    name,
    variable: entry.variable,
    ...(changeSteps !== undefined ? { changeSteps } : {}),
    noise,
    points,
    file: data.file,
  };
}

function bareUnit(text: string): { amount: number; unit: string } | undefined {
  const unit = canonicalUnit(text);
  return unit ? { amount: 1, unit } : undefined;
}

/** Column of each field in a raw CSV line (1-based), respecting quotes. */
function fieldColumns(raw: string): number[] {
  const starts = [1];
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '"') quoted = !quoted;
    else if (c === "," && !quoted) starts.push(i + 2);
    else if (c === "\n" && !quoted) break;
  }
  return starts;
}

function csvTable(data: DataText): Table {
  type Info = { record: string[]; info: { lines: number }; raw: string };
  let records: Info[];
  try {
    records = parseCsv(data.text, { skip_empty_lines: true, trim: true, info: true, raw: true }) as Info[];
  } catch (e) {
    const err = e as { message?: string; lines?: number };
    throw new DiagnosticError([
      { file: data.file, line: err.lines ?? 1, col: 1, message: `CSV: ${err.message ?? String(e)}` },
    ]);
  }
  const [header, ...body] = records;
  if (!header)
    throw new DiagnosticError([{ file: data.file, line: 1, col: 1, message: "the file is empty" }]);
  const columns = header.record;
  return {
    columns,
    rows: body.map((r) => {
      // info.lines is the line where the record ends; a record spans its raw text's line breaks.
      const line = r.info.lines - (r.raw.replace(/\r?\n$/, "").match(/\n/g)?.length ?? 0);
      const starts = fieldColumns(r.raw);
      return {
        cells: new Map(columns.map((c, i) => [c, r.record[i] ?? ""])),
        line,
        place: (column: string) => ({ line, col: starts[columns.indexOf(column)] ?? 1 }),
      };
    }),
  };
}

/** A JSON list of records, with each cell's place. */
function jsonTable(data: DataText): Table {
  const lines = new LineCounter();
  const doc = parseDocument(data.text, { lineCounter: lines, prettyErrors: false });
  const where = (offset: number) => {
    const p = lines.linePos(offset);
    return { line: p.line, col: p.col };
  };
  const bad = (offset: number, message: string) =>
    new DiagnosticError([{ file: data.file, ...where(offset), message }]);
  if (doc.errors.length) throw bad(doc.errors[0]!.pos[0], `JSON: ${doc.errors[0]!.message.split("\n")[0]}`);
  const root = doc.contents as Node | null;
  if (!isSeq(root))
    throw bad(0, 'a JSON data file must be a list of records, e.g. [{"date": …, "value": …}]');
  const columns = new Set<string>();
  const rows: Table["rows"] = [];
  for (const item of root.items) {
    const offset = (item as Node | null)?.range?.[0] ?? 0;
    if (!isMap(item)) throw bad(offset, 'each record must be a mapping such as {"date": …, "value": …}');
    const cells = new Map<string, string>();
    const places = new Map<string, number>();
    for (const pair of item.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      const v = pair.value as Node | null;
      columns.add(key);
      cells.set(key, isScalar(v) && v.value !== null ? String(v.value) : "");
      places.set(key, v?.range?.[0] ?? offset);
    }
    const { line } = where(offset);
    rows.push({ cells, line, place: (column) => where(places.get(column) ?? offset) });
  }
  return { columns: [...columns], rows };
}
