import type { Expr } from "../lang/ast.js";
import { TIME_NAMES } from "../lang/builtins.js";
import { type Diagnostic, DiagnosticError, didYouMean } from "../lang/diagnostic.js";
import { ExprSyntaxError, KEYWORDS } from "../lang/lexer.js";
import { parseExpr } from "../lang/parser.js";
import { parseDistribution } from "../model/distribution.js";
import type { LoadedModel } from "../model/load.js";
import type { ModelSource, Path } from "../model/source.js";
import { dateToDays, UNIT_DAYS } from "../model/time.js";
import { BUILTINS, domainError, type StatefulBuiltin } from "./builtins.js";
import type { Table } from "./functions.js";
import type {
  Assignment,
  BinFn,
  EventPlan,
  Node,
  OutcomePlan,
  ParamPlan,
  Program,
  SlotInfo,
  SlotKind,
  StockPlan,
} from "./ir.js";
import { constantValue, type LowerContext } from "./lower.js";
import { orderAssignments } from "./order.js";
import {
  type Dimensions,
  describeUnit,
  divide,
  formatUnit,
  inferUnits,
  parseUnit,
  sameDimensions,
} from "./units.js";

const NAME = /^[\p{L}_][\p{L}\p{N}_]*$/u;
/** Sections whose entries are named, in declaration order; all share one namespace. */
const NAMED_SECTIONS = [
  "params",
  "decisions",
  "stocks",
  "flows",
  "vars",
  "tables",
  "events",
  "outcomes",
] as const;
const SECTION_KIND: Record<string, string> = {
  params: "param",
  stocks: "stock",
  flows: "flow",
  vars: "var",
  tables: "table",
  events: "event",
  outcomes: "outcome",
  decisions: "decision",
};

/** Compile a loaded model to a Program, or throw DiagnosticError with every problem found. */
export function compileModel(model: LoadedModel): Program {
  return new Builder(model).build();
}

interface Definition {
  section: string;
  name: string;
}

class Builder {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly source: ModelSource;
  private readonly slots: SlotInfo[] = [];
  private readonly slotOf = new Map<string, number>();
  private readonly definitions = new Map<string, Definition>();
  private readonly tableIndex = new Map<string, number>();
  private readonly tables: Table[] = [];
  private readonly randomSites: string[] = [];
  private readonly aux: Assignment[] = [];
  private readonly hiddenStocks: (StockPlan & { init: Node })[] = [];
  private readonly previous: Program["previous"] = [];
  private hiddenCount = 0;
  /** Lowering finished once every equation is resolved (a pipeline delay's length). */
  readonly deferred: (() => void)[] = [];

  constructor(private readonly model: LoadedModel) {
    this.source = model.source;
  }

  private error(path: Path, message: string): void {
    this.diagnostics.push(this.source.at(path, message));
  }

  private newSlot(name: string, kind: SlotKind, path: Path): number {
    this.slots.push({ name, kind, path: [...path] });
    return this.slots.length - 1;
  }

