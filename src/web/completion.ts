import type { CompletionContext, CompletionResult } from "@codemirror/autocomplete";
import { BUILTINS } from "../compile/builtins.js";
import { modelFileJsonSchema } from "../model/schema.js";

/**
 * Completion for model files, from the JSON Schema of the format: where the cursor is a key, the keys allowed at
 * that place (the entries of `params` get param fields, `warroom.roles.x.levers.y` lever fields…); where it is a
 * value, the builtins and the model's own names.
 */
type SchemaNode = {
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  items?: SchemaNode;
  description?: string;
};

const SCHEMA = modelFileJsonSchema() as SchemaNode;

/** The object branches a schema node allows (through anyOf / oneOf). */
function objects(node: SchemaNode | undefined): SchemaNode[] {
  if (!node) return [];
  const alternatives = [...(node.anyOf ?? []), ...(node.oneOf ?? [])];
  return alternatives.length ? alternatives.flatMap(objects) : [node];
}

/** The schema node at a key path: named properties, or any key of a record (an entry's name). */
export function schemaAt(path: string[]): SchemaNode[] {
  let nodes = [SCHEMA];
  for (const key of path) {
    nodes = nodes.flatMap(objects).flatMap((n) => {
      const named = n.properties?.[key];
      if (named) return [named];
      if (n.additionalProperties && typeof n.additionalProperties === "object")
        return [n.additionalProperties];
      return [];
    });
  }
  return nodes.flatMap(objects);
}

/** The keys the schema allows at a path, with their descriptions. */
export function keysAt(path: string[]): { key: string; doc?: string }[] {
  const seen = new Map<string, string | undefined>();
  for (const n of schemaAt(path))
    for (const [key, child] of Object.entries(n.properties ?? {}))
      if (!seen.has(key))
        seen.set(key, child.description ?? objects(child).find((c) => c.description)?.description);
  return [...seen].map(([key, doc]) => ({ key, ...(doc ? { doc } : {}) }));
}

/**
 * Where the cursor is in the YAML: the key path of its mapping (from the indentation of the lines above and any
 * open flow mappings on its own line), and whether it stands where a key goes.
 */
export function yamlContext(
  lines: string[],
  line: number,
  column: number,
): { path: string[]; atKey: boolean } {
  const current = lines[line]!.slice(0, column);
  const indent = (s: string) => s.length - s.trimStart().length;
  const ownIndent = indent(current.trim() === "" ? current : lines[line]!);
  const path: string[] = [];
  let limit = ownIndent;
  for (let i = line - 1; i >= 0 && limit > 0; i--) {
    const text = lines[i]!;
    if (text.trim() === "" || text.trimStart().startsWith("#")) continue;
    const m = /^(\s*)(?:- )?([\p{L}\p{N}_.-]+)\s*:/u.exec(text);
    if (m && m[1]!.length < limit) {
      path.unshift(m[2]!);
      limit = m[1]!.length;
    }
  }
  // Open flow mappings on this line: `name: { value: 1, |`.
  let atKey = /^\s*(?:- )?[\p{L}\p{N}_]*$/u.test(current);
  const stack: string[] = [];
  const re = /([\p{L}\p{N}_.-]+)\s*:\s*\{|\{|\}/gu;
  for (const m of current.matchAll(re)) {
    if (m[0] === "}") stack.pop();
    else stack.push(m[1] ?? "");
  }
  const lineKey = /^\s*(?:- )?([\p{L}\p{N}_.-]+)\s*:/u.exec(current)?.[1];
  if (stack.length) {
    if (lineKey && !current.trimStart().startsWith("{") && stack[0] !== lineKey) path.push(lineKey);
    for (const key of stack) if (key) path.push(key);
    atKey = /[{,]\s*[\p{L}\p{N}_]*$/u.test(current);
  }
  return { path, atKey };
}

export function completeModel(
  context: CompletionContext,
  modelNames: () => string[],
): CompletionResult | null {
  const word = context.matchBefore(/[\p{L}_][\p{L}\p{N}_]*/u);
  if (!word || (word.from === word.to && !context.explicit)) return null;
  const doc = context.state.doc;
  const line = doc.lineAt(context.pos);
  const lines = doc.sliceString(0, line.to).split("\n");
  const { path, atKey } = yamlContext(lines, lines.length - 1, context.pos - line.from);
  if (atKey) {
    const keys = keysAt(path);
    if (keys.length)
      return {
        from: word.from,
        options: keys.map((k) => ({ label: k.key, type: "property", ...(k.doc ? { info: k.doc } : {}) })),
      };
  }
  return {
    from: word.from,
    options: [
      ...[...BUILTINS.values()].map((b) => ({
        label: b.name,
        type: "function",
        detail: b.signature,
        info: b.doc,
      })),
      ...modelNames().map((label) => ({ label, type: "variable" })),
    ],
  };
}
