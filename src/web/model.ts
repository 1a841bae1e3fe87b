import { checkModelText } from "../analysis/check.js";
import { importVensim } from "../io/vensim.js";
import { importXmile } from "../io/xmile.js";
import { type Diagnostic, DiagnosticError } from "../lang/diagnostic.js";
import { type LoadedModel, loadModel } from "../model/load.js";

/** The model text in the editor as the engine reads it. Pure: no DOM. */

/** The model as Brink YAML (XMILE and Vensim files are imported first). */
export function brinkText(file: string, text: string): string {
  if (/\.mdl$/i.test(file)) return importVensim(file, text).yaml;
  return /\.(xmile|stmx)$/i.test(file) ? importXmile(file, text).yaml : text;
}

/** The checker's diagnostics for the text (an import that fails is one of them). */
export function diagnosticsOf(file: string, text: string): Diagnostic[] {
  try {
    return checkModelText(file, brinkText(file, text)).diagnostics;
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics;
    throw e;
  }
}

/** The loaded model, or undefined when the text does not load. */
export function tryLoad(file: string, text: string): LoadedModel | undefined {
  try {
    return loadModel(file, brinkText(file, text));
  } catch (e) {
    if (e instanceof DiagnosticError) return undefined;
    throw e;
  }
}

/** The model's own names, for completion in expressions. */
export function modelNames(model: LoadedModel | undefined): string[] {
  if (!model) return [];
  const spec = model.spec as unknown as Record<string, object | undefined>;
  return ["params", "stocks", "flows", "vars", "tables", "outcomes", "decisions"].flatMap((s) =>
    Object.keys(spec[s] ?? {}),
  );
}
