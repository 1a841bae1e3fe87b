import { Document, isPair, isScalar, visit } from "yaml";
import { type Diagnostic, DiagnosticError } from "../lang/diagnostic.js";
import {
  type ArrayContext,
  canonicalName,
  cartesian,
  type Dialect,
  elementId,
  resolveReference,
  translateEquation,
  XmileExpressionError,
} from "./xmile-equation.js";
import { expandMacros, type Macro } from "./xmile-macros.js";
import { child, children, parseXml, type XmlNode } from "./xmile-xml.js";

export {
  canonicalName,
  columnId,
  elementId,
  translateEquation,
  XmileExpressionError,
} from "./xmile-equation.js";
export { expandMacros, MAX_MACRO_EXPANSION } from "./xmile-macros.js";

/**
 * XMILE (and Stella .stmx) import: the XML is read with positions, each variable becomes a Brink entry, names
 * become identifiers (case-insensitive, spaces and punctuation to `_`), and equations are read into Brink's
 * expression tree (xmile-equation.ts) and printed back; arrays are expanded into one variable per element. What Brink cannot
 * express yet — subranges, macros, modules, conveyors and queues — is refused with a diagnostic naming the
 * element and its line.
 */
/** Most scalar variables arrays may expand into, counted before any is made (a `<dim size="1e9"/>` is refused). */
export const MAX_ELEMENTS = 100_000;

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
  if (!xmile)
    throw new DiagnosticError([
      { file, line: 1, col: 1, message: "not an XMILE file: no <xmile> root element" },
    ]);
  return new Importer(file, xmile).run();
}

/** A Brink entry as imported: a bare equation, or an object of fields. */
type Entry = string | Record<string, unknown>;

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * One import, step by step: the header and its options, macros, dimensions, the model's variables (indexed, then
 * each defined as Brink entries, arrays per element), the sim specs, and what a Brink export kept; the model is
 * then written as YAML through the `yaml` Document API. Problems are collected and thrown together per step.
 */
class Importer {
  private readonly problems: Diagnostic[] = [];
  private readonly header: XmlNode;
  private readonly dialect: Dialect;
  /** A Brink export: its units are read (other tools' units are often prose, and Brink checks units). */
  private readonly fromBrink: boolean;
  private readonly macros = new Map<string, Macro>();
  private readonly dimElements = new Map<string, string[]>();
  private readonly elementNames = new Map<string, string>();
  private vars: XmlNode[] = [];
  private specs!: XmlNode;
  /** XMILE names by Brink id (element ids for arrays). */
  private readonly names = new Map<string, string>();
  private readonly ids = new Map<string, string>();
  private readonly tables = new Set<string>();
  private readonly varDims = new Map<string, string[]>();
  /** Whatever a stock lists as inflow or outflow is a flow, even if declared as an <aux>. */
  private flowIds = new Set<string>();
  private arrays: ArrayContext | undefined;
  private readonly sections = {
    params: new Map<string, Entry>(),
    stocks: new Map<string, Entry>(),
    flows: new Map<string, Entry>(),
    vars: new Map<string, Entry>(),
    tables: new Map<string, Entry>(),
  };
  /** The XML element each id was defined by, so two variables with one id are reported. */
  private readonly definedBy = new Map<string, string>();

  constructor(
    private readonly file: string,
    private readonly xmile: XmlNode,
  ) {
    this.header = child(xmile, "header") ?? xmile;
    const product = child(this.header, "product")?.text ?? "";
    this.dialect = { vensim: /vensim/i.test(product) };
    this.fromBrink = /^\s*brink\s*$/i.test(product);
  }

  private at(n: XmlNode, message: string): Diagnostic {
    return { file: this.file, line: n.line, col: Math.max(1, n.col), message };
  }

  private problem(n: XmlNode, message: string): void {
    this.problems.push(this.at(n, message));
  }

  private throwProblems(): void {
    if (this.problems.length) throw new DiagnosticError(this.problems);
  }

  run(): XmileImport {
    this.readOptions();
    this.readMacros();
    this.readDimensions();
    this.readModel();
    this.throwProblems();
    this.indexVariables();
    this.throwProblems();
    if (this.dimElements.size)
      this.arrays = { dims: this.dimElements, varDims: this.varDims, binding: new Map() };
    const time = this.readTime();
    for (const v of this.vars) this.variable(v);
    this.throwProblems();
    const extra = this.extensions();
    return { yaml: this.toYaml(time, extra), names: this.names };
  }

