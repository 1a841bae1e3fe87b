import { XMILE_FUNCTIONS } from "../compile/builtins.js";
import type { BinaryOp, Expr } from "../lang/ast.js";
import { TIME_NAMES } from "../lang/builtins.js";
import { ExprSyntaxError, KEYWORDS } from "../lang/lexer.js";
import { parseExpr } from "../lang/parser.js";

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
    // Brink names are ASCII: accents drop (ö → o), other letters become their code point (人 → u4eba).
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .replace(/[^\x00-\x7f]/gu, (c) => `_u${c.codePointAt(0)!.toString(16)}_`)
    .replace(/[^\p{L}\p{N}_]+/gu, "_")
    .replace(/_+/g, "_")
    .replace(/^_|_$/g, "");
  if (id === "" || /^\p{N}/u.test(id)) id = `v_${id}`;
  if (RESERVED.has(id)) id = `${id}_var`;
  return id;
}

/** XMILE functions Brink does not have yet (XMILE's own names, which the registry does not list). */
const UNSUPPORTED_FUNCTIONS = new Set(["npv", "if_then_else", "rank", "self"]);

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

export function cartesian(lists: string[][]): string[][] {
  return lists.reduce<string[][]>((acc, list) => acc.flatMap((a) => list.map((x) => [...a, x])), [[]]);
}

