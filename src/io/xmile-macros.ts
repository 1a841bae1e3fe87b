import { canonicalName, XmileExpressionError } from "./xmile-equation.js";

/** Longest equation macro expansion may produce. */
export const MAX_MACRO_EXPANSION = 1_000_000;

/** An XMILE expression macro: `<macro name="F"><parm>x</parm><eqn>…x…</eqn></macro>`. */
export interface Macro {
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
