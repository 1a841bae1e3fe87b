import {
  CST,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  type Node,
  parseDocument,
  type Scalar,
} from "yaml";
import { type Diagnostic, DiagnosticError, type Locator } from "../lang/diagnostic.js";

/** Model files larger than this are refused before parsing: nothing legitimate comes close. */
export const MAX_MODEL_BYTES = 8 * 1024 * 1024;

/** Alias expansions allowed per file, so that a 'billion laughs' file cannot exhaust memory. */
const MAX_ALIASES = 1000;

/**
 * YAML values (scalars and collections) allowed per file. The YAML library keeps a syntax tree of some hundreds
 * of bytes per value, so a 700,000-point table would take gigabytes; values are counted by a streaming lexer
 * first, in constant memory, and a file over budget is refused where it crosses it. 100,000 is far beyond
 * any model in the repository (the flagship has a few thousand).
 */
export const MAX_YAML_VALUES = 100_000;

export type Path = readonly (string | number)[];

interface NodePlace {
  start: number;
  end: number;
  scalar?: Scalar;
}

/** Positions by path, as a tree, so that copying a subtree's positions costs the subtree's size, not the file's. */
interface PlaceTree {
  value?: NodePlace;
  key?: number;
  children?: Map<string, PlaceTree>;
}

/**
 * A loaded YAML file: its plain JavaScript value plus where every node and key came from, so that any later
 * check (schema, names, cycles, run-time NaN) can point at the exact line and column.
 */
export class ModelSource {
  readonly lines = new LineCounter();
  private places: PlaceTree = {};
  private aliases = 0;

  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  lineCol(offset: number): { line: number; col: number } {
    const p = this.lines.linePos(Math.max(0, Math.min(offset, this.text.length)));
    return { line: p.line, col: p.col };
  }

  /**
   * A copy whose positions can be rewritten (scenario overlays copy positions) without touching this one's; the
   * line index is shared, since nothing changes it after parsing.
   */
  clone(): ModelSource {
    const copy = new ModelSource(this.file, this.text);
    (copy as { lines: LineCounter }).lines = this.lines;
    copy.aliases = this.aliases;
    const stack: { from: PlaceTree; to: PlaceTree }[] = [{ from: this.places, to: copy.places }];
    while (stack.length) {
      const { from, to } = stack.pop()!;
      if (from.value) to.value = from.value;
      if (from.key !== undefined) to.key = from.key;
      if (!from.children) continue;
      to.children = new Map();
      for (const [k, child] of from.children) {
        const next: PlaceTree = {};
        to.children.set(k, next);
        stack.push({ from: child, to: next });
      }
    }
    return copy;
  }

  /** A diagnostic at `offset`, reaching to `end` when the offending text's extent is known. */
  error(offset: number, message: string, end?: number): Diagnostic {
    return {
      file: this.file,
      ...this.lineCol(offset),
      message,
      ...(end !== undefined && end > offset ? { end: this.lineCol(end) } : {}),
    };
  }

  /** The tree node at `path`, or undefined; with `create`, made on the way. */
  private node(path: Path, create = false): PlaceTree | undefined {
    let t = this.places;
    for (const part of path) {
      const next = create ? this.child(t, String(part)) : t.children?.get(String(part));
      if (!next) return undefined;
      t = next;
    }
    return t;
  }

  /** The value recorded at `path`, or at the nearest ancestor that has one. */
  private nearestValue(path: Path): NodePlace | undefined {
    let t: PlaceTree | undefined = this.places;
    let found = t.value;
    for (const part of path) {
      t = t.children?.get(String(part));
      if (!t) break;
      if (t.value) found = t.value;
    }
    return found;
  }

  /** Where the value at `path` starts; falls back to the nearest ancestor that exists. */
  valueOffset(path: Path): number {
    return this.nearestValue(path)?.start ?? 0;
  }

  /** Where the key naming `path` starts (for "unknown key" and "defined twice"). */
  keyOffset(path: Path): number {
    return this.node(path)?.key ?? this.valueOffset(path);
  }

  at(path: Path, message: string): Diagnostic {
    const v = this.nearestValue(path);
    return this.error(v?.start ?? 0, message, v?.end);
  }

  atKey(path: Path, message: string): Diagnostic {
    const key = this.node(path)?.key;
    if (key === undefined) return this.at(path, message);
    const name = path[path.length - 1];
    const end = name === undefined ? undefined : this.keyEnd(key, String(name));
    return this.error(key, message, end);
  }

