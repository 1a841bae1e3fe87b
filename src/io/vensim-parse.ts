/**
 * Vensim `.mdl` reader: the equation section split into equations (`lhs = expr ~ units ~ doc |`), each equation's
 * text tokenized and parsed by a small hand-written Pratt parser into an AST with source offsets. Hand-written
 * because Vensim's lexical rules are context-dependent in ways a grammar tool handles awkwardly: names contain
 * spaces (`IF THEN ELSE`, `Delay Time`) and end only at an operator, `\`-newline continues a name, the same `(`
 * opens a call, a parenthesis or a lookup's points, and units and documentation are free text whose quotes do
 * not pair. Brink's own expression parser (src/lang/parser.ts) is hand-written the same way.
 */

export class VensimError extends Error {
  constructor(
    message: string,
    /** Offset in the file's text. */
    readonly offset: number,
  ) {
    super(message);
  }
}

export type VExpr =
  | { k: "num"; v: number; pos: number }
  | { k: "ref"; name: string; subs?: VSub[]; pos: number }
  | { k: "call"; fn: string; subs?: VSub[]; args: VExpr[]; pos: number }
  | { k: "un"; op: string; a: VExpr; pos: number }
  | { k: "bin"; op: string; a: VExpr; b: VExpr; pos: number }
  | { k: "lookup"; points: [number, number][]; pos: number }
  | { k: "list"; values: number[]; rows: number; pos: number };

/** One subscript as written: an element, a dimension or subrange, `Dim!` (the whole dimension). */
export interface VSub {
  name: string;
  bang: boolean;
  pos: number;
}

/** One equation's parts, with offsets into the file. */
export interface RawEquation {
  /** The text before the first `~`. */
  expr: string;
  exprStart: number;
  units: string;
  doc: string;
}

/** Where the sketch (diagram) section starts: everything after it is ignored. */
const SKETCH_MARK = /\\{2,3}---\/\/\//;

/** Split the equation section into equations: `|` ends one; `~` separates expression, units and doc. */
export function splitEquations(text: string): { equations: RawEquation[]; end: number } {
  const sketch = text.search(SKETCH_MARK);
  const end = sketch < 0 ? text.length : sketch;
  const equations: RawEquation[] = [];
  let i = 0;
  // The encoding mark `{UTF-8}` (and any leading comment) is not an equation.
  while (i < end) {
    let start = i;
    let part = 0;
    const parts = ["", "", ""];
    let exprStart = i;
    let exprEnd = -1;
    let inQuote = false;
    let inComment = false;
    for (; i < end; i++) {
      const c = text[i]!;
      if (part === 0) {
        if (inQuote) {
          if (c === "\\" && text[i + 1] === '"') i++;
          else if (c === '"') inQuote = false;
          continue;
        }
        if (inComment) {
          if (c === "}") inComment = false;
          continue;
        }
        if (c === '"') inQuote = true;
        else if (c === "{") inComment = true;
      }
      if (c === "~" || c === "|") {
        if (part === 0) exprEnd = i;
        else parts[part] = text.slice(start, i);
        start = i + 1;
        if (c === "|") break;
        part = Math.min(part + 1, 2);
        if (part === 2 && parts[2] !== "") parts[2] += "~";
      }
    }
    if (exprEnd < 0) exprEnd = Math.min(i, end);
    parts[0] = text.slice(exprStart, exprEnd);
    i++;
    // Skip leading whitespace and comments (`{UTF-8}`) of the expression, for positions.
    const lead = /^(?:\s|\{[^}]*\})*/.exec(parts[0])![0].length;
    exprStart += lead;
    const expr = parts[0].slice(lead);
    if (expr.trim() === "" && parts[1]!.trim() === "" && parts[2]!.trim() === "") continue;
    equations.push({ expr: expr.trimEnd(), exprStart, units: parts[1]!.trim(), doc: parts[2]!.trim() });
  }
  return { equations, end };
}

export type TokKind = "num" | "name" | "op" | "kw" | "eof";
export interface Tok {
  kind: TokKind;
  text: string;
  pos: number;
}