  private readOptions(): void {
    for (const o of child(this.header, "options")?.children ?? []) {
      if (o.name.startsWith("uses_") && o.name !== "uses_outputs" && o.name !== "uses_inputs")
        this.problem(o, `<${o.name}> is not supported yet (Brink imports models without ${o.name.slice(5)})`);
    }
  }

  /** Expression macros are expanded where they are called; macros with their own stocks and flows are not read. */
  private readMacros(): void {
    for (const m of children(this.xmile, "macro")) {
      const name = m.attrs.name ?? "";
      const body = child(m, "eqn");
      if (child(m, "variables") || child(m, "sim_specs"))
        this.problem(m, `<macro name="${name}">: macros with their own variables are not supported yet`);
      else if (!body) this.problem(m, `<macro name="${name}"> has no <eqn>`);
      else
        this.macros.set(canonicalName(name), {
          name,
          params: children(m, "parm").map((p) => canonicalName(p.text)),
          body: body.text,
        });
    }
  }

  /** Dimensions: named lists of elements (1-D and more; subranges and mappings are not read yet). */
  private readDimensions(): void {
    for (const d of children(child(this.xmile, "dimensions") ?? this.xmile, "dim")) {
      const dimId = canonicalName(d.attrs.name ?? "");
      const elems = children(d, "elem").map((e) => e.attrs.name ?? "");
      // <dim size="3"/> numbers its elements 1…n; the size is checked against the budget before any is made.
      if (elems.length === 0 && d.attrs.size) {
        const size = Number(d.attrs.size);
        if (!Number.isInteger(size) || size < 1)
          this.problem(
            d,
            `<dim name="${d.attrs.name}" size="${d.attrs.size}">: the size must be a whole number ≥ 1`,
          );
        else if (size > MAX_ELEMENTS)
          this.problem(
            d,
            `<dim name="${d.attrs.name}">: ${size} elements, more than the ${MAX_ELEMENTS} Brink expands`,
          );
        else for (let k = 1; k <= size; k++) elems.push(String(k));
      }
      if (elems.length === 0 && !d.attrs.size)
        this.problem(d, `<dim name="${d.attrs.name}"> has no elements`);
      this.dimElements.set(
        dimId,
        elems.map((e) => canonicalName(e)),
      );
      for (const e of elems) this.elementNames.set(`${dimId}/${canonicalName(e)}`, e);
    }
  }

  private readModel(): void {
    const models = children(this.xmile, "model");
    if (models.length !== 1)
      this.problem(
        models[1] ?? this.xmile,
        models.length ? "<model>: several models — modules are not supported yet" : "<model> is missing",
      );
    const model = models[0];
    this.vars = model ? (child(model, "variables")?.children ?? []) : [];
    const specs = child(this.xmile, "sim_specs");
    if (!specs) this.problem(this.xmile, "<sim_specs> is missing");
    else this.specs = specs;
  }

  /** Every variable's id, table and dimensions; arrays are counted against the budget before any is expanded. */
  private indexVariables(): void {
    this.flowIds = new Set(
      this.vars
        .filter((v) => v.name === "stock")
        .flatMap((v) =>
          [...children(v, "inflow"), ...children(v, "outflow")].map((f) => canonicalName(f.text)),
        ),
    );
    let expanded = 0;
    let overBudget = false;
    for (const v of this.vars) {
      if (v.attrs.name === undefined) continue;
      const id = canonicalName(v.attrs.name);
      this.names.set(id, v.attrs.name);
      this.ids.set(id, id);
      if (v.name === "gf") this.tables.add(id);
      const dimList = children(child(v, "dimensions") ?? v, "dim").map((d) =>
        canonicalName(d.attrs.name ?? ""),
      );
      const unknown = dimList.find((d) => !this.dimElements.has(d));
      if (unknown !== undefined) {
        this.problem(v, `<${v.name} name="${v.attrs.name}">: unknown dimension ${unknown}`);
        continue;
      }
      if (!dimList.length) continue;
      this.varDims.set(id, dimList);
      const count = dimList.reduce((n, d) => n * this.dimElements.get(d)!.length, 1);
      expanded += count;
      if (expanded > MAX_ELEMENTS && !overBudget) {
        overBudget = true;
        this.problem(
          v,
          `<${v.name} name="${v.attrs.name}">: ${count} elements (${dimList.join(" × ")}) bring the model to ${expanded} variables, more than the ${MAX_ELEMENTS} Brink expands arrays into`,
        );
      }
    }
  }

