import { SaxesParser } from "saxes";
import { XMILE_FUNCTIONS } from "../compile/builtins.js";
import { TIME_NAMES } from "../lang/builtins.js";
import { type Diagnostic, DiagnosticError } from "../lang/diagnostic.js";
import { KEYWORDS } from "../lang/lexer.js";

/**
 * XMILE (and Stella .stmx) import: the XML is read with positions, each variable becomes a Brink entry, names
 * become identifiers (case-insensitive, spaces and punctuation to `_`), and equations are rewritten token by
 * token into Brink's expression syntax; arrays are expanded into one variable per element. What Brink cannot
 * express yet — subranges, macros, modules, conveyors and queues — is refused with a diagnostic naming the
 * element and its line.
 */
interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
  line: number;
  col: number;
}

function parseXml(file: string, text: string): XmlNode {
  const parser = new SaxesParser({ xmlns: false, position: true });
  const root: XmlNode = { name: "#root", attrs: {}, children: [], text: "", line: 1, col: 1 };
  const stack: XmlNode[] = [root];
  let error: Diagnostic | undefined;
  // Some exporters append a second document after the root closes; what follows the root is ignored.
  let rootClosed = false;
  parser.on("error", (e) => {
    if (rootClosed) return;
    error ??= {
      file,
      line: parser.line,
      col: parser.column + 1,
      message: `malformed XML: ${e.message.replace(/^\d+:\d+: /, "")}`,
    };
  });
  parser.on("opentag", (tag) => {
    const name = tag.name.includes(":") ? tag.name : tag.name.toLowerCase();
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(tag.attributes)) attrs[k.toLowerCase()] = String(v);
    const node: XmlNode = { name, attrs, children: [], text: "", line: parser.line, col: parser.column };
    stack[stack.length - 1]!.children.push(node);
    stack.push(node);
  });
  parser.on("text", (t) => {
    stack[stack.length - 1]!.text += t;
  });
  parser.on("cdata", (t) => {
    stack[stack.length - 1]!.text += t;
  });
  parser.on("closetag", () => {
    stack.pop();
    if (stack.length === 1 && root.children.length > 0) rootClosed = true;
  });
  try {
    parser.write(text).close();
  } catch {
    // Reported through the error handler.
  }
  if (error) throw new DiagnosticError([error]);
  return root;
}

const child = (n: XmlNode, name: string) => n.children.find((c) => c.name === name);
const children = (n: XmlNode, name: string) => n.children.filter((c) => c.name === name);

/** Words an imported name cannot be: the expression language's keywords and clock names. */
const RESERVED = new Set([...KEYWORDS, ...TIME_NAMES]);

/**
 * An XMILE name as a Brink identifier: case-insensitive, spaces and punctuation become `_`. A doubled underscore
 * is kept: it is how Brink names the elements of an imported array (`pop__north`), so exports come back whole.
 */
export function canonicalName(name: string): string {
  if (name.includes("__"))
    return name
      .split("__")
      .map((part) => canonicalName(part))
      .join("__");
  let id = name
    .replace(/\\n|\n|\r/g, " ")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_]+/gu, "_")
    .replace(/_+/g, "_")
    .replace(/^_|_$/g, "");
  if (id === "" || /^\p{N}/u.test(id)) id = `v_${id}`;
  if (RESERVED.has(id)) id = `${id}_var`;
  return id;
}

/** XMILE functions Brink does not have yet (XMILE's own names, which the registry does not list). */
const UNSUPPORTED_FUNCTIONS = new Set(["npv", "if_then_else", "rank", "self"]);
/** Most scalar variables arrays may expand into, counted before any is made (a `<dim size="1e9"/>` is refused). */
export const MAX_ELEMENTS = 100_000;
/** Longest equation macro expansion may produce. */
export const MAX_MACRO_EXPANSION = 1_000_000;

/** Array reductions: their one argument is a whole array (or a slice of one). */
const REDUCTIONS = new Set(["sum", "mean", "prod", "size", "stddev", "min", "max"]);

/**
 * Arrays are expanded at import: each element of an arrayed variable becomes its own Brink variable, named
 * `variable__element` (`__` joins the elements of several dimensions), so the engine runs them like any other.
 */
export interface ArrayContext {
  /** Element ids of each dimension, in order. */
  dims: Map<string, string[]>;
  /** The dimensions of each arrayed variable. */
  varDims: Map<string, string[]>;
  /** The element each dimension stands for in the equation being translated (apply-to-all). */
  binding: Map<string, string>;
}