const OP_CHARS = new Set([...'+-*/^()[],=<>:;!~|{}"']);

/** A name as Vensim compares them: case-insensitive, runs of spaces and underscores as one. */
export const normName = (s: string) => s.replace(/[\s_]+/g, " ").trim();

/** Tokenize one equation's expression part; `base` is its offset in the file. */
export function tokenize(src: string, base: number): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\\" && /^\\[ \t]*(?:\r?\n|$)/.test(src.slice(i))) {
      const nl = src.indexOf("\n", i);
      i = nl < 0 ? src.length : nl + 1;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "{") {
      const close = src.indexOf("}", i);
      if (close < 0) throw new VensimError("unclosed comment '{'", base + i);
      i = close + 1;
      continue;
    }
    const num = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i));
    if (num && !/^[\p{L}_$]/u.test(src.slice(i + num[0].length, i + num[0].length + 1))) {
      toks.push({ kind: "num", text: num[0], pos: base + i });
      i += num[0].length;
      continue;
    }
    // A quoted text such as 'inputs.csv' or ',' (the arguments of GET DIRECT and GET XLS): one name token, its
    // quotes kept so that it is never taken for a variable.
    const close = c === "'" ? src.indexOf("'", i + 1) : -1;
    if (close > i) {
      toks.push({ kind: "name", text: src.slice(i, close + 1), pos: base + i });
      i = close + 1;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let name = "";
      while (j < src.length && src[j] !== '"') {
        if (src[j] === "\\" && src[j + 1] === '"') j++;
        name += src[j];
        j++;
      }
      if (j >= src.length) throw new VensimError("unclosed quoted name", base + i);
      toks.push({ kind: "name", text: name, pos: base + i });
      i = j + 1;
      continue;
    }
    if (c === ":") {
      const kw = /^:([A-Za-z][A-Za-z ]*):/.exec(src.slice(i));
      if (kw) {
        toks.push({ kind: "kw", text: kw[1]!.toUpperCase().replace(/\s+/g, " "), pos: base + i });
        i += kw[0].length;
        continue;
      }
    }
    const three = src.slice(i, i + 3);
    if (three === "<->") {
      toks.push({ kind: "op", text: three, pos: base + i });
      i += 3;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (["<=", ">=", "<>", ":=", "==", "->"].includes(two)) {
      toks.push({ kind: "op", text: two, pos: base + i });
      i += 2;
      continue;
    }
    if (OP_CHARS.has(c) || c === "?") {
      toks.push({ kind: "op", text: c, pos: base + i });
      i++;
      continue;
    }
    // A name: up to the next operator; inner spaces, tabs and `\`-newline continuations belong to it.
    let j = i;
    let last = i;
    while (j < src.length) {
      const d = src[j]!;
      if (d === "\\" && /^\\[ \t]*\r?\n/.test(src.slice(j, j + 4))) {
        j = src.indexOf("\n", j) + 1;
        continue;
      }
      if (d === "\n" || d === "\r") {
        // A line break ends a name unless the next line goes on with more of it (not an operator).
        break;
      }
      if (OP_CHARS.has(d)) break;
      if (!/\s/.test(d)) last = j + 1;
      j++;
    }
    const raw = src.slice(i, last).replace(/\\[ \t]*\r?\n/g, " ");
    toks.push({ kind: "name", text: normName(raw), pos: base + i });
    i = last;
  }
  toks.push({ kind: "eof", text: "", pos: base + src.length });
  return toks;
}

/** Binding powers of the binary operators, loosest first (Vensim's precedence). */
const BINARY: Record<string, number> = {
  OR: 1,
  AND: 2,
  "=": 4,
  "<>": 4,
  "<": 4,
  ">": 4,
  "<=": 4,
  ">=": 4,
  "+": 5,
  "-": 5,
  "*": 6,
  "/": 6,
  "^": 8,
};

const MAX_DEPTH = 200;