  /** The `time` section: start, stop, dt (reciprocal or not), a calendar unit, and what a Brink export kept. */
  private readTime(): Record<string, unknown> {
    const specs = this.specs;
    const num = (n: XmlNode | undefined, fallback: number) => (n ? Number(n.text.trim()) : fallback);
    const dtNode = child(specs, "dt");
    let dt = num(dtNode, 1);
    if (dtNode?.attrs.reciprocal === "true") dt = 1 / dt;
    const start = num(child(specs, "start"), 0);
    const stop = num(child(specs, "stop"), 10);
    // A calendar time unit comes along, so that "per year" and durations keep their meaning.
    const unitText = (specs.attrs.time_units ?? "").trim();
    const unit = /^(second|minute|hour|day|week|month|year)s?$/i.test(unitText)
      ? unitText.toLowerCase().replace(/s$/, "")
      : undefined;
    // A Brink export keeps a dated start, and how often tracked values are saved, in its own attributes.
    const origin = /^\d{4}-\d{2}-\d{2}$/.test(specs.attrs["brink:origin"] ?? "")
      ? specs.attrs["brink:origin"]
      : undefined;
    const save = specs.attrs["brink:save"]?.trim();
    const time: Record<string, unknown> =
      origin && unit ? { start: origin, stop: `${stop - start} ${unit}`, dt, unit } : { start, stop, dt };
    if (unit && !origin) time.unit = unit;
    if (save) time.save = NUMBER.test(save) ? Number(save) : save;
    // A clock that changes during the run (time.clock), as JSON; the model's schema checks its shape.
    const clock = specs.attrs["brink:clock"];
    if (clock !== undefined) {
      try {
        time.clock = JSON.parse(clock);
      } catch (e) {
        throw new DiagnosticError([this.at(specs, `brink:clock is not valid JSON: ${(e as Error).message}`)]);
      }
    }
    return time;
  }

  /** A model-wide <non_negative/> makes every stock and flow non-negative unless it says <non_negative>false</…>;
   * <behavior> may set it for all, or per kind: <behavior><flow><non_negative/></flow>. */
  private nonNegative(v: XmlNode, kind: "stock" | "flow"): boolean {
    const own = child(v, "non_negative");
    if (own) return own.text.trim().toLowerCase() !== "false";
    const all = [this.specs, this.header, child(this.header, "options") ?? this.xmile].some(
      (n) => child(n, "non_negative") !== undefined,
    );
    const behavior = child(this.xmile, "behavior");
    return (
      all ||
      (behavior !== undefined &&
        (child(behavior, "non_negative") !== undefined ||
          child(child(behavior, kind) ?? behavior, "non_negative") !== undefined))
    );
  }

  /** What a Brink export keeps about an entry: XMILE's <units> and <doc>, and Brink's own source and group. */
  private about(v: XmlNode): Record<string, string> {
    const text = (name: string) => child(v, name)?.text.trim() || undefined;
    const fields: Record<string, string | undefined> = {
      unit: this.fromBrink ? text("units") : undefined,
      doc: text("doc"),
      source: text("brink:source"),
      group: text("brink:group"),
    };
    return Object.fromEntries(Object.entries(fields).filter(([, x]) => x !== undefined)) as Record<
      string,
      string
    >;
  }

  private add(
    section: keyof Importer["sections"],
    id: string,
    entry: Entry,
    v: XmlNode,
    label: string,
  ): void {
    const prior = this.definedBy.get(id);
    if (prior !== undefined) {
      this.problem(v, `<${v.name} name="${label}"> imports as '${id}', as ${prior} does: rename one of them`);
      return;
    }
    this.definedBy.set(id, `<${v.name} name="${label}">`);
    this.sections[section].set(id, entry);
  }