export const elementId = (variable: string, elements: string[]) => [variable, ...elements].join("__");

/** The Brink id of an XMILE output column such as `Stock A[Entry 1]` or `Two Dims[A,D]`. */
export function columnId(header: string): string {
  const m = /^(.*)\[(.*)\]$/s.exec(header.trim());
  return m ? elementId(canonicalName(m[1]!), m[2]!.split(",").map(canonicalName)) : canonicalName(header);
}

function cartesian(lists: string[][]): string[][] {
  return lists.reduce<string[][]>((acc, list) => acc.flatMap((a) => list.map((x) => [...a, x])), [[]]);
}

/** The element ids one subscripted (or bare) reference stands for. */
function resolveReference(id: string, subscripts: string[] | undefined, arrays: ArrayContext): string[] {
  const dims = arrays.varDims.get(id);
  if (!dims) {
    if (subscripts) throw new XmileExpressionError(`${id} is not an array, but has a subscript`);
    return [id];
  }
  const subs = subscripts ?? dims;
  if (subs.length !== dims.length)
    throw new XmileExpressionError(
      `${id} has ${dims.length} dimension${dims.length === 1 ? "" : "s"}, but ${subs.length} subscript${subs.length === 1 ? "" : "s"}`,
    );
  const lists = subs.map((sub, p) => {
    const dim = dims[p]!;
    const elements = arrays.dims.get(dim)!;
    if (sub === "*") return elements;
    if (elements.includes(sub)) return [sub];
    const other = arrays.dims.get(sub);
    if (!other)
      throw new XmileExpressionError(
        `${sub} is neither a dimension nor an element of ${dim} (subranges are not supported yet)`,
      );
    const bound = arrays.binding.get(sub);
    if (bound === undefined) return sub === dim ? elements : elements.slice(0, other.length);
    // A dimension of the same size maps element by element, by position.
    const k = other.indexOf(bound);
    if (k >= elements.length) throw new XmileExpressionError(`${sub} has more elements than ${dim}`);
    return [elements[k]!];
  });
  return cartesian(lists).map((e) => elementId(id, e));
}

/** Replace `f(⟦a,b,…⟧)` by the reduction written out over the elements; any array left over is an error. */
function expandReductions(out: string[]): string[] {
  const result: string[] = [];
  for (let i = 0; i < out.length; i++) {
    const t = out[i]!;
    if (REDUCTIONS.has(t) && out[i + 1] === "(" && out[i + 2]?.startsWith("⟦") && out[i + 3] === ")") {
      const xs = out[i + 2]!.slice(1, -1).split(",");
      const n = xs.length;
      const sum = `(${xs.join(" + ")})`;
      const mean = `(${sum} / ${n})`;
      const expansion: Record<string, string> = {
        sum,
        mean,
        prod: `(${xs.join(" * ")})`,
        size: String(n),
        // XMILE's STDDEV is the population standard deviation.
        stddev: `sqrt((${xs.map((x) => `(${x} - ${mean}) ^ 2`).join(" + ")}) / ${n})`,
        min: n === 1 ? xs[0]! : `min(${xs.join(", ")})`,
        max: n === 1 ? xs[0]! : `max(${xs.join(", ")})`,
      };
      result.push(expansion[t]!);
      i += 3;
      continue;
    }
    if (t.startsWith("⟦"))
      throw new XmileExpressionError(
        "a whole array is used where one number is expected (only SUM, MEAN, PROD, SIZE, STDDEV, MIN and MAX take arrays)",
      );
    if (REDUCTIONS.has(t) && t !== "min" && t !== "max")
      throw new XmileExpressionError(`${t.toUpperCase()} takes one array, such as ${t.toUpperCase()}(x[*])`);
    result.push(t);
  }
  return result;
}

export class XmileExpressionError extends Error {}

/** A function name as written, with the words before it when the name has spaces ("EXPRESSION MACRO"). */
function spacedName(s: string, end: number, ident: string): string {
  const words = s.slice(0, end - ident.length).match(/(?:[\p{L}_][\p{L}\p{N}_]*[ \t]+)+$/u)?.[0] ?? "";
  const kept: string[] = [];
  for (const w of words.trim().split(/\s+/).reverse()) {
    if (!w || /^(and|or|not|if|then|else|mod)$/i.test(w)) break;
    kept.unshift(w);
  }
  return [...kept, ident].join(" ");
}

