import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type Scalar } from "yaml";
import { type Diagnostic, DiagnosticError, type Locator } from "../lang/diagnostic.js";

/** Model files larger than this are refused before parsing: nothing legitimate comes close. */
export const MAX_MODEL_BYTES = 8 * 1024 * 1024;

/** Alias expansions allowed per file, so that a 'billion laughs' file cannot exhaust memory. */
const MAX_ALIASES = 1000;

export type Path = readonly (string | number)[];
export const pathKey = (p: Path): string => p.join("\u0001");

interface NodePlace {
  start: number;
  end: number;
  scalar?: Scalar;
}

/**
 * A loaded YAML file: its plain JavaScript value plus where every node and key came from, so that any later
 * check (schema, names, cycles, run-time NaN) can point at the exact line and column.
 */
export class ModelSource {
  readonly lines = new LineCounter();
  private readonly values = new Map<string, NodePlace>();
  private readonly keys = new Map<string, number>();
  private aliases = 0;

  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  lineCol(offset: number): { line: number; col: number } {
    const p = this.lines.linePos(Math.max(0, Math.min(offset, this.text.length)));
    return { line: p.line, col: p.col };
  }

  error(offset: number, message: string): Diagnostic {
    return { file: this.file, ...this.lineCol(offset), message };
  }

  /** Where the value at `path` starts; falls back to the nearest ancestor that exists. */
  valueOffset(path: Path): number {
    for (let n = path.length; n >= 0; n--) {
      const v = this.values.get(pathKey(path.slice(0, n)));
      if (v) return v.start;
    }
    return 0;
  }

  /** Where the key naming `path` starts (for "unknown key" and "defined twice"). */
  keyOffset(path: Path): number {
    return this.keys.get(pathKey(path)) ?? this.valueOffset(path);
  }

  at(path: Path, message: string): Diagnostic {
    return this.error(this.valueOffset(path), message);
  }

  atKey(path: Path, message: string): Diagnostic {
    return this.error(this.keyOffset(path), message);
  }

  /** A Locator for an expression stored as the scalar at `path`: expression offset → file line/col. */
  expressionLocator(path: Path, exprText: string): Locator {
    const place = this.values.get(pathKey(path));
    const start = place?.start ?? this.valueOffset(path);
    const raw = place ? this.text.slice(place.start, place.end) : "";
    // Greedy alignment of the value's characters with the raw source: exact for plain scalars, and close
    // for quoted and block scalars, whose escapes and indentation the value no longer shows.
    const map = new Array<number>(exprText.length + 1);
    let cursor = 0;
    for (let i = 0; i < exprText.length; i++) {
      const found = raw.indexOf(exprText[i]!, cursor);
      if (found < 0) {
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
    const fromKey = pathKey(from);
    const toKey = pathKey(to);
    for (const [k, v] of [...this.values]) {
      if (k === fromKey || k.startsWith(`${fromKey}\u0001`))
        this.values.set(toKey + k.slice(fromKey.length), v);
    }
    for (const [k, v] of [...this.keys]) {
      if (k === fromKey || k.startsWith(`${fromKey}\u0001`))
        this.keys.set(toKey + k.slice(fromKey.length), v);
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
      uniqueKeys: true,
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
    const value = source.convert(doc.contents, [], diagnostics, doc, 0);
    if (diagnostics.length) throw new DiagnosticError(diagnostics);
    return { source, value };
  }

  private convert(node: Node | null, path: Path, out: Diagnostic[], doc: unknown, depth: number): unknown {
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
      return this.convert(target ?? null, path, out, doc, depth + 1);
    }
    const range = node.range ?? [0, 0, 0];
    const place: NodePlace = { start: range[0], end: range[1] };
    if (isScalar(node)) place.scalar = node;
    this.values.set(pathKey(path), place);
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
        this.keys.set(pathKey([...path, k]), keyStart);
        obj[k] = this.convert(pair.value as Node | null, [...path, k], out, doc, depth + 1);
      }
      return obj;
    }
    if (isSeq(node)) {
      return node.items.map((item, i) =>
        this.convert(item as Node | null, [...path, i], out, doc, depth + 1),
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

function yamlMessage(message: string): string {
  // The yaml library appends a source excerpt after a newline; the file:line:col prefix already says where.
  const first = message.split("\n")[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, "").replace(/\.$/, "");
}
