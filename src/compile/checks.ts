import type { Expr } from "../lang/ast.js";
import { TIME_NAMES } from "../lang/builtins.js";
import { type Diagnostic, didYouMean } from "../lang/diagnostic.js";
import type { LoadedModel } from "../model/load.js";
import type { Path } from "../model/source.js";
import { NAMED_SECTIONS, SECTION_KIND } from "./sections.js";
import {
  type Dimensions,
  describeUnit,
  divide,
  formatUnit,
  inferUnits,
  parseUnit,
  sameDimensions,
} from "./units.js";

/**
 * The whole-model checks of compilation that are not name resolution: groups, units (flows against stocks, the
 * parts of expressions, equations against their entries) and the war room's references.
 */
export interface CheckContext {
  model: LoadedModel;
  /** A problem at a path of the model file. */
  error(path: Path, message: string): void;
  /** A diagnostic already placed. */
  report(d: Diagnostic): void;
}

/** Every entry's `group` names a declared group, and every group's switch names a param. */
export function checkGroups(ctx: CheckContext): void {
  const spec = ctx.model.spec;
  const groups = Object.keys(spec.groups ?? {});
  for (const [name, g] of Object.entries(spec.groups ?? {})) {
    if (g.switch !== undefined && spec.params?.[g.switch] === undefined) {
      ctx.error(
        ["groups", name, "switch"],
        `the switch of group '${name}' must be a param; '${g.switch}' is not${didYouMean(g.switch, Object.keys(spec.params ?? {}))}`,
      );
    }
  }
  for (const section of NAMED_SECTIONS) {
    for (const [name, entry] of Object.entries(spec[section] ?? {})) {
      const group = (entry as { group?: string }).group;
      if (group !== undefined && !groups.includes(group)) {
        const declared = groups.length ? didYouMean(group, groups) : " — declare it under 'groups'";
        ctx.error(
          [section, name, "group"],
          `${SECTION_KIND[section]} '${name}' joins group '${group}', which is not declared${declared}`,
        );
      }
    }
  }
}

/**
 * Units where both sides state them plainly: a stock's flows must be in the stock's unit per time unit. Prose
 * units are documentation and are not checked.
 */
export function checkUnits(ctx: CheckContext): void {
  const spec = ctx.model.spec;
  const timeUnit = ctx.model.time.unit ?? "time";
  const perTime = parseUnit(timeUnit) ?? new Map([["time", 1]]);
  const reported = new Set<string>();
  for (const [stock, s] of Object.entries(spec.stocks ?? {})) {
    const stockUnit = s.unit === undefined ? undefined : parseUnit(s.unit);
    if (!stockUnit) continue;
    const needed = divide(stockUnit, perTime);
    for (const flow of [...(s.inflows ?? []), ...(s.outflows ?? [])]) {
      const declared = spec.flows?.[flow]?.unit;
      const flowUnit = declared === undefined ? undefined : parseUnit(declared);
      if (!flowUnit || sameDimensions(flowUnit, needed) || reported.has(flow)) continue;
      reported.add(flow);
      const fix =
        ctx.model.time.unit === undefined
          ? `; or declare the model's time unit in 'time'`
          : ` (the model's time unit is ${timeUnit})`;
      ctx.error(
        ["flows", flow, "unit"],
        `unit clash: flow '${flow}' is in ${declared}, but it feeds stock '${stock}', which is in ${s.unit} — its flows must be in ${formatUnit(needed)}${fix}`,
      );
    }
  }
}

/** Where an expression's parts must agree in unit, they do; and an equation gives its entry's declared unit. */
export function checkExpressionUnits(
  model: LoadedModel,
  path: Path,
  ast: Expr,
  at: (pos: number, message: string) => void,
): void {
  const timeUnit = model.time.unit === undefined ? undefined : parseUnit(model.time.unit);
  const declared = (name: string): string | undefined => {
    const spec = model.spec;
    for (const section of ["params", "stocks", "flows", "vars", "decisions"] as const) {
      const entry = (spec[section] as Record<string, { unit?: string }> | undefined)?.[name];
      if (entry) return entry.unit;
    }
    return undefined;
  };
  const unitOf = (name: string): Dimensions | undefined => {
    if (TIME_NAMES.has(name)) return timeUnit;
    const unit = declared(name);
    return unit === undefined ? undefined : parseUnit(unit);
  };
  const inferred = inferUnits(ast, { unitOf, time: timeUnit, report: at });
  // An equation (a flow's or var's `eq`, a stock's `init`) gives the unit its entry states.
  const [section, name, field] = path;
  const isEquation =
    ((section === "flows" || section === "vars") && (field === "eq" || field === undefined)) ||
    (section === "stocks" && field === "init");
  if (!isEquation || typeof name !== "string" || !inferred) return;
  const own = declared(name);
  const stated = own === undefined ? undefined : parseUnit(own);
  if (stated && !sameDimensions(stated, inferred))
    at(
      0,
      `unit clash: '${name}' is in ${own}, but its ${field === "init" ? "initial value" : "equation"} gives ${describeUnit(inferred)} — fix the ${field === "init" ? "initial value" : "equation"} or the unit`,
    );
}

/**
 * The war room's levers, params, outcomes, decisions and watched values name what they should. The game plays
 * the base model, so scenarios (which may remove what it names) are not held to it.
 */
export function checkWarRoom(ctx: CheckContext, tracked: string[]): void {
  const spec = ctx.model.spec;
  const room = spec.warroom;
  if (!room || ctx.model.scenario !== undefined) return;
  const need = (path: Path, name: string, what: string, names: string[], atKey = false) => {
    if (names.includes(name)) return;
    const message = `the war room needs ${what}; '${name}' is not one${didYouMean(name, names)}`;
    ctx.report(atKey ? ctx.model.source.atKey(path, message) : ctx.model.source.at(path, message));
  };
  room.watch.forEach((name, i) => need(["warroom", "watch", i], name, "a tracked variable", tracked));
  for (const [role, r] of Object.entries(room.roles)) {
    const at = ["warroom", "roles", role];
    need([...at, "risk"], r.risk, "an outcome", Object.keys(spec.outcomes ?? {}));
    for (const name of Object.keys(r.set ?? {}))
      need([...at, "set", name], name, "a param", Object.keys(spec.params ?? {}), true);
    for (const [id, lever] of Object.entries(r.levers)) {
      const path = [...at, "levers", id];
      if ((lever.adds_to === undefined) === (lever.scales === undefined))
        ctx.error(path, `lever '${id}' needs exactly one of 'adds_to' (a stock) or 'scales' (a var)`);
      if (lever.adds_to !== undefined)
        need([...path, "adds_to"], lever.adds_to, "a stock", Object.keys(spec.stocks ?? {}));
      if (lever.scales !== undefined)
        need([...path, "scales"], lever.scales, "a var", Object.keys(spec.vars ?? {}));
      if (!(lever.min <= lever.value && lever.value <= lever.max))
        ctx.error(
          [...path, "value"],
          `lever '${id}' starts at ${lever.value}, outside [${lever.min}, ${lever.max}]`,
        );
    }
    if (r.optimise) {
      r.optimise.decisions.forEach((name, i) =>
        need([...at, "optimise", "decisions", i], name, "a decision", Object.keys(spec.decisions ?? {})),
      );
      need([...at, "optimise", "objective"], r.optimise.objective, "a tracked variable", tracked);
    }
  }
}