  /** Where a key written at `offset` ends: after its text, plain or quoted. */
  private keyEnd(offset: number, name: string): number | undefined {
    if (this.text.startsWith(name, offset)) return offset + name.length;
    const quote = this.text[offset];
    if (quote === '"' || quote === "'") {
      const close = this.text.indexOf(quote, offset + 1);
      return close > offset ? close + 1 : undefined;
    }
    return undefined;
  }

  /** A Locator for an expression stored as the scalar at `path`: expression offset → file line/col. */
  expressionLocator(path: Path, exprText: string): Locator {
    const place = this.node(path)?.value;
    const start = place?.start ?? this.valueOffset(path);
    const raw = place ? this.text.slice(place.start, place.end) : "";
    // Greedy alignment of the value's characters with the raw source: exact for plain scalars, and close
    // for quoted and block scalars, whose escapes and indentation the value no longer shows.
    const map = new Array<number>(exprText.length + 1);
    let cursor = 0;
    // The cursor only moves forward, so a character once missing stays missing: remembering it keeps this linear.
    const missing = new Set<string>();
    for (let i = 0; i < exprText.length; i++) {
      const c = exprText[i]!;
      const found = missing.has(c) ? -1 : raw.indexOf(c, cursor);
      if (found < 0) {
        missing.add(c);
        map[i] = cursor;
        continue;
      }
      map[i] = found;
      cursor = found + 1;
    }
    map[exprText.length] = cursor;
    return (offset) => this.lineCol(start + (map[Math.max(0, Math.min(offset, exprText.length))] ?? 0));
  }

  /** Record positions for `path` as a copy of those at `from` (used when a scenario overlays the base). */
  copyPlaces(from: Path, to: Path): void {
    const root = this.node(from);
    if (!root) return;
    // Collect first: `to` may lie inside `from` (a shorthand `x: 3` becomes `x: { value: 3 }`).
    const copies: { path: string[]; value?: NodePlace; key?: number }[] = [];
    const stack: { t: PlaceTree; path: string[] }[] = [{ t: root, path: [] }];
    while (stack.length) {
      const { t, path } = stack.pop()!;
      if (t.value || t.key !== undefined) copies.push({ path, value: t.value, key: t.key });
      for (const [k, child] of t.children ?? []) stack.push({ t: child, path: [...path, k] });
    }
    for (const c of copies) {
      const target = this.node([...to, ...c.path], true)!;
      if (c.value) target.value = c.value;
      if (c.key !== undefined) target.key = c.key;
    }
  }

