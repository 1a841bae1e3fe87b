import { SaxesParser } from "saxes";
import { type Diagnostic, DiagnosticError } from "../lang/diagnostic.js";

/**
 * XMILE (and Stella .stmx) import: the XML is read with positions, each variable becomes a Brink entry, names
 * become identifiers (case-insensitive, spaces and punctuation to `_`), and equations are rewritten token by
 * token into Brink's expression syntax. What Brink cannot express yet — arrays, macros, modules, conveyors and
 * queues — is refused with a diagnostic naming the element and its line.
 */
interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
  line: number;
  col: number;
}

function parseXml(file: string, text: string): XmlNode {
  const parser = new SaxesParser({ xmlns: false, position: true });
  const root: XmlNode = { name: "#root", attrs: {}, children: [], text: "", line: 1, col: 1 };
  const stack: XmlNode[] = [root];
  let error: Diagnostic | undefined;
  // Some exporters append a second document after the root closes; what follows the root is ignored.
  let rootClosed = false;
  parser.on("error", (e) => {
    if (rootClosed) return;
    error ??= {
      file,
      line: parser.line,
      col: parser.column + 1,
      message: `malformed XML: ${e.message.replace(/^\d+:\d+: /, "")}`,
    };
  });
  parser.on("opentag", (tag) => {
    const name = tag.name.includes(":") ? tag.name : tag.name.toLowerCase();
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(tag.attributes)) attrs[k.toLowerCase()] = String(v);
    const node: XmlNode = { name, attrs, children: [], text: "", line: parser.line, col: parser.column };
    stack[stack.length - 1]!.children.push(node);
    stack.push(node);
  });
  parser.on("text", (t) => {
    stack[stack.length - 1]!.text += t;
  });
  parser.on("cdata", (t) => {
    stack[stack.length - 1]!.text += t;
  });
  parser.on("closetag", () => {
    stack.pop();
    if (stack.length === 1 && root.children.length > 0) rootClosed = true;
  });
  try {
    parser.write(text).close();
  } catch {
    // Reported through the error handler.
  }
  if (error) throw new DiagnosticError([error]);
  return root;
}

const child = (n: XmlNode, name: string) => n.children.find((c) => c.name === name);
const children = (n: XmlNode, name: string) => n.children.filter((c) => c.name === name);

const RESERVED = new Set([
  "and",
  "or",
  "not",
  "if",
  "then",
  "else",
  "by",
  "before",
  "at",
  "time",
  "dt",
  "starttime",
  "stoptime",
]);

/** An XMILE name as a Brink identifier: case-insensitive, spaces and punctuation become `_`. */
export function canonicalName(name: string): string {
  let id = name
    .replace(/\\n|\n|\r/g, " ")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_]+/gu, "_")
    .replace(/_+/g, "_")
    .replace(/^_|_$/g, "");
  if (id === "" || /^\p{N}/u.test(id)) id = `v_${id}`;
  if (RESERVED.has(id)) id = `${id}_var`;
  return id;
}

/** XMILE builtins and their Brink spelling. */
const FUNCTIONS: Record<string, string> = {
  abs: "abs",
  exp: "exp",
  ln: "ln",
  log10: "log10",
  sqrt: "sqrt",
  int: "trunc",
  sin: "sin",
  cos: "cos",
  tan: "tan",
  arctan: "arctan",
  arcsin: "arcsin",
  arccos: "arccos",
  min: "min",
  max: "max",
  smth1: "smth1",
  smth3: "smth3",
  smooth: "smooth",
  delay1: "delay1",
  delay3: "delay3",
  pulse: "pulse",
  step: "step",
  ramp: "ramp",
  init: "init",
  previous: "previous",
  xidz: "xidz",
  zidz: "zidz",
  safediv: "safediv",
  lookup: "lookup",
  round: "round",
  sign: "sign",
  normal: "normal",
  exprnd: "exponential",
  lognormal: "lognormal",
  poisson: "poisson",
  random: "uniform",
};
const UNSUPPORTED_FUNCTIONS = new Set([
  "delay",
  "delayn",
  "smthn",
  "trend",
  "forcst",
  "npv",
  "if_then_else",
  "sum",
  "mean",
  "size",
  "stddev",
  "rank",
  "self",
]);