  /** One variable: a scalar entry, or one entry per element of an arrayed one. */
  private variable(v: XmlNode): void {
    const name = v.attrs.name;
    if (name === undefined || !["stock", "flow", "aux", "gf"].includes(v.name)) {
      if (["module", "group", "macro"].includes(v.name)) this.problem(v, `<${v.name}> is not supported yet`);
      return;
    }
    if (child(v, "conveyor") || child(v, "queue")) {
      this.problem(v, `<${v.name} name="${name}">: conveyors and queues are not supported`);
      return;
    }
    const id = canonicalName(name);
    const gf = child(v, "gf") ?? (v.name === "gf" ? v : undefined);
    const dimList = this.varDims.get(id);
    if (!dimList) {
      if (child(v, "element"))
        this.problem(v, `<${v.name} name="${name}">: <element> definitions need <dimensions>`);
      else this.define(v, id, name, child(v, "eqn"), gf, new Map());
      return;
    }
    const tuples = cartesian(dimList.map((d) => this.dimElements.get(d)!));
    const label = (tuple: string[]) =>
      `${name}[${tuple.map((e, p) => this.elementNames.get(`${dimList[p]}/${e}`) ?? e).join(",")}]`;
    // Per-element definitions: <element subscript="A, B">, several bare <eqn>s in element order (as some
    // exporters write), or one list of numbers "1, 2, 3" (";" between rows); otherwise one equation applies to
    // all elements.
    const elementNodes = new Map<string, XmlNode>();
    for (const e of children(v, "element")) {
      const key = (e.attrs.subscript ?? "").split(",").map(canonicalName).join("__");
      if (!elementNodes.has(key)) elementNodes.set(key, e);
    }
    const eqns = children(v, "eqn");
    // A number list is row-major; rows of a 2-D table end in ';' (as Vensim writes them).
    const numberList =
      eqns.length === 1
        ? eqns[0]!.text
            .split(/[,;]/)
            .map((x) => x.trim())
            .filter((x) => x !== "")
        : [];
    const isNumberList =
      numberList.length === tuples.length && numberList.length > 1 && numberList.every((x) => NUMBER.test(x));
    for (const [k, tuple] of tuples.entries()) {
      const flat = elementId(id, tuple);
      this.names.set(flat, label(tuple));
      const binding = new Map(dimList.map((d, p) => [d, tuple[p]!]));
      let eqnNode: XmlNode | undefined = eqns[0];
      let elementGf = gf;
      if (elementNodes.size) {
        const node = elementNodes.get(tuple.join("__"));
        if (!node) {
          this.problem(v, `<${v.name} name="${name}">: no definition for element ${label(tuple)}`);
          continue;
        }
        eqnNode = child(node, "eqn");
        elementGf = child(node, "gf") ?? gf;
      } else if (eqns.length > 1) {
        eqnNode = eqns[k];
        if (eqns.length !== tuples.length) {
          this.problem(
            v,
            `<${v.name} name="${name}">: ${eqns.length} equations for ${tuples.length} elements`,
          );
          break;
        }
      } else if (isNumberList) eqnNode = { ...eqns[0]!, text: numberList[k]! };
      else {
        // One equation for all elements: one diagnostic for the variable, not one per element.
        if (!this.define(v, flat, name, eqnNode, elementGf, binding)) break;
        continue;
      }
      this.define(v, flat, label(tuple), eqnNode, elementGf, binding);
    }
    this.names.delete(id);
  }

