export type TokenKind = "number" | "date" | "name" | "keyword" | "op" | "(" | ")" | "," | "eof";

export interface Token {
  kind: TokenKind;
  text: string;
  pos: number;
  end: number;
  value?: number;
}

export const KEYWORDS = new Set(["and", "or", "not", "if", "then", "else", "by", "before", "at"]);

/** A syntax error at an offset of the expression text. */
export class ExprSyntaxError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
    this.name = "ExprSyntaxError";
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}(?![\d.eE])/;
const NUMBER = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * The rule for every name in a model (params, vars, stocks, scenarios, groups, …): ASCII letters, digits and '_',
 * starting with a letter or '_'. ASCII only, so that no two names can look alike (Latin 'a', Cyrillic 'а') and no
 * name carries markup, quotes, escape sequences or direction overrides.
 */
export const NAME_RULE = "names use ASCII letters, digits and '_', and start with a letter or '_'";
export const MAX_NAME_LENGTH = 256;

/** A character as a diagnostic shows it: itself and its code point, or only the code point if unprintable. */
export function describeChar(c: string): string {
  const code = c.codePointAt(0)!;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  if (c === " ") return "a space";
  if (/[\p{Cc}\p{Cf}\p{Z}\p{M}\p{Co}\p{Cn}]/u.test(c)) return hex;
  return `'${c}' (${hex})`;
}

/** Why `name` cannot name anything in a model, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return "a name cannot be empty";
  if (name.length > MAX_NAME_LENGTH)
    return `it is ${name.length} characters long; names have at most ${MAX_NAME_LENGTH}`;
  const bad = /[^A-Za-z0-9_]/u.exec(name);
  if (bad) return `it contains ${describeChar(bad[0])}; ${NAME_RULE}`;
  if (/^[0-9]/.test(name)) return `it starts with a digit; ${NAME_RULE}`;
  if (name.startsWith("__")) return "names starting with '__' are reserved";
  return undefined;
}
const OPERATORS = ["<=", ">=", "==", "!=", "<>", "<", ">", "=", "+", "-", "*", "/", "%", "^", "|"];
/** Operators people type from other languages, with what to write instead. */
const FOREIGN: Record<string, string> = {
  "&&": "and",
  "||": "or",
  "**": "^",
  "!": "not",
  "?": "if … then … else …",
};

export function isValidDate(iso: string): boolean {
  const d = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === iso;
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    const rest = text.slice(i);
    const date = DATE.exec(rest);
    if (date) {
      if (!isValidDate(date[0])) throw new ExprSyntaxError(`'${date[0]}' is not a valid date`, i);
      tokens.push({ kind: "date", text: date[0], pos: i, end: i + date[0].length });
      i += date[0].length;
      continue;
    }
    const num = NUMBER.exec(rest);
    if (num) {
      const after = rest[num[0].length];
      if (after !== undefined && /[\p{L}_]/u.test(after)) {
        throw new ExprSyntaxError(
          `a number cannot run into a name ('${num[0]}${after}…') — put an operator between them, e.g. '${num[0]} * ${after}…'`,
          i,
        );
      }
      tokens.push({ kind: "number", text: num[0], pos: i, end: i + num[0].length, value: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const name = NAME.exec(rest);
    if (name) {
      const after = rest.codePointAt(name[0].length);
      if (after !== undefined && after > 0x7f && /[\p{L}\p{N}\p{M}]/u.test(String.fromCodePoint(after)))
        throw new ExprSyntaxError(
          `${describeChar(String.fromCodePoint(after))} cannot be part of a name: ${NAME_RULE}`,
          i + name[0].length,
        );
      const kind = KEYWORDS.has(name[0]) ? "keyword" : "name";
      tokens.push({ kind, text: name[0], pos: i, end: i + name[0].length });
      i += name[0].length;
      continue;
    }
    if (c === "(" || c === ")" || c === ",") {
      tokens.push({ kind: c, text: c, pos: i, end: i + 1 });
      i++;
      continue;
    }
    const foreign = Object.keys(FOREIGN).find((f) => rest.startsWith(f) && !rest.startsWith("!="));
    if (foreign) {
      throw new ExprSyntaxError(`'${foreign}' is not an operator here — write '${FOREIGN[foreign]}'`, i);
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (op) {
      const canonical = op === "=" ? "==" : op === "<>" ? "!=" : op;
      tokens.push({ kind: "op", text: canonical, pos: i, end: i + op.length });
      i += op.length;
      continue;
    }
    if (/^\p{L}/u.test(rest)) {
      const letter = String.fromCodePoint(rest.codePointAt(0)!);
      throw new ExprSyntaxError(`${describeChar(letter)} cannot be part of a name: ${NAME_RULE}`, i);
    }
    const shown = c.codePointAt(0)! < 32 ? `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}` : c;
    throw new ExprSyntaxError(`unexpected character '${shown}'`, i);
  }
  tokens.push({ kind: "eof", text: "", pos: text.length, end: text.length });
  return tokens;
}