  build(): Program {
    const spec = this.model.spec;
    this.declareNames();

    const params: ParamPlan[] = [];
    for (const [name, p] of Object.entries(spec.params ?? {})) {
      const slot = this.slotOf.get(name)!;
      const field = p.dist !== undefined ? "dist" : "value";
      const text = p.dist ?? p.value ?? 0;
      try {
        const dist = parseDistribution(text);
        params.push({ slot, name, dist });
      } catch (e) {
        if (!(e instanceof ExprSyntaxError)) throw e;
        const where =
          typeof text === "string"
            ? this.source.expressionLocator(["params", name, field], text)(e.pos)
            : this.source.lineCol(this.source.valueOffset(["params", name, field]));
        this.diagnostics.push({
          file: this.source.file,
          ...where,
          message: `bad distribution for param '${name}': ${e.message}`,
        });
      }
    }

    // Decisions are params fixed for a job: the file's value, or the one a run or the optimiser sets.
    for (const [name, d] of Object.entries(spec.decisions ?? {})) {
      params.push({ slot: this.slotOf.get(name)!, name, dist: { kind: "fixed", value: d.value } });
    }

    for (const [name, t] of Object.entries(spec.tables ?? {})) {
      const pts = t.points;
      for (let i = 1; i < pts.length; i++) {
        if (pts[i]![0] < pts[i - 1]![0]) {
          this.error(
            ["tables", name, "points", i],
            `table '${name}': x values must increase (${pts[i]![0]} comes after ${pts[i - 1]![0]})`,
          );
          break;
        }
      }
      this.tables[this.tableIndex.get(name)!] = {
        xs: Float64Array.from(pts.map((p) => p[0])),
        ys: Float64Array.from(pts.map((p) => p[1])),
        type: t.type ?? "continuous",
      };
    }

    for (const section of ["flows", "vars"] as const) {
      for (const [name, f] of Object.entries(spec[section] ?? {})) {
        const slot = this.slotOf.get(name)!;
        const expr = this.expression([section, name, "eq"], f.eq, name);
        if (expr) this.aux.push({ slot, expr });
      }
    }

    const stockInits: Assignment[] = [];
    const stocks: StockPlan[] = [];
    for (const [name, s] of Object.entries(spec.stocks ?? {})) {
      const slot = this.slotOf.get(name)!;
      const init = this.expression(["stocks", name, "init"], s.init, name, { initial: true });
      if (init) stockInits.push({ slot, expr: init });
      let rate: Node = { op: "const", value: 0 };
      for (const [list, sign] of [
        ["inflows", 1],
        ["outflows", -1],
      ] as const) {
        (s[list] ?? []).forEach((flow, i) => {
          const def = this.definitions.get(flow);
          if (!def || def.section !== "flows") {
            const what = def
              ? ` is a ${SECTION_KIND[def.section]}, and ${list} must name flows`
              : ` is not a flow${didYouMean(flow, Object.keys(spec.flows ?? {}))}`;
            this.error(["stocks", name, list, i], `'${flow}' in ${list} of stock '${name}'${what}`);
            return;
          }
          const term: Node = { op: "slot", slot: this.slotOf.get(flow)! };
          rate =
            rate.op === "const" && rate.value === 0
              ? sign > 0
                ? term
                : { op: "neg", a: term }
              : { op: "bin", fn: sign > 0 ? "+" : "-", a: rate, b: term };
        });
      }
      if (s.min !== undefined && s.max !== undefined && s.min > s.max) {
        this.error(["stocks", name, "max"], `stock '${name}': max (${s.max}) is below min (${s.min})`);
      }
      stocks.push({
        slot,
        rate,
        ...(s.min !== undefined ? { min: s.min } : {}),
        ...(s.max !== undefined ? { max: s.max } : {}),
      });
    }

    const events: EventPlan[] = [];
    for (const [name, ev] of Object.entries(spec.events ?? {})) {
      const trigger = ev.when !== undefined ? "when" : "rate";
      const expr = this.expression(["events", name, trigger], (ev.when ?? ev.rate)!, `event ${name}`);
      const assigns: Assignment[] = [];
      for (const [target, value] of Object.entries(ev.then ?? {})) {
        const def = this.definitions.get(target);
        if (!def || (def.section !== "stocks" && def.section !== "params" && def.section !== "decisions")) {
          const what = def
            ? ` is a ${SECTION_KIND[def.section]}; events can set only stocks and params`
            : ` is not a stock or param${didYouMean(target, [...Object.keys(spec.stocks ?? {}), ...Object.keys(spec.params ?? {})])}`;
          this.diagnostics.push(this.source.atKey(["events", name, "then", target], `'${target}'${what}`));
          continue;
        }
        const e = this.expression(["events", name, "then", target], value, `event ${name}`);
        if (e) assigns.push({ slot: this.slotOf.get(target)!, expr: e });
      }
      const site = trigger === "rate" ? this.site(`event:${name}`) : -1;
      if (expr) events.push({ name, trigger, expr, site, assigns });
    }

    const outcomes: OutcomePlan[] = [];
    for (const [name, o] of Object.entries(spec.outcomes ?? {})) {
      const trigger = o.when !== undefined ? "when" : "rate";
      const expr = this.expression(["outcomes", name, trigger], (o.when ?? o.rate)!, `outcome ${name}`);
      const site = trigger === "rate" ? this.site(`outcome:${name}`) : -1;
      if (expr) outcomes.push({ name, trigger, expr, site });
    }

    const tracked: Program["tracked"] = [];
    const trackNames = spec.track ?? Object.keys(spec.stocks ?? {});
    trackNames.forEach((name, i) => {
      const slot = this.slotOf.get(name);
      const kind = this.definitions.get(name)?.section;
      if (slot === undefined || kind === "tables") {
        const candidates = [...this.slotOf.keys()].filter(
          (n) => this.slots[this.slotOf.get(n)!]!.kind !== "hidden",
        );
        this.error(
          ["track", i],
          `cannot track '${name}': it is not a param, stock, flow or var${didYouMean(name, candidates)}`,
        );
        return;
      }
      tracked.push({ slot, name });
    });

    for (const work of this.deferred.splice(0)) work();
    this.checkGroups();
    this.checkUnits();
    this.checkWarRoom(tracked.map((t) => t.name));
    if (this.diagnostics.length) throw new DiagnosticError(this.diagnostics);

    const allStocks = [...stocks, ...this.hiddenStocks.map(({ init: _init, ...s }) => s)];
    const auxOrder = orderAssignments(this.aux, [], this.slots, this.source, "definition");
    const initRoots = [
      ...stockInits,
      ...this.hiddenStocks.map((h) => ({ slot: h.slot, expr: h.init })),
      ...this.previous.map((p) => ({ slot: p.slot, expr: p.init })),
    ];
    const initOrder = orderAssignments(initRoots, this.aux, this.slots, this.source, "initial value");

    return {
      slots: this.slots,
      params,
      initOrder,
      auxOrder,
      previous: this.previous,
      stocks: allStocks,
      events,
      outcomes,
      tables: this.tables,
      randomSites: this.randomSites,
      tracked,
      time: this.model.time,
      method: this.model.spec.method ?? "euler",
    };
  }