export class XmileExpressionError extends Error {}

/** Rewrite one XMILE equation into Brink expression text. */
export function translateEquation(eqn: string, names: Map<string, string>, tables: Set<string>): string {
  const out: string[] = [];
  let i = 0;
  const s = eqn.replace(/\r\n?/g, "\n");
  let lastSignificant = "";
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
      lastSignificant = "value";
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
      if (c !== '"' && keyword[lower]) out.push(keyword[lower]);
      else if (isCall && c !== '"') {
        const canon = canonicalName(ident);
        if (tables.has(canon)) out.push(canon);
        else if (FUNCTIONS[lower]) out.push(FUNCTIONS[lower]!);
        else if (UNSUPPORTED_FUNCTIONS.has(lower))
          throw new XmileExpressionError(`the XMILE function ${ident.toUpperCase()} is not supported yet`);
        else if (lower === "pi") {
          // PI() as a call: the constant, and skip its empty argument list.
          out.push(String(Math.PI));
          i = s.indexOf(")", j) + 1;
        } else
          throw new XmileExpressionError(
            `the function ${ident.toUpperCase()} is not supported yet (a macro, or a builtin Brink lacks)`,
          );
      } else if (c !== '"' && ["time", "dt", "starttime", "stoptime"].includes(lower)) out.push(lower);
      else if (c !== '"' && lower === "pi") out.push(String(Math.PI));
      else {
        const canon = canonicalName(ident);
        out.push(names.get(canon) ?? canon);
      }
      lastSignificant = "value";
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
    lastSignificant = c;
  }
  void lastSignificant;
  return out
    .join(" ")
    .replace(/\( /g, "(")
    .replace(/ \)/g, ")")
    .replace(/ ,/g, ",")
    .replace(/([\p{L}\p{N}_]) \(/gu, "$1(");
}

interface Gf {
  points: [number, number][];
  type: string;
}

function readGf(gf: XmlNode): Gf {
  const nums = (t: string) =>
    t
      .split(/[,;\s]+/)
      .filter(Boolean)
      .map(Number);
  const ys = nums(child(gf, "ypts")?.text ?? "");
  const xptsNode = child(gf, "xpts");
  let xs: number[];
  if (xptsNode) xs = nums(xptsNode.text);
  else {
    const xscale = child(gf, "xscale");
    const min = Number(xscale?.attrs.min ?? 0);
    const max = Number(xscale?.attrs.max ?? ys.length - 1);
    xs = ys.map((_, k) => (ys.length === 1 ? min : min + ((max - min) * k) / (ys.length - 1)));
  }
  const type = (gf.attrs.type ?? "continuous").toLowerCase();
  return {
    points: xs.map((x, k) => [x, ys[k] ?? Number.NaN]),
    type: type === "extrapolate" || type === "discrete" ? type : "continuous",
  };
}

export interface XmileImport {
  /** The model as Brink YAML. */
  yaml: string;
  /** Original XMILE names by Brink identifier (for reading expected outputs). */
  names: Map<string, string>;
}

