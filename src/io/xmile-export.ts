import { BUILTINS } from "../compile/builtins.js";
import { quantile } from "../engine/distributions.js";
import type { Expr } from "../lang/ast.js";
import { type Diagnostic, DiagnosticError } from "../lang/diagnostic.js";
import { parseExpr } from "../lang/parser.js";
import { parseDistribution } from "../model/distribution.js";
import type { LoadedModel } from "../model/load.js";

/**
 * Export a Brink model as XMILE 1.0. What XMILE expresses — stocks, flows, auxiliaries, graphical functions,
 * sim specs, the shared builtins — becomes standard elements; params with distributions export their median as
 * the equation and keep the distribution in a `brink:dist` element; events, outcomes and claims, which XMILE has
 * no words for, are kept verbatim in a `brink:extensions` element so nothing is silently lost.
 */
function printXmile(e: Expr): string {
  switch (e.kind) {
    case "number":
      return String(e.value);
    case "date":
      throw new Error("dates in equations have no XMILE form");
    case "name":
      return e.name === "time"
        ? "TIME"
        : e.name === "dt"
          ? "DT"
          : e.name === "starttime"
            ? "STARTTIME"
            : e.name === "stoptime"
              ? "STOPTIME"
              : e.name;
    case "unary":
      return e.op === "not" ? `(NOT ${printXmile(e.arg)})` : `(${e.op}${printXmile(e.arg)})`;
    case "binary": {
      const op = { "==": "=", "!=": "<>", and: "AND", or: "OR", "%": "MOD" }[e.op as string] ?? e.op;
      return `(${printXmile(e.left)} ${op} ${printXmile(e.right)})`;
    }
    case "if":
      return `(IF ${printXmile(e.cond)} THEN ${printXmile(e.then)} ELSE ${printXmile(e.else)})`;
    case "call": {
      const args = e.args.map(printXmile);
      // A table call, or a builtin XMILE lacks, is written by name.
      const write = BUILTINS.get(e.callee)?.xmile.write ?? e.callee.toUpperCase();
      return typeof write === "string" ? `${write}(${args.join(", ")})` : write(args);
    }
  }
}

const escapeXml = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

export function exportXmile(model: LoadedModel): string {
  const spec = model.spec;
  const problems: Diagnostic[] = [];
  const eqn = (path: (string | number)[], text: string | number): string => {
    if (typeof text === "number") return String(text);
    try {
      return escapeXml(printXmile(parseExpr(text)));
    } catch (e) {
      problems.push(model.source.at(path, `cannot export this equation to XMILE: ${(e as Error).message}`));
      return "0";
    }
  };
  const { time } = model;
  const lines: string[] = [];
  lines.push('<?xml version="1.0" encoding="utf-8"?>');
  lines.push(
    '<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0" xmlns:brink="https://github.com/brink/xmile">',
  );
  lines.push(
    `  <header><name>${escapeXml(spec.name)}</name><vendor>Brink</vendor><product version="1">brink</product></header>`,
  );
  lines.push(
    `  <sim_specs method="${spec.method === "rk4" ? "RK4" : "Euler"}"${time.unit ? ` time_units="${escapeXml(time.unit)}"` : ""}${time.origin ? ` brink:origin="${time.origin}"` : ""}${spec.time.save !== undefined ? ` brink:save="${escapeXml(String(spec.time.save))}"` : ""}${spec.time.clock !== undefined ? ` brink:clock="${escapeXml(JSON.stringify(spec.time.clock))}"` : ""}><start>${time.start}</start><stop>${time.stop}</stop><dt>${time.dt}</dt></sim_specs>`,
  );
  lines.push("  <model>", "    <variables>");
  // Each entry's unit and doc travel in XMILE's own <units> and <doc>, for Stella and Vensim users to see.
  // Where a number comes from and the mechanism it belongs to travel in Brink's own elements.
  const about = (e: { unit?: string; doc?: string; source?: string; group?: string }) =>
    `${e.doc ? `<doc>${escapeXml(e.doc)}</doc>` : ""}${e.unit ? `<units>${escapeXml(e.unit)}</units>` : ""}${e.source ? `<brink:source>${escapeXml(e.source)}</brink:source>` : ""}${e.group ? `<brink:group>${escapeXml(e.group)}</brink:group>` : ""}`;
  for (const [name, p] of Object.entries(spec.params ?? {})) {
    // XMILE has no priors: the equation holds the median, and the distribution travels in brink:dist.
    const dist = p.dist !== undefined ? `<brink:dist>${escapeXml(String(p.dist))}</brink:dist>` : "";
    const value = p.dist !== undefined ? quantile(parseDistribution(p.dist), 0.5) : (p.value ?? 0);
    lines.push(`      <aux name="${name}"><eqn>${value}</eqn>${dist}${about(p)}</aux>`);
  }
  for (const [name, d] of Object.entries(spec.decisions ?? {}))
    lines.push(`      <aux name="${name}"><eqn>${d.value}</eqn>${about(d)}</aux>`);
  for (const [name, s] of Object.entries(spec.stocks ?? {})) {
    if (s.max !== undefined || (s.min !== undefined && s.min !== 0)) {
      problems.push(
        model.source.at(
          ["stocks", name],
          `stock '${name}': XMILE can only say a stock is non-negative, not min ${s.min ?? "-"} / max ${s.max ?? "-"}`,
        ),
      );
    }
    const ins = (s.inflows ?? []).map((f) => `<inflow>${f}</inflow>`).join("");
    const outs = (s.outflows ?? []).map((f) => `<outflow>${f}</outflow>`).join("");
    lines.push(
      `      <stock name="${name}"><eqn>${eqn(["stocks", name, "init"], s.init)}</eqn>${ins}${outs}${s.min === 0 ? "<non_negative/>" : ""}${about(s)}</stock>`,
    );
  }
  for (const [name, f] of Object.entries(spec.flows ?? {}))
    lines.push(`      <flow name="${name}"><eqn>${eqn(["flows", name, "eq"], f.eq)}</eqn>${about(f)}</flow>`);
  for (const [name, v] of Object.entries(spec.vars ?? {}))
    lines.push(`      <aux name="${name}"><eqn>${eqn(["vars", name, "eq"], v.eq)}</eqn>${about(v)}</aux>`);
  for (const [name, t] of Object.entries(spec.tables ?? {})) {
    lines.push(
      `      <gf name="${name}" type="${t.type ?? "continuous"}"><xpts>${t.points.map((p) => p[0]).join(",")}</xpts><ypts>${t.points.map((p) => p[1]).join(",")}</ypts>${about(t)}</gf>`,
    );
  }
  lines.push("    </variables>", "  </model>");
  const kept = [
    "doc",
    "source",
    "events",
    "outcomes",
    "claims",
    "track",
    "groups",
    "warroom",
    "scenarios",
  ].filter((k) => (spec as Record<string, unknown>)[k] !== undefined);
  if (kept.length) {
    const extension = Object.fromEntries(kept.map((k) => [k, (spec as Record<string, unknown>)[k]]));
    lines.push(
      `  <brink:extensions><![CDATA[${JSON.stringify(extension).replace(/]]>/g, "]]]]><![CDATA[>")}]]></brink:extensions>`,
    );
  }
  lines.push("</xmile>", "");
  if (problems.length) throw new DiagnosticError(problems);
  return lines.join("\n");
}