  /** Parse the text as YAML and convert it to plain values, recording positions. */
  static parse(file: string, text: string): { source: ModelSource; value: unknown } {
    const source = new ModelSource(file, text);
    if (text.length > MAX_MODEL_BYTES) {
      const mb = (text.length / 1024 / 1024).toFixed(1);
      throw new DiagnosticError([
        {
          file,
          line: 1,
          col: 1,
          message: `file is ${mb} MB; model files are limited to ${MAX_MODEL_BYTES / 1024 / 1024} MB`,
        },
      ]);
    }
    const overBudget = valueBudgetExceeded(text);
    if (overBudget !== undefined) {
      const before = text.slice(0, overBudget);
      const line = before.split("\n").length;
      const col = overBudget - before.lastIndexOf("\n");
      throw new DiagnosticError([
        {
          file,
          line,
          col,
          message: `more than ${MAX_YAML_VALUES.toLocaleString("en")} values in one model file; this one passes the limit here — a model is not a data store: shorten the table or compute it`,
        },
      ]);
    }
    const nul = text.indexOf("\u0000");
    if (nul >= 0) {
      // LineCounter is filled by parsing; count lines by hand for this early exit.
      const before = text.slice(0, nul);
      const line = before.split("\n").length;
      const col = nul - before.lastIndexOf("\n");
      throw new DiagnosticError([
        { file, line, col, message: "this is a binary file, not a YAML model (it contains a NUL byte)" },
      ]);
    }
    const doc = parseDocument(text, {
      lineCounter: source.lines,
      prettyErrors: false,
      // Checked while converting, in constant time per key: the library's own check is quadratic in map size.
      uniqueKeys: false,
      strict: true,
    });
    if (doc.errors.length > 0) {
      throw new DiagnosticError(
        doc.errors.slice(0, 5).map((e) => source.error(e.pos[0], `YAML syntax: ${yamlMessage(e.message)}`)),
      );
    }
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
      throw new DiagnosticError([
        source.error(0, "the model file is empty — start with 'brink: 1', a 'name' and a 'time' section"),
      ]);
    }
    if (!isMap(doc.contents)) {
      throw new DiagnosticError([
        source.error(
          doc.contents.range?.[0] ?? 0,
          "a model file must be a YAML mapping of sections (brink, name, time, params, stocks, …)",
        ),
      ]);
    }
    const diagnostics: Diagnostic[] = [];
    const value = source.convert(doc.contents, source.places, diagnostics, doc, 0);
    if (diagnostics.length) throw new DiagnosticError(diagnostics);
    return { source, value };
  }

  private child(at: PlaceTree, key: string): PlaceTree {
    at.children ??= new Map();
    let c = at.children.get(key);
    if (!c) {
      c = {};
      at.children.set(key, c);
    }
    return c;
  }

  /** The plain value of a YAML node, recording its place (and its keys' places) in the tree node `at`. */
  private convert(node: Node | null, at: PlaceTree, out: Diagnostic[], doc: unknown, depth: number): unknown {
    if (node === null) return null;
    if (depth > 64) {
      out.push(this.error(node.range?.[0] ?? 0, "nesting deeper than 64 levels is not a model"));
      return null;
    }
    if (isAlias(node)) {
      if (++this.aliases > MAX_ALIASES) {
        out.push(
          this.error(
            node.range?.[0] ?? 0,
            `more than ${MAX_ALIASES} YAML alias expansions; write the values out`,
          ),
        );
        return null;
      }
      // biome-ignore lint/suspicious/noExplicitAny: the yaml typings want the concrete Document type.
      const target = node.resolve(doc as any) as Node | undefined;
      return this.convert(target ?? null, at, out, doc, depth + 1);
    }
    const range = node.range ?? [0, 0, 0];
    const place: NodePlace = { start: range[0], end: range[1] };
    if (isScalar(node)) place.scalar = node;
    at.value = place;
    if (isMap(node)) {
      const obj: Record<string, unknown> = Object.create(null);
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        const key = isScalar(keyNode) ? keyNode.value : undefined;
        const keyStart = keyNode?.range?.[0] ?? range[0];
        if (typeof key !== "string" && typeof key !== "number") {
          out.push(this.error(keyStart, "keys must be plain names"));
          continue;
        }
        const k = String(key);
        if (k in obj) {
          out.push(this.error(keyStart, "YAML syntax: Map keys must be unique"));
          continue;
        }
        const child = this.child(at, k);
        child.key = keyStart;
        obj[k] = this.convert(pair.value as Node | null, child, out, doc, depth + 1);
      }
      return obj;
    }
    if (isSeq(node)) {
      return node.items.map((item, i) =>
        this.convert(item as Node | null, this.child(at, String(i)), out, doc, depth + 1),
      );
    }
    if (isScalar(node)) {
      const v = node.value;
      if (typeof v === "number" && !Number.isFinite(v)) {
        out.push(this.error(range[0], "numbers must be finite (.inf and .nan are not allowed)"));
      }
      return v;
    }
    return null;
  }
}

/**
 * The offset at which the text's YAML values pass MAX_YAML_VALUES, or undefined if they stay within it. Streams
 * the YAML lexer's tokens without building anything.
 */
/** Tokens that start a value: plain scalars (their start marker), quoted and block scalars, collections, aliases. */
const COUNTED = new Set([
  "scalar",
  "single-quoted-scalar",
  "double-quoted-scalar",
  "block-scalar-header",
  "flow-seq-start",
  "flow-map-start",
  "seq-item-ind",
  "alias",
]);

function valueBudgetExceeded(text: string): number | undefined {
  // Cheap bound first: every value needs at least one character that is not a space.
  if (text.length <= MAX_YAML_VALUES) return undefined;
  let values = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if (type && COUNTED.has(type) && ++values > MAX_YAML_VALUES) return offset;
    // The lexer's own markers (document mode, scalar start, flow end) are not text of the file.
    if (type !== "doc-mode" && type !== "scalar" && type !== "flow-error-end") offset += token.length;
  }
  return undefined;
}

function yamlMessage(message: string): string {
  // The yaml library appends a source excerpt after a newline; the file:line:col prefix already says where.
  const first = message.split("\n")[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, "").replace(/\.$/, "");
}
