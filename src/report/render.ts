import * as vega from "vega";
import { expressionInterpreter } from "vega-interpreter";
import { compile } from "vega-lite";
import type { Spec } from "./charts.js";

/**
 * Render a Vega-Lite spec to a standalone SVG string (no browser, no network). Vega's expressions are
 * interpreted rather than compiled with `new Function`, so the browser app runs under a Content-Security-Policy
 * without 'unsafe-eval' (docs/security.md).
 */
export async function renderSvg(spec: Spec): Promise<string> {
  const vgSpec = compile(spec as unknown as Parameters<typeof compile>[0]).spec;
  const view = new vega.View(vega.parse(vgSpec, undefined, { ast: true }), {
    renderer: "none",
    expr: expressionInterpreter,
  });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
