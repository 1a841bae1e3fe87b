import { checkModelText } from "../analysis/check.js";
import { type Diagnostic, DiagnosticError } from "../lang/diagnostic.js";
import { dataKey, type VensimData } from "./vensim-data.js";
import {
  ExprParser,
  lineLocator,
  normName,
  type RawEquation,
  splitEquations,
  tokenize,
  type VExpr,
  VensimError,
  type VSub,
} from "./vensim-parse.js";
import {
  constantAt,
  type Grid,
  outsideModelFolder,
  SheetError,
  type SheetReader,
  seriesAt,
} from "./vensim-sheets.js";
import { canonicalName, elementId, MAX_ELEMENTS } from "./xmile.js";

/**
 * Vensim `.mdl` import: equations are parsed (src/io/vensim-parse.ts) and translated into Brink YAML text — the
 * same target the XMILE importer writes. Names become identifiers as XMILE's do (`canonicalName`), subscripted
 * variables are expanded into one variable per element (`x__a`, `x__a__b`), INTEG equations become stocks with
 * one net flow, lookups become tables, and Vensim's builtins are rewritten onto Brink's (stateful ones onto
 * Brink's smooths, delays, delayn, smthn, trend and forcst). Array functions (VECTOR SELECT, VECTOR SORT ORDER,
 * VECTOR RANK, VECTOR REORDER, INVERT MATRIX, ALLOCATE BY PRIORITY) are written out over the elements here, as
 * arrays are, so the engine stays scalar; data variables become tables of time read from the data files given.
 * What Brink cannot express is refused with a diagnostic naming the equation and its line.
 */

export interface VensimImport {
  /** The model as Brink YAML. */
  yaml: string;
  /** Original Vensim names by Brink identifier (for reading expected outputs). */
  names: Map<string, string>;
}

interface Equation {
  raw: RawEquation;
  name: string;
  id: string;
  pos: number;
  subs?: VSub[];
  except: VSub[][];
  kind: "eq" | "lookup" | "data";
  rhs?: VExpr;
  /** A data variable's table type: interpolated (:INTERPOLATE: or no keyword) or held (:HOLD BACKWARD:). */
  dataType?: "continuous" | "discrete" | "forward";
}

class Unsupported extends VensimError {}

const isInteg = (e: VExpr | undefined) => e?.k === "call" && normName(e.fn).toUpperCase() === "INTEG";

/** A Vensim macro: its parameters and its own equations (one of them named as the macro: its output). */
interface Macro {
  name: string;
  id: string;
  params: string[];
  equations: Equation[];
  pos: number;
}

/** Vensim functions Brink spells the same way (after lower-casing), and their argument counts. */
const SAME: Record<string, [string, number]> = {
  ABS: ["abs", 1],
  EXP: ["exp", 1],
  LN: ["ln", 1],
  SQRT: ["sqrt", 1],
  SIN: ["sin", 1],
  COS: ["cos", 1],
  TAN: ["tan", 1],
  ARCSIN: ["arcsin", 1],
  ARCCOS: ["arccos", 1],
  ARCTAN: ["arctan", 1],
  SINH: ["sinh", 1],
  COSH: ["cosh", 1],
  TANH: ["tanh", 1],
  LOG10: ["log10", 1],
  INTEGER: ["trunc", 1],
  XIDZ: ["xidz", 3],
  ZIDZ: ["zidz", 2],
  STEP: ["step", 2],
  RAMP: ["ramp", 3],
  DELAY1I: ["delay1", 3],
  DELAY3I: ["delay3", 3],
  SMOOTHI: ["smth1", 3],
  SMOOTH3I: ["smth3", 3],
  "RANDOM UNIFORM": ["uniform", 3],
};

/** Vensim functions Brink has nothing for yet, with the reason given in the diagnostic. */
const UNSUPPORTED: Record<string, string> = {
  "GET XLS DATA": "GET XLS DATA inside an expression is not supported (write x := GET XLS DATA(…))",
  "GET DIRECT DATA": "GET DIRECT DATA inside an expression is not supported (write x := GET DIRECT DATA(…))",
  "GET XLS LOOKUPS": "GET XLS LOOKUPS inside an expression is not supported (define a lookup with it)",
  "GET DIRECT LOOKUPS": "GET DIRECT LOOKUPS inside an expression is not supported (define a lookup with it)",
  "GET DATA AT TIME": "data variables are not supported yet",
  "TIME BASE": "TIME BASE is not supported yet",
  "VECTOR ELM MAP": "VECTOR ELM MAP is not supported yet",
  "VECTOR LOOKUP": "VECTOR LOOKUP is not supported yet",
  "LOOKUP FORWARD": "LOOKUP FORWARD is not supported yet (Brink's discrete tables hold the value backward)",
  "LOOKUP INVERT": "LOOKUP INVERT is not supported yet",
  "LOOKUP AREA": "LOOKUP AREA is not supported yet",
  "DELAY CONVEYOR": "conveyors are not supported",
  "DELAY PROFILE": "DELAY PROFILE is not supported yet",
  "QUEUE FIFO": "queues are not supported",
  "QUEUE LIFO": "queues are not supported",
  NPV: "NPV is not supported yet",
  "NPV ARRAY": "NPV ARRAY is not supported yet",
  "A FUNCTION OF": "the equation is only 'A FUNCTION OF' (Vensim's placeholder for an unwritten equation)",
  "RANDOM POISSON": "RANDOM POISSON is not supported yet",
  "RANDOM TRIANGULAR": "RANDOM TRIANGULAR is not supported yet",
  "RANDOM BETA": "RANDOM BETA is not supported yet",
  "RANDOM GAMMA": "RANDOM GAMMA is not supported yet",
  "RANDOM LOOKUP": "RANDOM LOOKUP is not supported yet",
  "RANDOM BINOMIAL": "RANDOM BINOMIAL is not supported yet",
  "RANDOM NEGATIVE BINOMIAL": "RANDOM NEGATIVE BINOMIAL is not supported yet",
  "RANDOM WEIBULL": "RANDOM WEIBULL is not supported yet",
  "RANDOM PINK NOISE": "RANDOM PINK NOISE is not supported yet",
};

/** The Vensim names of the clock. */
const CLOCK: Record<string, string> = {
  TIME: "time",
  "TIME STEP": "dt",
  "INITIAL TIME": "starttime",
  "FINAL TIME": "stoptime",
};
/** Whether an expression names a variable or calls a function (not only numbers). */
const refersToAny = (e: VExpr): boolean =>
  e.k === "ref" ||
  e.k === "call" ||
  (e.k === "un" && refersToAny(e.a)) ||
  (e.k === "bin" && (refersToAny(e.a) || refersToAny(e.b)));
const CONTROLS = new Set(["INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"]);

const cartesian = (lists: string[][]): string[][] =>
  lists.reduce<string[][]>((acc, list) => acc.flatMap((a) => list.map((x) => [...a, x])), [[]]);

const num = (v: number, pos = 0): string => {
  if (!Number.isFinite(v)) throw new VensimError(`the number ${v} is out of range`, pos);
  const s = String(v);
  return v < 0 ? `(${s})` : s;
};

/** The unit text without Vensim's slider range (`Month [0,?]` → `Month`); `Dmnl` as Brink's `1`. */
function cleanUnit(units: string): string {
  const u = units
    .replace(/\[[^\]]*\]\s*$/, "")
    .replace(/\s+/g, " ")
    .trim();
  return /^dmnl$/i.test(u) ? "1" : u;
}

/** Import a Vensim `.mdl` model; throws DiagnosticError for malformed or unsupported input. */
export interface VensimImportOptions {
  /** Time series for the model's data variables (read from data files with readVensimData). */
  data?: VensimData;
  /** Reads the files GET DIRECT and GET XLS name (CSV, tab or spreadsheet), relative to the model. */
  sheets?: SheetReader;
}

/** The most diagnostics an import reports: a file with an error in every equation would otherwise flood the terminal. */
export const MAX_DIAGNOSTICS = 50;

/** The first MAX_DIAGNOSTICS problems, then one saying how many more there are (at the first one left out). */
function firstOf<T extends Diagnostic>(problems: readonly T[]): Diagnostic[] {
  if (problems.length <= MAX_DIAGNOSTICS) return [...problems];
  const next = problems[MAX_DIAGNOSTICS]!;
  return [
    ...problems.slice(0, MAX_DIAGNOSTICS),
    {
      file: next.file,
      line: next.line,
      col: next.col,
      message: `and ${problems.length - MAX_DIAGNOSTICS} more errors (only the first ${MAX_DIAGNOSTICS} are shown)`,
    },
  ];
}