/** The element ids one subscripted (or bare) reference stands for. */
export function resolveReference(
  id: string,
  subscripts: string[] | undefined,
  arrays: ArrayContext,
): string[] {
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

/** How a whole array stands in the token text until the tree replaces it by its elements. */
const ARRAY_PLACEHOLDER = "__array_";

const num = (value: number): Expr => ({ kind: "number", value, pos: 0, end: 0 });
const name = (n: string): Expr => ({ kind: "name", name: n, pos: 0, end: 0 });
const bin = (op: BinaryOp, left: Expr, right: Expr): Expr => ({
  kind: "binary",
  op,
  left,
  right,
  pos: 0,
  end: 0,
});
const call = (callee: string, args: Expr[]): Expr => ({
  kind: "call",
  callee,
  calleeEnd: 0,
  args,
  pos: 0,
  end: 0,
});
/** a op b op c …, grouped from the left as the parser reads it. */
const chain = (op: BinaryOp, xs: Expr[]): Expr => xs.reduce((acc, x) => bin(op, acc, x));

/** Replace each reduction over a whole array (`SUM(x[*])`) by its expression over the elements; any other use of
 * a whole array is an error. */
function expandArrays(e: Expr, arrays: string[][]): Expr {
  const elements = (x: Expr): string[] | undefined =>
    x.kind === "name" && x.name.startsWith(ARRAY_PLACEHOLDER)
      ? arrays[Number(x.name.slice(ARRAY_PLACEHOLDER.length))]
      : undefined;
  const walk = (x: Expr): Expr => {
    switch (x.kind) {
      case "number":
      case "date":
        return x;
      case "name":
        if (elements(x))
          throw new XmileExpressionError(
            "a whole array is used where one number is expected (only SUM, MEAN, PROD, SIZE, STDDEV, MIN and MAX take arrays)",
          );
        return x;
      case "unary":
        return { ...x, arg: walk(x.arg) };
      case "binary":
        return { ...x, left: walk(x.left), right: walk(x.right) };
      case "if":
        return { ...x, cond: walk(x.cond), then: walk(x.then), else: walk(x.else) };
      case "call": {
        const xs = x.args.length === 1 ? elements(x.args[0]!) : undefined;
        if (REDUCTIONS.has(x.callee) && xs) return reduction(x.callee, xs.map(name));
        if (REDUCTIONS.has(x.callee) && x.callee !== "min" && x.callee !== "max") {
          const f = x.callee.toUpperCase();
          throw new XmileExpressionError(`${f} takes one array, such as ${f}(x[*])`);
        }
        return { ...x, args: x.args.map(walk) };
      }
    }
  };
  return walk(e);
}

/** A reduction written out over the elements of an array. */
function reduction(fn: string, xs: Expr[]): Expr {
  const n = num(xs.length);
  const sum = chain("+", xs);
  const mean = bin("/", sum, n);
  switch (fn) {
    case "sum":
      return sum;
    case "mean":
      return mean;
    case "prod":
      return chain("*", xs);
    case "size":
      return n;
    // XMILE's STDDEV is the population standard deviation.
    case "stddev":
      return call("sqrt", [
        bin(
          "/",
          chain(
            "+",
            xs.map((x) => bin("^", bin("-", x, mean), num(2))),
          ),
          n,
        ),
      ]);
    default:
      // min and max
      return xs.length === 1 ? xs[0]! : call(fn, xs);
  }
}

/** How tightly each kind of node binds, loosest first, as Brink's parser reads them. */
function level(e: Expr): number {
  switch (e.kind) {
    case "if":
      return 0;
    case "binary":
      return BINARY_LEVEL[e.op];
    case "unary":
      return e.op === "not" ? 3 : 7;
    case "number":
      return e.value < 0 || Object.is(e.value, -0) ? 7 : 9;
    default:
      return 9;
  }
}

const BINARY_LEVEL: Record<BinaryOp, number> = {
  or: 1,
  and: 2,
  "<": 4,
  "<=": 4,
  ">": 4,
  ">=": 4,
  "==": 4,
  "!=": 4,
  "+": 5,
  "-": 5,
  "*": 6,
  "/": 6,
  "%": 6,
  "^": 8,
  by: 0,
  before: 0,
  at: 0,
  given: 0,
};

/** Print a tree as Brink text with only the parentheses its grouping needs. */
export function printBrink(e: Expr, min = 0): string {
  const text = printNode(e);
  return level(e) < min ? `(${text})` : text;
}

function printNode(e: Expr): string {
  switch (e.kind) {
    case "number":
      return String(e.value);
    case "date":
      return e.iso;
    case "name":
      return e.name;
    case "unary":
      return e.op === "not" ? `not ${printBrink(e.arg, 3)}` : `${e.op}${printBrink(e.arg, 7)}`;
    case "if":
      return `if ${printBrink(e.cond)} then ${printBrink(e.then)} else ${printBrink(e.else)}`;
    case "call":
      return `${e.callee}(${e.args.map((a) => printBrink(a)).join(", ")})`;
    case "binary": {
      const p = BINARY_LEVEL[e.op];
      // Left-associative operators need a tighter right side; comparisons do not chain; ^ groups from the
      // right, over a primary base and a unary exponent.
      if (e.op === "^") return `${printBrink(e.left, 9)} ^ ${printBrink(e.right, 7)}`;
      if (p === 4) return `${printBrink(e.left, 5)} ${e.op} ${printBrink(e.right, 5)}`;
      return `${printBrink(e.left, p)} ${e.op} ${printBrink(e.right, p + 1)}`;
    }
  }
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

/**
 * Rewrite one XMILE equation into Brink expression text: XMILE's tokens become Brink's (names resolved, builtins
 * through the registry, arrays to their elements), Brink's parser reads them into a tree, reductions over arrays
 * are expanded in the tree, and the tree is printed.
 */
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
  const wholeArrays: string[][] = [];
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
      if (c !== '"' && Object.hasOwn(keyword, lower)) out.push(keyword[lower]!);
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
      } else if (c !== '"' && TIME_NAMES.has(lower)) out.push(lower);
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
          if (elements.length === 1 && !subscripts?.includes("*")) out.push(elements[0]!);
          else {
            // A whole array: a placeholder name in the text, replaced by its elements in the AST.
            out.push(`${ARRAY_PLACEHOLDER}${wholeArrays.length}`);
            wholeArrays.push(elements);
          }
        }
      }
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
  }
  // The tokens are Brink's: parse them with Brink's parser, expand the reductions over arrays in the tree, and
  // print the tree back (so what is written is exactly what Brink will read).
  let ast: Expr;
  try {
    ast = parseExpr(out.join(" "));
  } catch (e) {
    if (!(e instanceof ExprSyntaxError)) throw e;
    throw new XmileExpressionError(`cannot read '${eqn.trim()}': ${e.message}`);
  }
  return printBrink(expandArrays(ast, wholeArrays));
}
