// Positions in JSON files that parsed but hold a value the model refuses (summaries, posteriors): errors point
// at the value, file:line:col, without a position-keeping parse of files of up to 256 MB.

/** A JSON path: object keys and array indices from the top. */
export type JsonPath = readonly (string | number)[];

/**
 * Where the value at `path` starts in a JSON text (1-based line and column; the first line when not found), by one
 * pass that follows nesting and strings — a parse with positions of a file of up to 256 MB would take minutes and
 * gigabytes. Run only on error, on a text that has parsed as JSON; as JSON.parse, the last duplicate key counts.
 */
export function jsonValuePosition(text: string, path: JsonPath): { line: number; col: number } {
  const frames: { object: boolean; key: string | number }[] = [];
  let keyNext = false; // in an object, before a key
  let found: number | undefined;
  /** Whether the first `depth` frames' keys are the path's. */
  const onPath = (depth: number) => {
    if (depth > path.length) return false;
    for (let d = 0; d < depth; d++) if (frames[d]!.key !== path[d]) return false;
    return true;
  };
  const valueAt = (i: number) => {
    if (frames.length === path.length && onPath(frames.length)) found = i;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === " " || ch === "\n" || ch === "\r" || ch === "\t" || ch === ":") continue;
    const top = frames[frames.length - 1];
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (top?.object && keyNext) {
        top.key = JSON.parse(text.slice(i, j + 1)) as string;
        keyNext = false;
        // A key on the path seen again replaces its earlier value, and whatever was found inside that.
        if (onPath(frames.length)) found = undefined;
      } else valueAt(i);
      i = j;
    } else if (ch === ",") {
      if (top?.object) keyNext = true;
      else if (top) top.key = (top.key as number) + 1;
    } else if (ch === "{" || ch === "[") {
      valueAt(i);
      frames.push({ object: ch === "{", key: ch === "{" ? "" : 0 });
      keyNext = ch === "{";
    } else if (ch === "}" || ch === "]") {
      frames.pop();
      keyNext = false;
    } else {
      // A number, true, false or null: its first character, then past its end.
      valueAt(i);
      while (i + 1 < text.length && !",]} \n\r\t".includes(text[i + 1]!)) i++;
    }
  }
  if (found === undefined) return { line: 1, col: 1 };
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < found; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: found - lineStart + 1 };
}