export class ExprParser {
  i = 0;
  private depth = 0;
  constructor(readonly toks: Tok[]) {}
  peek(k = 0): Tok {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }
  next(): Tok {
    const t = this.peek();
    if (t.kind !== "eof") this.i++;
    return t;
  }
  isOp(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === "op" && t.text === text;
  }
  expect(text: string, context: string): Tok {
    const t = this.peek();
    if (!this.isOp(text)) throw new VensimError(`expected '${text}' ${context}, found ${describe(t)}`, t.pos);
    return this.next();
  }

  expression(minBp = 0): VExpr {
    if (++this.depth > MAX_DEPTH) throw new VensimError("expression nested too deeply", this.peek().pos);
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      const op = t.kind === "kw" ? t.text : t.kind === "op" ? t.text : "";
      const bp = BINARY[op];
      if (bp === undefined || bp <= minBp) break;
      this.next();
      // ^ is right-associative.
      const right = this.expression(op === "^" ? bp - 1 : bp);
      left = { k: "bin", op, a: left, b: right, pos: t.pos };
    }
    this.depth--;
    return left;
  }

  private unary(): VExpr {
    const t = this.peek();
    if (t.kind === "op" && (t.text === "-" || t.text === "+")) {
      this.next();
      // Unary minus binds looser than ^ (-2^2 = -4) and tighter than * /.
      return { k: "un", op: t.text, a: this.expression(7), pos: t.pos };
    }
    if (t.kind === "kw" && t.text === "NOT") {
      this.next();
      return { k: "un", op: "NOT", a: this.expression(3), pos: t.pos };
    }
    return this.primary();
  }

  subscripts(): VSub[] {
    const open = this.expect("[", "to open subscripts");
    const subs: VSub[] = [];
    for (;;) {
      const t = this.next();
      if (t.kind !== "name" && t.kind !== "num")
        throw new VensimError(`expected a subscript, found ${describe(t)}`, t.pos);
      const bang = this.isOp("!");
      if (bang) this.next();
      subs.push({ name: t.text, bang, pos: t.pos });
      if (this.isOp(",")) {
        this.next();
        continue;
      }
      if (this.isOp("]")) {
        this.next();
        return subs;
      }
      throw new VensimError(`expected ',' or ']' in subscripts opened here`, this.peek().pos ?? open.pos);
    }
  }

  private primary(): VExpr {
    const t = this.next();
    if (t.kind === "num") return { k: "num", v: Number(t.text), pos: t.pos };
    if (t.kind === "kw" && t.text === "NA") return { k: "num", v: -1.298074214633707e33, pos: t.pos };
    if (t.kind === "op" && t.text === "(") {
      if (this.isOp("[") || (this.isOp("(") && this.peek(1).kind === "num" && this.isOp(",", 2)))
        return this.lookupBody(t.pos);
      const e = this.expression();
      this.expect(")", "to close '('");
      return e;
    }
    if (t.kind === "name") {
      const subs = this.isOp("[") ? this.subscripts() : undefined;
      if (this.isOp("(") && t.text.toUpperCase() === "TABBED ARRAY") {
        this.next();
        const values: number[] = [];
        while (!this.isOp(")")) values.push(this.signedNumber());
        this.next();
        return { k: "list", values, rows: 1, pos: t.pos };
      }
      if (this.isOp("(")) {
        this.next();
        const fn = t.text.toUpperCase();
        const args: VExpr[] = [];
        if (this.isOp(")")) this.next();
        else if (fn === "WITH LOOKUP") {
          args.push(this.expression());
          this.expect(",", "between WITH LOOKUP's input and its points");
          const open = this.expect("(", "to open WITH LOOKUP's points");
          args.push(this.lookupBody(open.pos));
          this.expect(")", "to close WITH LOOKUP");
        } else {
          for (;;) {
            args.push(this.expression());
            if (this.isOp(",")) {
              this.next();
              continue;
            }
            this.expect(")", `to close the call of ${t.text}`);
            break;
          }
        }
        return { k: "call", fn: t.text, subs, args, pos: t.pos };
      }
      return { k: "ref", name: t.text, subs, pos: t.pos };
    }
    throw new VensimError(`expected a value, found ${describe(t)}`, t.pos);
  }

  private signedNumber(): number {
    let sign = 1;
    while (this.isOp("-") || this.isOp("+")) if (this.next().text === "-") sign = -sign;
    const t = this.next();
    if (t.kind !== "num")
      throw new VensimError(`expected a number in lookup points, found ${describe(t)}`, t.pos);
    return sign * Number(t.text);
  }

  private pair(): [number, number] {
    this.expect("(", "to open a lookup point");
    const x = this.signedNumber();
    this.expect(",", "between a lookup point's x and y");
    const y = this.signedNumber();
    this.expect(")", "to close a lookup point");
    return [x, y];
  }

  /**
   * A lookup's points after its opening `(`, up to and including the closing `)`: an optional range
   * `[(xmin,ymin)-(xmax,ymax)]` (with optional reference points), then `(x,y)` pairs — or the old form, the xs
   * then the ys as one list of numbers.
   */
  lookupBody(pos: number): VExpr {
    if (this.isOp("[")) {
      this.next();
      // The range (and any reference lines) are display hints; skip to the closing bracket.
      let depth = 1;
      while (depth > 0) {
        const t = this.next();
        if (t.kind === "eof") throw new VensimError("unclosed '[' in a lookup's range", pos);
        if (t.kind === "op" && t.text === "[") depth++;
        if (t.kind === "op" && t.text === "]") depth--;
      }
      if (this.isOp(",")) this.next();
    }
    const points: [number, number][] = [];
    if (this.isOp("(")) {
      for (;;) {
        points.push(this.pair());
        if (this.isOp(",")) {
          this.next();
          continue;
        }
        break;
      }
    } else if (!this.isOp(")")) {
      const xs: number[] = [];
      for (;;) {
        xs.push(this.signedNumber());
        if (this.isOp(",")) {
          this.next();
          continue;
        }
        break;
      }
      if (xs.length % 2) throw new VensimError("a lookup's list of xs and ys has an odd length", pos);
      const n = xs.length / 2;
      for (let k = 0; k < n; k++) points.push([xs[k]!, xs[n + k]!]);
    }
    this.expect(")", "to close the lookup's points");
    if (points.length === 0) throw new VensimError("a lookup without points", pos);
    // Vensim reads the points in x order, whatever order they are written in.
    points.sort((a, b) => a[0] - b[0]);
    return { k: "lookup", points, pos };
  }

  /** A list of numbers `1, 2, 3; 4, 5, 6;` as a constant array (rows separated by `;`). */
  numberList(first: number, pos: number): VExpr {
    const values = [first];
    let rows = 1;
    let rowOpen = true;
    for (;;) {
      if (this.isOp(",")) {
        this.next();
        values.push(this.signedNumber());
        rowOpen = true;
        continue;
      }
      if (this.isOp(";")) {
        this.next();
        rowOpen = false;
        if (this.peek().kind === "eof") break;
        rows++;
        values.push(this.signedNumber());
        rowOpen = true;
        continue;
      }
      break;
    }
    void rowOpen;
    return { k: "list", values, rows, pos };
  }
}

export function describe(t: Tok): string {
  return t.kind === "eof" ? "the end of the equation" : `'${t.text}'`;
}

/**
 * Line and column (both from 1) of offsets into `text`. The line starts are indexed once and searched by
 * bisection, so positioning every equation of a large model stays linear (rescanning from the start for each
 * offset was quadratic: a 150,000-equation file took minutes).
 */
export function lineLocator(text: string): (offset: number) => { line: number; col: number } {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // \n, or a \r not followed by \n, ends a line.
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) starts.push(i + 1);
  }
  return (offset) => {
    const o = Math.max(0, Math.min(offset, text.length));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - starts[lo]! + 1 };
  };
}

/** Line and column of one offset (for many offsets into the same text, use lineLocator). */
export function lineCol(text: string, offset: number): { line: number; col: number } {
  return lineLocator(text)(offset);
}