/** Import an XMILE document; throws DiagnosticError for malformed or unsupported input. */
export function importXmile(file: string, text: string): XmileImport {
  const root = parseXml(file, text);
  const xmile = root.children.find((c) => c.name === "xmile");
  const at = (n: XmlNode, message: string): Diagnostic => ({
    file,
    line: n.line,
    col: Math.max(1, n.col),
    message,
  });
  if (!xmile)
    throw new DiagnosticError([
      { file, line: 1, col: 1, message: "not an XMILE file: no <xmile> root element" },
    ]);
  const problems: Diagnostic[] = [];
  const options = child(child(xmile, "header") ?? xmile, "options");
  for (const o of options?.children ?? []) {
    if (
      /^uses_(arrays|macros|conveyor|queue|submodels|event_posters)$/.test(o.name) ||
      o.name.startsWith("uses_")
    ) {
      if (o.name !== "uses_outputs" && o.name !== "uses_inputs")
        problems.push(
          at(o, `<${o.name}> is not supported yet (Brink imports models without ${o.name.slice(5)})`),
        );
    }
  }
  for (const m of children(xmile, "macro")) problems.push(at(m, "<macro> is not supported yet (macros)"));
  const dims = child(xmile, "dimensions");
  if (dims && dims.children.length) problems.push(at(dims, "<dimensions> is not supported yet (arrays)"));
  const models = children(xmile, "model");
  if (models.length !== 1)
    problems.push(
      at(
        models[1] ?? xmile,
        models.length ? "<model>: several models — modules are not supported yet" : "<model> is missing",
      ),
    );
  const model = models[0];
  const vars = model ? (child(model, "variables")?.children ?? []) : [];
  const specs = child(xmile, "sim_specs");
  if (!specs) problems.push(at(xmile, "<sim_specs> is missing"));
  if (problems.length) throw new DiagnosticError(problems);

  // A model-wide <non_negative/> makes every stock and flow non-negative unless it says <non_negative>false</…>.
  const allNonNegative = [specs!, child(xmile, "header") ?? xmile, options ?? xmile].some(
    (n) => child(n, "non_negative") !== undefined,
  );
  const nonNegative = (v: XmlNode) => {
    const own = child(v, "non_negative");
    return own ? own.text.trim().toLowerCase() !== "false" : allNonNegative;
  };
  // Whatever a stock lists as inflow or outflow is a flow, even if declared as an <aux>.
  const flowIds = new Set(
    vars
      .filter((v) => v.name === "stock")
      .flatMap((v) =>
        [...children(v, "inflow"), ...children(v, "outflow")].map((f) => canonicalName(f.text)),
      ),
  );
  const names = new Map<string, string>();
  const ids = new Map<string, string>();
  const tables = new Set<string>();
  for (const v of vars) {
    if (v.attrs.name === undefined) continue;
    const id = canonicalName(v.attrs.name);
    names.set(id, v.attrs.name);
    ids.set(id, id);
    if (v.name === "gf") tables.add(id);
  }
  const lines: string[] = [];
  const q = (s: string) => JSON.stringify(s);
  const num = (n: XmlNode | undefined, fallback: number) => (n ? Number(n.text.trim()) : fallback);
  const dtNode = child(specs!, "dt");
  let dt = num(dtNode, 1);
  if (dtNode?.attrs.reciprocal === "true") dt = 1 / dt;
  const method = (specs!.attrs.method ?? "euler").toLowerCase().startsWith("rk4") ? "rk4" : "euler";
  lines.push(
    "brink: 1",
    `name: ${q(child(child(xmile, "header") ?? xmile, "name")?.text.trim() || file.replace(/^.*[\\/]/, ""))}`,
  );
  lines.push(`method: ${method}`);
  // A calendar time unit comes along, so that "per year" and durations keep their meaning.
  const unit = (specs!.attrs.time_units ?? "").trim();
  const unitPart = /^(second|minute|hour|day|week|month|year)s?$/i.test(unit)
    ? `, unit: ${unit.toLowerCase().replace(/s$/, "")}`
    : "";
  // A Brink export keeps a dated start in its own attribute.
  const origin = /^\d{4}-\d{2}-\d{2}$/.test(specs!.attrs["brink:origin"] ?? "")
    ? specs!.attrs["brink:origin"]
    : undefined;
  lines.push(
    origin && unitPart
      ? `time: { start: ${origin}, stop: "${num(child(specs!, "stop"), 10) - num(child(specs!, "start"), 0)} ${unit.toLowerCase().replace(/s$/, "")}"${unitPart.replace(", unit:", ", dt: " + dt + ", unit:")} }`
      : `time: { start: ${num(child(specs!, "start"), 0)}, stop: ${num(child(specs!, "stop"), 10)}, dt: ${dt}${unitPart} }`,
  );

  const stocks: string[] = [];
  const flows: string[] = [];
  const aux: string[] = [];
  const tableLines: string[] = [];
  const params: string[] = [];
  for (const v of vars) {
    const name = v.attrs.name;
    if (name === undefined || !["stock", "flow", "aux", "gf"].includes(v.name)) {
      if (["module", "group", "macro"].includes(v.name))
        problems.push(at(v, `<${v.name}> is not supported yet`));
      continue;
    }
    if (child(v, "dimensions") || child(v, "element")) {
      problems.push(at(v, `<${v.name} name="${name}">: arrays are not supported yet`));
      continue;
    }
    if (child(v, "conveyor") || child(v, "queue")) {
      problems.push(at(v, `<${v.name} name="${name}">: conveyors and queues are not supported`));
      continue;
    }
    const id = canonicalName(name);
    const eqnNode = child(v, "eqn");
    let eqn: string | undefined;
    try {
      eqn = eqnNode ? translateEquation(eqnNode.text, ids, tables) : undefined;
    } catch (e) {
      if (!(e instanceof XmileExpressionError)) throw e;
      problems.push(at(eqnNode ?? v, `<${v.name} name="${name}">: ${e.message}`));
      continue;
    }
    const gf = child(v, "gf") ?? (v.name === "gf" ? v : undefined);
    if (gf) {
      const t = readGf(gf);
      const tableId = v.name === "gf" ? id : `${id}_lookup`;
      tableLines.push(`  ${tableId}: { points: ${JSON.stringify(t.points)}, type: ${t.type} }`);
      if (v.name === "gf") continue;
      eqn = `${tableId}(${eqn ?? "time"})`;
    }
    if (eqn === undefined || eqn.trim() === "") {
      problems.push(at(v, `<${v.name} name="${name}"> has no <eqn>`));
      continue;
    }
    if (v.name === "stock") {
      const ins = children(v, "inflow").map((f) => canonicalName(f.text));
      const outs = children(v, "outflow").map((f) => canonicalName(f.text));
      const nonNeg = nonNegative(v) ? ", min: 0" : "";
      stocks.push(
        `  ${id}: { init: ${q(eqn)}, inflows: [${ins.join(", ")}], outflows: [${outs.join(", ")}]${nonNeg} }`,
      );
    } else if (v.name === "flow" || flowIds.has(id)) {
      // A uniflow (non-negative flow) never runs backwards.
      flows.push(`  ${id}: ${q(v.name === "flow" && nonNegative(v) ? `max(0, ${eqn})` : eqn)}`);
    } else if (child(v, "brink:dist"))
      params.push(`  ${id}: { dist: ${q(child(v, "brink:dist")!.text.trim())} }`);
    else aux.push(`  ${id}: ${q(eqn)}`);
  }
  if (problems.length) throw new DiagnosticError(problems);
  if (params.length) lines.push("params:", ...params);
  if (stocks.length) lines.push("stocks:", ...stocks);
  if (flows.length) lines.push("flows:", ...flows);
  if (aux.length) lines.push("vars:", ...aux);
  if (tableLines.length) lines.push("tables:", ...tableLines);
  // What a Brink export kept in its own namespace comes back as it was (JSON is YAML).
  const extensions = child(xmile, "brink:extensions");
  const extra = extensions ? (JSON.parse(extensions.text) as Record<string, unknown>) : {};
  for (const [key, value] of Object.entries(extra))
    if (key !== "track") lines.push(`${key}: ${JSON.stringify(value)}`);
  const trackList = Array.isArray(extra.track)
    ? (extra.track as string[])
    : [...names.keys()].filter((id) => !tables.has(id));
  lines.push(`track: [${trackList.join(", ")}]`);
  return { yaml: `${lines.join("\n")}\n`, names };
}