export function importVensim(file: string, text: string, options: VensimImportOptions = {}): VensimImport {
  const src = text.replace(/^\uFEFF/, "");
  const problems: Diagnostic[] = [];
  const position = lineLocator(src);
  const at = (offset: number, message: string): Diagnostic => ({ file, ...position(offset), message });
  const { equations: raws } = splitEquations(src);

  // Subscript ranges: dimension or subrange id → element ids; mappings; element display names.
  const dims = new Map<string, string[]>();
  const maps = new Map<string, Set<string>>();
  const elementNames = new Map<string, string>();
  const dimDefs: { id: string; items: VSub[][]; mapsTo: string[]; pos: number; name: string }[] = [];
  const equations: Equation[] = [];
  const macros = new Map<string, Macro>();
  let macro: Macro | undefined;
  for (const raw of raws) {
    const head = raw.expr.trimStart();
    if (head.startsWith("*") || head === "") continue; // a group heading (`****\n.Control\n****`)
    try {
      const toks = tokenize(raw.expr, raw.exprStart);
      const p = new ExprParser(toks);
      // `:END OF MACRO:` closes a macro and may share its text with the next equation.
      if (p.peek().kind === "kw" && p.peek().text === "END OF MACRO") {
        p.next();
        macro = undefined;
        if (p.isOp("*")) continue; // a group heading follows
      }
      if (p.peek().kind === "kw" && p.peek().text === "MACRO") {
        const kw = p.next();
        const name = p.next();
        if (name.kind !== "name") throw new VensimError("expected the macro's name after :MACRO:", kw.pos);
        p.expect("(", "to open the macro's parameters");
        const params: string[] = [];
        while (!p.isOp(")")) {
          const t = p.next();
          if (t.kind === "op" && t.text === ":")
            throw new Unsupported("macros with several outputs are not supported yet", t.pos);
          if (t.kind !== "name") throw new VensimError(`expected a parameter name, found '${t.text}'`, t.pos);
          params.push(canonicalName(t.text));
          if (p.isOp(",")) p.next();
        }
        p.next();
        macro = { name: name.text, id: canonicalName(name.text), params, equations: [], pos: kw.pos };
        macros.set(macro.id, macro);
      }
      if (p.peek().kind === "eof") continue;
      const first = p.next();
      if (first.kind !== "name")
        throw new VensimError(`an equation starts with a variable name, found '${first.text}'`, first.pos);
      // `Dim: a, b, (c1-c3) -> Other` — a subscript range.
      if (p.isOp(":")) {
        p.next();
        if (p.peek().kind === "name" && p.isOp("(", 1))
          throw new Unsupported(
            `subscript ranges read from files (${p.peek().text.toUpperCase()}) are not supported`,
            p.peek().pos,
          );
        const items: VSub[][] = [];
        const mapsTo: string[] = [];
        for (;;) {
          if (p.isOp("(")) {
            const open = p.next();
            const a = p.next();
            p.expect("-", "in a range of elements such as (a1-a5)");
            const b = p.next();
            p.expect(")", "to close a range of elements");
            const ma = /^(.*?)(\d+)$/.exec(a.text);
            const mb = /^(.*?)(\d+)$/.exec(b.text);
            if (!ma || !mb || ma[1] !== mb[1] || Number(ma[2]) > Number(mb[2]))
              throw new VensimError(`'(${a.text}-${b.text})' is not a range of numbered elements`, open.pos);
            if (Number(mb[2]) - Number(ma[2]) >= MAX_ELEMENTS)
              throw new VensimError(
                `'(${a.text}-${b.text})' has more than the ${MAX_ELEMENTS} elements Brink expands arrays into`,
                open.pos,
              );
            const range: VSub[] = [];
            for (let k = Number(ma[2]); k <= Number(mb[2]); k++)
              range.push({ name: `${ma[1]}${k}`, bang: false, pos: open.pos });
            items.push(range);
          } else {
            const t = p.next();
            if (t.kind !== "name" && t.kind !== "num")
              throw new VensimError(`expected an element, found '${t.text || "the end"}'`, t.pos);
            items.push([{ name: t.text, bang: false, pos: t.pos }]);
          }
          if (p.isOp(",")) {
            p.next();
            continue;
          }
          break;
        }
        if (p.isOp("->")) {
          p.next();
          for (;;) {
            if (p.isOp("("))
              throw new Unsupported("explicit mappings '-> (Dim: …)' are not supported yet", p.peek().pos);
            const t = p.next();
            if (t.kind !== "name")
              throw new VensimError(`expected a dimension to map to, found '${t.text}'`, t.pos);
            mapsTo.push(canonicalName(t.text));
            if (!p.isOp(",")) break;
            p.next();
          }
        }
        if (p.peek().kind !== "eof")
          throw new VensimError(`unexpected '${p.peek().text}' in a subscript range`, p.peek().pos);
        dimDefs.push({ id: canonicalName(first.text), items, mapsTo, pos: first.pos, name: first.text });
        continue;
      }
      // `A <-> B` — an equivalent name for a dimension.
      if (p.isOp("<->")) {
        p.next();
        const other = p.next();
        dimDefs.push({
          id: canonicalName(first.text),
          items: [[{ name: other.text, bang: false, pos: other.pos }]],
          mapsTo: [],
          pos: first.pos,
          name: first.text,
        });
        continue;
      }
      const eq: Equation = {
        raw,
        name: first.text,
        id: canonicalName(first.text),
        pos: first.pos,
        except: [],
        kind: "eq",
      };
      if (p.isOp("[")) eq.subs = p.subscripts();
      if (p.peek().kind === "kw" && p.peek().text === "EXCEPT") {
        p.next();
        for (;;) {
          eq.except.push(p.subscripts());
          if (!p.isOp(",")) break;
          p.next();
        }
      }
      // Reality checks (`:THE CONDITION: … :IMPLIES: …`) and test inputs change nothing in a run.
      if (p.peek().kind === "kw" && ["THE CONDITION", "TEST INPUT"].includes(p.peek().text)) continue;
      const op = p.next();
      const dataEnd = p.peek().kind === "eof";
      if (
        (op.kind === "kw" &&
          ["INTERPOLATE", "HOLD BACKWARD", "LOOK FORWARD", "RAW"].includes(op.text) &&
          dataEnd) ||
        op.kind === "eof"
      ) {
        // A data variable: its values come from a data file given with the run.
        eq.kind = "data";
        eq.dataType =
          op.kind !== "kw" || op.text === "INTERPOLATE"
            ? "continuous"
            : op.text === "LOOK FORWARD"
              ? "forward"
              : "discrete";
        if (macro) throw new Unsupported("data variables inside a macro are not supported", first.pos);
        equations.push(eq);
        continue;
      }
      // `x := GET DIRECT DATA(…)` (or `x :HOLD BACKWARD: := …`): data read from a file the model names; the same
      // with CONSTANTS is a constant.
      const dataKeyword =
        op.kind === "kw" && ["INTERPOLATE", "RAW", "HOLD BACKWARD", "LOOK FORWARD"].includes(op.text);
      if ((dataKeyword && p.isOp(":=")) || (op.kind === "op" && op.text === ":=")) {
        if (dataKeyword) p.next();
        const e = p.expression();
        const fn = e.k === "call" ? normName(e.fn).toUpperCase() : "";
        if (/^GET (DIRECT|XLS) (DATA|CONSTANTS)$/.test(fn) && p.peek().kind === "eof") {
          eq.rhs = e;
          if (fn.endsWith("DATA")) {
            eq.kind = "data";
            eq.dataType =
              !dataKeyword || op.text === "INTERPOLATE"
                ? "continuous"
                : op.text === "LOOK FORWARD"
                  ? "forward"
                  : "discrete";
          }
          if (macro) throw new Unsupported("data variables inside a macro are not supported", first.pos);
          equations.push(eq);
          continue;
        }
      }
      if (dataKeyword || (op.kind === "op" && op.text === ":=")) {
        throw new Unsupported(
          `'${first.text}' is a data variable${op.kind === "kw" ? ` (:${op.text}:)` : ""} defined by an equation; only data variables read by GET DIRECT DATA or GET XLS DATA, or from a data file, are supported`,
          op.pos,
        );
      }
      if (op.kind === "op" && op.text === "(") {
        eq.kind = "lookup";
        if (p.peek().kind === "name") {
          // A lookup read from a file, such as GET XLS LOOKUPS(…).
          eq.rhs = p.expression();
          p.expect(")", "to close the lookup");
        } else eq.rhs = p.lookupBody(op.pos);
      } else if (op.kind === "op" && (op.text === "=" || op.text === "==")) {
        const e = p.expression();
        const signed =
          e.k === "num" ? e.v : e.k === "un" && e.op === "-" && e.a.k === "num" ? -e.a.v : undefined;
        eq.rhs = signed !== undefined && (p.isOp(",") || p.isOp(";")) ? p.numberList(signed, e.pos) : e;
      } else throw new VensimError(`expected '=' after '${first.text}', found '${op.text}'`, op.pos);
      // Keywords Vensim allows after an equation, such as :SUPPLEMENTARY:, change nothing in a run.
      while (p.peek().kind === "kw" && ["SUPPLEMENTARY", "IMPLICIT"].includes(p.peek().text)) p.next();
      if (p.peek().kind !== "eof")
        throw new VensimError(`unexpected '${p.peek().text}' after a complete equation`, p.peek().pos);
      (macro ? macro.equations : equations).push(eq);
    } catch (e) {
      if (!(e instanceof VensimError)) throw e;
      const name = /^\s*("[^"]*"|[^=:([~|]*)/.exec(raw.expr)?.[1]?.trim().replace(/\s+/g, " ") ?? "";
      problems.push(at(e.offset, `in '${name}': ${e.message}`));
    }
  }

  // Resolve subscript ranges, in any order (a range may list a subrange defined later).
  const pending = new Map(dimDefs.map((d) => [d.id, d]));
  const resolving = new Set<string>();
  const resolveDim = (id: string): string[] | undefined => {
    if (dims.has(id)) return dims.get(id);
    const d = pending.get(id);
    if (!d || resolving.has(id)) return undefined;
    resolving.add(id);
    const elements: string[] = [];
    for (const group of d.items)
      for (const item of group) {
        const itemId = canonicalName(item.name);
        if (itemId !== id && resolving.has(itemId) && !dims.has(itemId) && pending.has(itemId)) {
          // Still being resolved (it is further up this chain): `A: B` and `B: A`, where neither has elements.
          problems.push(
            at(
              item.pos,
              `in '${d.name}': the subscript range '${item.name}' is defined through '${d.name}' itself; subscript ranges cannot be defined in a circle`,
            ),
          );
          continue;
        }
        const sub = itemId !== id ? resolveDim(itemId) : undefined;
        if (sub && group.length === 1 && !/^\d/.test(item.name)) elements.push(...sub);
        else {
          elements.push(itemId);
          elementNames.set(itemId, item.name);
        }
      }
    dims.set(id, elements);
    for (const m of d.mapsTo) {
      if (!maps.has(id)) maps.set(id, new Set());
      maps.get(id)!.add(m);
    }
    return elements;
  };
  for (const d of dimDefs) resolveDim(d.id);
  // An equivalence (`A <-> B`) maps both ways.
  for (const d of dimDefs)
    if (d.items.length === 1 && d.items[0]!.length === 1 && dims.has(canonicalName(d.items[0]![0]!.name))) {
      const other = canonicalName(d.items[0]![0]!.name);
      if (dims.get(d.id)!.length === 1 && dims.get(d.id)![0] === other) {
        dims.set(d.id, dims.get(other)!);
        for (const [a, b] of [
          [d.id, other],
          [other, d.id],
        ] as const) {
          if (!maps.has(a)) maps.set(a, new Set());
          maps.get(a)!.add(b);
        }
      }
    }
  const allElements = new Set([...dims.values()].flat());
  for (const [id, elems] of dims)
    for (const m of maps.get(id) ?? [])
      if (dims.has(m) && dims.get(m)!.length !== elems.length)
        problems.push(
          at(pending.get(id)?.pos ?? 0, `'${id}' maps onto '${m}', which has another number of elements`),
        );

  // Time controls, taken out of the model.
  const controls = new Map<string, Equation>();
  const byId = new Map<string, Equation[]>();
  for (const eq of equations) {
    const upper = eq.name.toUpperCase();
    if (CONTROLS.has(upper) && !eq.subs) {
      controls.set(upper, eq);
      continue;
    }
    if (!byId.has(eq.id)) byId.set(eq.id, []);
    byId.get(eq.id)!.push(eq);
  }
  // Lookups: defined by points, or read from a file (`= GET XLS LOOKUPS(…)`, refused when it is translated).
  const isLookup = (e: Equation) =>
    e.kind === "lookup" || (e.rhs?.k === "call" && /LOOKUPS$/.test(normName(e.rhs.fn).toUpperCase()));
  const lookups = new Set([...byId].filter(([, eqs]) => eqs.some(isLookup)).map(([id]) => id));

  // Elements of each variable (by LHS), with the equation and binding that defines each.
  interface ElementDef {
    eq: Equation;
    tuple: string[];
    binding: Map<string, string>;
    index: number;
  }
  const defs = new Map<string, Map<string, ElementDef>>();
  const subscriptOf = (s: VSub): string[] => {
    const id = canonicalName(s.name);
    if (dims.has(id)) return dims.get(id)!;
    if (allElements.has(id)) return [id];
    throw new VensimError(`'${s.name}' is neither a subscript range nor an element`, s.pos);
  };
  let expanded = 0;
  for (const [id, eqs] of byId) {
    const elements = new Map<string, ElementDef>();
    defs.set(id, elements);
    for (const eq of eqs) {
      try {
        const subs = eq.subs ?? [];
        const lists = subs.map(subscriptOf);
        const excluded = new Set(
          eq.except.flatMap((ex) => {
            if (ex.length !== subs.length)
              throw new VensimError(
                `:EXCEPT: needs ${subs.length} subscripts, as the variable has`,
                ex[0]?.pos ?? eq.pos,
              );
            return cartesian(ex.map(subscriptOf)).map((t) => t.join("__"));
          }),
        );
        // Counted before any element is made, so that three ranges of 1,000 end in a diagnostic at once.
        expanded += lists.reduce((n, l) => n * l.length, 1);
        if (expanded > MAX_ELEMENTS)
          // Told once, at the equation that crosses the limit: every later equation would cross it too.
          throw new DiagnosticError([
            at(
              eq.pos,
              `in '${eq.name}': ${lists.length ? `its ${lists.map((l) => l.length).join(" × ")} elements bring` : "this variable brings"} the model to more than the ${MAX_ELEMENTS} variables Brink expands arrays into`,
            ),
          ]);
        let index = 0;
        for (const tuple of cartesian(lists)) {
          const key = tuple.join("__");
          if (excluded.has(key)) continue;
          if (elements.has(key))
            throw new VensimError(`${eq.name}[${tuple.join(",")}] is defined twice`, eq.pos);
          const binding = new Map<string, string>();
          subs.forEach((s, p) => {
            const sid = canonicalName(s.name);
            if (dims.has(sid)) binding.set(sid, tuple[p]!);
          });
          elements.set(key, { eq, tuple, binding, index: index++ });
        }
      } catch (e) {
        if (!(e instanceof VensimError)) throw e;
        problems.push(at(e.offset, `in '${eq.name}': ${e.message}`));
      }
    }
  }
  if (problems.length) throw new DiagnosticError(firstOf(problems));

  const flatId = (id: string, tuple: string[]) => (tuple.length ? elementId(id, tuple) : id);
  const taken = new Set<string>();
  for (const [id, elements] of defs) for (const d of elements.values()) taken.add(flatId(id, d.tuple));
  const fresh = (base: string): string => {
    let id = base;
    for (let k = 2; taken.has(id); k++) id = `${base}_${k}`;
    taken.add(id);
    return id;
  };

  // Constant values (numbers and arithmetic of constants), for the time controls; with `initial`, values at the
  // initial time (the clock, STEP, IF THEN ELSE, stocks' initial values), for what Vensim reads once at the start,
  // such as the order of DELAY N and the delay of DELAY FIXED.
  const clock = { start: Number.NaN, dt: Number.NaN };
  const constCache = new Map<string, number | undefined>();
  const evalConst = (e: VExpr, initial = false, depth = 0): number | undefined => {
    if (depth > 100) return undefined;
    const ev = (x: VExpr) => evalConst(x, initial, depth + 1);
    switch (e.k) {
      case "num":
        return e.v;
      case "un": {
        const a = ev(e.a);
        return a === undefined ? undefined : e.op === "-" ? -a : e.op === "+" ? a : Number(a === 0);
      }
      case "bin": {
        const a = ev(e.a);
        const b = ev(e.b);
        if (a === undefined || b === undefined) return undefined;
        const r: Record<string, number> = {
          "+": a + b,
          "-": a - b,
          "*": a * b,
          "/": a / b,
          "^": a ** b,
          "=": Number(a === b),
          "<>": Number(a !== b),
          "<": Number(a < b),
          "<=": Number(a <= b),
          ">": Number(a > b),
          ">=": Number(a >= b),
          AND: Number(a !== 0 && b !== 0),
          OR: Number(a !== 0 || b !== 0),
        };
        return r[e.op];
      }
      case "call": {
        if (!initial || e.subs) return undefined;
        const fn = normName(e.fn).toUpperCase();
        const args = e.args.map(ev);
        if (args.some((x) => x === undefined)) return undefined;
        const [x, y, z] = args as number[];
        if (fn === "IF THEN ELSE") return x !== 0 ? y : z;
        if (fn === "STEP") return clock.start >= y! ? x : 0;
        if (fn === "MIN") return Math.min(x!, y!);
        if (fn === "MAX") return Math.max(x!, y!);
        if (fn === "ABS") return Math.abs(x!);
        if (fn === "INTEGER") return Math.trunc(x!);
        if (fn === "INTEG" || fn === "INITIAL") return fn === "INTEG" ? y : x;
        return undefined;
      }
      case "ref": {
        const upper = e.name.toUpperCase();
        if (initial && upper === "TIME") return clock.start;
        if (initial && upper === "TIME STEP") return clock.dt;
        const control = controls.get(upper);
        const key = `${initial}/${control ? upper : canonicalName(e.name)}`;
        if (constCache.has(key)) return constCache.get(key);
        constCache.set(key, undefined);
        let eq = control;
        if (!eq && !e.subs) {
          const eqs = byId.get(canonicalName(e.name));
          if (eqs?.length === 1 && !eqs[0]!.subs) eq = eqs[0];
        }
        const v = eq?.rhs && eq.kind === "eq" ? evalConst(eq.rhs, initial, depth + 1) : undefined;
        constCache.set(key, v);
        return v;
      }
      default:
        return undefined;
    }
  };

  const controlValue = (name: string, fallback?: number): number => {
    const eq = controls.get(name);
    const v = eq?.rhs ? evalConst(eq.rhs) : fallback;
    if (v === undefined || !Number.isFinite(v)) {
      problems.push(
        at(
          eq?.pos ?? 0,
          !eq
            ? `${name} is missing (a Vensim model sets it in its control section)`
            : eq.rhs && refersToAny(eq.rhs)
              ? // Vensim re-reads its time controls every step; Brink's clock is fixed before a run.
                `${name} is an equation of Time or of other variables: a ${name} that changes during the run is not supported (only FINAL TIME may be one)`
              : `${name} must be a constant number`,
        ),
      );
      return Number.NaN;
    }
    return v;
  };
  // A control that is an equation of Time or of other variables is re-read every step, as Vensim does: it becomes
  // a var (other equations read it), and the clock (time.clock) reads TIME STEP, SAVEPER and FINAL TIME from
  // theirs. INITIAL TIME is read once, before the run, with Time at 0; its var follows its equation afterwards.
  const dynamic = new Set<string>();
  for (const [name, eq] of controls)
    if (eq.rhs && refersToAny(eq.rhs) && evalConst(eq.rhs) === undefined) dynamic.add(name);
  const valueAtStart = (name: string, fallback: number): number => {
    const eq = controls.get(name);
    if (!eq || !dynamic.has(name)) return controlValue(name, fallback);
    const v = evalConst(eq.rhs!, true);
    if (v === undefined || !Number.isFinite(v)) {
      problems.push(
        at(
          eq.pos,
          `${name} must be known at the initial time (an equation of Time, constants and initial values)`,
        ),
      );
      return Number.NaN;
    }
    return v;
  };
  clock.start = 0;
  const start = valueAtStart("INITIAL TIME", 0);
  constCache.clear();
  clock.start = start;
  const dt = valueAtStart("TIME STEP", 1);
  constCache.clear();
  clock.dt = dt;
  // A FINAL TIME that is an equation is the clock's stop when it is the same in every run
  // (`IF THEN ELSE(Time < 5, 10, 50)`); one that depends on the run (`IF THEN ELSE(x > 50, Time, 100)`) ends the
  // run at the first step where Time reaches it, through a `when` outcome, with the horizon its value at the
  // initial time (so there it cannot lengthen the run). The translated model's check tells which (see below).
  const finalEq = controls.get("FINAL TIME");
  const dynamicStop = finalEq !== undefined && dynamic.has("FINAL TIME");
  const stop = valueAtStart("FINAL TIME", Number.NaN);
  // With a step that changes, SAVEPER is a var even when constant: the clock reads a saving period in time units.
  if (dynamic.has("TIME STEP") && controls.has("SAVEPER")) dynamic.add("SAVEPER");
  const saveper = controls.has("SAVEPER") ? valueAtStart("SAVEPER", dt) : dt;
  const variableStep = dynamic.has("TIME STEP") || dynamic.has("SAVEPER");
  for (const name of dynamic) {
    const eq = controls.get(name)!;
    byId.set(eq.id, [eq]);
    defs.set(eq.id, new Map([["", { eq, tuple: [], binding: new Map(), index: 0 }]]));
    taken.add(eq.id);
  }
  if (problems.length) throw new DiagnosticError(firstOf(problems));
  if (!(dt > 0))
    throw new DiagnosticError([at(controls.get("TIME STEP")?.pos ?? 0, "TIME STEP must be positive")]);
  if (!variableStep && (saveper < dt - 1e-12 || Math.abs(saveper / dt - Math.round(saveper / dt)) > 1e-9))
    throw new DiagnosticError([
      at(
        controls.get("SAVEPER")?.pos ?? 0,
        `SAVEPER (${saveper}) must be a whole multiple of TIME STEP (${dt})`,
      ),
    ]);

  // Output sections.
  const stocks: string[] = [];
  const flows: string[] = [];
  const vars: string[] = [];
  const tables: string[] = [];
  const names = new Map<string, string>();
  const tracked: string[] = [];
  const q = (s: string) => JSON.stringify(s);
  const meta = (eq: Equation): string => {
    // A variable defined by several equations states its unit and doc once, often on the last (`~~|` before).
    const group = byId.get(eq.id)?.includes(eq) ? byId.get(eq.id)! : [eq];
    const unit = cleanUnit(eq.raw.units || (group.find((g) => g.raw.units)?.raw.units ?? ""));
    const doc = (eq.raw.doc || (group.find((g) => g.raw.doc)?.raw.doc ?? ""))
      .replace(/\s*\\?\s*\n\s*/g, " ")
      .trim();
    return `${unit ? `, unit: ${q(unit)}` : ""}${doc ? `, doc: ${q(doc)}` : ""}`;
  };
  const tableLine = (id: string, points: [number, number][], type: string) =>
    `  ${id}: { points: ${JSON.stringify(points)}, type: ${type} }`;
  const tableVariants = new Map<string, string>();
  /** ALLOCATE BY PRIORITY's priority level, one variable per call and element of the other subscripts. */
  const allocationLevels = new Map<string, string>();
  /** VECTOR SORT ORDER and VECTOR RANK: each sorted vector's places, one variable per element, by its elements. */
  const sortRanks = new Map<string, string[]>();

  /** A vector argument's last range, its elements, and the context that picks one of them. */
  function lastRange(v: VExpr, fn: string, ctx: Ctx) {
    const last = v.k === "ref" ? v.subs?.at(-1) : undefined;
    const D = last ? canonicalName(last.name) : "";
    const elems = dims.get(D);
    if (!elems) throw new VensimError(`${fn} takes a vector subscripted by a range, such as x[D]`, v.pos);
    const at = (el: string): Ctx => ({ ...ctx, binding: new Map(ctx.binding).set(D, el) });
    return { elems, at };
  }

  /**
   * The place (from 0) of each of the vector's values in sorted order, as variables: the values before it in
   * that order, and the equal ones before it in the range, so equal values keep their order.
   */
  function sortAlong(v: VExpr, direction: VExpr, fn: string, ctx: Ctx) {
    const { elems, at } = lastRange(v, fn, ctx);
    const values = elems.map((el) => tr(v, at(el)));
    const dir = evalConst(direction);
    const dirText = tr(direction, ctx);
    const rankIn = (ascending: boolean, j: number) => {
      const terms = values.flatMap((x, k) => {
        if (k === j) return [];
        const op = ascending ? (k < j ? "<=" : "<") : k < j ? ">=" : ">";
        return [`(if ${x} ${op} ${values[j]} then 1 else 0)`];
      });
      return terms.length ? `(${terms.join(" + ")})` : "0";
    };
    const key = JSON.stringify([values, dir ?? dirText]);
    let ranks = sortRanks.get(key);
    if (!ranks) {
      ranks = values.map((_, j) => {
        const id = fresh(`${ctx.owner}_sort_place_${j + 1}`);
        const eq =
          dir !== undefined
            ? rankIn(dir > 0, j)
            : `(if ${dirText} > 0 then ${rankIn(true, j)} else ${rankIn(false, j)})`;
        put(vars, `  ${id}: { eq: ${q(eq)} }`);
        return id;
      });
      sortRanks.set(key, ranks);
    }
    return { elems, ranks };
  }

  /** The position of the element being defined in the equation's last range, which must match the vector's. */
  function ownPosition(ctx: Ctx, elems: string[], fn: string, pos: number): number {
    const last = ctx.eq.subs?.at(-1);
    const id = last ? canonicalName(last.name) : "";
    const range = dims.get(id);
    const el = range ? ctx.binding.get(id) : id;
    let i = range && el !== undefined ? range.indexOf(el) : elems.indexOf(el ?? "");
    if (!range && i < 0)
      for (const list of dims.values())
        if (list.length === elems.length && list.includes(id)) i = list.indexOf(id);
    if (i < 0 || (range && range.length !== elems.length))
      throw new VensimError(
        `${fn} must define a vector over a range as long as its argument's last range`,
        pos,
      );
    return i;
  }

  /** The equation each entry comes from, for diagnostics the checker finds in the translated model. */
  const origins = new Map<string, { pos: number; label: string }>();
  let origin = { pos: 0, label: "" };
  const put = (section: string[], line: string) => {
    section.push(line);
    origins.set(line.slice(2, line.indexOf(":")), origin);
  };

  interface Ctx {
    binding: Map<string, string>;
    owner: string;
    eq: Equation;
    /** Inside a macro: its parameters and own variables, by id, as Brink text. */
    scope?: Map<string, string>;
    depth?: number;
    /**
     * Translating what is evaluated once, at the initial time (a stock's initial value, INITIAL): variables
     * defined by ACTIVE INITIAL stand for their initial expression there.
     */
    initial?: boolean;
    /** Inside VECTOR SELECT: the element each range marked '!' stands for, apart from the equation's own. */
    bang?: Map<string, string>;
  }

  /** The dimension whose positions number a subrange's elements: the largest one that holds them all. */
  const rootDim = (id: string): string => {
    const own = dims.get(id)!;
    let root = id;
    for (const [d, elems] of dims)
      if (elems.length > dims.get(root)!.length && own.every((e) => elems.includes(e))) root = d;
    return root;
  };

  /** The element ids of one dimension position of a reference. */
  const resolveSub = (s: VSub, ctx: Ctx): string[] => {
    const sid = canonicalName(s.name);
    if (dims.has(sid)) {
      const own = dims.get(sid)!;
      if (s.bang && ctx.bang?.has(sid)) return [ctx.bang.get(sid)!];
      if (ctx.binding.has(sid)) return [ctx.binding.get(sid)!];
      if (s.bang) return own;
      for (const [d, e] of ctx.binding) {
        if (maps.get(sid)?.has(d) || maps.get(d)?.has(sid)) {
          const k = dims.get(d)!.indexOf(e);
          if (k >= 0 && k < own.length) return [own[k]!];
        }
      }
      for (const [, e] of ctx.binding) if (own.includes(e)) return [e];
      return own;
    }
    if (allElements.has(sid)) return [sid];
    throw new VensimError(`'${s.name}' is neither a subscript range nor an element`, s.pos);
  };

  /** The flat ids a reference stands for (one unless a whole dimension is meant). */
  const refIds = (name: string, subs: VSub[] | undefined, pos: number, ctx: Ctx): string[] => {
    const id = canonicalName(name);
    const elements = defs.get(id);
    if (!elements) throw new VensimError(`'${name}' is not defined in this model`, pos);
    const arrayed = [...elements.values()].some((d) => d.tuple.length > 0);
    if (!arrayed) {
      if (subs?.length) throw new VensimError(`'${name}' has no subscripts, but is used with some`, pos);
      return [id];
    }
    let useSubs = subs;
    if (!useSubs) {
      // An unsubscripted arrayed name in an arrayed equation means the same element.
      const own = [...elements.values()][0]!;
      useSubs = own.eq.subs;
      if (!useSubs) throw new VensimError(`'${name}' is subscripted, but is used without subscripts`, pos);
    }
    const tuples = cartesian(useSubs.map((s) => resolveSub(s, ctx)));
    return tuples.map((t) => {
      if (!elements.has(t.join("__")))
        throw new VensimError(
          `${name}[${t.map((e) => elementNames.get(e) ?? e).join(",")}] is not defined`,
          pos,
        );
      return flatId(id, t);
    });
  };

  const one = (ids: string[], pos: number, what: string): string => {
    if (ids.length !== 1)
      throw new VensimError(
        `${what} stands for ${ids.length} elements where one number is expected (use SUM, PROD, VMIN or VMAX)`,
        pos,
      );
    return ids[0]!;
  };

  /** Subscript ranges marked with `!` in an expression (the dimensions a reduction runs over). */
  const bangDims = (e: VExpr, out: Set<string>): Set<string> => {
    if ((e.k === "ref" || e.k === "call") && e.subs)
      for (const s of e.subs) if (s.bang) out.add(canonicalName(s.name));
    if (e.k === "call") for (const a of e.args) bangDims(a, out);
    if (e.k === "un") bangDims(e.a, out);
    if (e.k === "bin") {
      bangDims(e.a, out);
      bangDims(e.b, out);
    }
    return out;
  };

  const constInt = (e: VExpr, what: string): number => {
    const v = evalConst(e, true);
    if (v === undefined || !Number.isFinite(v))
      throw new Unsupported(
        `${what} must be known at the initial time (Brink reads it once, as Vensim does)`,
        e.pos,
      );
    return v;
  };

  /** The element a subscript range or element name stands for, where one is used as a value. */
  const subscriptValue = (e: VExpr, ctx: Ctx): string | undefined => {
    if (e.k !== "ref" || e.subs) return undefined;
    const id = canonicalName(e.name);
    if (defs.has(id) || ctx.scope?.has(id)) return undefined;
    if (dims.has(id)) {
      const own = resolveSub({ name: e.name, bang: false, pos: e.pos }, ctx);
      return own.length === 1 ? own[0] : undefined;
    }
    return allElements.has(id) ? id : undefined;
  };

  const tr = (e: VExpr, ctx: Ctx): string => {
    switch (e.k) {
      case "num":
        return num(e.v, e.pos);
      case "list":
        throw new VensimError("a list of numbers is only allowed as a whole equation", e.pos);
      case "lookup":
        throw new VensimError("lookup points are only allowed in a lookup definition or WITH LOOKUP", e.pos);
      case "un":
        return e.op === "NOT" ? `(not ${tr(e.a, ctx)})` : e.op === "-" ? `(-${tr(e.a, ctx)})` : tr(e.a, ctx);
      case "bin": {
        // Subscripts compared as values (`dim1 = dim2`, `dimA = B`) compare the elements they stand for.
        const sa = subscriptValue(e.a, ctx);
        const sb = subscriptValue(e.b, ctx);
        // Elements of one dimension compare by name (dim3: A, C, B against dim1: A, B, C); elements of
        // unrelated dimensions by position (sec1 = secb1), as their values.
        const related =
          sa !== undefined &&
          sb !== undefined &&
          [...dims.values()].some((d) => d.includes(sa) && d.includes(sb));
        if ((e.op === "=" || e.op === "<>") && related) return (sa === sb) === (e.op === "=") ? "1" : "0";
        const ops: Record<string, string> = { "=": "==", "<>": "!=", AND: "and", OR: "or" };
        return `(${tr(e.a, ctx)} ${ops[e.op] ?? e.op} ${tr(e.b, ctx)})`;
      }
      case "ref": {
        const upper = e.name.toUpperCase();
        const id = canonicalName(e.name);
        if (ctx.scope?.has(id) && !e.subs) return ctx.scope.get(id)!;
        if (CLOCK[upper] && !e.subs && !dynamic.has(upper)) return CLOCK[upper];
        if (upper === "SAVEPER" && !e.subs && !dynamic.has(upper)) return num(saveper);
        if (!defs.has(id) && dims.has(id) && !e.subs) {
          // A subscript range as a value: the position (from 1) of the element being defined.
          const [element] = resolveSub({ name: e.name, bang: false, pos: e.pos }, ctx);
          if (
            ctx.binding.size === 0 ||
            resolveSub({ name: e.name, bang: false, pos: e.pos }, ctx).length !== 1
          )
            throw new VensimError(
              `'${e.name}' is a subscript range; as a value it needs an equation over it`,
              e.pos,
            );
          return String(dims.get(rootDim(id))!.indexOf(element!) + 1);
        }
        if (!defs.has(id) && allElements.has(id) && !e.subs) {
          // An element as a value: its position (from 1) in the dimension that holds it.
          const home = [...dims.keys()].find((d) => dims.get(d)!.includes(id))!;
          return String(dims.get(rootDim(home))!.indexOf(id) + 1);
        }
        if (lookups.has(id))
          throw new VensimError(`'${e.name}' is a lookup: call it with an input, ${e.name}(x)`, e.pos);
        if (ctx.initial) {
          // ACTIVE INITIAL's initial expression, where the initial value is asked for.
          const flat = one(refIds(e.name, e.subs, e.pos, ctx), e.pos, `'${e.name}'`);
          for (const d of defs.get(id)?.values() ?? [])
            if (
              flatId(id, d.tuple) === flat &&
              d.eq.rhs?.k === "call" &&
              normName(d.eq.rhs.fn).toUpperCase() === "ACTIVE INITIAL" &&
              d.eq.rhs.args.length === 2
            )
              return tr(d.eq.rhs.args[1]!, { ...ctx, binding: d.binding, eq: d.eq, owner: flat });
          return flat;
        }
        return one(refIds(e.name, e.subs, e.pos, ctx), e.pos, `'${e.name}'`);
      }
      case "call":
        return call(e, ctx);
    }
  };

  const call = (e: Extract<VExpr, { k: "call" }>, ctx: Ctx): string => {
    const fn = normName(e.fn).toUpperCase();
    const id = canonicalName(e.fn);
    const args = e.args;
    const need = (n: number | number[]) => {
      const ok = Array.isArray(n) ? n.includes(args.length) : args.length === n;
      if (!ok)
        throw new VensimError(
          `${fn} takes ${Array.isArray(n) ? n.join(" or ") : n} argument${n === 1 ? "" : "s"}, but has ${args.length}`,
          e.pos,
        );
    };
    const a = (k: number) => tr(args[k]!, ctx);
    const macro = macros.get(id);
    if (macro && !e.subs) {
      need(macro.params.length);
      if ((ctx.depth ?? 0) > 20)
        throw new VensimError("macros call each other too deeply (a macro calls itself?)", e.pos);
      // Each call gets its own copy of the macro's variables, named after the caller; macros that call each other
      // twice over grow exponentially, so the copies count towards the model's variables.
      expanded += macro.equations.length;
      if (expanded > MAX_ELEMENTS)
        throw new VensimError(
          `macro calls expand the model to more than the ${MAX_ELEMENTS} variables Brink expands arrays and macros into`,
          e.pos,
        );
      const prefix = fresh(`${ctx.owner}_${macro.id}`);
      const scope = new Map(macro.params.map((p, k) => [p, `(${a(k)})`]));
      for (const m of macro.equations) if (m.id !== macro.id) scope.set(m.id, fresh(`${prefix}_${m.id}`));
      scope.set(macro.id, prefix);
      if (!macro.equations.some((m) => m.id === macro.id))
        throw new VensimError(
          `the macro ${macro.name} has no equation named ${macro.name} (its output)`,
          macro.pos,
        );
      for (const m of macro.equations) {
        const own = scope.get(m.id)!;
        emit(own, m, { binding: new Map(), owner: own, eq: m, scope, depth: (ctx.depth ?? 0) + 1 }, false);
      }
      return prefix;
    }
    if (lookups.has(id) && !SAME[fn]) {
      need(1);
      return `${one(refIds(e.fn, e.subs, e.pos, ctx), e.pos, `'${e.fn}'`)}(${a(0)})`;
    }
    if (e.subs) throw new VensimError(`'${e.fn}' is not a lookup, but is called with subscripts`, e.pos);
    const same = SAME[fn];
    if (same) {
      need(same[1]);
      // Vensim's RANDOM UNIFORM(min, max, seed): Brink's streams are seeded per run, so the seed is not used.
      const used = fn === "RANDOM UNIFORM" ? args.slice(0, 2) : args;
      return `${same[0]}(${used.map((x) => tr(x, ctx)).join(", ")})`;
    }
    switch (fn) {
      case "ACTIVE INITIAL":
        need(2);
        return ctx.initial ? a(1) : a(0);
      case "INITIAL":
        need(1);
        return `init(${tr(args[0]!, { ...ctx, initial: true })})`;
      case "SMOOTH":
      case "SMOOTH3":
      case "DELAY1":
      case "DELAY3": {
        // Without an initial value these start from their input's initial value: say it where it differs (an
        // ACTIVE INITIAL in the input), so that the initial values have no cycle.
        need(2);
        const brink = { SMOOTH: "smth1", SMOOTH3: "smth3", DELAY1: "delay1", DELAY3: "delay3" }[fn];
        const start = tr(args[0]!, { ...ctx, initial: true });
        return `${brink}(${a(0)}, ${a(1)}${start === a(0) ? "" : `, ${start}`})`;
      }
      case "IF THEN ELSE":
        need(3);
        return `(if ${a(0)} then ${a(1)} else ${a(2)})`;
      case "MIN":
      case "MAX":
        need(2);
        return `${fn.toLowerCase()}(${a(0)}, ${a(1)})`;
      case "MODULO":
        need(2);
        // Vensim's MODULO keeps the sign of the dividend, as % does.
        return `(${a(0)} % ${a(1)})`;
      case "QUANTUM":
        need(2);
        return `(if ${a(1)} <= 0 then ${a(0)} else ${a(1)} * trunc(${a(0)} / ${a(1)}))`;
      case "POWER":
        need(2);
        return `(${a(0)} ^ ${a(1)})`;
      case "LOG":
        need(2);
        return `(ln(${a(0)}) / ln(${a(1)}))`;
      case "PULSE": {
        need(2);
        // 1 from start for width (at least one step), else 0; a constant width is written as it is, so that no
        // unit check sees a number against the clock's unit.
        const width = evalConst(args[1]!);
        const end = width === undefined ? `max(${a(1)}, dt)` : width > 0 ? a(1) : "dt";
        return `(step(1, ${a(0)}) - step(1, ${a(0)} + ${end}))`;
      }
      case "PULSE TRAIN": {
        need(4);
        const [s, w, every, end] = [a(0), a(1), a(2), a(3)];
        const since = `(time - ${s})`;
        const once = `(step(1, ${s}) - step(1, ${s} + ${w}))`;
        const repeated = `(if (${since} - ${every} * floor((${since} + dt / 1000) / ${every})) < ${w} - dt / 1000 then 1 else 0)`;
        // An interval of 0 is one pulse.
        const interval = evalConst(args[2]!);
        const body =
          interval === undefined
            ? `(if ${every} > 0 then ${repeated} else ${once})`
            : interval > 0
              ? repeated
              : once;
        return `(if time >= ${s} and time <= ${end} then ${body} else 0)`;
      }
      case "DELAY N": {
        need(4);
        let n = Math.round(constInt(args[3]!, "DELAY N's order"));
        if (n < 1) throw new VensimError("DELAY N's order must be at least 1", args[3]!.pos);
        // As Vensim does, an order whose stages would be shorter than a step is lowered (delay_pipeline).
        const delay0 = evalConst(args[1]!, true);
        if (delay0 !== undefined && delay0 > 0) n = Math.max(1, Math.min(n, Math.floor(delay0 / dt + 1e-9)));
        if (evalConst(args[1]!) !== undefined) return `delayn(${a(0)}, ${a(1)}, ${n}, ${a(2)})`;
        return delayNChain(
          a(0),
          a(1),
          tr(args[2]!, { ...ctx, initial: true }),
          tr(args[1]!, { ...ctx, initial: true }),
          n,
          ctx.owner,
        );
      }
      case "SMOOTH N": {
        need(4);
        const n = Math.round(constInt(args[3]!, "SMOOTH N's order"));
        if (n < 1) throw new VensimError("SMOOTH N's order must be at least 1", args[3]!.pos);
        return `smthn(${a(0)}, ${a(1)}, ${n}, ${a(2)})`;
      }
      case "DELAY FIXED": {
        need(3);
        const delay = constInt(args[1]!, "DELAY FIXED's delay time");
        // A value cannot come from the future: a negative delay time is a mistake in the model, not a zero delay.
        if (delay < 0)
          throw new VensimError(
            `DELAY FIXED's delay time is ${delay}; a delay time cannot be negative`,
            args[1]!.pos,
          );
        // A delay between steps is rounded up to the next step (delay_pipeline); Brink's delay rounds to the nearest,
        // so it is given the whole steps.
        const steps = Math.ceil(delay / dt - 1e-9);
        if (steps <= 0) return a(0);
        return `delay(${a(0)}, ${steps} * dt, ${a(2)})`;
      }
      case "TREND":
        need(3);
        return `trend(${a(0)}, ${a(1)}, ${a(2)})`;
      case "FORECAST":
        need(3);
        return `forcst(${a(0)}, ${a(1)}, ${a(2)})`;
      case "SAMPLE IF TRUE": {
        need(3);
        return `(if ${a(0)} then ${a(1)} else previous(${ctx.owner}, ${a(2)}))`;
      }
      case "RANDOM NORMAL":
        need(5);
        // Brink clamps the draw to [min, max]; Vensim truncates the distribution there.
        return `clamp(normal(${a(2)}, ${a(3)}), ${a(0)}, ${a(1)})`;
      case "RANDOM EXPONENTIAL":
        need(5);
        return `clamp(${a(2)} + ${a(3)} * exponential(1), ${a(0)}, ${a(1)})`;
      case "RANDOM 0 1":
        need(0);
        return "uniform(0, 1)";
      case "GET TIME VALUE": {
        // GET TIME VALUE(relative to, offset, measure): the simulation's time (0) or initial time (1) plus the
        // offset, as a time (measure 0). Calendar measures need Vensim's time base; the computer's clock (2) would
        // make runs differ from one day to the next.
        need(3);
        const relativeTo = evalConst(args[0]!);
        const measure = evalConst(args[2]!);
        if ((relativeTo !== 0 && relativeTo !== 1) || measure !== 0)
          throw new Unsupported(
            "GET TIME VALUE is supported relative to the simulation's time (0) or initial time (1) with measure 0 (the time itself); calendar measures and the computer's clock are not supported",
            e.pos,
          );
        return `(${relativeTo === 0 ? "time" : "starttime"} + ${a(1)})`;
      }
      case "ELMCOUNT": {
        need(1);
        const d = args[0]!;
        const did = d.k === "ref" ? canonicalName(d.name) : "";
        if (!dims.has(did)) throw new VensimError("ELMCOUNT takes a subscript range", d.pos);
        return String(dims.get(did)!.length);
      }
      case "SUM":
      case "PROD":
      case "VMIN":
      case "VMAX": {
        need(1);
        const over = [...bangDims(args[0]!, new Set())].filter((d) => !ctx.binding.has(d));
        if (over.length === 0)
          throw new VensimError(`${fn} needs a subscript range marked with '!', such as x[Dim!]`, e.pos);
        for (const d of over)
          if (!dims.has(d)) throw new VensimError(`'${d}' is not a subscript range`, e.pos);
        const terms = cartesian(over.map((d) => dims.get(d)!)).map((t) => {
          const binding = new Map(ctx.binding);
          over.forEach((d, p) => binding.set(d, t[p]!));
          return tr(args[0]!, { ...ctx, binding });
        });
        if (terms.length === 1) return terms[0]!;
        if (fn === "SUM") return `(${terms.join(" + ")})`;
        if (fn === "PROD") return `(${terms.join(" * ")})`;
        return `${fn === "VMIN" ? "min" : "max"}(${terms.join(", ")})`;
      }
      case "GAME":
        // Outside Vensim's gaming mode GAME(x) is x (Brink's war room plays models its own way).
        need(1);
        return a(0);
      case "VECTOR SELECT": {
        // Written out over the elements, as SUM is: each term pairs the selection with the expression at the same
        // elements of the ranges marked '!' in either (ranges of different names make every pair).
        need(5);
        // A range marked '!' runs over all its elements even where the equation is over it too.
        const over = [...bangDims(args[1]!, bangDims(args[0]!, new Set()))];
        if (over.length === 0)
          throw new VensimError(
            "VECTOR SELECT needs subscript ranges marked with '!', such as x[Dim!]",
            e.pos,
          );
        for (const d of over)
          if (!dims.has(d)) throw new VensimError(`'${d}' is not a subscript range`, e.pos);
        const errorAction = evalConst(args[4]!);
        if (errorAction !== 0)
          throw new Unsupported(
            "VECTOR SELECT's error action must be 0 (Vensim's other error actions stop the run)",
            args[4]!.pos,
          );
        const pairs = cartesian(over.map((d) => dims.get(d)!)).map((t) => {
          const bang = new Map(ctx.bang);
          over.forEach((d, p) => bang.set(d, t[p]!));
          const at = { ...ctx, bang };
          return { sel: tr(args[0]!, at), x: tr(args[1]!, at) };
        });
        const picked = (v: (p: { sel: string; x: string }) => string, none: string) =>
          pairs.map((p) => `(if ${p.sel} != 0 then ${v(p)} else ${none})`);
        const count = `(${picked(() => "1", "0").join(" + ")})`;
        // Vensim's numerical actions: 0–4 sum, product, minimum, maximum and mean of selection × expression;
        // 5 the product of expression ^ selection; 6–10 as 0–4 of the expression where the selection is not 0.
        // Minimum and maximum skip the unselected through a bound no selected value reaches (1e300).
        const ofAction = (k: number): string => {
          const v =
            k <= 4 ? (p: { sel: string; x: string }) => `${p.sel} * ${p.x}` : (p: { x: string }) => p.x;
          switch (k === 5 ? 5 : k <= 4 ? k : k - 6) {
            case 0:
              return `(${picked(v, "0").join(" + ")})`;
            case 1:
              return `(${picked(v, "1").join(" * ")})`;
            case 2:
              return `min(${picked(v, "1e300").join(", ")})`;
            case 3:
              return `max(${picked(v, "-1e300").join(", ")})`;
            case 4:
              return `((${picked(v, "0").join(" + ")}) / ${count})`;
            default:
              return `(${picked((p) => `${p.x} ^ ${p.sel}`, "1").join(" * ")})`;
          }
        };
        const action = evalConst(args[3]!);
        let body: string;
        if (action !== undefined) {
          if (!Number.isInteger(action) || action < 0 || action > 10)
            throw new VensimError(
              "VECTOR SELECT's numerical action must be a whole number from 0 to 10",
              args[3]!.pos,
            );
          body = ofAction(action);
        } else {
          body = "0";
          for (let k = 10; k >= 0; k--) body = `(if ${a(3)} == ${k} then ${ofAction(k)} else ${body})`;
        }
        return `(if ${count} == 0 then ${a(2)} else ${body})`;
      }
      case "VECTOR SORT ORDER":
      case "VECTOR RANK": {
        // Both sort the vector along its last range D (ascending where direction > 0, else descending, as PySD
        // and SDEverywhere read it; equal values keep their order in D). SORT ORDER gives, at position i of the
        // equation's last range, the position (from 0) in D of the i-th value in sorted order; RANK gives, at
        // position j, the place (from 1) of D's j-th value in that order.
        need(2);
        const sorted = sortAlong(args[0]!, args[1]!, fn, ctx);
        const i = ownPosition(ctx, sorted.elems, fn, e.pos);
        if (fn === "VECTOR RANK") return `(${sorted.ranks[i]} + 1)`;
        return `(${sorted.ranks.map((r, j) => `(if ${r} == ${i} then ${j} else 0)`).join(" + ")})`;
      }
      case "VECTOR REORDER": {
        // VECTOR REORDER(vector[…, D], order[…]): the element of vector along its last range D at the position
        // (from 0) order gives here; a position outside D is NaN, so the run stops there.
        need(2);
        const { elems, at } = lastRange(args[0]!, fn, ctx);
        const order = a(1);
        let body = "(0 / 0)";
        for (let j = elems.length - 1; j >= 0; j--)
          body = `(if ${order} == ${j} then ${tr(args[0]!, at(elems[j]!))} else ${body})`;
        return body;
      }
      case "ALLOCATE BY PRIORITY": {
        // ALLOCATE BY PRIORITY(request[D], priority[D], size, width, supply) shares supply among the elements of
        // request's last range D: element e gets request_e · clamp((priority_e − x) / width, 0, 1), the priority
        // level x chosen so that the shares add up to the supply (Vensim's rectangular priority profile; everyone's
        // request when the supply covers them all). The shares fall piecewise-linearly in x, bending only at
        // priority_e and priority_e − width, so x is found exactly at import, written out over the elements: the
        // bends whose total is just above and just below the supply, and the straight line between them.
        need(5);
        const req = args[0]!;
        const last = req.k === "ref" ? req.subs?.at(-1) : undefined;
        const D = last ? canonicalName(last.name) : "";
        const own = ctx.binding.get(D);
        const elems = dims.get(D);
        if (!elems || own === undefined)
          throw new VensimError(
            "ALLOCATE BY PRIORITY's request must be subscripted by a range the equation is over, such as r[D]",
            req.pos,
          );
        const at = (el: string) => ({ ...ctx, binding: new Map(ctx.binding).set(D, el) });
        const width = a(3);
        const supply = a(4);
        const share = (el: string, level: string) => {
          const r = tr(args[0]!, at(el));
          return `${r} * clamp((${tr(args[1]!, at(el))} - ${level}) / ${width}, 0, 1)`;
        };
        const total = `(${elems.map((el) => tr(args[0]!, at(el))).join(" + ")})`;
        const others = [...ctx.binding].filter(([d]) => d !== D).map(([d, el]) => `${d}=${el}`);
        const key = `${e.pos}/${others.join(",")}`;
        if (!allocationLevels.has(key)) {
          const base = fresh(`${ctx.owner}_priority_level`);
          allocationLevels.set(key, base);
          const sum = (level: string) => `(${elems.map((el) => share(el, level)).join(" + ")})`;
          const bends = elems.flatMap((el) => {
            const p = tr(args[1]!, at(el));
            return [p, `(${p} - ${width})`];
          });
          const totals = bends.map((b, k) => {
            const id = fresh(`${base}_bend_${k + 1}`);
            put(vars, `  ${id}: { eq: ${q(sum(b))} }`);
            return id;
          });
          const lo = fresh(`${base}_low`);
          const hi = fresh(`${base}_high`);
          put(
            vars,
            `  ${lo}: { eq: ${q(`max(${bends.map((b, k) => `(if ${totals[k]} >= ${supply} then ${b} else -1e300)`).join(", ")})`)} }`,
          );
          put(
            vars,
            `  ${hi}: { eq: ${q(`min(${bends.map((b, k) => `(if ${totals[k]} <= ${supply} then ${b} else 1e300)`).join(", ")})`)} }`,
          );
          const [sLo, sHi] = [sum(lo), sum(hi)];
          put(
            vars,
            `  ${base}: { eq: ${q(`(if ${sLo} - ${sHi} > 0 then ${lo} + (${sLo} - ${supply}) / (${sLo} - ${sHi}) * (${hi} - ${lo}) else ${lo})`)} }`,
          );
        }
        const level = allocationLevels.get(key)!;
        return `(if ${supply} >= ${total} then ${a(0)} else if ${supply} <= 0 then 0 else ${share(own, level)})`;
      }
      case "GET DIRECT CONSTANTS":
      case "GET XLS CONSTANTS": {
        const at = positionsIn(ctx.eq, ctx.binding);
        return num(
          fromSheet(e, 3, (grid, [, , cell]) => constantAt(grid, cell!, at)),
          e.pos,
        );
      }
      case "ALLOCATE AVAILABLE": {
        // ALLOCATE AVAILABLE(request[D], pp[D, ptype], avail) shares avail among the elements of request's last
        // range D by their priority profiles: pp's last subscript names the first of four elements in a row
        // (profile, priority, width, extra). Brink's `allocate` solves for the priority level each step.
        need(3);
        const [req, pp] = [args[0]!, args[1]!];
        const last = req.k === "ref" ? req.subs?.at(-1) : undefined;
        const D = last ? canonicalName(last.name) : "";
        const elems = dims.get(D);
        const own = ctx.binding.get(D);
        if (!elems || own === undefined)
          throw new VensimError(
            "ALLOCATE AVAILABLE's request must be subscripted by a range the equation is over, such as r[D]",
            req.pos,
          );
        const first = pp.k === "ref" ? pp.subs?.at(-1) : undefined;
        const firstId = first ? canonicalName(first.name) : "";
        // The profile's four elements: the named one and the three after it, in the largest range that holds them.
        const row = [...dims.values()]
          .filter((list) => list.indexOf(firstId) >= 0 && list.indexOf(firstId) + 4 <= list.length)
          .sort((x, y) => y.length - x.length)[0];
        if (pp.k !== "ref" || !first || !row)
          throw new VensimError(
            "ALLOCATE AVAILABLE's priority profile must be subscripted by the first of its four elements, such as pp[D, ptype]",
            pp.pos,
          );
        const start = row.indexOf(firstId);
        const at = (el: string) => ({ ...ctx, binding: new Map(ctx.binding).set(D, el) });
        const field = (el: string, m: number) =>
          tr({ ...pp, subs: [...pp.subs!.slice(0, -1), { ...first, name: row[start + m]! }] }, at(el));
        const requesters = elems.map((el) =>
          [tr(req, at(el)), field(el, 0), field(el, 1), field(el, 2)].join(", "),
        );
        return `allocate(${elems.indexOf(own) + 1}, ${a(2)}, ${requesters.join(", ")})`;
      }
      case "INVERT MATRIX": {
        // The element of the inverse at the element being defined: its cofactor over the determinant, written out
        // (the matrix's last two subscripts are its rows and columns).
        need(2);
        const m = args[0]!;
        const subs = m.k === "ref" ? m.subs : undefined;
        if (!subs || subs.length < 2)
          throw new VensimError("INVERT MATRIX takes a matrix, such as m[Row, Column]", m.pos);
        const [rowDim, colDim] = subs.slice(-2).map((s) => canonicalName(s.name)) as [string, string];
        const rows = dims.get(rowDim);
        const cols = dims.get(colDim);
        const i = rows?.indexOf(ctx.binding.get(rowDim) ?? "") ?? -1;
        const j = cols?.indexOf(ctx.binding.get(colDim) ?? "") ?? -1;
        if (!rows || !cols || i < 0 || j < 0)
          throw new VensimError("INVERT MATRIX must be the equation of a matrix over the same ranges", m.pos);
        const n = rows.length;
        if (cols.length !== n) throw new VensimError("INVERT MATRIX takes a square matrix", m.pos);
        if (n > 4) throw new Unsupported("INVERT MATRIX of more than 4 rows is not supported yet", e.pos);
        const entry = (r: number, c: number) => {
          const binding = new Map(ctx.binding);
          binding.set(rowDim, rows[r]!);
          binding.set(colDim, cols[c]!);
          return tr(m, { ...ctx, binding });
        };
        const det = (rs: number[], cs: number[]): string => {
          if (rs.length === 1) return entry(rs[0]!, cs[0]!);
          const terms = cs.map((c, k) => {
            const minor = det(
              rs.slice(1),
              cs.filter((x) => x !== c),
            );
            return `${k === 0 ? "" : k % 2 === 0 ? " + " : " - "}${entry(rs[0]!, c)} * ${minor}`;
          });
          return `(${terms.join("")})`;
        };
        const all = [...Array(n).keys()];
        // inverse[i][j] = (-1)^(i+j) · minor(j, i) / det.
        const minor =
          n === 1
            ? "1"
            : det(
                all.filter((r) => r !== j),
                all.filter((c) => c !== i),
              );
        return `(${(i + j) % 2 === 0 ? "" : "-"}${minor} / ${det(all, all)})`;
      }
      case "WITH LOOKUP": {
        const pts = args[1];
        if (pts?.k !== "lookup") throw new VensimError("WITH LOOKUP takes an input and lookup points", e.pos);
        const table = fresh(`${ctx.owner}_lookup`);
        put(tables, tableLine(table, pts.points, "continuous"));
        return `${table}(${a(0)})`;
      }
      case "LOOKUP EXTRAPOLATE":
      case "LOOKUP BACKWARD": {
        need(2);
        const t = args[0]!;
        if (t.k !== "ref" || !lookups.has(canonicalName(t.name)))
          throw new VensimError(`${fn}'s first argument must be a lookup`, t.pos);
        const base = one(refIds(t.name, t.subs, t.pos, ctx), t.pos, `'${t.name}'`);
        const type = fn === "LOOKUP EXTRAPOLATE" ? "extrapolate" : "discrete";
        const key = `${base}/${type}`;
        if (!tableVariants.has(key)) tableVariants.set(key, fresh(`${base}_${type}`));
        return `${tableVariants.get(key)!}(${a(1)})`;
      }
      case "INTEG":
        throw new VensimError("INTEG must be the whole equation of a stock", e.pos);
    }
    if (UNSUPPORTED[fn]) throw new Unsupported(UNSUPPORTED[fn]!, e.pos);
    if (defs.has(id)) throw new VensimError(`'${e.fn}' is a variable, not a lookup or function`, e.pos);
    throw new Unsupported(`the function ${fn} is not supported yet`, e.pos);
  };

  /** The quoted texts of a GET DIRECT / GET XLS call ('file', 'tab', 'B2', …). */
  const quotedArgs = (e: Extract<VExpr, { k: "call" }>, n: number): string[] => {
    const fn = normName(e.fn).toUpperCase();
    if (e.args.length !== n)
      throw new VensimError(`${fn} takes ${n} arguments, but has ${e.args.length}`, e.pos);
    return e.args.map((x) => {
      if (x.k !== "ref" || !/^'.*'$/s.test(x.name))
        throw new VensimError(`${fn} takes quoted texts, such as 'inputs.csv' or 'B2'`, x.pos);
      return x.name.slice(1, -1).replace(/\\t/g, "\t");
    });
  };
  const sheetCache = new Map<string, Grid>();
  /** A GET DIRECT / GET XLS call's cells, read through the options' reader; layout problems told at the call. */
  const fromSheet = <T>(
    e: Extract<VExpr, { k: "call" }>,
    n: number,
    read: (grid: Grid, args: string[]) => T,
  ): T => {
    const fn = normName(e.fn).toUpperCase();
    const args = quotedArgs(e, n);
    const [file, tab] = args as [string, string];
    const key = `${file}\u0000${tab}`;
    const outside = outsideModelFolder(file);
    if (outside)
      throw new VensimError(
        `${fn} names '${file}', ${outside}: a model may read only files in its own folder or below it`,
        e.args[0]!.pos,
      );
    if (!sheetCache.has(key)) {
      if (!options.sheets)
        throw new Unsupported(
          `${fn} reads the file ${file}; files named by a model are not supported here`,
          e.pos,
        );
      try {
        sheetCache.set(key, options.sheets(file, tab));
      } catch (err) {
        throw new VensimError(`${fn} cannot read ${file}: ${(err as Error).message}`, e.pos);
      }
    }
    try {
      return read(sheetCache.get(key)!, args);
    } catch (err) {
      if (err instanceof SheetError)
        throw new VensimError(`${fn}('${file}', '${tab}'): ${err.message}`, e.pos);
      throw err;
    }
  };
  /** Where the element being defined sits along each range of its equation that has more than one element. */
  const positionsIn = (eq: Equation, binding: Map<string, string>): number[] =>
    (eq.subs ?? []).flatMap((sub) => {
      const list = subscriptOf(sub);
      if (list.length < 2) return [];
      const sid = canonicalName(sub.name);
      return [list.indexOf(binding.get(sid) ?? sid)];
    });
  /** The one element index of a GET … DATA or LOOKUPS reading (series are laid out along one range). */
  const seriesElement = (eq: Equation, binding: Map<string, string>, pos: number): number => {
    const at = positionsIn(eq, binding);
    if (at.length > 1)
      throw new Unsupported("series read over two or more subscript ranges are not supported", pos);
    return at[0] ?? 0;
  };

  /**
   * Vensim's DELAY N of a delay time that changes: "its output depends only on the values delay time had in
   * previous time steps" (Vensim's documentation). Each of the n stages keeps the delay time of the step at which
   * it was passed on: stage i drains at its content over the delay time of i steps ago (n / that, per unit of
   * content, as stage contents are stored multiplied by the delay time), and the output divides the last stage by
   * the delay time of one step ago. This reproduces the suite's `delays` (an order and a delay time that change);
   * with a constant delay time it is Brink's `delayn`, which is used then.
   */
  function delayNChain(
    input: string,
    delay: string,
    initial: string,
    initialDelay: string,
    n: number,
    owner: string,
  ): string {
    const base = fresh(`${owner}_delay_n`);
    const times = Array.from({ length: n + 1 }, (_, i) => fresh(`${base}_time_${i}`));
    times.forEach((t, i) =>
      put(vars, `  ${t}: { eq: ${q(i === 0 ? delay : `previous(${times[i - 1]}, ${times[0]})`)} }`),
    );
    const stages = Array.from({ length: n }, (_, i) => fresh(`${base}_stage_${i + 1}`));
    stages.forEach((stage, i) => {
      const inflow = i === 0 ? `(${input})` : `${stages[i - 1]} / ${times[i - 1]}`;
      const flow = fresh(`${stage}_net_flow`);
      put(flows, `  ${flow}: ${q(`${n} * (${inflow} - ${stage} / ${times[i]})`)}`);
      put(
        stocks,
        `  ${stage}: { init: ${q(`(${initial}) * (${initialDelay})`)}, inflows: [${flow}], outflows: [] }`,
      );
    });
    return `(${stages[n - 1]} / ${times[1]})`;
  }

  /** One scalar entry: a stock (INTEG, with one net flow) or a var. */
  /** Variables that are some stock's inflow or outflow (written in `flows:` instead of `vars:`). */
  const flowIds = new Set<string>();
  /** The terms of a rate that is a sum and difference of plain variables, each once; else undefined. */
  function flowTerms(e: VExpr, ctx: Ctx): { id: string; sign: number }[] | undefined {
    const terms: { id: string; sign: number }[] = [];
    const walk = (x: VExpr, sign: number): boolean => {
      if (x.k === "bin" && (x.op === "+" || x.op === "-"))
        return walk(x.a, sign) && walk(x.b, x.op === "-" ? -sign : sign);
      if (x.k === "un" && x.op === "-") return walk(x.a, -sign);
      if (x.k !== "ref") return false;
      const id = canonicalName(x.name);
      const eqs = byId.get(id);
      // Plain variables only: not stocks, lookups, the clock or subscript ranges.
      if (!eqs || lookups.has(id) || eqs.some((q) => q.kind !== "eq" || isInteg(q.rhs))) return false;
      let flat: string;
      try {
        const ids = refIds(x.name, x.subs, x.pos, ctx);
        if (ids.length !== 1) return false;
        flat = ids[0]!;
      } catch {
        return false;
      }
      if (terms.some((t) => t.id === flat)) return false;
      terms.push({ id: flat, sign });
      return true;
    };
    return walk(e, 1) && terms.length > 0 ? terms : undefined;
  }

  function emit(flat: string, eq: Equation, ctx: Ctx, track: boolean): void {
    const rhs = eq.rhs!;
    if (track) tracked.push(flat);
    if (rhs.k === "call" && normName(rhs.fn).toUpperCase() === "INTEG") {
      if (rhs.args.length !== 2)
        throw new VensimError(
          `INTEG takes 2 arguments (rate, initial value), but has ${rhs.args.length}`,
          rhs.pos,
        );
      const init = tr(rhs.args[1]!, { ...ctx, initial: true });
      // `INTEG(in1 + in2 - out, …)` over plain variables: those variables become the stock's flows, as they are
      // in Vensim's diagram; any other rate becomes one net flow.
      const named = ctx.scope ? undefined : flowTerms(rhs.args[0]!, ctx);
      if (named) {
        for (const t of named) flowIds.add(t.id);
        const list = (sign: number) =>
          named
            .filter((t) => t.sign === sign)
            .map((t) => t.id)
            .join(", ");
        put(
          stocks,
          `  ${flat}: { init: ${q(init)}, inflows: [${list(1)}], outflows: [${list(-1)}]${meta(eq)} }`,
        );
        return;
      }
      const flow = fresh(`${flat}_net_flow`);
      put(flows, `  ${flow}: ${q(tr(rhs.args[0]!, ctx))}`);
      put(stocks, `  ${flat}: { init: ${q(init)}, inflows: [${flow}], outflows: []${meta(eq)} }`);
      return;
    }
    if (rhs.k === "lookup" || rhs.k === "list")
      throw new VensimError("lookups and lists of numbers are not allowed here", rhs.pos);
    put(vars, `  ${flat}: { eq: ${q(tr(rhs, ctx))}${meta(eq)} }`);
  }

  const lookupPoints = new Map<string, [number, number][]>();
  for (const [id, elements] of defs) {
    const arrayed = [...elements.values()].some((d) => d.tuple.length > 0);
    for (const d of elements.values()) {
      const { eq } = d;
      const flat = flatId(id, d.tuple);
      const label = d.tuple.length
        ? `${eq.name}[${d.tuple.map((e) => elementNames.get(e) ?? e).join(",")}]`
        : eq.name;
      const ctx: Ctx = { binding: d.binding, owner: flat, eq };
      origin = { pos: eq.pos, label };
      try {
        if (eq.kind === "data") {
          const key = dataKey(
            eq.name,
            d.tuple.map((e) => elementNames.get(e) ?? e),
          );
          const get = eq.rhs?.k === "call" ? eq.rhs : undefined;
          const points = get
            ? fromSheet(get, 4, (grid, [, , time, cell]) =>
                seriesAt(grid, time!, cell!, seriesElement(eq, d.binding, get.pos)),
              )
            : options.data?.get(key);
          if (!points)
            throw new Unsupported(
              `'${label}' is a data variable; its values come from a data file, and no data file given holds it (give one with --data FILE)`,
              eq.pos,
            );
          const table = fresh(`${flat}_data`);
          // :LOOK FORWARD: holds each value back to just after the time before it: a held (discrete) table whose
          // steps come a hair (a billionth of the interval) after the earlier time.
          const forward = eq.dataType === "forward";
          const held: [number, number][] = forward
            ? points.map(([t, v], k) => {
                const before = points[k - 1]?.[0];
                return [before === undefined ? t : before + (t - before) * 1e-9, v];
              })
            : points;
          put(tables, tableLine(table, held, forward ? "discrete" : (eq.dataType ?? "continuous")));
          names.set(flat, label);
          tracked.push(flat);
          put(vars, `  ${flat}: { eq: ${q(`${table}(time)`)}${meta(eq)} }`);
          continue;
        }
        const rhs = eq.rhs!;
        if (rhs.k === "call" && /^GET (DIRECT|XLS) LOOKUPS$/.test(normName(rhs.fn).toUpperCase())) {
          const points = fromSheet(rhs, 4, (grid, [, , x, cell]) =>
            seriesAt(grid, x!, cell!, seriesElement(eq, d.binding, rhs.pos)),
          );
          lookupPoints.set(flat, points);
          put(tables, tableLine(flat, points, "continuous"));
          continue;
        }
        if (eq.kind === "lookup") {
          if (rhs.k !== "lookup") {
            tr(rhs, ctx);
            throw new VensimError("expected lookup points", eq.pos);
          }
          lookupPoints.set(flat, rhs.points);
          put(tables, tableLine(flat, rhs.points, "continuous"));
          continue;
        }
        names.set(flat, label);
        if (rhs.k === "list") {
          tracked.push(flat);
          const count = [...elements.values()].filter((x) => x.eq === eq).length;
          if (rhs.values.length !== count)
            throw new VensimError(`${rhs.values.length} numbers for ${count} elements`, rhs.pos);
          put(vars, `  ${flat}: { eq: ${q(num(rhs.values[d.index]!, rhs.pos))}${meta(eq)} }`);
          continue;
        }
        emit(flat, eq, ctx, true);
      } catch (e) {
        if (!(e instanceof VensimError)) throw e;
        problems.push(at(e.offset, `in '${label}': ${e.message}`));
        // One diagnostic for an apply-to-all equation, not one per element.
        if (arrayed) break;
      }
    }
  }
  for (const [key, variant] of tableVariants) {
    const [base, type] = key.split("/") as [string, string];
    put(tables, tableLine(variant, lookupPoints.get(base) ?? [], type));
  }
  if (problems.length) throw new DiagnosticError(firstOf(problems));

  const unitText = cleanUnit(
    controls.get("TIME STEP")?.raw.units || controls.get("FINAL TIME")?.raw.units || "",
  );
  const calendar = /^(second|minute|hour|day|week|month|year)s?$/i.exec(unitText);
  const timeUnit = calendar
    ? `, unit: ${calendar[1]!.toLowerCase()}`
    : /^[A-Za-z][A-Za-z0-9_]*$/.test(unitText)
      ? `, unit: ${q(unitText)}`
      : "";
  const controlVar = (name: string) => flatId(controls.get(name)!.id, []);
  // The model with FINAL TIME as the clock's stop, or as a `when` outcome (see above).
  const assemble = (stopByClock: boolean): string[] => {
    const clockParts = [
      ...(dynamic.has("TIME STEP") ? [`dt: ${controlVar("TIME STEP")}`] : []),
      // Without SAVEPER, Vensim saves every TIME STEP after the start (PySD's rule), not at every step taken.
      ...(dynamic.has("SAVEPER")
        ? [`save: ${controlVar("SAVEPER")}`]
        : dynamic.has("TIME STEP")
          ? [`save: ${controlVar("TIME STEP")}`]
          : []),
      ...(stopByClock ? [`stop: ${controlVar("FINAL TIME")}`] : []),
    ];
    const save = saveper !== dt && !dynamic.has("SAVEPER") ? `, save: ${saveper}` : "";
    const clockText = clockParts.length ? `, clock: { ${clockParts.join(", ")} }` : "";
    const lines = [
      "brink: 1",
      `name: ${q(file.replace(/^.*[\\/]/, "").replace(/\.mdl$/i, ""))}`,
      "method: euler",
      `time: { start: ${start}, stop: ${stop}, dt: ${dt}${save}${timeUnit}${clockText} }`,
    ];
    if (stocks.length) lines.push("stocks:", ...stocks);
    // Variables that feed stocks are flows.
    const isFlow = (line: string) => flowIds.has(line.slice(2, line.indexOf(":")));
    const flowLines = [...flows, ...vars.filter(isFlow)];
    const auxiliaries = vars.filter((l) => !isFlow(l));
    if (flowLines.length) lines.push("flows:", ...flowLines);
    if (auxiliaries.length) lines.push("vars:", ...auxiliaries);
    if (tables.length) lines.push("tables:", ...tables);
    if (dynamicStop && !stopByClock) {
      // Vensim stops at the step where Time reaches FINAL TIME (half a step's tolerance for rounding); reaching
      // the horizon itself is not an outcome.
      const stopVar = controlVar("FINAL TIME");
      lines.push(
        "outcomes:",
        `  ${finalOutcome}: { when: ${q(`${stopVar} < stoptime and time >= ${stopVar} - dt / 2`)}, doc: "FINAL TIME, an equation in the Vensim model, reached before its initial value" }`,
      );
    }
    lines.push(`track: [${tracked.join(", ")}]`);
    return lines;
  };
  const finalOutcome = dynamicStop ? fresh("final_time_reached") : "";
  let lines = assemble(dynamicStop);
  let checked = keepUnitsThatCheck(file, lines);
  if (dynamicStop && checked.problems.some((d) => d.message.startsWith("time.clock.stop:"))) {
    lines = assemble(false);
    checked = keepUnitsThatCheck(file, lines);
  }
  // What the checker finds in the translated model (a cycle, a wrong argument) is told at the Vensim equation;
  // a clock that differs between runs, at the time control.
  const controlOf: Record<string, string> = { dt: "TIME STEP", save: "SAVEPER", stop: "FINAL TIME" };
  if (checked.problems.length)
    throw new DiagnosticError(
      firstOf(checked.problems).map((d) => {
        const control = /^time\.clock\.(dt|save|stop): /.exec(d.message);
        if (control) {
          const name = controlOf[control[1]!]!;
          return at(
            controls.get(name)!.pos,
            `in '${name}': ${name} changes during the run, so ${d.message.slice(control[0].length)}`,
          );
        }
        const entry = /^ {2}([^:]+):/.exec(lines[d.line - 1] ?? "")?.[1];
        const from = entry === undefined ? undefined : origins.get(entry);
        return from
          ? at(from.pos, `in '${from.label}': ${d.message}`)
          : // A place in the translated YAML means nothing in the .mdl: say where it is in the YAML instead.
            at(0, `in the translated model (its line ${d.line}): ${d.message}`);
      }),
    );
  return { yaml: checked.yaml, names };
}

