import type { Expr } from "../lang/ast.js";
import { TIME_NAMES } from "../lang/builtins.js";
import { type Diagnostic, DiagnosticError, didYouMean } from "../lang/diagnostic.js";
import { ExprSyntaxError, KEYWORDS } from "../lang/lexer.js";
import { parseExpr } from "../lang/parser.js";
import { parseDistribution } from "../model/distribution.js";
import type { LoadedModel } from "../model/load.js";
import type { ModelSource, Path } from "../model/source.js";
import { BUILTINS } from "./builtins.js";
import { type CheckContext, checkExpressionUnits, checkGroups, checkUnits, checkWarRoom } from "./checks.js";
import { planClock } from "./clock.js";
import type { Table } from "./functions.js";
import type {
  Assignment,
  EventPlan,
  Node,
  OutcomePlan,
  ParamPlan,
  Program,
  SlotInfo,
  SlotKind,
  StockPlan,
} from "./ir.js";
import { constantValue } from "./lower.js";
import { orderAssignments } from "./order.js";
import { callPure, type ResolveHost, Resolver } from "./resolve.js";
import { NAME, NAMED_SECTIONS, SECTION_KIND } from "./sections.js";

/**
 * Compilation, one job per file: this file declares names and slots, builds the Program and owns the hidden slots
 * that lowering makes; resolve.ts turns expressions into Node trees (and lowers stateful builtins through the
 * registry, builtins.ts and lower.ts); checks.ts holds the whole-model checks (groups, units, the war room);
 * order.ts the dependency order.
 */
/** Compile a loaded model to a Program, or throw DiagnosticError with every problem found. */
export function compileModel(model: LoadedModel): Program {
  return new Builder(model).build();
}

interface Definition {
  section: string;
  name: string;
}

class Builder implements ResolveHost {
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
    const checks: CheckContext = {
      model: this.model,
      error: (path, message) => this.error(path, message),
      report: (d) => this.diagnostics.push(d),
    };
    checkGroups(checks);
    checkUnits(checks);
    checkWarRoom(
      checks,
      tracked.map((t) => t.name),
    );
    if (this.diagnostics.length) throw new DiagnosticError(this.diagnostics);

    const allStocks = [...stocks, ...this.hiddenStocks.map(({ init: _init, ...s }) => s)];
    const auxOrder = orderAssignments(this.aux, [], this.slots, this.source, "definition");
    const initRoots = [
      ...stockInits,
      ...this.hiddenStocks.map((h) => ({ slot: h.slot, expr: h.init })),
      ...this.previous.map((p) => ({ slot: p.slot, expr: p.init })),
    ];
    const initOrder = orderAssignments(initRoots, this.aux, this.slots, this.source, "initial value");

    return planClock(
      {
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
      },
      this.source,
      {
        observations: this.model.spec.observations !== undefined,
        warroom: this.model.spec.warroom !== undefined,
      },
    );
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
    const at = (pos: number, message: string, end?: number) =>
      this.diagnostics.push({
        file: this.source.file,
        ...locate(pos),
        ...(end !== undefined && end > pos ? { end: locate(end) } : {}),
        message,
      });
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
    checkExpressionUnits(this.model, path, ast, at);
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

  private known?: string[];
  /** Every name an expression may read, for "did you mean" (built once: it is asked for each unknown name). */
  knownNames(): string[] {
    this.known ??= [...this.definitions.keys(), ...TIME_NAMES];
    return this.known;
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
