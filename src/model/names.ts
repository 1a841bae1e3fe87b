import type { Diagnostic } from "../lang/diagnostic.js";
import { describeChar, MAX_NAME_LENGTH, nameProblem } from "../lang/lexer.js";
import type { ModelSource, Path } from "./source.js";

/**
 * Name tables are dictionaries keyed by what a model file says, so they must not inherit from Object.prototype:
 * with a plain `{}`, `toString` would be found in every table and `__proto__` would replace the prototype.
 */
export function dictionary<T>(entries: Record<string, T> = {}): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, entries);
}

/** The same record as a dictionary, or undefined when absent. */
function asDictionary<T>(entries: Record<string, T> | undefined): Record<string, T> | undefined {
  return entries === undefined ? undefined : dictionary(entries);
}

/**
 * Sections whose keys name model entries, and each entry's kind as messages say it: the one table of them (the
 * compiler's namespace and the loader's messages read it too).
 */
export const ENTRY_KIND: Record<string, string> = dictionary({
  params: "param",
  stocks: "stock",
  flows: "flow",
  vars: "var",
  tables: "table",
  events: "event",
  outcomes: "outcome",
  decisions: "decision",
  observations: "observation",
});

/** Why a claim id is not one: ids may also use '.' and '-' (`regime-before-ukraine`), nothing else. */
export function claimIdProblem(id: string): string | undefined {
  if (id.length === 0) return "an id cannot be empty";
  if (id.length > MAX_NAME_LENGTH)
    return `it is ${id.length} characters long; ids have at most ${MAX_NAME_LENGTH}`;
  const bad = /[^A-Za-z0-9_.-]/u.exec(id);
  if (bad)
    return `it contains ${describeChar(bad[0])}; claim ids use ASCII letters, digits, '_', '.' and '-'`;
  return undefined;
}

/** A name as a diagnostic quotes it: at most 40 characters (formatDiagnostic escapes what is unprintable). */
export function quoteName(name: string): string {
  const chars = [...name];
  return `'${chars.length > 40 ? `${chars.slice(0, 40).join("")}…` : name}'`;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Every name a model file declares — entries of each section, groups, scenarios, event targets, war-room roles,
 * levers and settings, claim ids — in the base model and in every scenario, checked against the name rule before
 * anything else reads them. Each bad name gets a diagnostic at its key that names the rule and the character.
 */
export function checkDeclaredNames(raw: Record<string, unknown>, source: ModelSource): Diagnostic[] {
  const out: Diagnostic[] = [];
  const check = (path: Path, what: string) => {
    const name = String(path[path.length - 1]);
    const problem = nameProblem(name);
    if (problem) out.push(source.atKey(path, `${what} ${quoteName(name)} is not a valid name: ${problem}`));
  };
  const keysOf = (v: unknown): string[] => (isRecord(v) ? Object.keys(v) : []);

  const sections = (obj: Record<string, unknown>, at: Path) => {
    for (const [section, kind] of Object.entries(ENTRY_KIND)) {
      const entries = obj[section];
      if (!isRecord(entries)) continue;
      for (const [name, entry] of Object.entries(entries)) {
        check([...at, section, name], kind);
        if (section === "events" && isRecord(entry))
          for (const target of keysOf(entry.then))
            check([...at, section, name, "then", target], `the target of event ${quoteName(name)},`);
      }
    }
    if (Array.isArray(obj.claims)) {
      obj.claims.forEach((claim, i) => {
        if (!isRecord(claim) || typeof claim.id !== "string") return;
        const problem = claimIdProblem(claim.id);
        if (problem)
          out.push(
            source.at([...at, "claims", i, "id"], `claim id ${quoteName(claim.id)} is not valid: ${problem}`),
          );
      });
    }
  };

  sections(raw, []);
  for (const group of keysOf(raw.groups)) check(["groups", group], "group");
  for (const scenario of keysOf(raw.scenarios)) {
    check(["scenarios", scenario], "scenario");
    const overlay = (raw.scenarios as Record<string, unknown>)[scenario];
    if (isRecord(overlay)) sections(overlay, ["scenarios", scenario]);
  }
  const room = raw.warroom;
  if (isRecord(room)) {
    for (const role of keysOf(room.roles)) {
      check(["warroom", "roles", role], "war-room role");
      const r = (room.roles as Record<string, unknown>)[role];
      if (!isRecord(r)) continue;
      for (const lever of keysOf(r.levers)) check(["warroom", "roles", role, "levers", lever], "lever");
      for (const param of keysOf(r.set)) check(["warroom", "roles", role, "set", param], "param");
    }
  }
  return out;
}

type Spec = {
  params?: Record<string, unknown>;
  stocks?: Record<string, unknown>;
  flows?: Record<string, unknown>;
  vars?: Record<string, unknown>;
  tables?: Record<string, unknown>;
  events?: Record<string, { then?: Record<string, unknown> }>;
  outcomes?: Record<string, unknown>;
  decisions?: Record<string, unknown>;
  groups?: Record<string, unknown>;
  observations?: Record<string, unknown>;
  scenarios?: Record<string, unknown>;
  warroom?: { roles: Record<string, { levers: Record<string, unknown>; set?: Record<string, unknown> }> };
};

/** Turn every name table of a validated model into a dictionary, in place. */
export function nameTablesAsDictionaries(spec: Spec): void {
  for (const section of [
    "params",
    "stocks",
    "flows",
    "vars",
    "tables",
    "outcomes",
    "decisions",
    "groups",
    "observations",
    "scenarios",
  ] as const) {
    if (spec[section] !== undefined) spec[section] = asDictionary(spec[section]);
  }
  if (spec.events !== undefined) {
    spec.events = dictionary(spec.events);
    for (const ev of Object.values(spec.events)) if (ev.then !== undefined) ev.then = dictionary(ev.then);
  }
  if (spec.warroom !== undefined) {
    spec.warroom.roles = dictionary(spec.warroom.roles);
    for (const role of Object.values(spec.warroom.roles)) {
      role.levers = dictionary(role.levers);
      if (role.set !== undefined) role.set = dictionary(role.set);
    }
  }
}