/**
 * Who wrote the file, where that changes what a name means: Vensim writes its INTEGER (toward zero) as INT,
 * which XMILE defines as rounding down.
 */
export interface Dialect {
  vensim?: boolean;
}

/** Rewrite one XMILE equation into Brink expression text. */
export function translateEquation(
  eqn: string,
  names: Map<string, string>,
  tables: Set<string>,
  arrays?: ArrayContext,
  dialect: Dialect = {},
): string {
  const out: string[] = [];
  let i = 0;
  const s = eqn.replace(/\r\n?/g, "\n");
  let lastSignificant = "";
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "{") {
      // A comment.
      const end = s.indexOf("}", i);
      i = end < 0 ? s.length : end + 1;
      continue;
    }
    const num = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(s.slice(i));
    if (num) {
      out.push(num[0]);
      i += num[0].length;
      lastSignificant = "value";
      continue;
    }
    let ident: string | undefined;
    if (c === '"') {
      const end = s.indexOf('"', i + 1);
      if (end < 0) throw new XmileExpressionError(`unclosed quoted name in '${eqn.trim()}'`);
      ident = s.slice(i + 1, end);
      i = end + 1;
    } else {
      const m = /^[\p{L}_$][\p{L}\p{N}_$.]*/u.exec(s.slice(i));
      if (m) {
        ident = m[0];
        i += m[0].length;
      }
    }
    if (ident !== undefined) {
      const lower = ident.toLowerCase();
      let j = i;
      while (j < s.length && /\s/.test(s[j]!)) j++;
      const isCall = s[j] === "(";
      const keyword: Record<string, string> = {
        and: "and",
        or: "or",
        not: "not",
        if: "if",
        then: "then",
        else: "else",
        mod: "%",
      };
      if (c !== '"' && keyword[lower]) out.push(keyword[lower]);
      else if (isCall && c !== '"') {
        const canon = canonicalName(ident);
        if (tables.has(canon)) out.push(canon);
        else if (REDUCTIONS.has(lower) && arrays) out.push(lower);
        else if (lower === "int" && dialect.vensim) out.push("trunc");
        else if (XMILE_FUNCTIONS.has(lower)) out.push(XMILE_FUNCTIONS.get(lower)!.name);
        else if (UNSUPPORTED_FUNCTIONS.has(lower))
          throw new XmileExpressionError(`the XMILE function ${ident.toUpperCase()} is not supported yet`);
        else if (lower === "pi") {
          // PI() as a call: the constant, and skip its empty argument list.
          out.push(String(Math.PI));
          i = s.indexOf(")", j) + 1;
        } else
          throw new XmileExpressionError(
            `the function ${spacedName(s, i, ident).toUpperCase()} is not supported yet: not an XMILE builtin Brink knows, nor a macro defined in this file`,
          );
      } else if (c !== '"' && ["time", "dt", "starttime", "stoptime"].includes(lower)) out.push(lower);
      else if (c !== '"' && lower === "pi") out.push(String(Math.PI));
      else {
        const canon = names.get(canonicalName(ident)) ?? canonicalName(ident);
        let subscripts: string[] | undefined;
        let k = i;
        while (k < s.length && /\s/.test(s[k]!)) k++;
        if (s[k] === "[") {
          const close = s.indexOf("]", k);
          if (close < 0) throw new XmileExpressionError(`unclosed subscript in '${eqn.trim()}'`);
          subscripts = s
            .slice(k + 1, close)
            .split(",")
            .map((x) => x.trim().replace(/^"|"$/g, ""))
            .map((x) => (x === "*" ? x : canonicalName(x)));
          i = close + 1;
        }
        if (!arrays) {
          if (subscripts) throw new XmileExpressionError("array subscripts are not supported here");
          out.push(canon);
        } else {
          const elements = resolveReference(canon, subscripts, arrays);
          out.push(
            elements.length === 1 && !subscripts?.includes("*") ? elements[0]! : `⟦${elements.join(",")}⟧`,
          );
        }
      }
      lastSignificant = "value";
      continue;
    }
    const two = s.slice(i, i + 2);
    if (two === "<>" || two === "<=" || two === ">=") {
      out.push(two === "<>" ? "!=" : two);
      i += 2;
    } else if (c === "=") {
      out.push("==");
      i++;
    } else if ("+-*/^()<>,".includes(c)) {
      out.push(c);
      i++;
    } else if (c === "[") throw new XmileExpressionError("array subscripts are not supported yet");
    else throw new XmileExpressionError(`unexpected character '${c}' in '${eqn.trim()}'`);
    lastSignificant = c;
  }
  void lastSignificant;
  return expandReductions(out)
    .join(" ")
    .replace(/\( /g, "(")
    .replace(/ \)/g, ")")
    .replace(/ ,/g, ",")
    .replace(/([\p{L}\p{N}_]) \(/gu, "$1(");
}

