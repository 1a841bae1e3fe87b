export type Severity = "error" | "warning";

/** A place in a file, 1-based. */
export interface Position {
  line: number;
  col: number;
}

/**
 * A problem found in user input, located in a file. Every layer reports problems this way. `line` and `col` are
 * where it starts; `end`, when known, where the offending text ends (exclusive), so editors can underline it.
 * A diagnostic without a severity is an error.
 */
export interface Diagnostic extends Position {
  file: string;
  message: string;
  severity?: Severity;
  end?: Position;
}

/** Thrown only to unwind to the nearest layer boundary, which turns it into a Diagnostic list. */
export class DiagnosticError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n"));
    this.name = "DiagnosticError";
  }
}

export function severityOf(d: Diagnostic): Severity {
  return d.severity ?? "error";
}

/** `file:line:col: error: message`, with any character that could act on a terminal or reorder text escaped. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${printable(d.file)}:${d.line}:${d.col}: ${severityOf(d)}: ${printable(d.message)}`;
}

/**
 * Control characters (C0, C1: terminal escape sequences, newlines that would forge another diagnostic line) and
 * format characters (bidirectional overrides, which reorder what a reader sees; zero-width characters).
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/** `\u{1b}` for each unprintable character, so that hostile names can be shown without acting on the terminal. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** Maps an offset inside a piece of text (an expression, say) to a place in the file it came from. */
export type Locator = (offset: number) => { line: number; col: number };

/** Damerau-free Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length]!;
}

/**
 * Candidates compared per suggestion. Each unknown name is compared with the known ones, so without a bound a file
 * of 10,000 misspelt references to 10,000 names costs 10⁸ edit distances (45 s); past the bound, suggestions come
 * from the first candidates whose length could match.
 */
const MAX_COMPARED = 500;

/** The closest candidate to `name`, if it is close enough to be a plausible typo. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  const lower = name.toLowerCase();
  let compared = 0;
  for (const c of candidates) {
    // The edit distance is at least the difference in length, and nothing beyond the limit is suggested.
    const limit = Math.max(1, Math.floor(Math.max(name.length, c.length) / 3));
    if (Math.abs(c.length - name.length) > limit) continue;
    if (++compared > MAX_COMPARED) break;
    const cl = c.toLowerCase();
    const score = cl === lower ? 0 : editDistance(lower, cl);
    if (score < bestScore) {
      bestScore = score;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(name.length, best.length) / 3));
  return bestScore <= limit ? best : undefined;
}

export function didYouMean(name: string, candidates: Iterable<string>): string {
  const c = closest(name, candidates);
  return c === undefined ? "" : ` — did you mean '${c}'?`;
}