  /** One scalar Brink entry: a whole variable, or one element of an arrayed one. */
  private define(
    v: XmlNode,
    id: string,
    label: string,
    eqnNode: XmlNode | undefined,
    gf: XmlNode | undefined,
    binding: Map<string, string>,
  ): boolean {
    const context = this.arrays ? { ...this.arrays, binding } : undefined;
    let eqn: string | undefined;
    try {
      if (eqnNode && /^\s*\?+\s*$/.test(eqnNode.text))
        throw new XmileExpressionError(
          "the equation is a placeholder '???' (the definition was lost when the model was converted to XMILE)",
        );
      eqn = eqnNode
        ? translateEquation(
            this.macros.size ? expandMacros(eqnNode.text, this.macros) : eqnNode.text,
            this.ids,
            this.tables,
            context,
            this.dialect,
          )
        : undefined;
    } catch (e) {
      if (!(e instanceof XmileExpressionError)) throw e;
      this.problem(eqnNode ?? v, `<${v.name} name="${label}">: ${e.message}`);
      return false;
    }
    const about = this.about(v);
    if (gf) {
      const t = readGf(gf);
      const tableId = v.name === "gf" ? id : `${id}_lookup`;
      this.add(
        "tables",
        tableId,
        { points: t.points, type: t.type, ...(v.name === "gf" ? about : {}) },
        v,
        label,
      );
      if (v.name === "gf") return true;
      eqn = `${tableId}(${eqn ?? "time"})`;
    }
    if (eqn === undefined || eqn.trim() === "") {
      this.problem(v, `<${v.name} name="${label}"> has no <eqn>`);
      return false;
    }
    const withAbout = (e: string): Entry => (Object.keys(about).length ? { eq: e, ...about } : e);
    if (v.name === "stock") {
      // Flows of an arrayed stock are the same elements of arrayed flows.
      const flowsOf = (kind: string) =>
        children(v, kind).map((f) => {
          const flow = canonicalName(f.text);
          return this.arrays && this.varDims.has(flow)
            ? resolveReference(flow, undefined, context!)[0]!
            : flow;
        });
      const stock: Record<string, unknown> = {
        init: eqn,
        inflows: flowsOf("inflow"),
        outflows: flowsOf("outflow"),
      };
      if (this.nonNegative(v, "stock")) stock.min = 0;
      this.add("stocks", id, { ...stock, ...about }, v, label);
    } else if (v.name === "flow" || this.flowIds.has(canonicalName(v.attrs.name!))) {
      // A uniflow (non-negative flow) never runs backwards.
      const uniflow = v.name === "flow" && this.nonNegative(v, "flow");
      this.add("flows", id, withAbout(uniflow ? `max(0, ${eqn})` : eqn), v, label);
    } else if (child(v, "brink:dist"))
      this.add("params", id, { dist: child(v, "brink:dist")!.text.trim(), ...about }, v, label);
    else this.add("vars", id, withAbout(eqn), v, label);
    return true;
  }

  /** What a Brink export kept in its own namespace: one JSON object of model-file sections. */
  private extensions(): Record<string, unknown> {
    const extensions = child(this.xmile, "brink:extensions");
    if (!extensions) return {};
    let extra: unknown;
    try {
      extra = JSON.parse(extensions.text);
    } catch (e) {
      throw new DiagnosticError([
        this.at(extensions, `<brink:extensions> is not valid JSON: ${(e as Error).message}`),
      ]);
    }
    if (typeof extra !== "object" || extra === null || Array.isArray(extra))
      throw new DiagnosticError([this.at(extensions, "<brink:extensions> must hold one JSON object")]);
    return extra as Record<string, unknown>;
  }

  /** The model file, written through the yaml Document API: sections in block style, each entry on one line. */
  private toYaml(time: Record<string, unknown>, extra: Record<string, unknown>): string {
    const name = child(this.header, "name")?.text.trim() || this.file.replace(/^.*[\\/]/, "");
    const method = (this.specs.attrs.method ?? "euler").toLowerCase().startsWith("rk4") ? "rk4" : "euler";
    const model: Record<string, unknown> = { brink: 1, name, method, time };
    for (const [section, entries] of Object.entries(this.sections))
      if (entries.size) model[section] = Object.fromEntries(entries);
    for (const [key, value] of Object.entries(extra)) if (key !== "track") model[key] = value;
    model.track = Array.isArray(extra.track)
      ? extra.track
      : [...this.names.keys()].filter((id) => !this.tables.has(id));
    const doc = new Document(model);
    // The time line, every entry of a section and every list are flow collections on one line.
    // Ancestors of an entry's map: the document, the top map, the section's pair, its map, the entry's pair.
    visit(doc, {
      Map: (_, node, path) => {
        const pair = path[path.length - 1];
        const isTime = path.length === 3 && isPair(pair) && isScalar(pair.key) && pair.key.value === "time";
        if (path.length >= 5 || isTime) node.flow = true;
      },
      Seq: (_, node) => {
        node.flow = true;
      },
    });
    return doc.toString({ lineWidth: 0, flowCollectionPadding: true });
  }
}