/**
 * Vensim only warns about inconsistent units; Brink refuses a unit clash. An entry whose stated unit clashes keeps
 * it in its doc ("Vensim unit: …") instead, so the model runs as it does in Vensim and the unit is not lost.
 */
function keepUnitsThatCheck(file: string, lines: string[]): { yaml: string; problems: Diagnostic[] } {
  const unitPart = /, unit: ("(?:[^"\\]|\\.)*")/;
  for (let round = 0; round < 3; round++) {
    const yaml = `${lines.join("\n")}\n`;
    const found = checkModelText(file, yaml).diagnostics;
    const clashes = found.filter((d) => d.message.startsWith("unit clash"));
    if (clashes.length === 0) return { yaml, problems: found };
    let changed = false;
    const demote = (k: number) => {
      const line = lines[k];
      const m = line === undefined ? null : unitPart.exec(line);
      if (!line || !m) return;
      const unit = JSON.parse(m[1]!) as string;
      let next = line.replace(unitPart, "");
      const note = `Vensim unit: ${unit}`;
      const docPart = /, doc: ("(?:[^"\\]|\\.)*")/.exec(next);
      next = docPart
        ? next.replace(
            docPart[0],
            `, doc: ${JSON.stringify(`${JSON.parse(docPart[1]!) as string} (${note})`)}`,
          )
        : next.replace(/ }$/, `, doc: ${JSON.stringify(note)} }`);
      lines[k] = next;
      changed = true;
    };
    for (const d of clashes) {
      demote(d.line - 1);
      // The entries a message names ('flow', 'stock') are on their own lines.
      for (const [, name] of d.message.matchAll(/'([^']+)'/g))
        lines.forEach((l, k) => {
          if (l.startsWith(`  ${name}: `)) demote(k);
        });
    }
    // A clash inside an expression names no entry: on the second round every unit goes to the docs, and on
    // the third the clock's unit too (numbers computed in an equation, 30 * 2, then never clash with time).
    if (!changed || round >= 1) lines.forEach((_, k) => demote(k));
    if (round >= 2)
      lines.forEach((l, k) => {
        if (l.startsWith("time: ")) lines[k] = l.replace(/, unit: [^,}]+/, "");
      });
  }
  const yaml = `${lines.join("\n")}\n`;
  return { yaml, problems: checkModelText(file, yaml).diagnostics };
}