/** An XMILE expression macro: `<macro name="F"><parm>x</parm><eqn>…x…</eqn></macro>`. */
interface Macro {
  name: string;
  params: string[];
  body: string;
}

/** The arguments of a call whose "(" is at `open`: top-level comma-separated texts, and the index after ")". */
function callArguments(s: string, open: number): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') {
      i = s.indexOf('"', i + 1);
      if (i < 0) break;
    } else if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") {
      depth--;
      if (depth === 0) {
        args.push(s.slice(start, i));
        return { args: args.length === 1 && args[0]!.trim() === "" ? [] : args, end: i + 1 };
      }
    } else if (c === "," && depth === 1) {
      args.push(s.slice(start, i));
      start = i + 1;
    }
  }
  throw new XmileExpressionError(`unclosed call in '${s.trim()}'`);
}

/** Replace every call of a macro by its body, with each parameter replaced by the (parenthesised) argument. */
export function expandMacros(eqn: string, macros: Map<string, Macro>, depth = 0): string {
  if (depth > 20) throw new XmileExpressionError("macros call each other too deeply (a macro calls itself?)");
  const name = /"([^"]*)"|([\p{L}_$][\p{L}\p{N}_$ ]*[\p{L}\p{N}_$]|[\p{L}_$])/gu;
  let out = "";
  let last = 0;
  let changed = false;
  for (let m = name.exec(eqn); m; m = name.exec(eqn)) {
    // A name may have spaces inside (as Vensim writes macro names); the longest known macro wins.
    const text = m[1] ?? m[2]!;
    let j = m.index + m[0].length;
    while (j < eqn.length && /\s/.test(eqn[j]!)) j++;
    const macro = macros.get(canonicalName(text));
    if (!macro || eqn[j] !== "(") {
      // Not a call of a macro: only its first word was consumed if it had spaces.
      if (m[2]?.includes(" ")) name.lastIndex = m.index + m[2].indexOf(" ");
      continue;
    }
    const { args, end } = callArguments(eqn, j);
    if (args.length !== macro.params.length)
      throw new XmileExpressionError(
        `the macro ${macro.name} takes ${macro.params.length} argument${macro.params.length === 1 ? "" : "s"}, not ${args.length}`,
      );
    const body = macro.body.replace(
      /"([^"]*)"|[\p{L}_$][\p{L}\p{N}_$]*/gu,
      (word, quoted: string | undefined) => {
        const k = macro.params.indexOf(canonicalName(quoted ?? word));
        return k < 0 ? word : `(${args[k]})`;
      },
    );
    out += `${eqn.slice(last, m.index)}(${body})`;
    if (out.length > MAX_MACRO_EXPANSION)
      throw new XmileExpressionError(
        `expanding the macros makes this equation longer than ${MAX_MACRO_EXPANSION} characters (macros that call each other several times grow exponentially)`,
      );
    last = end;
    name.lastIndex = end;
    changed = true;
  }
  out += eqn.slice(last);
  return changed ? expandMacros(out, macros, depth + 1) : out;
}

interface Gf {
  points: [number, number][];
  type: string;
}

function readGf(gf: XmlNode): Gf {
  const nums = (t: string) =>
    t
      .split(/[,;\s]+/)
      .filter(Boolean)
      .map(Number);
  const ys = nums(child(gf, "ypts")?.text ?? "");
  const xptsNode = child(gf, "xpts");
  let xs: number[];
  if (xptsNode) xs = nums(xptsNode.text);
  else {
    const xscale = child(gf, "xscale");
    const min = Number(xscale?.attrs.min ?? 0);
    const max = Number(xscale?.attrs.max ?? ys.length - 1);
    xs = ys.map((_, k) => (ys.length === 1 ? min : min + ((max - min) * k) / (ys.length - 1)));
  }
  const type = (gf.attrs.type ?? "continuous").toLowerCase();
  return {
    points: xs.map((x, k) => [x, ys[k] ?? Number.NaN]),
    type: type === "extrapolate" || type === "discrete" ? type : "continuous",
  };
}

