import type { z } from "zod";
import { type Diagnostic, DiagnosticError, didYouMean } from "../lang/diagnostic.js";
import { checkDeclaredNames, dictionary, ENTRY_KIND, nameTablesAsDictionaries } from "./names.js";
import { ModelObject, type ModelSpec, ObservationObject, ScenarioObject, SHORTHAND_FIELD } from "./schema.js";
import { ModelSource, type Path } from "./source.js";
import { canonicalUnit, dateToDays, isIsoDate, parseDuration, UNIT_DAYS } from "./time.js";

export interface ResolvedTime {
  /** Model time of the first step (0 when `start` is a date). */
  start: number;
  stop: number;
  dt: number;
  /** Number of steps from start to stop. */
  steps: number;
  /** Tracked values are saved every `saveEvery` steps. */
  saveEvery: number;
  /** A calendar unit (day, week, …) or the model's own unit name, if any. */
  unit?: string;
  /** The ISO date of time 0, when `start` is a date. */
  origin?: string;
  /**
   * A clock that changes during the run (`time.clock`): the vars read every step for the step, the saving period
   * and the stop. `schedule` is filled in by the compiler, which checks that the clock is the same in every run.
   */
  clock?: { dt?: string; save?: string; stop?: string; schedule?: ClockSchedule };
}

/** The times a variable clock goes through, the same in every run (computed once, by the compiler). */
export interface ClockSchedule {
  /** Model time of each step 0 … steps. */
  times: number[];
  /** The steps at which tracked values are saved, ascending. */
  saveSteps: number[];
}

/** Model time of step k. */
export function stepTime(time: ResolvedTime, k: number): number {
  const schedule = time.clock?.schedule;
  return schedule ? schedule.times[Math.min(k, schedule.times.length - 1)]! : time.start + k * time.dt;
}

/** Model time of save s. */
export function saveTime(time: ResolvedTime, s: number): number {
  const schedule = time.clock?.schedule;
  return schedule ? schedule.times[schedule.saveSteps[s]!]! : time.start + s * time.saveEvery * time.dt;
}

/** Number of save times in a full run. */
export function saveTotal(time: ResolvedTime): number {
  const schedule = time.clock?.schedule;
  return schedule ? schedule.saveSteps.length : Math.floor(time.steps / time.saveEvery) + 1;
}

/** The number of values in ascending `xs` that are at most x (a binary search). */
function countAtMost(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether values are saved at step k. */
export function isSaveStep(time: ResolvedTime, k: number): boolean {
  const schedule = time.clock?.schedule;
  if (!schedule) return k % time.saveEvery === 0;
  const i = countAtMost(schedule.saveSteps, k) - 1;
  return i >= 0 && schedule.saveSteps[i] === k;
}

/** The last save at or before step k. */
export function saveAtOrBefore(time: ResolvedTime, k: number): number {
  const schedule = time.clock?.schedule;
  if (!schedule) return Math.floor(k / time.saveEvery);
  return Math.max(0, countAtMost(schedule.saveSteps, k) - 1);
}

/** The last step at or before time t: −1 before the start, the number of step times after the last. */
export function stepAtOrBefore(time: ResolvedTime, t: number): number {
  const schedule = time.clock?.schedule;
  if (!schedule) return Math.floor((t - time.start) / time.dt + 1e-9);
  const { times } = schedule;
  // A billionth of the first step of slack, as the fixed clock's floor has.
  const k = countAtMost(times, t + 1e-9 * time.dt) - 1;
  return k === times.length - 1 && t > times[k]! + 1e-9 * time.dt ? times.length : k;
}

/** A model file after loading, overlaying a scenario, normalising shorthands and validating its shape. */
export interface LoadedModel {
  source: ModelSource;
  spec: ModelSpec;
  scenario?: string;
  scenarios: string[];
  time: ResolvedTime;
}

/** The largest number of steps a run may take; beyond it a typo in dt is far likelier than intent. */
export const MAX_STEPS = 20_000_000;

const SECTIONS = ["params", "stocks", "flows", "vars", "tables", "events", "outcomes", "decisions"] as const;
const SINGULAR: Record<string, string> = dictionary({ ...ENTRY_KIND, scenarios: "scenario" });

export interface LoadOptions {
  scenario?: string;
  /** Values for decision variables, overriding the file's (each must lie within its bounds). */
  decisions?: Record<string, number>;
}

/**
 * The last text parsed, kept so that loading the same file again (each scenario of `brink check`, the scenarios
 * a claim compares) costs a copy rather than a parse: a file with many scenarios is then linear, not quadratic.
 */
let lastParse: { file: string; text: string; source: ModelSource; value: unknown } | undefined;

function parseOnce(file: string, text: string): { source: ModelSource; value: unknown } {
  if (lastParse?.file !== file || lastParse.text !== text) {
    lastParse = undefined;
    const { source, value } = ModelSource.parse(file, text);
    lastParse = { file, text, source, value };
  }
  // Loading rewrites both the values (shorthands, overlays) and their positions: hand out copies.
  return { source: lastParse.source.clone(), value: copyPlain(lastParse.value) };
}

/** A deep copy of parsed YAML values; mappings stay dictionaries (no prototype). */
function copyPlain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyPlain);
  if (typeof v !== "object" || v === null) return v;
  const out: Record<string, unknown> = Object.create(null);
  for (const [k, x] of Object.entries(v)) out[k] = copyPlain(x);
  return out;
}

