import * as vega from "vega";
import { compile } from "vega-lite";
import type { Spec } from "./charts.js";

/** Render a Vega-Lite spec to a standalone SVG string (no browser, no network). */
export async function renderSvg(spec: Spec): Promise<string> {
  const vgSpec = compile(spec as unknown as Parameters<typeof compile>[0]).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