export interface XmileImport {
  /** The model as Brink YAML. */
  yaml: string;
  /** Original XMILE names by Brink identifier (for reading expected outputs). */
  names: Map<string, string>;
}

/** Import an XMILE document; throws DiagnosticError for malformed or unsupported input. */
export function importXmile(file: string, text: string): XmileImport {
  const root = parseXml(file, text);
  const xmile = root.children.find((c) => c.name === "xmile");
  const at = (n: XmlNode, message: string): Diagnostic => ({
    file,
    line: n.line,
    col: Math.max(1, n.col),
    message,
  });
  if (!xmile)
    throw new DiagnosticError([
      { file, line: 1, col: 1, message: "not an XMILE file: no <xmile> root element" },
    ]);
  const problems: Diagnostic[] = [];
  const header = child(xmile, "header") ?? xmile;
  const options = child(header, "options");
  const product = child(header, "product")?.text ?? "";
  const dialect: Dialect = { vensim: /vensim/i.test(product) };
  const fromBrink = /^\s*brink\s*$/i.test(product);
  for (const o of options?.children ?? []) {
    if (
      /^uses_(arrays|macros|conveyor|queue|submodels|event_posters)$/.test(o.name) ||
      o.name.startsWith("uses_")
    ) {
      if (o.name !== "uses_outputs" && o.name !== "uses_inputs")
        problems.push(
          at(o, `<${o.name}> is not supported yet (Brink imports models without ${o.name.slice(5)})`),
        );
    }
  }
  // Expression macros are expanded where they are called; macros with their own stocks and flows are not read.
  const macros = new Map<string, Macro>();
  for (const m of children(xmile, "macro")) {
    const name = m.attrs.name ?? "";
    const body = child(m, "eqn");
    if (child(m, "variables") || child(m, "sim_specs"))
      problems.push(at(m, `<macro name="${name}">: macros with their own variables are not supported yet`));
    else if (!body) problems.push(at(m, `<macro name="${name}"> has no <eqn>`));
    else
      macros.set(canonicalName(name), {
        name,
        params: children(m, "parm").map((p) => canonicalName(p.text)),
        body: body.text,
      });
  }
  // Dimensions: named lists of elements (1-D and more; subranges and mappings are not read yet).
  const dimensionNodes = children(child(xmile, "dimensions") ?? xmile, "dim");
  const dimElements = new Map<string, string[]>();
  const elementNames = new Map<string, string>();
  for (const d of dimensionNodes) {
    const dimId = canonicalName(d.attrs.name ?? "");
    const elems = children(d, "elem").map((e) => e.attrs.name ?? "");
    // <dim size="3"/> numbers its elements 1…n; the size is checked against the budget before any is made.
    if (elems.length === 0 && d.attrs.size) {
      const size = Number(d.attrs.size);
      if (!Number.isInteger(size) || size < 1)
        problems.push(
          at(d, `<dim name="${d.attrs.name}" size="${d.attrs.size}">: the size must be a whole number ≥ 1`),
        );
      else if (size > MAX_ELEMENTS)
        problems.push(
          at(
            d,
            `<dim name="${d.attrs.name}">: ${size} elements, more than the ${MAX_ELEMENTS} Brink expands`,
          ),
        );
      else for (let k = 1; k <= size; k++) elems.push(String(k));
    }
    if (elems.length === 0 && !d.attrs.size)
      problems.push(at(d, `<dim name="${d.attrs.name}"> has no elements`));
    dimElements.set(
      dimId,
      elems.map((e) => canonicalName(e)),
    );
    for (const e of elems) elementNames.set(`${dimId}/${canonicalName(e)}`, e);
  }
  const models = children(xmile, "model");
  if (models.length !== 1)
    problems.push(
      at(
        models[1] ?? xmile,
        models.length ? "<model>: several models — modules are not supported yet" : "<model> is missing",
      ),
    );
  const model = models[0];
  const vars = model ? (child(model, "variables")?.children ?? []) : [];
  const specs = child(xmile, "sim_specs");
  if (!specs) problems.push(at(xmile, "<sim_specs> is missing"));
  if (problems.length) throw new DiagnosticError(problems);

  // A model-wide <non_negative/> makes every stock and flow non-negative unless it says <non_negative>false</…>.
  const allNonNegative = [specs!, child(xmile, "header") ?? xmile, options ?? xmile].some(
    (n) => child(n, "non_negative") !== undefined,
  );
  // <behavior> may set it for all stocks and flows, or for each kind: <behavior><flow><non_negative/></flow>.
  const behavior = child(xmile, "behavior");
  const kindNonNegative = (kind: string) =>
    allNonNegative ||
    (behavior !== undefined &&
      (child(behavior, "non_negative") !== undefined ||
        child(child(behavior, kind) ?? behavior, "non_negative") !== undefined));
  const nonNegative = (v: XmlNode, kind: "stock" | "flow") => {
    const own = child(v, "non_negative");
    return own ? own.text.trim().toLowerCase() !== "false" : kindNonNegative(kind);
  };
  // Whatever a stock lists as inflow or outflow is a flow, even if declared as an <aux>.
  const flowIds = new Set(
    vars
      .filter((v) => v.name === "stock")
      .flatMap((v) =>
        [...children(v, "inflow"), ...children(v, "outflow")].map((f) => canonicalName(f.text)),
      ),
  );
  const names = new Map<string, string>();
  const ids = new Map<string, string>();
  const tables = new Set<string>();
  const varDims = new Map<string, string[]>();
  let expanded = 0;
  let overBudget = false;
  for (const v of vars) {
    if (v.attrs.name === undefined) continue;
    const id = canonicalName(v.attrs.name);
    names.set(id, v.attrs.name);
    ids.set(id, id);
    if (v.name === "gf") tables.add(id);
    const dimList = children(child(v, "dimensions") ?? v, "dim").map((d) =>
      canonicalName(d.attrs.name ?? ""),
    );
    const unknown = dimList.find((d) => !dimElements.has(d));
    if (unknown !== undefined)
      problems.push(at(v, `<${v.name} name="${v.attrs.name}">: unknown dimension ${unknown}`));
    else if (dimList.length) {
      varDims.set(id, dimList);
      // Every element becomes a variable: count them before expanding any.
      const count = dimList.reduce((n, d) => n * dimElements.get(d)!.length, 1);
      expanded += count;
      if (expanded > MAX_ELEMENTS && !overBudget) {
        overBudget = true;
        problems.push(
          at(
            v,
            `<${v.name} name="${v.attrs.name}">: ${count} elements (${dimList.join(" × ")}) bring the model to ${expanded} variables, more than the ${MAX_ELEMENTS} Brink expands arrays into`,
          ),
        );
      }
    }
  }
  if (problems.length) throw new DiagnosticError(problems);
  const arrays: ArrayContext | undefined = dimElements.size
    ? { dims: dimElements, varDims, binding: new Map() }
    : undefined;
  const lines: string[] = [];
  const q = (s: string) => JSON.stringify(s);
  const num = (n: XmlNode | undefined, fallback: number) => (n ? Number(n.text.trim()) : fallback);
  const dtNode = child(specs!, "dt");
  let dt = num(dtNode, 1);
  if (dtNode?.attrs.reciprocal === "true") dt = 1 / dt;
  const method = (specs!.attrs.method ?? "euler").toLowerCase().startsWith("rk4") ? "rk4" : "euler";
  lines.push(
    "brink: 1",
    `name: ${q(child(child(xmile, "header") ?? xmile, "name")?.text.trim() || file.replace(/^.*[\\/]/, ""))}`,
  );
  lines.push(`method: ${method}`);
  // A calendar time unit comes along, so that "per year" and durations keep their meaning.
  const unit = (specs!.attrs.time_units ?? "").trim();
  const unitPart = /^(second|minute|hour|day|week|month|year)s?$/i.test(unit)
    ? `, unit: ${unit.toLowerCase().replace(/s$/, "")}`
    : "";
  // A Brink export keeps a dated start in its own attribute.
  const origin = /^\d{4}-\d{2}-\d{2}$/.test(specs!.attrs["brink:origin"] ?? "")
    ? specs!.attrs["brink:origin"]
    : undefined;
  // A Brink export keeps how often tracked values are saved (a number or a duration) in its own attribute.
  const save = specs!.attrs["brink:save"]?.trim();
  const savePart =
    save === undefined || save === ""
      ? ""
      : `, save: ${/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(save) ? Number(save) : q(save)}`;
  lines.push(
    origin && unitPart
      ? `time: { start: ${origin}, stop: "${num(child(specs!, "stop"), 10) - num(child(specs!, "start"), 0)} ${unit.toLowerCase().replace(/s$/, "")}"${unitPart.replace(", unit:", `, dt: ${dt}, unit:`)}${savePart} }`
      : `time: { start: ${num(child(specs!, "start"), 0)}, stop: ${num(child(specs!, "stop"), 10)}, dt: ${dt}${unitPart}${savePart} }`,
  );

  const stocks: string[] = [];
  const flows: string[] = [];
  const aux: string[] = [];
  const tableLines: string[] = [];
  const params: string[] = [];
  // What a Brink export keeps about an entry: XMILE's <units> and <doc>, and Brink's own source and group.
  // Units are read from Brink's files only: other tools' units are often prose or unchecked, and Brink checks them.
  const about = (v: XmlNode): string => {
    const text = (name: string) => child(v, name)?.text.trim() || undefined;
    const fields: [string, string | undefined][] = [
      ["unit", fromBrink ? text("units") : undefined],
      ["doc", text("doc")],
      ["source", text("brink:source")],
      ["group", text("brink:group")],
    ];
    return fields.map(([k, value]) => (value === undefined ? "" : `, ${k}: ${q(value)}`)).join("");
  };
  /** A var or flow: the bare equation, or with what the export kept about it. */
  const entry = (id: string, eqn: string, v: XmlNode): string => {
    const more = about(v);
    return more ? `  ${id}: { eq: ${q(eqn)}${more} }` : `  ${id}: ${q(eqn)}`;
  };
  /** One scalar Brink entry: a whole variable, or one element of an arrayed one. */
  const define = (
    v: XmlNode,
    id: string,
    label: string,
    eqnNode: XmlNode | undefined,
    gf: XmlNode | undefined,
    binding: Map<string, string>,
  ): boolean => {
    const context = arrays ? { ...arrays, binding } : undefined;
    let eqn: string | undefined;
    try {
      if (eqnNode && /^\s*\?+\s*$/.test(eqnNode.text))
        throw new XmileExpressionError(
          "the equation is a placeholder '???' (the definition was lost when the model was converted to XMILE)",
        );
      eqn = eqnNode
        ? translateEquation(
            macros.size ? expandMacros(eqnNode.text, macros) : eqnNode.text,
            ids,
            tables,
            context,
            dialect,
          )
        : undefined;
    } catch (e) {
      if (!(e instanceof XmileExpressionError)) throw e;
      problems.push(at(eqnNode ?? v, `<${v.name} name="${label}">: ${e.message}`));
      return false;
    }
    if (gf) {
      const t = readGf(gf);
      const tableId = v.name === "gf" ? id : `${id}_lookup`;
      tableLines.push(
        `  ${tableId}: { points: ${JSON.stringify(t.points)}, type: ${t.type}${v.name === "gf" ? about(v) : ""} }`,
      );
      if (v.name === "gf") return true;
      eqn = `${tableId}(${eqn ?? "time"})`;
    }
    if (eqn === undefined || eqn.trim() === "") {
      problems.push(at(v, `<${v.name} name="${label}"> has no <eqn>`));
      return false;
    }
    if (v.name === "stock") {
      // Flows of an arrayed stock are the same elements of arrayed flows.
      const flowsOf = (kind: string) =>
        children(v, kind).map((f) => {
          const flow = canonicalName(f.text);
          return arrays && varDims.has(flow) ? resolveReference(flow, undefined, context!)[0]! : flow;
        });
      const nonNeg = nonNegative(v, "stock") ? ", min: 0" : "";
      stocks.push(
        `  ${id}: { init: ${q(eqn)}, inflows: [${flowsOf("inflow").join(", ")}], outflows: [${flowsOf("outflow").join(", ")}]${nonNeg}${about(v)} }`,
      );
    } else if (v.name === "flow" || flowIds.has(canonicalName(v.attrs.name!))) {
      // A uniflow (non-negative flow) never runs backwards.
      flows.push(entry(id, v.name === "flow" && nonNegative(v, "flow") ? `max(0, ${eqn})` : eqn, v));
    } else if (child(v, "brink:dist"))
      params.push(`  ${id}: { dist: ${q(child(v, "brink:dist")!.text.trim())}${about(v)} }`);
    else aux.push(entry(id, eqn, v));
    return true;
  };

  for (const v of vars) {
    const name = v.attrs.name;
    if (name === undefined || !["stock", "flow", "aux", "gf"].includes(v.name)) {
      if (["module", "group", "macro"].includes(v.name))
        problems.push(at(v, `<${v.name}> is not supported yet`));
      continue;
    }
    if (child(v, "conveyor") || child(v, "queue")) {
      problems.push(at(v, `<${v.name} name="${name}">: conveyors and queues are not supported`));
      continue;
    }
    const id = canonicalName(name);
    const gf = child(v, "gf") ?? (v.name === "gf" ? v : undefined);
    const dimList = varDims.get(id);
    if (!dimList) {
      if (child(v, "element"))
        problems.push(at(v, `<${v.name} name="${name}">: <element> definitions need <dimensions>`));
      else define(v, id, name, child(v, "eqn"), gf, new Map());
      continue;
    }
    const tuples = cartesian(dimList.map((d) => dimElements.get(d)!));
    const label = (tuple: string[]) =>
      `${name}[${tuple.map((e, p) => elementNames.get(`${dimList[p]}/${e}`) ?? e).join(",")}]`;
    // Per-element definitions: <element subscript="A, B">, several bare <eqn>s in element order (as some
    // exporters write), or one list of numbers "1, 2, 3" (";" between rows); otherwise one equation applies to
    // all elements.
    const elementNodes = new Map<string, XmlNode>();
    for (const e of children(v, "element")) {
      const key = (e.attrs.subscript ?? "").split(",").map(canonicalName).join("__");
      if (!elementNodes.has(key)) elementNodes.set(key, e);
    }
    const eqns = children(v, "eqn");
    // A number list is row-major; rows of a 2-D table end in ';' (as Vensim writes them).
    const numberList =
      eqns.length === 1
        ? eqns[0]!.text
            .split(/[,;]/)
            .map((x) => x.trim())
            .filter((x) => x !== "")
        : [];
    const isNumberList =
      numberList.length === tuples.length &&
      numberList.length > 1 &&
      numberList.every((x) => /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(x));
    for (const [k, tuple] of tuples.entries()) {
      const flat = elementId(id, tuple);
      names.set(flat, label(tuple));
      const binding = new Map(dimList.map((d, p) => [d, tuple[p]!]));
      let eqnNode: XmlNode | undefined = eqns[0];
      let elementGf = gf;
      if (elementNodes.size) {
        const node = elementNodes.get(tuple.join("__"));
        if (!node) {
          problems.push(at(v, `<${v.name} name="${name}">: no definition for element ${label(tuple)}`));
          continue;
        }
        eqnNode = child(node, "eqn");
        elementGf = child(node, "gf") ?? gf;
      } else if (eqns.length > 1) {
        eqnNode = eqns[k];
        if (eqns.length !== tuples.length) {
          problems.push(
            at(v, `<${v.name} name="${name}">: ${eqns.length} equations for ${tuples.length} elements`),
          );
          break;
        }
      } else if (isNumberList) eqnNode = { ...eqns[0]!, text: numberList[k]! };
      else {
        // One equation for all elements: one diagnostic for the variable, not one per element.
        if (!define(v, flat, name, eqnNode, elementGf, binding)) break;
        continue;
      }
      define(v, flat, label(tuple), eqnNode, elementGf, binding);
    }
    names.delete(id);
  }
  if (problems.length) throw new DiagnosticError(problems);
  if (params.length) lines.push("params:", ...params);
  if (stocks.length) lines.push("stocks:", ...stocks);
  if (flows.length) lines.push("flows:", ...flows);
  if (aux.length) lines.push("vars:", ...aux);
  if (tableLines.length) lines.push("tables:", ...tableLines);
  // What a Brink export kept in its own namespace comes back as it was (JSON is YAML).
  const extensions = child(xmile, "brink:extensions");
  let extra: Record<string, unknown> = {};
  if (extensions) {
    try {
      extra = JSON.parse(extensions.text) as Record<string, unknown>;
    } catch (e) {
      throw new DiagnosticError([
        at(extensions, `<brink:extensions> is not valid JSON: ${(e as Error).message}`),
      ]);
    }
    if (typeof extra !== "object" || extra === null || Array.isArray(extra))
      throw new DiagnosticError([at(extensions, "<brink:extensions> must hold one JSON object")]);
  }
  for (const [key, value] of Object.entries(extra))
    if (key !== "track") lines.push(`${key}: ${JSON.stringify(value)}`);
  const trackList = Array.isArray(extra.track)
    ? (extra.track as string[])
    : [...names.keys()].filter((id) => !tables.has(id));
  lines.push(`track: [${trackList.join(", ")}]`);
  return { yaml: `${lines.join("\n")}\n`, names };
}