/** Scenarios a file may declare: each is loaded and checked on its own, and nothing real needs more. */
export const MAX_SCENARIOS = 200;

export function loadModel(file: string, text: string, options: LoadOptions = {}): LoadedModel {
  const { source, value } = parseOnce(file, text);
  const raw = value as Record<string, unknown>;
  const badNames = checkDeclaredNames(raw, source);
  if (badNames.length) throw new DiagnosticError(badNames);
  if (isRecord(raw.scenarios) && Object.keys(raw.scenarios).length > MAX_SCENARIOS) {
    const extra = Object.keys(raw.scenarios)[MAX_SCENARIOS]!;
    throw new DiagnosticError([
      source.atKey(
        ["scenarios", extra],
        `more than ${MAX_SCENARIOS} scenarios; that is the limit — split the file, or make the difference a decision`,
      ),
    ]);
  }
  const scenarios = isRecord(raw.scenarios) ? Object.keys(raw.scenarios) : [];
  const diagnostics: Diagnostic[] = [];

  normalise(raw, [], source);
  if (options.scenario !== undefined) {
    const overlay = isRecord(raw.scenarios) ? raw.scenarios[options.scenario] : undefined;
    if (!isRecord(overlay)) {
      const known = scenarios.length
        ? ` (this model has: ${scenarios.join(", ")})`
        : " (this model has none)";
      throw new DiagnosticError([
        source.atKey(
          ["scenarios"],
          `unknown scenario '${options.scenario}'${didYouMean(options.scenario, scenarios)}${known}`,
        ),
      ]);
    }
    const scenarioPath = ["scenarios", options.scenario];
    normalise(overlay, scenarioPath, source);
    const checked = ScenarioObject.safeParse(overlay, { reportInput: true });
    if (!checked.success) {
      throw new DiagnosticError(issuesToDiagnostics(checked.error.issues, scenarioPath, source, "scenario"));
    }
    applyOverlay(raw, overlay, scenarioPath, source);
  }

  const parsed = ModelObject.safeParse(raw, { reportInput: true });
  if (!parsed.success)
    throw new DiagnosticError(issuesToDiagnostics(parsed.error.issues, [], source, "model"));
  const spec = parsed.data;
  nameTablesAsDictionaries(spec);

  for (const section of ["events", "outcomes"] as const) {
    for (const [name, entry] of Object.entries(spec[section] ?? {})) {
      const n = Number(entry.when !== undefined) + Number(entry.rate !== undefined);
      if (n !== 1) {
        diagnostics.push(
          source.atKey(
            [section, name],
            `${SINGULAR[section]} '${name}' needs exactly one of 'when' (a condition) or 'rate' (a hazard per time unit)`,
          ),
        );
      }
    }
  }
  for (const [name, p] of Object.entries(spec.params ?? {})) {
    if ((p.value === undefined) === (p.dist === undefined)) {
      diagnostics.push(
        source.atKey(
          ["params", name],
          `param '${name}' needs exactly one of 'value' (a number) or 'dist' (a distribution)`,
        ),
      );
    }
  }
  for (const [name, d] of Object.entries(spec.decisions ?? {})) {
    if (!(d.min <= d.max))
      diagnostics.push(
        source.at(["decisions", name, "max"], `decision '${name}': max (${d.max}) is below min (${d.min})`),
      );
    else if (d.value < d.min || d.value > d.max) {
      diagnostics.push(
        source.at(
          ["decisions", name, "value"],
          `decision '${name}' = ${d.value} is outside its bounds [${d.min}, ${d.max}]`,
        ),
      );
    }
  }
  for (const [name, value] of Object.entries(options.decisions ?? {})) {
    const d = spec.decisions?.[name];
    if (!d) {
      const known = Object.keys(spec.decisions ?? {});
      diagnostics.push(
        source.atKey(
          ["decisions"],
          `no decision '${name}' to set${didYouMean(name, known)}${known.length ? ` (this model has: ${known.join(", ")})` : " (this model declares none)"}`,
        ),
      );
    } else if (!(value >= d.min && value <= d.max)) {
      diagnostics.push(
        source.atKey(
          ["decisions", name],
          `decision '${name}' cannot be set to ${value}: its bounds are [${d.min}, ${d.max}]`,
        ),
      );
    } else d.value = d.integer ? Math.round(value) : value;
  }
  const time = resolveTime(spec, source, diagnostics);
  if (diagnostics.length) throw new DiagnosticError(diagnostics);
  return {
    source,
    spec,
    scenarios,
    time: time!,
    ...(options.scenario !== undefined ? { scenario: options.scenario } : {}),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Turn shorthand entries (`x: 3`, `y: a + b`) into their object form, keeping their positions. */
function normalise(obj: Record<string, unknown>, at: Path, source: ModelSource): void {
  for (const [section, field] of Object.entries(SHORTHAND_FIELD)) {
    const entries = obj[section];
    if (!isRecord(entries)) continue;
    for (const [name, entry] of Object.entries(entries)) {
      const bare =
        section === "tables" ? Array.isArray(entry) : typeof entry === "string" || typeof entry === "number";
      if (!bare) continue;
      // A bare string param is a distribution ("8 to 20"); a bare number a fixed value.
      const key = section === "params" && typeof entry === "string" ? "dist" : field;
      entries[name] = { [key]: entry };
      source.copyPlaces([...at, section, name], [...at, section, name, key]);
    }
  }
}

/**
 * Apply a scenario to the base model. Entries merge field by field (a bare param value replaces the base's
 * value or dist but keeps its unit, doc and source); `null` removes an entry; `time` merges; `track` replaces.
 */
function applyOverlay(
  base: Record<string, unknown>,
  overlay: Record<string, unknown>,
  at: Path,
  source: ModelSource,
): void {
  for (const [key, value] of Object.entries(overlay)) {
    if (key === "doc" || key === "source") continue;
    if ((SECTIONS as readonly string[]).includes(key) && isRecord(value)) {
      const target = isRecord(base[key]) ? (base[key] as Record<string, unknown>) : dictionary();
      base[key] = target;
      for (const [name, entry] of Object.entries(value)) {
        if (entry === null) {
          delete target[name];
          continue;
        }
        const old = target[name];
        if (isRecord(old) && isRecord(entry)) {
          const merged = { ...old, ...entry };
          if (key === "params" && "dist" in entry && !("value" in entry)) delete merged.value;
          if (key === "params" && "value" in entry && !("dist" in entry)) delete merged.dist;
          target[name] = merged;
          for (const field of Object.keys(entry))
            source.copyPlaces([...at, key, name, field], [key, name, field]);
        } else {
          target[name] = entry;
          source.copyPlaces([...at, key, name], [key, name]);
        }
      }
    } else if (key === "time" && isRecord(value) && isRecord(base.time)) {
      base.time = { ...base.time, ...value };
      for (const field of Object.keys(value)) source.copyPlaces([...at, key, field], [key, field]);
    } else {
      base[key] = value;
      source.copyPlaces([...at, key], [key]);
    }
  }
}

function resolveTime(spec: ModelSpec, source: ModelSource, out: Diagnostic[]): ResolvedTime | undefined {
  const t = spec.time;
  const fail = (field: string, message: string) => {
    out.push(source.at(["time", field], message));
    return undefined;
  };
  if (typeof t.dt === "number" && !(t.dt > 0)) return fail("dt", `time.dt must be positive, found ${t.dt}`);
  let unit = t.unit !== undefined ? (canonicalUnit(t.unit) ?? t.unit) : undefined;
  if (typeof t.dt === "string") {
    const d = parseDuration(t.dt);
    if (!d) return fail("dt", `time.dt '${t.dt}' is not a number or a duration such as '1 week'`);
    unit ??= d.unit;
  }
  const unitDays = unit !== undefined ? UNIT_DAYS[unit] : undefined;
  const inUnits = (field: string, text: string): number | undefined => {
    const d = parseDuration(text);
    if (!d) return undefined;
    if (unitDays === undefined) {
      fail(
        field,
        `time.${field} '${text}' is a duration, so time.unit must be a calendar unit (day, week, month, year, …)`,
      );
      return Number.NaN;
    }
    return (d.amount * UNIT_DAYS[d.unit]!) / unitDays;
  };

  let origin: string | undefined;
  let start: number;
  if (typeof t.start === "number") start = t.start;
  else if (isIsoDate(t.start)) {
    if (unitDays === undefined)
      return fail(
        "start",
        "a dated start needs a calendar time unit: set time.unit or write dt as a duration such as '1 week'",
      );
    origin = t.start;
    start = 0;
  } else return fail("start", `time.start '${t.start}' is not a number or an ISO date (YYYY-MM-DD)`);

  let dt: number;
  if (typeof t.dt === "number") dt = t.dt;
  else dt = inUnits("dt", t.dt)!;
  if (Number.isNaN(dt)) return undefined;
  if (!(dt > 0)) return fail("dt", `time.dt must be positive, found ${dt}`);

  let stop: number;
  if (typeof t.stop === "number") stop = t.stop;
  else if (isIsoDate(t.stop)) {
    if (origin === undefined || unitDays === undefined)
      return fail("stop", "time.stop is a date, so time.start must be a date too");
    stop = (dateToDays(t.stop) - dateToDays(origin)) / unitDays;
  } else {
    const d = inUnits("stop", t.stop);
    if (d === undefined)
      return fail(
        "stop",
        `time.stop '${t.stop}' is not a number, an ISO date or a duration such as '5 years'`,
      );
    if (Number.isNaN(d)) return undefined;
    stop = start + d;
  }
  if (!(stop > start)) return fail("stop", `time.stop (${t.stop}) must come after time.start (${t.start})`);
  const steps = Math.floor((stop - start) / dt + 1e-9);
  if (steps > MAX_STEPS)
    return fail(
      "dt",
      `time.dt gives ${steps.toLocaleString("en")} steps per run; the limit is ${MAX_STEPS.toLocaleString("en")}`,
    );

  let saveEvery = 1;
  if (t.save !== undefined) {
    const save = typeof t.save === "number" ? t.save : inUnits("save", t.save);
    if (save === undefined) return fail("save", `time.save '${t.save}' is not a number or a duration`);
    if (Number.isNaN(save)) return undefined;
    if (!(save > 0)) return fail("save", "time.save must be positive");
    saveEvery = Math.max(1, Math.round(save / dt));
  }
  return {
    start,
    stop: start + steps * dt,
    dt,
    steps,
    saveEvery,
    ...(unit !== undefined ? { unit } : {}),
    ...(origin !== undefined ? { origin } : {}),
    ...(t.clock !== undefined ? { clock: { ...t.clock } } : {}),
  };
}

// ---- zod issues → diagnostics -------------------------------------------------------------------------

function where(path: Path): string {
  const [section, name, field, ...rest] = path;
  if (section === undefined) return "the model";
  if (section === "time") return name === undefined ? "'time'" : `time.${String(name)}`;
  if (section === "groups")
    return name === undefined
      ? "'groups'"
      : field === undefined
        ? `group '${String(name)}'`
        : `'${String(field)}' of group '${String(name)}'`;
  if (section === "claims") {
    return name === undefined
      ? "'claims'"
      : field === undefined
        ? `claim #${Number(name) + 1}`
        : `'${String(field)}' of claim #${Number(name) + 1}`;
  }
  const kind = SINGULAR[String(section)];
  if (name === undefined || kind === undefined) return `'${String(section)}'`;
  if (field === undefined) return `${kind} '${String(name)}'`;
  const tail = rest.length ? `.${rest.join(".")}` : "";
  return `'${String(field)}${tail}' of ${kind} '${String(name)}'`;
}

function kindOf(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "an empty value";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `the text '${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  return `${typeof v === "number" ? "the number" : "the value"} ${String(v)}`;
}

const EXPECTED: Record<string, string> = dictionary({
  string: "text",
  number: "a number",
  object: "a mapping",
  array: "a list",
  boolean: "true or false",
});

/** Keys allowed at a path, for "did you mean". */
function allowedKeys(path: Path, root: "model" | "scenario"): string[] {
  const top = root === "model" ? ModelObject : ScenarioObject;
  if (path.length === 0) return Object.keys(top.shape);
  const [section] = path;
  const entryKeys: Record<string, string[]> = dictionary({
    params: ["value", "dist", "unit", "doc", "source", "group"],
    stocks: ["init", "inflows", "outflows", "min", "max", "unit", "doc", "source", "group"],
    flows: ["eq", "unit", "doc", "source", "group"],
    vars: ["eq", "unit", "doc", "source", "group"],
    tables: ["points", "type", "unit", "doc", "source", "group"],
    events: ["when", "rate", "then", "unit", "doc", "source", "group"],
    outcomes: ["when", "rate", "unit", "doc", "source", "group"],
    time: ["start", "stop", "dt", "unit", "save"],
    claims: ["id", "text", "check", "source"],
    groups: ["doc", "source", "switch"],
    decisions: ["value", "min", "max", "integer", "unit", "doc", "source", "group"],
    observations: Object.keys(ObservationObject.shape),
  });
  return entryKeys[String(section)] ?? [];
}

function issuesToDiagnostics(
  issues: z.core.$ZodIssue[],
  prefix: Path,
  source: ModelSource,
  root: "model" | "scenario",
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    const rel = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p)) as (string | number)[];
    const path = [...prefix, ...rel];
    const push = (d: Diagnostic) => {
      const key = `${d.line}:${d.col}:${d.message}`;
      if (!seen.has(key)) out.push(d);
      seen.add(key);
    };
    const input = (issue as { input?: unknown }).input;
    switch (issue.code) {
      case "unrecognized_keys":
        for (const key of issue.keys) {
          // A comma inside `{ eq: f(a, b) }` splits the flow mapping; the "key" is then a piece of expression.
          const hint = /^[\p{L}_][\p{L}\p{N}_]*$/u.test(key)
            ? didYouMean(key, allowedKeys(rel, root))
            : " — it looks like part of an expression cut at a comma: inside { … } put expressions with commas in quotes";
          const container =
            rel.length === 0
              ? root === "model"
                ? "the model file"
                : `scenario '${String(prefix[1])}'`
              : where(path);
          push(source.atKey([...path, key], `unknown key '${key}' in ${container}${hint}`));
        }
        break;
      case "invalid_type": {
        const expected = EXPECTED[issue.expected] ?? issue.expected;
        if (input === undefined) {
          const missing = rel[rel.length - 1];
          const parent = path.slice(0, -1);
          const hint = missing === "time" ? " — add time: { start: 0, stop: 100, dt: 1 }" : "";
          push(
            source.at(
              parent,
              `${parent.length ? where(parent) : "the model"} is missing '${String(missing)}'${hint}`,
            ),
          );
        } else push(source.at(path, `${where(path)} must be ${expected}, not ${kindOf(input)}`));
        break;
      }
      case "invalid_union": {
        const expected = new Set<string>();
        for (const branch of issue.errors)
          for (const i of branch)
            if (i.code === "invalid_type") expected.add(EXPECTED[i.expected] ?? i.expected);
        const what = expected.size ? [...expected].join(" or ") : "a valid value";
        push(source.at(path, `${where(path)} must be ${what}, not ${kindOf(input)}`));
        break;
      }
      case "invalid_value":
        push(
          source.at(
            path,
            `${where(path)} must be ${issue.values.map((v) => `'${String(v)}'`).join(" or ")}, not ${kindOf(input)}`,
          ),
        );
        break;
      case "too_big":
        push(
          source.at(path, `${where(path)} has more than ${String(issue.maximum)} entries; that is the limit`),
        );
        break;
      case "too_small":
        push(source.at(path, `${where(path)} needs at least ${String(issue.minimum)} entries`));
        break;
      default:
        push(source.at(path, `${where(path)}: ${issue.message}`));
    }
  }
  return out;
}
