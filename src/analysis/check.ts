import { compileModel } from "../compile/build.js";
import { checkBudgets } from "../engine/prepare.js";
import { type Diagnostic, DiagnosticError } from "../lang/diagnostic.js";
import { type LoadedModel, loadModel } from "../model/load.js";
import { type CompiledClaim, compileClaim } from "./claims.js";

/** Compile every claim of a loaded model; throws DiagnosticError listing every bad one. */
export function compileClaims(model: LoadedModel): CompiledClaim[] {
  const out: CompiledClaim[] = [];
  const errors: Diagnostic[] = [];
  const ctx = {
    outcomes: Object.keys(model.spec.outcomes ?? {}),
    time: model.time,
    tracked: model.spec.track ?? Object.keys(model.spec.stocks ?? {}),
    scenarios: model.scenarios,
  };
  (model.spec.claims ?? []).forEach((claim, i) => {
    const locate = model.source.expressionLocator(["claims", i, "check"], claim.check);
    const r = compileClaim(claim, ctx, locate, model.source.file);
    if (Array.isArray(r)) errors.push(...r);
    else out.push(r);
  });
  const ids = new Map<string, number>();
  (model.spec.claims ?? []).forEach((claim, i) => {
    if (ids.has(claim.id))
      errors.push(
        model.source.at(
          ["claims", i, "id"],
          `claim id '${claim.id}' is used twice (first by claim #${ids.get(claim.id)! + 1})`,
        ),
      );
    else ids.set(claim.id, i);
  });
  if (errors.length) throw new DiagnosticError(errors);
  return out;
}

export interface CheckReport {
  diagnostics: Diagnostic[];
  /** What was checked: the base model and each scenario. */
  variants: string[];
}

/**
 * Check a model file completely: the base model and every scenario, each loaded, compiled and its claims
 * resolved. Diagnostics are deduplicated, since a fault in the base shows up in every scenario too.
 */
export function checkModelText(file: string, text: string): CheckReport {
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  const add = (ds: Diagnostic[]) => {
    for (const d of ds) {
      const key = `${d.line}:${d.col}:${d.message}`;
      if (!seen.has(key)) diagnostics.push(d);
      seen.add(key);
    }
  };
  const variants: string[] = [];
  const checkOne = (scenario?: string): LoadedModel | undefined => {
    try {
      const loaded = loadModel(file, text, scenario === undefined ? {} : { scenario });
      variants.push(scenario ?? "base");
      const problems: Diagnostic[] = [];
      // Claims read the compiled time: a variable clock's schedule (time.clock) is known only then.
      let compiled = loaded;
      const compileAndBudget = () => {
        const program = compileModel(loaded);
        compiled = { ...loaded, time: program.time };
        checkBudgets(loaded, program);
      };
      for (const step of [compileAndBudget, () => compileClaims(compiled)]) {
        try {
          step();
        } catch (e) {
          if (!(e instanceof DiagnosticError)) throw e;
          problems.push(...e.diagnostics);
        }
      }
      add(problems);
      return loaded;
    } catch (e) {
      if (!(e instanceof DiagnosticError)) throw e;
      add(e.diagnostics);
      return undefined;
    }
  };
  const base = checkOne();
  if (base) for (const s of base.scenarios) checkOne(s);
  return { diagnostics, variants };
}
