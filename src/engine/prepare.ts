import { compileModel } from "../compile/build.js";
import { makeKernel } from "../compile/codegen.js";
import type { Program } from "../compile/ir.js";
import type { RunFunction } from "../compile/kernel.js";
import { type LoadedModel, type LoadOptions, loadModel } from "../model/load.js";

/** A model ready to run: loaded and checked, lowered to a Program, and compiled to a kernel. */
export interface PreparedModel {
  loaded: LoadedModel;
  program: Program;
  kernel: RunFunction;
}

/**
 * Load, check and compile a model file's text. Throws DiagnosticError on any problem. The kernel is generated
 * when first used, so a host that only plans a job (the browser page, whose workers run it) never evaluates code
 * and can run under a Content-Security-Policy without 'unsafe-eval' (docs/security.md).
 */
export function prepareModel(file: string, text: string, options: LoadOptions = {}): PreparedModel {
  const loaded = loadModel(file, text, options);
  const program = compileModel(loaded);
  let kernel: RunFunction | undefined;
  return {
    loaded,
    program,
    get kernel() {
      kernel ??= makeKernel(program);
      return kernel;
    },
  };
}
