import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/** The layers of docs/architecture.md, lowest first. A file may import only from its own layer or lower ones. */
const LAYERS = ["lang", "model", "compile", "engine", "analysis", "report", "io", "node", "web"];
/** Layers that must run unchanged in browsers and worker threads: no Node built-ins, no Node globals. */
const PURE = new Set(["lang", "model", "compile", "engine", "analysis", "report"]);
const NODE_GLOBALS = /\b(process\.|Buffer\.|require\(|__dirname|__filename)/;

const SRC = resolve(__dirname, "..", "src");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

function layerOf(file: string): string | undefined {
  const [first] = relative(SRC, file).split(/[\\/]/);
  return LAYERS.includes(first!) ? first : undefined;
}

function imports(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** Every violation of the layer rules in the given files (`read` is replaceable so the rule itself is tested). */
function violations(paths: string[], read: (f: string) => string[] = imports): string[] {
  const out: string[] = [];
  const builtins = new Set(builtinModules);
  for (const file of paths) {
    const layer = layerOf(file);
    if (!layer) continue;
    for (const spec of read(file)) {
      const name = relative(SRC, file);
      if (spec.startsWith(".")) {
        const target = layerOf(resolve(file, "..", spec));
        if (target && LAYERS.indexOf(target) > LAYERS.indexOf(layer))
          out.push(`${name} (${layer}) imports ${spec} (${target}, a higher layer)`);
      } else if (PURE.has(layer) && (spec.startsWith("node:") || builtins.has(spec))) {
        out.push(`${name} (${layer}) imports the Node module ${spec}`);
      }
    }
  }
  return out;
}

describe("layer rules", () => {
  const all = files(SRC);

  it("finds the source files", () => {
    expect(all.length).toBeGreaterThan(10);
  });

  it("no file imports a higher layer, and pure layers import no Node module", () => {
    expect(violations(all)).toEqual([]);
  });

  it("pure layers use no Node globals", () => {
    const offenders = all
      .filter((f) => PURE.has(layerOf(f) ?? ""))
      .filter((f) => NODE_GLOBALS.test(readFileSync(f, "utf8").replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, "")))
      .map((f) => relative(SRC, f));
    expect(offenders).toEqual([]);
  });

  it("catches a violation when there is one", () => {
    const fake = join(SRC, "engine", "fake.ts");
    expect(violations([fake], () => ["../node/cli.js", "node:fs", "./rng.js", "../lang/ast.js"])).toEqual([
      "engine/fake.ts (engine) imports ../node/cli.js (node, a higher layer)",
      "engine/fake.ts (engine) imports the Node module node:fs",
    ]);
  });
});
