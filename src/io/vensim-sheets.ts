/**
 * Vensim's GET DIRECT / GET XLS functions read constants, time series and lookups from a grid of cells (a CSV or
 * tab file, or a spreadsheet's sheet), laid out as Vensim's documentation describes:
 * - CONSTANTS(file, tab, 'B2'): one value at B2; a 1-D array across the row from B2 (down the column when the
 *   cell is written 'B2*'); a 2-D array with its first range down the rows and its second across the columns.
 * - DATA and LOOKUPS(file, tab, time, 'B2'): `time` a column letter ('A') holds the times (or x values) down
 *   that column from B2's row, the values down B2's column, one column per element of a 1-D array; `time` a row
 *   number ('1') holds them across that row from B2's column, the values across B2's row, one row per element.
 *   A series ends at the first empty time cell.
 * Reading the files is the caller's (src/node); this module only knows the layout.
 */

/** A cell: a number, a text, or empty. */
export type Cell = number | string | undefined;
/** Rows of cells, from the top-left cell (A1 is grid[0][0]). */
export type Grid = readonly (readonly Cell[])[];
/** Reads a file the model names (relative to the model), with Vensim's `tab` argument: a sheet name, or the
 * delimiter of a text file. Throws an Error whose message says what went wrong. */
export type SheetReader = (file: string, tab: string) => Grid;

/**
 * Why a file a model names may not be read, or undefined when it may: a model reads files in its own folder or
 * below it, never an absolute path (`/etc/passwd`, `C:\…`, `\\server\…`) nor one whose `..` steps lead out of
 * the folder. Both `/` and `\` separate folders, as they do in Vensim on Windows. This is the check on the text
 * alone; a reader of real files must also resolve symbolic links (src/node/sheets.ts does).
 */
export function outsideModelFolder(file: string): string | undefined {
  if (/^[\\/]/.test(file) || /^[A-Za-z]:/.test(file)) return "an absolute path";
  let depth = 0;
  for (const part of file.split(/[\\/]+/)) {
    if (part === "..") depth--;
    else if (part !== "." && part !== "") depth++;
    if (depth < 0) return "a path that leads out of the model's folder";
  }
  return undefined;
}

/** A layout problem, told at the call. */
export class SheetError extends Error {}

const columnNumber = (letters: string): number =>
  [...letters.toUpperCase()].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0) - 1;

/** 'B2' → row 1, column 1 (from 0); a trailing '*' is `transposed`. */
export function cellAddress(text: string): { row: number; col: number; transposed: boolean } {
  const m = /^\s*\$?([A-Za-z]{1,3})\$?(\d{1,7})(\*?)\s*$/.exec(text);
  if (!m) throw new SheetError(`'${text}' is not a cell such as 'B2' (named ranges are not supported)`);
  return { col: columnNumber(m[1]!), row: Number(m[2]) - 1, transposed: m[3] === "*" };
}

const numberAt = (grid: Grid, row: number, col: number): number | undefined => {
  const c = grid[row]?.[col];
  if (typeof c === "number") return c;
  if (typeof c === "string" && c.trim() !== "") {
    const v = Number(c.trim());
    if (Number.isFinite(v)) return v;
  }
  return undefined;
};

const cellName = (row: number, col: number): string => {
  let letters = "";
  for (let n = col + 1; n > 0; n = Math.floor((n - 1) / 26))
    letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  return `${letters}${row + 1}`;
};

/** The number at a cell, or a SheetError naming the cell. */
const required = (grid: Grid, row: number, col: number): number => {
  const v = numberAt(grid, row, col);
  if (v === undefined) {
    const c = grid[row]?.[col];
    throw new SheetError(
      c === undefined || c === ""
        ? `cell ${cellName(row, col)} is empty`
        : `cell ${cellName(row, col)} holds '${String(c).slice(0, 40)}', not a number`,
    );
  }
  return v;
};

/**
 * The constant at `position` (an element's index along each of the variable's ranges, of sizes `shape`) of a
 * GET … CONSTANTS reading from `cell`.
 */
export function constantAt(grid: Grid, cell: string, position: readonly number[]): number {
  const { row, col, transposed } = cellAddress(cell);
  if (position.length > 2) throw new SheetError("constants of three or more ranges are not supported");
  const [a = 0, b = 0] = position;
  if (position.length === 1) return transposed ? required(grid, row + a, col) : required(grid, row, col + a);
  return transposed ? required(grid, row + b, col + a) : required(grid, row + a, col + b);
}

/** The (time or x, value) points of element `element` (from 0) of a GET … DATA or LOOKUPS reading. */
export function seriesAt(grid: Grid, timeAt: string, cell: string, element: number): [number, number][] {
  const { row, col } = cellAddress(cell);
  const byColumn = /^\s*[A-Za-z]{1,3}\s*$/.test(timeAt);
  if (!byColumn && !/^\s*\d{1,7}\s*$/.test(timeAt))
    throw new SheetError(`'${timeAt}' is neither a column (such as 'A') nor a row (such as '1') of times`);
  const points: [number, number][] = [];
  if (byColumn) {
    const timeCol = columnNumber(timeAt.trim());
    for (let r = row; numberAt(grid, r, timeCol) !== undefined; r++) {
      const v = numberAt(grid, r, col + element);
      if (v !== undefined) points.push([numberAt(grid, r, timeCol)!, v]);
    }
  } else {
    const timeRow = Number(timeAt) - 1;
    for (let c = col; numberAt(grid, timeRow, c) !== undefined; c++) {
      const v = numberAt(grid, row + element, c);
      if (v !== undefined) points.push([numberAt(grid, timeRow, c)!, v]);
    }
  }
  if (points.length === 0)
    throw new SheetError(
      `no values from cell ${cellName(byColumn ? row : row + element, byColumn ? col + element : col)}`,
    );
  for (let k = 1; k < points.length; k++)
    if (!(points[k]![0] > points[k - 1]![0]))
      throw new SheetError(
        `the times (or x values) must increase: ${points[k - 1]![0]} then ${points[k]![0]}`,
      );
  return points;
}

/** A delimited text file as a grid (numbers where a trimmed cell reads as one). Quotes are not interpreted. */
export function delimitedGrid(text: string, delimiter: string): Grid {
  return text
    .replace(/^\uFEFF/, "")
    .split(/\r\n|\r|\n/)
    .map((line) =>
      line.split(delimiter).map((raw) => {
        const t = raw.trim().replace(/^"(.*)"$/, "$1");
        if (t === "") return undefined;
        const v = Number(t);
        return Number.isFinite(v) ? v : t;
      }),
    );
}