  /** Every entry's `group` names a declared group, and every group's switch names a param. */
  private checkGroups(): void {
    const spec = this.model.spec;
    const groups = Object.keys(spec.groups ?? {});
    for (const [name, g] of Object.entries(spec.groups ?? {})) {
      if (g.switch !== undefined && spec.params?.[g.switch] === undefined) {
        this.error(
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
          this.error(
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
  private checkUnits(): void {
    const spec = this.model.spec;
    const timeUnit = this.model.time.unit ?? "time";
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
          this.model.time.unit === undefined
            ? `; or declare the model's time unit in 'time'`
            : ` (the model's time unit is ${timeUnit})`;
        this.error(
          ["flows", flow, "unit"],
          `unit clash: flow '${flow}' is in ${declared}, but it feeds stock '${stock}', which is in ${s.unit} — its flows must be in ${formatUnit(needed)}${fix}`,
        );
      }
    }
  }

  /** Where an expression's parts must agree in unit, they do; and an equation gives its entry's declared unit. */
  private checkExpressionUnits(path: Path, ast: Expr, at: (pos: number, message: string) => void): void {
    const timeUnit = this.model.time.unit === undefined ? undefined : parseUnit(this.model.time.unit);
    const declared = (name: string): string | undefined => {
      const spec = this.model.spec;
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
  private checkWarRoom(tracked: string[]): void {
    const spec = this.model.spec;
    const room = spec.warroom;
    if (!room || this.model.scenario !== undefined) return;
    const need = (path: Path, name: string, what: string, names: string[], atKey = false) => {
      if (names.includes(name)) return;
      const message = `the war room needs ${what}; '${name}' is not one${didYouMean(name, names)}`;
      this.diagnostics.push(atKey ? this.source.atKey(path, message) : this.source.at(path, message));
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
          this.error(path, `lever '${id}' needs exactly one of 'adds_to' (a stock) or 'scales' (a var)`);
        if (lever.adds_to !== undefined)
          need([...path, "adds_to"], lever.adds_to, "a stock", Object.keys(spec.stocks ?? {}));
        if (lever.scales !== undefined)
          need([...path, "scales"], lever.scales, "a var", Object.keys(spec.vars ?? {}));
        if (!(lever.min <= lever.value && lever.value <= lever.max))
          this.error(
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

  /** Give every name a slot (or a table index), refusing bad and duplicate names. */
  private declareNames(): void {
    const spec = this.model.spec;
    const slotSections: Record<string, SlotKind> = {
      params: "param",
      decisions: "param",
      stocks: "stock",
      flows: "flow",
      vars: "var",
    };
    for (const section of NAMED_SECTIONS) {
      for (const name of Object.keys(spec[section] ?? {})) {
        const path = [section, name];
        const prior = this.definitions.get(name);
        if (prior) {
          const line = this.source.lineCol(this.source.keyOffset([prior.section, prior.name])).line;
          this.diagnostics.push(
            this.source.atKey(
              path,
              `'${name}' is defined twice: as a ${SECTION_KIND[prior.section]} (line ${line}) and as a ${SECTION_KIND[section]} — names are shared by all sections`,
            ),
          );
          continue;
        }
        if (!NAME.test(name)) {
          this.diagnostics.push(
            this.source.atKey(
              path,
              `'${name}' is not a valid name: use letters, digits and '_', starting with a letter`,
            ),
          );
        } else if (KEYWORDS.has(name) || TIME_NAMES.has(name)) {
          this.diagnostics.push(this.source.atKey(path, `'${name}' is a reserved word; choose another name`));
        }
        this.definitions.set(name, { section, name });
        const kind = slotSections[section];
        if (kind) this.slotOf.set(name, this.newSlot(name, kind, path));
        if (section === "tables") this.tableIndex.set(name, this.tableIndex.size);
      }
    }
  }

  private site(name: string): number {
    this.randomSites.push(name);
    return this.randomSites.length - 1;
  }

  /** Parse and resolve one expression of the file; on failure record diagnostics and return undefined. */
  private expression(
    path: Path,
    text: string | number,
    owner: string,
    opts: { initial?: boolean } = {},
  ): Node | undefined {
    if (typeof text === "number") return { op: "const", value: text };
    const locate = this.source.expressionLocator(path, text);
    const at = (pos: number, message: string) =>
      this.diagnostics.push({ file: this.source.file, ...locate(pos), message });
    let ast: Expr;
    try {
      ast = parseExpr(text);
    } catch (e) {
      if (!(e instanceof ExprSyntaxError)) throw e;
      at(e.pos, e.message);
      return undefined;
    }
    const before = this.diagnostics.length;
    const node = new Resolver(this, at, path, owner, opts.initial ?? false).resolve(ast);
    if (this.diagnostics.length !== before) return undefined;
    this.checkExpressionUnits(path, ast, at);
    return node;
  }

  // ---- used by Resolver ----

  lookupName(name: string): { slot?: number; section?: string } {
    const def = this.definitions.get(name);
    return { slot: this.slotOf.get(name), section: def?.section };
  }

  tableOf(name: string): number | undefined {
    return this.tableIndex.get(name);
  }

  knownNames(): string[] {
    return [...this.definitions.keys(), ...TIME_NAMES];
  }

  functionNames(): string[] {
    return [...BUILTINS.keys(), ...this.tableIndex.keys()];
  }

  get spec() {
    return this.model.spec;
  }
  get time() {
    return this.model.time;
  }

  randomSite(owner: string, fn: string): number {
    return this.site(`${owner}:${fn}#${this.randomSites.filter((s) => s.startsWith(`${owner}:`)).length}`);
  }

  /** The value of a node that is the same in every run and step: numbers, fixed params, constant definitions. */
  constantOf(node: Node): number | undefined {
    const bySlot = new Map(this.aux.map((a) => [a.slot, a.expr]));
    const memo = new Map<number, number | undefined>();
    const slotValue = (s: number): number | undefined => {
      if (memo.has(s)) return memo.get(s);
      memo.set(s, undefined); // a loop is not constant
      let value: number | undefined;
      const info = this.slots[s]!;
      if (info.kind === "param") {
        const p = this.model.spec.params?.[info.name];
        if (p && p.dist === undefined) {
          try {
            const dist = parseDistribution(p.value ?? 0);
            if (dist.kind === "fixed") value = dist.value;
          } catch {
            // A bad value is reported where the params are read.
          }
        }
      } else {
        const expr = bySlot.get(s);
        if (expr) value = constantValue(expr, callPure, slotValue);
      }
      memo.set(s, value);
      return value;
    };
    return constantValue(node, callPure, slotValue);
  }

  /** Replace the expression of a hidden slot made by hiddenAux. */
  setAux(slot: number, expr: Node): void {
    const a = this.aux.find((x) => x.slot === slot);
    if (a) a.expr = expr;
  }

  /** Hidden slot computed every step from `expr`. */
  hiddenAux(owner: string, what: string, path: Path, expr: Node): number {
    const slot = this.newSlot(`${what}#${++this.hiddenCount} in ${owner}`, "hidden", path);
    this.aux.push({ slot, expr });
    return slot;
  }

  /** A hidden stock; its rate is set afterwards, since the rate often reads slots made after the stock. */
  hiddenStock(
    owner: string,
    what: string,
    path: Path,
    init: Node,
  ): { slot: number; setRate: (rate: Node) => void } {
    const slot = this.newSlot(`${what}#${++this.hiddenCount} in ${owner}`, "hidden-stock", path);
    return {
      slot,
      setRate: (rate) => {
        const rateSlot = this.hiddenAux(owner, `${what} rate`, path, rate);
        this.hiddenStocks.push({ slot, rate: { op: "slot", slot: rateSlot }, init });
      },
    };
  }

  hiddenPrevious(owner: string, path: Path, source: number, init: Node): number {
    const slot = this.newSlot(`previous#${++this.hiddenCount} in ${owner}`, "previous", path);
    this.previous.push({ slot, source, init });
    return slot;
  }

  hiddenInit(owner: string, path: Path, source: number): number {
    const slot = this.newSlot(`init#${++this.hiddenCount} in ${owner}`, "init", path);
    const self: Node = { op: "slot", slot };
    this.aux.push({ slot, expr: { op: "if", c: { op: "first" }, a: { op: "slot", slot: source }, b: self } });
    return slot;
  }
}

const BIN: Record<string, BinFn> = {
  "+": "+",
  "-": "-",
  "*": "*",
  "/": "/",
  "%": "%",
  "^": "^",
  "<": "<",
  "<=": "<=",
  ">": ">",
  ">=": ">=",
  "==": "==",
  "!=": "!=",
  and: "and",
  or: "or",
};

const CLAIM_FUNCTIONS = new Set(["P", "E", "Q"]);

class Resolver {
  constructor(
    private readonly b: Builder,
    private readonly at: (pos: number, message: string) => void,
    private readonly path: Path,
    private readonly owner: string,
    private readonly initial: boolean,
  ) {}

  private fail(pos: number, message: string): Node {
    this.at(pos, message);
    return { op: "const", value: 0 };
  }

  resolve(e: Expr): Node {
    switch (e.kind) {
      case "number":
        return { op: "const", value: e.value };
      case "date": {
        const { origin, unit } = this.b.time;
        if (origin === undefined || unit === undefined) {
          return this.fail(e.pos, `the date ${e.iso} needs a model whose time.start is a date`);
        }
        return { op: "const", value: (dateToDays(e.iso) - dateToDays(origin)) / UNIT_DAYS[unit]! };
      }
      case "name":
        return this.name(e.name, e.pos);
      case "unary": {
        const a = this.resolve(e.arg);
        if (e.op === "+") return a;
        return e.op === "-" ? { op: "neg", a } : { op: "not", a };
      }
      case "binary": {
        const fn = BIN[e.op];
        if (!fn)
          return this.fail(
            e.pos,
            `'${e.op === "given" ? "|" : e.op}' only appears inside claims such as P(outcome ${e.op === "given" ? "|" : e.op} …)`,
          );
        return { op: "bin", fn, a: this.resolve(e.left), b: this.resolve(e.right) };
      }
      case "if":
        return { op: "if", c: this.resolve(e.cond), a: this.resolve(e.then), b: this.resolve(e.else) };
      case "call":
        return this.call(e);
    }
  }

  private name(name: string, pos: number): Node {
    const { slot, section } = this.b.lookupName(name);
    if (slot !== undefined) return { op: "slot", slot };
    if (section === "tables")
      return this.fail(pos, `'${name}' is a table: call it with a value, as ${name}(x)`);
    if (section === "events" || section === "outcomes") {
      return this.fail(
        pos,
        `'${name}' is an ${SECTION_KIND[section]}; equations cannot read it (claims can)`,
      );
    }
    const t = this.b.time;
    if (name === "time") return { op: "time" };
    if (name === "dt") return { op: "const", value: t.dt };
    if (name === "starttime") return { op: "const", value: t.start };
    if (name === "stoptime") return { op: "const", value: t.stop };
    if (name in UNIT_DAYS) {
      if (t.unit === undefined || UNIT_DAYS[t.unit] === undefined) {
        return this.fail(
          pos,
          `'${name}' is a time unit, which needs a calendar time.unit (day, week, month, year, …)`,
        );
      }
      // `0.5/year` reads as 0.5 per year, whatever the model's unit.
      return { op: "const", value: UNIT_DAYS[name]! / UNIT_DAYS[t.unit]! };
    }
    const fn = BUILTINS.get(name);
    if (fn) return this.fail(pos, `'${name}' is a function: call it as ${fn.signature}`);
    return this.fail(pos, `unknown name '${name}'${didYouMean(name, this.b.knownNames())}`);
  }

  private call(e: Extract<Expr, { kind: "call" }>): Node {
    const tableIdx = this.b.tableOf(e.callee);
    if (tableIdx !== undefined) {
      if (e.args.length !== 1)
        return this.fail(e.pos, `table '${e.callee}' takes one argument, found ${e.args.length}`);
      return { op: "lookup", table: tableIdx, x: this.resolve(e.args[0]!) };
    }
    const fn = BUILTINS.get(e.callee);
    if (!fn) {
      const { section } = this.b.lookupName(e.callee);
      if (section) return this.fail(e.pos, `'${e.callee}' is a ${SECTION_KIND[section]}, not a function`);
      if (CLAIM_FUNCTIONS.has(e.callee)) return this.fail(e.pos, `${e.callee}(…) can be used only in claims`);
      return this.fail(
        e.pos,
        `unknown function '${e.callee}'${didYouMean(e.callee, this.b.functionNames())}`,
      );
    }
    if (e.args.length < fn.minArgs || e.args.length > fn.maxArgs) {
      const n =
        fn.minArgs === fn.maxArgs
          ? `${fn.minArgs}`
          : fn.maxArgs > 10
            ? `at least ${fn.minArgs}`
            : `${fn.minArgs} to ${fn.maxArgs}`;
      return this.fail(
        e.pos,
        `${e.callee} takes ${n} argument${n === "1" ? "" : "s"}, found ${e.args.length}: ${fn.signature}`,
      );
    }
    if (fn.kind === "lookup") {
      const [table, x] = e.args as [Expr, Expr];
      const idx = table.kind === "name" ? this.b.tableOf(table.name) : undefined;
      if (idx === undefined) {
        const named =
          table.kind === "name"
            ? ` '${table.name}'${didYouMean(table.name, Object.keys(this.b.spec.tables ?? {}))}`
            : "";
        return this.fail(
          table.pos,
          `the first argument of lookup must be a table name; found${named || " an expression"}`,
        );
      }
      return { op: "lookup", table: idx, x: this.resolve(x) };
    }
    const args = e.args.map((a) => this.resolve(a));
    switch (fn.kind) {
      case "pure":
        return { op: "call", fn: fn.name, args };
      case "time":
        return { op: "timefn", fn: fn.name, args };
      case "random": {
        if ((this.b.spec.method ?? "euler") === "rk4") {
          return this.fail(
            e.pos,
            `${e.callee}(…) draws a random number each step, which rk4 cannot integrate (its stages would redraw): use method: euler, or make it a param`,
          );
        }
        // Constant arguments outside the draw's domain are an error now; others fail the run where they happen.
        const values = args.map((a) => constant(a));
        if (values.every((v) => v !== undefined)) {
          const broken = domainError(fn, values as number[]);
          if (broken) return this.fail(e.pos, broken);
        }
        return { op: "random", fn: fn.name, site: this.b.randomSite(this.owner, fn.name), args };
      }
      case "stateful":
        if (this.initial)
          return this.fail(e.pos, `${e.callee}(…) keeps state over time, so it cannot set an initial value`);
        return this.stateful(fn, e, args);
    }
  }

  private stateful(fn: StatefulBuiltin, e: Extract<Expr, { kind: "call" }>, args: Node[]): Node {
    const b = this.b;
    const { owner, path } = this;
    const ctx: LowerContext = {
      stock: (what, init) => b.hiddenStock(owner, what, path, init),
      aux: (what, expr) => b.hiddenAux(owner, what, path, expr),
      previous: (source, init) => b.hiddenPrevious(owner, path, source, init),
      init: (source) => b.hiddenInit(owner, path, source),
      dt: b.time.dt,
      constant: (n) => b.constantOf(n),
      defer: (work) => b.deferred.push(work),
      setAux: (slot, expr) => b.setAux(slot, expr),
      fail: (index, message) => this.fail((e.args[index] ?? e).pos, message),
    };
    return fn.lower(ctx, args);
  }
}

/** A pure builtin of the registry applied to constant arguments. */
function callPure(name: string, values: number[]): number {
  const f = BUILTINS.get(name);
  return f?.kind === "pure" ? f.fn(...values) : Number.NaN;
}

/** The value of a resolved argument made of numbers and pure builtins only; else undefined. */
function constant(n: Node): number | undefined {
  return constantValue(n, callPure);
}
